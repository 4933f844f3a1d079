"""Pay that reproduces (DOMAIN.md §3a): a bonus run reads only what its calculation run stored, so the same
calculation pays the same whatever changed later; one payable run per plan and period; corrections post only the
differences; drafts can be discarded; payout rows add up to the statement to the fen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict, ValidationFailed
from perflink.incentives.actions import do_decide_link, do_propose_link, do_withdraw_link
from perflink.incentives.bonus import (
    AlreadyPublished,
    do_approve_bonus_run,
    do_discard_bonus_run,
    do_publish_bonus_run,
    do_run_bonus,
    do_submit_bonus_run,
    payroll_rows,
    stored,
    superseded_by,
)
from perflink.incentives.choices import BonusRunKind, BonusRunStatus
from perflink.incentives.models import BonusAdjustment, BonusPayout, BonusRun
from perflink.metrics.actions import do_calculate, do_set_target
from perflink.metrics.models import MetricDefinition
from tests.factories import PASSWORD, make_employee, make_plan, make_scores, make_unit, push

AS_OF = dt.date(2026, 11, 1)
SUBMITTER = Actor("user", None, "submitter@elsewhere")
APPROVER = Actor("user", None, "approver@elsewhere")


def claims(handler: str, unit: str, rows: list[tuple[str, ...]]) -> list[dict[str, str]]:
    """(claim number, reported, paid[, approved]) → claim records as a claims system exports them (approved
    12 hours before payment unless given)."""
    out = []
    for no, reported, paid, *approved in rows:
        paid_at = dt.datetime.fromisoformat(paid)
        out.append(
            {
                "claim_no": no,
                "line": "auto",
                "handler": handler,
                "unit": unit,
                "reported_at": reported,
                "approved_at": approved[0]
                if approved
                else (paid_at - dt.timedelta(hours=12)).isoformat(sep=" "),
                "paid_at": paid,
                "closed_at": paid,
                "amount_claimed": "2500.5",
                "amount_paid": "2400",
            }
        )
    return out


@pytest.fixture
def branch(world):
    """A branch whose claims department (理赔部, 深圳分公司) is linked to its finance department, confirmed by the
    claims head; March's claims are paid within a day of the report."""
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        shenzhen = make_unit("SZ", "深圳分公司", world.group, kind="branch")
        claims_dept = make_unit("SZ-CLM", "理赔部", shenzhen, unit_type="business", category="claims")
        finance = make_unit("SZ-FIN", "财务部", shenzhen, unit_type="functional", category="finance")
        handler = make_employee(claims_dept, name="孙理赔")
        accountant = make_employee(finance, name="周会计")
        head = do_create_user(
            username="sz-claims-head@alpha",
            password=PASSWORD,
            role=Role.UNIT_HEAD,
            scope_unit=claims_dept,
            check_password=False,
            actor=SYSTEM,
        )
        link = do_propose_link(
            functional_unit=finance,
            functional_metric=MetricDefinition.objects.get(code="claim_payment_days"),
            business_unit=claims_dept,
            business_metric=MetricDefinition.objects.get(code="claim_cycle_days"),
            rationale="赔款支付快，理赔周期才短",
            actor=SYSTEM,
        )
        as_head = Actor("user", head.pk, head.username)
        do_decide_link(link, confirm=True, user=head, actor=as_head)
        push(
            "claim",
            claims(
                handler.employee_no,
                claims_dept.code,
                [
                    ("SZ-001", "2026-03-01 00:30", "2026-03-01 20:30"),
                    ("SZ-002", "2026-03-10 09:00", "2026-03-11 08:00"),
                    ("SZ-003", "2026-03-31 10:00", "2026-03-31 22:00"),
                ],
            ),
        )
        plan = make_plan(world).plan
        do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
        yield {
            "world": world,
            "plan": plan,
            "accountant": accountant,
            "handler": handler,
            "claims": claims_dept,
            "link": link,
            "head": head,
            "as_head": as_head,
        }


def amounts_of(run: BonusRun) -> dict[int, Decimal]:
    frame = stored(run, "amounts")
    return dict(zip(frame["person_id"].to_list(), frame["amount"].to_list(), strict=True))


def publish(run: BonusRun) -> BonusRun:
    do_submit_bonus_run(run, user=None, actor=SUBMITTER)
    do_approve_bonus_run(run, user=None, actor=APPROVER)
    return do_publish_bonus_run(run, actor=APPROVER)


def payout_sums(run: BonusRun) -> dict[int, Decimal]:
    sums: dict[int, Decimal] = {}
    for employee_id, amount in BonusPayout.objects.filter(run=run).values_list("employee_id", "amount"):
        sums[employee_id] = sums.get(employee_id, Decimal(0)) + amount
    return sums


# --- the same calculation pays the same -----------------------------------------------------------------------


