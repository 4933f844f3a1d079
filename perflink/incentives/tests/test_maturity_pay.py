"""HR paid on sales' new-agent attainment only by a rule the plan states (DOMAIN.md §3a, maturity): either the
cohort whose 90 days closed in the period, or provisionally (暂估) with a true-up by a correction run when the
value matures. Agents arrive on the month's edges (the 2nd, the 31st), names and amounts unlike the demo."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.test import Client

from perflink.collab.tests.factories import make_head
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.incentives.actions import do_decide_link, do_save_plan
from perflink.incentives.bonus import (
    do_approve_bonus_run,
    do_publish_bonus_run,
    do_run_bonus,
    do_submit_bonus_run,
    provisional_people,
    statement,
    stored,
)
from perflink.incentives.library import HR_PLAN
from perflink.incentives.models import BonusAdjustment, BonusPayout
from perflink.metrics.actions import do_calculate
from tests.factories import PASSWORD, World, make_employee, make_link, make_scores, push

SUBMITTER = Actor("user", None, "hr-payroll@alpha")
APPROVER = Actor("user", None, "cfo@alpha")
# Agents arriving in March 2026 (the period paid) and in December 2025 (the cohort whose 90 days closed in March).
MARCH = [dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 16), dt.date(2026, 3, 31)]
DECEMBER = [dt.date(2025, 12, 1), dt.date(2025, 12, 15), dt.date(2025, 12, 31)]


def policy(world: World, agent: str, no: str, day: dt.date, premium: str) -> dict[str, Any]:
    return {
        "policy_no": no,
        "product_line": "life",
        "agent": agent,
        "unit": world.sales_team.code,
        "applied_on": day.isoformat(),
        "issued_on": day.isoformat(),
        "first_year_premium": premium,
        "annualised_premium": premium,
        "status": "in_force",
    }


def arrive(world: World, requisition: str, days: list[dt.date], prefix: str) -> list[str]:
    """New agents of a requisition raised by sales and recruited by HR, arriving on ``days``."""
    agents = [
        make_employee(world.sales_team, employee_no=f"{prefix}{i}", name=f"新人{prefix}{i}", etype="agent",
                      hire_date=day)
        for i, day in enumerate(days)
    ]  # fmt: skip
    push(
        "requisition",
        [
            {
                "requisition_no": requisition,
                "requesting_unit": world.sales.code,
                "recruiting_unit": world.hr.code,
                "position_title": "寿险代理人",
                "positions": str(len(days)),
                "opened_on": (days[0] - dt.timedelta(days=20)).isoformat(),
                "target_date": days[-1].isoformat(),
            }
        ],
    )
    push(
        "hire",
        [
            {
                "external_id": f"{requisition}-{i}",
                "requisition": requisition,
                "candidate_name": agent.name,
                "channel": "社招",
                "offer_on": (day - dt.timedelta(days=7)).isoformat(),
                "arrived_on": day.isoformat(),
                "employee": agent.employee_no,
            }
            for i, (agent, day) in enumerate(zip(agents, days, strict=True))
        ],
    )
    return [agent.employee_no for agent in agents]


@pytest.fixture
def hr_world(world: World):
    make_scores(world)
    link = make_link(world)
    head = make_head(world, world.sales, "sales-head@alpha")
    with tenant_context(world.tenant, SYSTEM):
        do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
        december = arrive(world, "REQ-2025-12", DECEMBER, "D")
        march = arrive(world, "REQ-2026-03", MARCH, "M")
        # December's cohort: two of three reach 100,000 within their 90 days (66.67%).
        push(
            "policy",
            [
                policy(world, december[0], "PD-0", dt.date(2025, 12, 20), "100000"),
                policy(world, december[1], "PD-1", dt.date(2026, 3, 14), "120000"),  # day 89 of 90
                policy(world, december[2], "PD-2", dt.date(2026, 1, 10), "99999.99"),
            ],
        )
        # March's cohort by 10 April: only the first agent has reached 100,000 (25%, provisional).
        push("policy", [policy(world, march[0], "PM-0", dt.date(2026, 3, 20), "150000")])
        yield world, march


def hr_plan(world: World, code: str, maturity: str) -> Any:
    definition = copy.deepcopy(HR_PLAN)
    attainment = definition["components"][1]
    if maturity == "provisional":
        attainment.pop("maturity", None)
    with tenant_context(world.tenant, SYSTEM):
        return do_save_plan(
            code=code,
            name=f"人力部门激励（{maturity}）",
            definition=definition,
            valid_from=dt.date(2026, 1, 1),
            category="hr",
            actor=SYSTEM,
        ).plan


def attainment_line(run: Any, person: int) -> dict[str, Any]:
    lines = statement(run, person)["lines"]
    return next(line for line in lines if line["key"] == "attainment" and line["kind"] == "component")


def publish(run: Any) -> Any:
    do_submit_bonus_run(run, user=None, actor=SUBMITTER)
    do_approve_bonus_run(run, user=None, actor=APPROVER)
    return do_publish_bonus_run(run, actor=APPROVER)


def test_paid_provisionally_then_trued_up_by_a_correction_when_the_cohort_matures(hr_world) -> None:
    world, march = hr_world
    staff = world.staff.pk
    plan = hr_plan(world, "hr-provisional", "provisional")
    with tenant_context(world.tenant, SYSTEM):
        do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 4, 10))
        first = publish(do_run_bonus(plan, "2026-03", actor=SYSTEM))
        inputs = stored(first, "inputs").filter(pl.col("person_id") == staff).row(0, named=True)
        assert inputs["linked:new_agent_attainment_3m"] == 25.0
        assert inputs["linked:new_agent_attainment_3m.provisional"] is True
        row = stored(first, "amounts").filter(pl.col("person_id") == staff).row(0, named=True)
        assert row["attainment.provisional"] is True and row["provisional"] is True
        line = attainment_line(first, staff)
        assert line["amount"] == Decimal("937.50") and "暂估" in line["detail"]
        assert provisional_people(first) >= 1
        rows = BonusPayout.objects.filter(run=first, employee_id=staff, component="attainment")
        assert [r.status for r in rows] == ["provisional"]
        client = Client()
        client.login(username=world.users["performance_admin"].username, password=PASSWORD)
        page = client.get(f"/links/bonus/{first.pk}/people/{staff}/").content.decode()
        assert 'id="statement-provisional"' in page and "暂估" in page
        assert 'id="provisional"' in client.get(f"/links/bonus/{first.pk}/").content.decode()

        # By July every March agent's 90 days have passed: two more reached 100,000 in May (75%, final).
        push(
            "policy",
            [
                policy(world, march[1], "PM-1", dt.date(2026, 5, 20), "100000"),
                policy(
                    world, march[3], "PM-3", dt.date(2026, 6, 28), "100000"
                ),  # day 89 for the 31 March agent
            ],
        )
        do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 7, 1))
        true_up = do_run_bonus(
            plan, "2026-03", actor=SYSTEM, correction=True, reason="新人三个月达成率满期，暂估转正"
        )
        inputs = stored(true_up, "inputs").filter(pl.col("person_id") == staff).row(0, named=True)
        assert inputs["linked:new_agent_attainment_3m"] == 75.0
        assert not inputs["linked:new_agent_attainment_3m.provisional"]
        # No demand points: that 20% is left out and the rest scale up (50% → 62.5%, 30% → 37.5%). HR's own
        # score (70 → 90) was provisional too, for it reads the same cohort. The correction keeps only what moved:
        # attainment 10,000 × 37.5% × (0.75 − 0.25) = 1,875.00 and own 10,000 × 62.5% × (0.9 − 0.7) = 1,250.00.
        diff = {r.component: r.amount for r in BonusPayout.objects.filter(run=true_up, employee_id=staff)}
        assert diff == {"attainment": Decimal("1875.00"), "own": Decimal("1250.00")}
        assert {r.status for r in BonusPayout.objects.filter(run=true_up)} == {"final"}
        publish(true_up)
        posted = BonusAdjustment.objects.get(run=first, employee_id=staff, correction=true_up)
        assert posted.amount == Decimal("3125.00") and "暂估转正" in posted.reason


def test_the_cohort_rule_pays_on_the_agents_whose_90_days_closed_in_the_period(hr_world) -> None:
    world, _ = hr_world
    staff = world.staff.pk
    plan = hr_plan(world, "hr-cohort", "cohort")
    with tenant_context(world.tenant, SYSTEM):
        do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 4, 10))
        run = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    inputs = stored(run, "inputs").filter(pl.col("person_id") == staff).row(0, named=True)
    # December's agents (all 90 days passed by 10 April): 2 of 3, not March's provisional 25%.
    assert inputs["linked:new_agent_attainment_3m@cohort"] == pytest.approx(66.67, abs=0.01)
    assert not inputs["linked:new_agent_attainment_3m@cohort.provisional"]
    assert inputs["linked:new_agent_attainment_3m@cohort.cohort"] == "2025-12 到岗"
    row = stored(run, "amounts").filter(pl.col("person_id") == staff).row(0, named=True)
    assert row["attainment.provisional"] is False
    text = attainment_line(run, staff)["detail"]
    assert "2025-12" in text and "暂估" not in text
