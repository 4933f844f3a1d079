"""The bonus pages: the list of runs, a run's page with its approval workflow and people, and a person's
statement (计算说明)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from perflink.core.context import tenant_context
from perflink.incentives.choices import BonusRunStatus
from perflink.incentives.models import BonusRun
from tests.factories import World, make_bonus_runs, make_scores

HX = {"HTTP_HX_REQUEST": "true"}


def text(response: Any) -> str:
    return response.content.decode()


def session(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def run_url(run: BonusRun) -> str:
    return f"/links/bonus/{run.pk}/"


def status_of(world: World, run: BonusRun) -> str:
    with tenant_context(world.tenant):
        return BonusRun.objects.get(pk=run.pk).status


@pytest.fixture
def runs(world: World) -> dict[str, BonusRun]:
    make_scores(world)
    return make_bonus_runs(world)


def test_the_runs_page_lists_every_run_with_its_status_total_and_the_run_form(
    world: World, runs: dict[str, BonusRun]
) -> None:
    body = text(session(world, "performance_admin").get("/links/bonus/"))
    assert body.count('<tr data-run="') == 4
    for state, run in runs.items():
        assert f'data-run="{run.pk}" data-status="{state}"' in body
    published = runs["published"]
    assert f"¥{published.total:,.2f}" in body
    assert "人力激励" in body and "2026-03" in body and "approver@elsewhere" in body
    assert 'id="run-plan-form"' in body and "hr-bonus" in body
    assert 'aria-current="page" data-nav="incentives"' in body


def test_the_runs_page_filters_by_status_and_period_and_answers_htmx_with_the_results_only(
    world: World, runs: dict[str, BonusRun]
) -> None:
    client = session(world, "performance_admin")
    body = text(client.get("/links/bonus/", {"status": "approved"}, **HX))
    assert "<html" not in body
    assert re.findall(r'data-run="(\d+)"', body) == [str(runs["approved"].pk)]
    empty = text(client.get("/links/bonus/", {"period": "2025-01"}))
    assert 'id="bonus-empty"' in empty and "<tr data-run=" not in empty


def test_running_a_plan_through_the_page_makes_a_draft_and_opens_it(
    world: World, runs: dict[str, BonusRun]
) -> None:
    client = session(world, "performance_admin")
    with tenant_context(world.tenant):
        plan_id = runs["draft"].plan_version.plan_id
    response = client.post("/links/bonus/", {"plan": plan_id, "period": "2026-03"})
    assert response.status_code == 302
    with tenant_context(world.tenant):
        newest = BonusRun.objects.order_by("-pk").first()
    assert newest is not None and newest.status == BonusRunStatus.DRAFT
    assert response["Location"] == run_url(newest)


def test_running_a_plan_for_a_month_without_scores_shows_the_error_inline(
    world: World, runs: dict[str, BonusRun]
) -> None:
    client = session(world, "performance_admin")
    with tenant_context(world.tenant):
        plan_id = runs["draft"].plan_version.plan_id
        before = BonusRun.objects.count()
    response = client.post("/links/bonus/", {"plan": plan_id, "period": "2024-01"})
    assert response.status_code == 400
    assert 'id="period-errors"' in text(response) and "2024-01" in text(response)
    bad = client.post("/links/bonus/", {"plan": plan_id, "period": "March"})
    assert bad.status_code == 400 and 'id="period-errors"' in text(bad)
    with tenant_context(world.tenant):
        assert BonusRun.objects.count() == before


def test_the_run_page_shows_totals_people_statement_links_and_payroll_downloads(
    world: World, runs: dict[str, BonusRun]
) -> None:
    run = runs["published"]
    body = text(session(world, "performance_admin").get(run_url(run)))
    assert f"¥{run.total:,.2f}" in body and f"¥{run.total_before_pool:,.2f}" in body
    assert run.fingerprint[:12] in body
    assert world.staff.name in body and world.staff.employee_no in body
    assert f"/links/bonus/{run.pk}/people/{world.staff.pk}/" in body
    assert f"/api/v1/bonus-runs/{run.pk}/payroll.csv" in body
    assert f"/api/v1/bonus-runs/{run.pk}/payroll.xlsx" in body
    draft = text(session(world, "performance_admin").get(run_url(runs["draft"])))
    assert "payroll.csv" not in draft and 'id="submit-button"' in draft


def test_the_people_search_narrows_the_table(world: World, runs: dict[str, BonusRun]) -> None:
    client = session(world, "performance_admin")
    run = runs["draft"]
    found = text(client.get(run_url(run), {"q": world.staff.employee_no}, **HX))
    assert "<html" not in found and f'data-person="{world.staff.pk}"' in found
    none = text(client.get(run_url(run), {"q": "没有这个人"}, **HX))
    assert "data-person=" not in none and 'id="people-empty"' in none


def test_an_auditor_sees_the_pages_but_no_workflow_buttons_and_cannot_press_them(
    world: World, runs: dict[str, BonusRun]
) -> None:
    client = session(world, "auditor")
    listing = text(client.get("/links/bonus/"))
    assert "<tr data-run=" in listing and 'id="run-plan-form"' not in listing
    for run in runs.values():
        body = text(client.get(run_url(run)))
        assert world.staff.name in body
        for button in ("submit-button", "approve-button", "return-button", "publish-button", "payroll-csv"):
            assert f'id="{button}"' not in body
    assert client.post(run_url(runs["draft"]), {"step": "submit"}).status_code == 403
    assert client.post("/links/bonus/", {"plan": 1, "period": "2026-03"}).status_code == 403
    assert status_of(world, runs["draft"]) == BonusRunStatus.DRAFT


def test_approving_ones_own_submission_through_the_page_is_refused_and_the_run_stays_submitted(
    world: World, runs: dict[str, BonusRun]
) -> None:
    client = session(world, "performance_admin")
    run = runs["draft"]
    client.post(run_url(run), {"step": "submit"})
    assert status_of(world, run) == BonusRunStatus.SUBMITTED
    page = text(client.get(run_url(run)))
    assert 'id="own-submission"' in page and 'id="approve-button"' not in page

    response = client.post(run_url(run), {"step": "approve"})
    assert response.status_code == 403
    assert 'class="messages"' in text(response) and 'id="own-submission"' in text(response)
    assert status_of(world, run) == BonusRunStatus.SUBMITTED


def test_submit_approve_by_another_admin_and_publish_through_the_page(
    world: World, runs: dict[str, BonusRun]
) -> None:
    run = runs["draft"]
    submitter, approver = session(world, "performance_admin"), session(world, "tenant_admin")
    assert submitter.post(run_url(run), {"step": "submit"}).status_code == 302
    assert 'id="approve-button"' in text(approver.get(run_url(run)))
    assert approver.post(run_url(run), {"step": "approve"}).status_code == 302
    assert status_of(world, run) == BonusRunStatus.APPROVED
    assert approver.post(run_url(run), {"step": "publish"}).status_code == 302
    assert status_of(world, run) == BonusRunStatus.PUBLISHED
    body = text(approver.get(run_url(run)))
    assert 'data-status="published"' in body and 'id="workflow-note"' in body
    # A published run cannot go back: the conflict is a message, not an error page.
    again = approver.post(run_url(run), {"step": "return", "reason": "口径需复核"}, follow=True)
    assert again.status_code == 200 and 'class="messages"' in text(again)
    assert status_of(world, run) == BonusRunStatus.PUBLISHED


def test_returning_a_run_needs_a_reason(world: World, runs: dict[str, BonusRun]) -> None:
    client = session(world, "tenant_admin")
    run = runs["submitted"]
    response = client.post(run_url(run), {"step": "return", "reason": "  "})
    assert response.status_code == 400 and 'id="reason-errors"' in text(response)
    assert status_of(world, run) == BonusRunStatus.SUBMITTED
    assert client.post(run_url(run), {"step": "return", "reason": "口径需复核"}).status_code == 302
    assert status_of(world, run) == BonusRunStatus.DRAFT


def test_the_statement_explains_the_amount_line_by_line_and_prints(
    world: World, runs: dict[str, BonusRun]
) -> None:
    run = runs["published"]
    body = text(session(world, "performance_admin").get(f"/links/bonus/{run.pk}/people/{world.staff.pk}/"))
    assert world.staff.name in body and world.staff.employee_no in body
    kinds = re.findall(r'data-kind="(\w+)"', body)
    assert kinds[0] == "base" and kinds[-1] == "amount"
    assert "component" in kinds and "本人考核" in body and "理赔周期" in body
    seqs = [int(n) for n in re.findall(r'data-seq="(\d+)"', body)]
    assert seqs == sorted(seqs)
    assert 'id="statement-amount"' in body and "¥" in body
    assert 'data-branch="missing"' in body  # no linked claims cycle for HR here
    assert "window.print()" in body and "bonus-print.css" in body
    assert 'id="no-adjustments"' in body


def test_the_statement_of_someone_the_run_does_not_pay_says_so(
    world: World, runs: dict[str, BonusRun]
) -> None:
    response = session(world, "performance_admin").get(
        f"/links/bonus/{runs['draft'].pk}/people/{world.agent.pk}/"
    )
    assert response.status_code == 200 and 'id="not-paid"' in text(response)
    missing = session(world, "performance_admin").get(f"/links/bonus/{runs['draft'].pk}/people/999999/")
    assert missing.status_code == 404


def test_the_statement_names_inputs_by_metric_not_by_code(world):
    from perflink.incentives.views.bonus import _readable, input_names

    make_scores(world)
    with tenant_context(world.tenant):
        names = input_names()
    text = _readable("linked:claim_cycle_days ≤ 2; own:claim_payment_days = 0.5", names)
    assert "linked:" not in text and "own:" not in text
    assert "claim_cycle_days" not in text