def test_given_a_calculation_when_the_link_and_targets_change_later_then_a_new_run_on_it_pays_the_same(
    branch,
):
    first = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    do_withdraw_link(branch["link"], note="重新评估", user=branch["head"], actor=branch["as_head"])
    for code, value in (("claim_cycle_days", "0.5"), ("claim_payment_days", "0.2")):
        do_set_target(
            period="2026-03",
            metric=MetricDefinition.objects.get(code=code),
            value=Decimal(value),
            unit=branch["claims"] if code == "claim_cycle_days" else branch["accountant"].unit,
            actor=SYSTEM,
        )
    again = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    assert again.calc_run_id == first.calc_run_id
    assert amounts_of(again) == amounts_of(first)
    accountant = branch["accountant"].pk
    assert stored(again, "amounts").filter(pl.col("person_id") == accountant)[
        "claims_link.factor"
    ].item() == Decimal("1.2")
    # A new calculation reads the links as they are now: the link no longer counts, and the statement says why.
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    later = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    inputs = stored(later, "inputs").filter(pl.col("person_id") == accountant).row(0, named=True)
    assert inputs["linked:claim_cycle_days"] is None
    assert inputs["linked:claim_cycle_days.why"] == "所在部门没有已确认的“理赔周期”联动关系"
    # Missing is not zero: the claims share is left out and the own score carries the whole base; the statement
    # page says so (a left-out line has no factor).
    row = stored(later, "amounts").filter(pl.col("person_id") == accountant).row(0, named=True)
    assert row["claims.missing"] == "leave_out" and row["own.weight"] == Decimal("100")
    client = Client()
    client.login(username=branch["world"].users["performance_admin"].username, password=PASSWORD)
    page = client.get(f"/links/bonus/{later.pk}/people/{accountant}/")
    assert page.status_code == 200
    assert "所在部门没有已确认的“理赔周期”联动关系" in page.content.decode()


def test_given_a_link_waiting_for_the_business_head_then_the_statement_names_who_must_confirm(branch):
    do_withdraw_link(branch["link"], note="改由新负责人确认", user=branch["head"], actor=branch["as_head"])
    do_propose_link(
        functional_unit=branch["link"].functional_unit,
        functional_metric=branch["link"].functional_metric,
        business_unit=branch["claims"],
        business_metric=branch["link"].business_metric,
        rationale="赔款支付快，理赔周期才短（新口径）",
        actor=SYSTEM,
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    run = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    inputs = stored(run, "inputs").filter(pl.col("person_id") == branch["accountant"].pk).row(0, named=True)
    assert inputs["linked:claim_cycle_days"] is None
    assert inputs["linked:claim_cycle_days.why"] == "等待 理赔部负责人（深圳分公司） 确认"


# --- payout rows ---------------------------------------------------------------------------------------------------


def test_a_run_stores_each_persons_payout_rows_adding_up_to_the_amount(branch):
    run = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    amounts = amounts_of(run)
    assert payout_sums(run) == amounts
    rows = BonusPayout.objects.filter(run=run, employee=branch["accountant"]).order_by("id")
    assert [(r.kind, r.component) for r in rows][:2] == [("component", "own"), ("component", "claims")]
    assert {r.period for r in rows} == {"2026-03"}
    assert {r.unit_id for r in rows} == {branch["accountant"].unit_id}
    assert sum(r.amount for r in rows) == amounts[branch["accountant"].pk]


# --- one payable run per plan and period ------------------------------------------------------------------------


def test_a_second_regular_run_for_a_published_period_is_refused_and_a_correction_is_offered(branch):
    published = publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    with pytest.raises(AlreadyPublished) as refused:
        do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    assert refused.value.code == "already_published"
    assert f"#{published.pk}" in refused.value.message
    with pytest.raises(ValidationFailed):
        do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM, correction=True, reason=" ")


def test_only_one_run_per_plan_and_period_can_be_on_its_way_to_payment(branch):
    first = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    second = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    do_submit_bonus_run(first, user=None, actor=SUBMITTER)
    with pytest.raises(Conflict) as refused:
        do_submit_bonus_run(second, user=None, actor=SUBMITTER)
    assert refused.value.code == "payable_run_exists"
    # The database refuses it too, whatever path writes.
    second.refresh_from_db()
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusRun.objects.filter(pk=second.pk).update(status=BonusRunStatus.SUBMITTED)


def test_a_draft_can_be_discarded_with_a_reason_and_never_submitted_again(branch):
    draft = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        do_discard_bonus_run(draft, reason="", actor=SYSTEM)
    discarded = do_discard_bonus_run(draft, reason="用错了计算批次", actor=SYSTEM)
    assert discarded.status == BonusRunStatus.DISCARDED and discarded.status_note == "用错了计算批次"
    with pytest.raises(Conflict):
        do_submit_bonus_run(discarded, user=None, actor=SUBMITTER)
    published = publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    with pytest.raises(Conflict):
        do_discard_bonus_run(published, reason="不要了", actor=SYSTEM)


# --- corrections ---------------------------------------------------------------------------------------------------


