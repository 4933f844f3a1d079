"""DOMAIN.md §2.6 end to end: finance's bonus follows the claims cycle and its own payment time, computed from
source records through the calculation run and a confirmed link, and changes only when those records do."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.incentives.actions import do_decide_link, do_propose_link
from perflink.incentives.bonus import do_run_bonus, statement, stored
from perflink.metrics.actions import do_calculate
from perflink.metrics.models import MetricDefinition
from tests.factories import PASSWORD, make_employee, make_plan, make_scores, make_unit, push

AS_OF = dt.date(2026, 11, 1)


def claims(handler: str, unit: str, rows: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    """(claim number, reported, approved, paid) → claim records."""
    return [
        {
            "claim_no": no,
            "line": "auto",
            "handler": handler,
            "unit": unit,
            "reported_at": reported,
            "approved_at": approved,
            "paid_at": paid,
            "closed_at": paid,
            "amount_claimed": "1000",
            "amount_paid": "900",
        }
        for no, reported, approved, paid in rows
    ]


@pytest.fixture
def finance_world(world):
    make_scores(world)  # the library, templates and a March run
    with tenant_context(world.tenant, SYSTEM):
        claims_dept = make_unit("CLM", "理赔部", world.group, unit_type="business", category="claims")
        claims_team = make_unit(
            "CLM1", "理赔一组", claims_dept, kind="team", unit_type="business", category="claims"
        )
        finance = make_unit("FIN", "财务部", world.group, unit_type="functional", category="finance")
        handler = make_employee(claims_team, name="赵理赔")
        accountant = make_employee(finance, name="钱财务")
        head = do_create_user(
            username="claims-head@alpha",
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
            rationale="赔款支付时效决定理赔周期",
            actor=SYSTEM,
        )
        do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
        # March: three claims reported → paid within 1.5 days, each paid 0.5 day after approval.
        push(
            "claim",
            claims(
                handler.employee_no,
                claims_team.code,
                [
                    ("C1", "2026-03-02 09:00", "2026-03-02 21:00", "2026-03-03 09:00"),
                    ("C2", "2026-03-09 09:00", "2026-03-09 21:00", "2026-03-10 09:00"),
                    ("C3", "2026-03-16 09:00", "2026-03-16 21:00", "2026-03-17 09:00"),
                ],
            ),
        )
        plan = make_plan(world).plan
        do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
        yield world, plan, accountant, handler, claims_team


def factor_of(run, person_id: int, key: str) -> Decimal:
    row = stored(run, "amounts").filter(pl.col("person_id") == person_id).row(0, named=True)
    return row[f"{key}.factor"]


def test_finance_is_paid_by_the_claims_cycle_and_its_own_payment_time(finance_world):
    _, plan, accountant, handler, team = finance_world
    run = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    # Claims' cycle 1 day ≤ 2 → the multiplier follows finance's payment time, 0.5 day ≤ 1 → 120%.
    assert factor_of(run, accountant.pk, "claims_link") == Decimal("1.2")
    lines = statement(run, accountant.pk)["lines"]
    assert any(line["kind"] == "multiplier" and line["branch"] == "then" for line in lines)

    # Slower payments: approved → paid 1.5 days, cycle now 2 days (still ≤ 2) → 100%.
    push(
        "claim",
        claims(
            handler.employee_no,
            team.code,
            [
                ("C1", "2026-03-02 09:00", "2026-03-02 09:00", "2026-03-03 21:00"),
                ("C2", "2026-03-09 09:00", "2026-03-09 09:00", "2026-03-10 21:00"),
                ("C3", "2026-03-16 09:00", "2026-03-16 09:00", "2026-03-17 21:00"),
            ],
        ),
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    slower = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    assert factor_of(slower, accountant.pk, "claims_link") == Decimal("1")

    # Claims miss their target (cycle 3 days > 2) → −10% whatever the payment time.
    push(
        "claim",
        claims(
            handler.employee_no,
            team.code,
            [
                ("C1", "2026-03-02 09:00", "2026-03-04 09:00", "2026-03-05 09:00"),
                ("C2", "2026-03-09 09:00", "2026-03-11 09:00", "2026-03-12 09:00"),
                ("C3", "2026-03-16 09:00", "2026-03-18 09:00", "2026-03-19 09:00"),
            ],
        ),
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    missed = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    assert factor_of(missed, accountant.pk, "claims_link") == Decimal("0.9")
    row = stored(missed, "amounts").filter(pl.col("person_id") == accountant.pk).row(0, named=True)
    assert row["claims_link.branch"] == "else"


def test_records_that_do_not_feed_the_plan_leave_the_bonus_unchanged(finance_world):
    world, plan, accountant, _, _ = finance_world
    first = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    push(
        "policy",
        [
            {
                "policy_no": "P-other",
                "product_line": "life",
                "agent": world.agent.employee_no,
                "unit": world.sales_team.code,
                "applied_on": "2026-03-05",
                "issued_on": "2026-03-05",
                "first_year_premium": "999",
                "annualised_premium": "999",
                "status": "in_force",
            }
        ],
    )
    do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    second = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    a = stored(first, "amounts").filter(pl.col("person_id") == accountant.pk)
    b = stored(second, "amounts").filter(pl.col("person_id") == accountant.pk)
    assert a.equals(b)
    assert second.calc_run_id != first.calc_run_id
