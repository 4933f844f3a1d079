"""Bonus runs: draft → submitted → approved → published, never approved by their submitter, locked once
published (corrections are adjustment entries with a reason), exported to payroll safely."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.incentives.bonus import (
    do_adjust_bonus,
    do_approve_bonus_run,
    do_publish_bonus_run,
    do_return_bonus_run,
    do_submit_bonus_run,
    payroll_rows,
    stored,
)
from perflink.incentives.choices import BonusRunStatus
from tests.factories import PASSWORD, make_bonus_runs, make_scores


@pytest.fixture
def runs(world):
    make_scores(world)
    made = make_bonus_runs(world)
    with tenant_context(world.tenant, SYSTEM):
        yield world, made


def test_the_submitter_cannot_approve_their_own_run(runs):
    world, made = runs
    admin = world.users["performance_admin"]
    me = Actor("user", admin.pk, admin.username)
    run = do_submit_bonus_run(made["draft"], user=admin, actor=me)
    with pytest.raises(PermissionDeniedError) as refused:
        do_approve_bonus_run(run, user=admin, actor=me)
    assert refused.value.code == "self_approval"
    other = world.users["tenant_admin"]
    approved = do_approve_bonus_run(run, user=other, actor=Actor("user", other.pk, other.username))
    assert approved.status == BonusRunStatus.APPROVED


def test_self_approval_is_refused_through_the_api(runs):
    world, made = runs
    client = Client()
    client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    assert client.post(f"/api/v1/bonus-runs/{made['draft'].pk}/submit").status_code == 200
    response = client.post(f"/api/v1/bonus-runs/{made['draft'].pk}/approve")
    assert response.status_code == 403 and response.json()["code"] == "self_approval"


def test_states_move_only_forward_and_a_return_needs_a_reason(runs):
    _, made = runs
    with pytest.raises(Conflict):
        do_publish_bonus_run(made["submitted"], actor=SYSTEM)  # not approved yet
    with pytest.raises(ValidationFailed):
        do_return_bonus_run(made["approved"], reason=" ", actor=SYSTEM)
    back = do_return_bonus_run(made["approved"], reason="口径需复核", actor=SYSTEM)
    assert back.status == BonusRunStatus.DRAFT
    with pytest.raises(Conflict):
        do_return_bonus_run(made["published"], reason="太晚了", actor=SYSTEM)


def test_a_published_run_changes_only_by_adjustment_entries(runs):
    world, made = runs
    published = made["published"]
    before = stored(published, "amounts")
    with pytest.raises(Conflict):
        do_adjust_bonus(made["approved"], employee=world.staff, amount=Decimal(100), reason="x", actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        do_adjust_bonus(published, employee=world.staff, amount=Decimal(100), reason=" ", actor=SYSTEM)
    do_adjust_bonus(
        published, employee=world.staff, amount=Decimal("150.50"), reason="补发三月差额", actor=SYSTEM
    )
    published.refresh_from_db()
    assert stored(published, "amounts").equals(before)  # the run itself never changes
    _, rows = payroll_rows(published)
    (row,) = [r for r in rows if r[0] == world.staff.employee_no]
    assert row[3] == Decimal("150.50") and row[4] == row[2] + Decimal("150.50")


def test_payroll_csv_is_safe_against_formulas(runs):
    world, made = runs
    from perflink.org.actions import do_update_employee

    do_update_employee(world.staff, changes={"name": '=HYPERLINK("http://x")'}, actor=SYSTEM)
    client = Client()
    client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    response = client.get(f"/api/v1/bonus-runs/{made['approved'].pk}/payroll.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0].startswith("工号")
    names = [r[1] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names
    assert client.get(f"/api/v1/bonus-runs/{made['draft'].pk}/payroll.csv").status_code == 409


def test_payroll_xlsx_opens_and_holds_text_not_formulas(runs):
    world, made = runs
    from openpyxl import load_workbook

    from perflink.incentives.bonus import payroll_xlsx
    from perflink.org.actions import do_update_employee

    do_update_employee(world.staff, changes={"name": "=1+1"}, actor=SYSTEM)
    book = load_workbook(io.BytesIO(payroll_xlsx(made["approved"])))
    sheet = book.active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0].startswith("工号")
    assert "'=1+1" in [row[1] for row in values[1:]]


def test_what_if_runs_a_changed_plan_without_saving_and_shows_the_deltas(runs):
    world, made = runs
    import copy

    from perflink.incentives.models import BonusRun
    from perflink.incentives.whatif import what_if
    from tests.factories import FINANCE_PLAN

    # The HR unit has no score and no link in the test world, so the plan in force has no input to pay on (every
    # component is left out: 0); the changed plan holds a missing score at factor 1, so it pays.
    richer = copy.deepcopy(FINANCE_PLAN)
    richer["components"][0]["missing"] = {"factor": "1"}
    before = BonusRun.objects.count()
    plan = made["draft"].plan_version.plan
    result = what_if(plan, richer, ["2026-03", "2026-02"])
    march, february = result["periods"]
    assert february == {"period": "2026-02", "skipped": "no calculation run"}
    assert march["people"] == 1
    assert march["total_real"] == Decimal("0.00") and march["total_tried"] > Decimal("0.00")
    assert [g["person_id"] for g in march["gainers"]] == [world.staff.pk]
    assert march["losers"] == []
    assert BonusRun.objects.count() == before  # nothing written
    with pytest.raises(ValidationFailed):
        what_if(plan, {"base": {}}, ["2026-03"])