def test_a_correction_run_posts_only_the_differences_as_adjustments(branch):
    published = publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    paid_before = amounts_of(published)
    # Late data: one claim was paid three days after its approval, so finance's mean payment time is 1.33 days
    # (100%, not 120%), while the claims cycle (1.44 days) still meets its target.
    push(
        "claim",
        claims(
            branch["handler"].employee_no,
            branch["claims"].code,
            [("SZ-002", "2026-03-08 09:00", "2026-03-11 09:00", "2026-03-08 09:00")],
        ),
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    assert superseded_by(published) is not None
    correction = do_run_bonus(
        branch["plan"], "2026-03", actor=SYSTEM, correction=True, reason="三月理赔数据补录"
    )
    assert correction.kind == BonusRunKind.CORRECTION and correction.corrects_id == published.pk
    new = amounts_of(correction)
    changed = {
        p: new.get(p, Decimal(0)) - paid_before.get(p, Decimal(0)) for p in set(new) | set(paid_before)
    }
    changed = {p: d for p, d in changed.items() if d}
    assert changed, "the late claims must change someone's bonus"
    assert payout_sums(correction) == changed
    assert correction.difference == sum(changed.values())
    _header, rows = payroll_rows(publish(correction))
    assert len(rows) == len(changed)
    # Publishing posted the differences on the published run, which itself never changed.
    posted = {
        a.employee_id: a.amount for a in BonusAdjustment.objects.filter(run=published, correction=correction)
    }
    assert posted == changed
    assert amounts_of(BonusRun.objects.get(pk=published.pk)) == paid_before
    # Nothing more to correct: a second correction on the same data has no differences.
    again = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM, correction=True, reason="复核")
    assert again.difference == Decimal("0.00") and not again.payouts.exists()


def test_a_correction_made_before_another_was_published_is_refused_at_publication(branch):
    publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    push(
        "claim",
        claims(
            branch["handler"].employee_no,
            branch["claims"].code,
            [("SZ-002", "2026-03-08 09:00", "2026-03-11 09:00", "2026-03-08 09:00")],
        ),
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    one = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM, correction=True, reason="补录一")
    two = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM, correction=True, reason="补录二")
    publish(one)
    with pytest.raises(Conflict) as refused:
        do_submit_bonus_run(two, user=None, actor=SUBMITTER)
    assert refused.value.code == "correction_outdated"


# --- through the API and the pages ---------------------------------------------------------------------------------


def test_the_api_refuses_a_second_run_for_a_published_period_and_accepts_a_correction(branch):
    world = branch["world"]
    published = publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    client = Client()
    client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    body = {"plan_id": branch["plan"].pk, "period": "2026-03"}
    refused = client.post("/api/v1/bonus-runs", body, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "already_published"
    made = client.post(
        "/api/v1/bonus-runs",
        {**body, "correction": True, "reason": "三月数据补录"},
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    assert made.json()["kind"] == "correction" and made.json()["corrects_id"] == published.pk
    discarded = client.post(
        f"/api/v1/bonus-runs/{made.json()['id']}/discard", {"reason": "重复"}, content_type="application/json"
    )
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    rows = client.get(f"/api/v1/bonus-runs/{published.pk}/payouts?limit=500").json()
    accountant = [row for row in rows["items"] if row["employee_id"] == branch["accountant"].pk]
    assert [(row["kind"], row["component"], row["status"]) for row in accountant][:2] == [
        ("component", "own", "final"),
        ("component", "claims", "final"),
    ]
    assert sum(Decimal(row["amount"]) for row in accountant) == amounts_of(published)[branch["accountant"].pk]


def test_the_run_page_refuses_a_second_run_and_says_a_run_is_on_a_superseded_calculation(branch):
    world = branch["world"]
    published = publish(do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM))
    client = Client()
    client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    page = client.post("/links/bonus/", {"plan": branch["plan"].pk, "period": "2026-03"})
    assert page.status_code == 400
    html = page.content.decode()
    assert 'id="published-run-link"' in html and f"/links/bonus/{published.pk}/#corrections" in html
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    shown = client.get(f"/links/bonus/{published.pk}/").content.decode()
    assert 'id="superseded"' in shown and 'id="correct-form"' in shown
    # The correction form makes a correction run and opens it.
    made = client.post(f"/links/bonus/{published.pk}/", {"step": "correct", "reason": "三月数据补录"})
    correction = BonusRun.objects.get(corrects=published)
    assert made.status_code == 302 and made["Location"].endswith(f"/links/bonus/{correction.pk}/")
    page = client.get(f"/links/bonus/{correction.pk}/").content.decode()
    assert 'id="correction-info"' in page and 'id="difference"' in page


def test_a_draft_on_a_superseded_calculation_is_run_again_from_its_page(branch):
    world = branch["world"]
    draft = do_run_bonus(branch["plan"], "2026-03", actor=SYSTEM)
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    client = Client()
    client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    assert 'id="rerun-form"' in client.get(f"/links/bonus/{draft.pk}/").content.decode()
    response = client.post(f"/links/bonus/{draft.pk}/", {"step": "rerun"})
    draft.refresh_from_db()
    assert draft.status == BonusRunStatus.DISCARDED
    newer = BonusRun.objects.exclude(pk=draft.pk).get(plan=branch["plan"], period="2026-03")
    assert response["Location"].endswith(f"/links/bonus/{newer.pk}/")
    assert superseded_by(newer) is None
