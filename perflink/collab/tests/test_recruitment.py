"""DOMAIN.md §2.5 end to end through ingestion: sales asks HR for 20 agents within 10 days, each to reach 100,000
yuan of first-year premium in their first 3 months; the HR system's records arrive through the push path; progress
shows 18/20; the month-end evaluation is provisional (the 3-month windows are still open) and, once they have
passed, final: 20 points for the arrival target plus 66.67 for 12 of 18 reaching 100,000 = 86.67."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from perflink.audit.models import AuditEvent
from perflink.collab.actions import (
    do_accept_demand,
    do_deliver_demand,
    do_evaluate_demand,
    do_evaluate_due_demands,
    do_raise_demand,
    do_start_demand,
)
from perflink.collab.choices import DemandStatus, EvaluationState, EventKind
from perflink.collab.progress import demand_progress
from perflink.collab.tests.factories import RECRUITMENT_SPEC, at, make_head
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict
from tests.factories import World, make_employee, push

OPENED = dt.date(2026, 3, 2)
IN_TIME = [
    OPENED + dt.timedelta(days=1 + i % 10) for i in range(18)
]  # 3 to 12 March: on or before the deadline
LATE = dt.date(2026, 3, 13)  # one day after the deadline (2 March + 10 days)


def as_actor(user: Any) -> Actor:
    return Actor("user", user.pk, user.username)


def _policy(
    world: World, agent: str, no: str, day: dt.date, fyp: str, status: str = "in_force"
) -> dict[str, Any]:
    return {
        "policy_no": no,
        "product_line": "life",
        "agent": agent,
        "unit": world.sales_team.code,
        "applied_on": day.isoformat(),
        "issued_on": day.isoformat(),
        "first_year_premium": fyp,
        "annualised_premium": fyp,
        "status": status,
    }


def ingest_hr_and_policies(world: World) -> None:
    """The requisition, 20 candidates (18 in time, 1 a day late, 1 never arriving) and the new agents' policies:
    exactly 12 of the 18 reach 100,000 within their first 90 days. The near misses sit on every edge."""
    agents = [
        make_employee(
            world.sales_team, employee_no=f"N-{i:02d}", name=f"新人{i}", etype="agent", hire_date=day
        )
        for i, day in enumerate([*IN_TIME, LATE])
    ]
    push(
        "requisition",
        [
            {
                "requisition_no": "REQ-2026-001",
                "requesting_unit": world.sales.code,
                "recruiting_unit": world.hr.code,
                "position_title": "寿险代理人",
                "positions": "20",
                "opened_on": OPENED.isoformat(),
                "target_date": "2026-03-12",
            }
        ],
    )
    hires = [
        {
            "external_id": f"H-{i:02d}",
            "requisition": "REQ-2026-001",
            "candidate_name": f"新人{i}",
            "channel": "内推",
            "offer_on": OPENED.isoformat(),
            "arrived_on": day.isoformat(),
            "employee": agent.employee_no,
        }
        for i, (agent, day) in enumerate(zip(agents, [*IN_TIME, LATE], strict=True))
    ]
    hires.append(
        {"external_id": "H-19", "requisition": "REQ-2026-001", "candidate_name": "未到岗", "channel": "校招"}
    )
    push("hire", hires)

    policies = []
    for i, (agent, day) in enumerate(zip(agents, IN_TIME, strict=False)):
        no, d = agent.employee_no, dt.timedelta
        if i == 0:  # exactly 100,000.00 from three policies in the first week
            policies += [_policy(world, no, f"P-{i}-{k}", day + d(days=k), fyp) for k, fyp in
                         enumerate(["33333.33", "33333.33", "33333.34"], start=1)]  # fmt: skip
        elif i < 12:  # 60,000 in the first month, 40,000 later (for agent 1 on the window's last day)
            later = 89 if i == 1 else 60
            policies += [
                _policy(world, no, f"P-{i}-a", day + d(days=5), "60000"),
                _policy(world, no, f"P-{i}-b", day + d(days=later), "40000"),
            ]
        elif i == 12:  # one fen short
            policies.append(_policy(world, no, f"P-{i}-a", day + d(days=5), "99999.99"))
        elif i == 13:  # the rest comes on day 90: outside the window
            policies += [
                _policy(world, no, f"P-{i}-a", day + d(days=5), "60000"),
                _policy(world, no, f"P-{i}-b", day + d(days=90), "40000"),
            ]
        elif i == 14:  # the second policy was cancelled in the cooling-off period
            policies += [
                _policy(world, no, f"P-{i}-a", day + d(days=5), "60000"),
                _policy(world, no, f"P-{i}-b", day + d(days=30), "40000", status="cancelled"),
            ]
        elif i == 15:  # sold before arriving (not in the window)
            policies.append(_policy(world, no, f"P-{i}-a", day - d(days=1), "100000"))
        else:
            policies.append(_policy(world, no, f"P-{i}-a", day + d(days=10), "10000"))
    # The late arrival sells well, but is not in the cohort that arrived in time.
    policies.append(_policy(world, agents[18].employee_no, "P-late", LATE + dt.timedelta(days=3), "200000"))
    push("policy", policies)


@pytest.fixture
def recruitment(world: World) -> Any:
    sales_head = world.users["unit_head"]  # scoped to the sales department
    hr_head = make_head(world, world.hr, "hr-head@alpha")
    with tenant_context(world.tenant, SYSTEM):
        demand = do_raise_demand(
            kind="recruitment",
            title="开门红招聘20名代理人",
            requesting_unit=world.sales,
            serving_unit=world.hr,
            spec=RECRUITMENT_SPEC,
            user=sales_head,
            actor=as_actor(sales_head),
            at=at("2026-03-02"),
        )
        demand = do_accept_demand(
            demand, plan="内推与校招，岗前培训加入产品知识", user=hr_head, actor=as_actor(hr_head)
        )
        ingest_hr_and_policies(world)
        demand = do_start_demand(demand, user=hr_head, actor=as_actor(hr_head))
        demand = do_deliver_demand(demand, user=hr_head, actor=as_actor(hr_head))
        yield world, demand


def figures(progress: Any) -> dict[str, tuple[Decimal | None, bool]]:
    return {f.key: (f.value, f.provisional) for f in progress.figures}


def test_the_demand_is_numbered_and_due_as_asked(recruitment: Any) -> None:
    _, demand = recruitment
    assert demand.number == "XQ-202603-0001"
    assert demand.period == "2026-03"
    assert demand.acceptance_due_on == dt.date(2026, 3, 4)  # two working days after Monday 2 March
    assert demand.delivery_due_on == dt.date(2026, 3, 12)  # arrival within 10 calendar days


def test_progress_shows_18_of_20_arrived_in_time_from_the_hr_records(recruitment: Any) -> None:
    _, demand = recruitment
    progress = demand_progress(demand, dt.date(2026, 3, 31))
    shown = figures(progress)
    assert shown["hires"][0] == 20
    assert shown["arrived"][0] == 19
    assert shown["arrived_in_time"] == (18, False)  # the deadline (12 March) has passed: final
    assert shown["arrival_rate"] == (Decimal("90.000000"), False)
    assert progress.basis["arrival_deadline"] == dt.date(2026, 3, 12)
    # Policies issued by 31 March: only agent 0 has reached 100,000 yet, and every window is still open.
    assert shown["attained"] == (1, True)
    assert progress.provisional
    assert progress.final_on == dt.date(2026, 6, 10)  # 12 March + 90 days
    # Drill-down: the in-time figure names the 18 hire records.
    in_time = progress.figure("arrived_in_time")
    assert in_time is not None and len(in_time.record_ids) == 18


def test_before_the_deadline_the_arrival_figures_are_provisional(recruitment: Any) -> None:
    _, demand = recruitment
    progress = demand_progress(demand, dt.date(2026, 3, 8))
    shown = figures(progress)
    assert shown["arrived_in_time"] == (12, True)  # 3–8 March: six days × 2 (offsets 0–5 and 10–15 of 18)
    assert shown["arrival_rate"] == (Decimal("60.000000"), True)


def test_month_end_evaluation_is_provisional_and_the_final_one_gives_86_67(recruitment: Any) -> None:
    world, demand = recruitment
    with tenant_context(world.tenant, SYSTEM):
        first = do_evaluate_due_demands(as_of=dt.date(2026, 4, 1), actor=SYSTEM)
        assert [e.demand.pk for e in first] == [demand.pk]
        provisional = first[0].evaluation
        assert provisional.provisional
        arrival, attainment = provisional.components
        assert (arrival.value, arrival.points, arrival.provisional) == (
            Decimal("90.000000"),
            Decimal("20.00"),
            False,
        )
        assert (attainment.value, attainment.points, attainment.provisional) == (
            Decimal("5.555556"), Decimal("5.56"), True,
        )  # fmt: skip
        demand.refresh_from_db()
        assert demand.status == DemandStatus.EVALUATED
        assert (demand.points, demand.evaluation_state) == (Decimal("25.56"), EvaluationState.PROVISIONAL)

        # The next day nothing has changed: the job records nothing new.
        again = do_evaluate_due_demands(as_of=dt.date(2026, 4, 2), actor=SYSTEM)
        assert [e.event for e in again] == [None]

        # Once every 90-day window has passed, the evaluation is final: 20 + 66.67 = 86.67.
        final = do_evaluate_due_demands(as_of=dt.date(2026, 6, 15), actor=SYSTEM)[0]
        arrival, attainment = final.evaluation.components
        assert (attainment.value, attainment.attainment, attainment.points) == (
            Decimal("66.666667"), Decimal("66.666667"), Decimal("66.67"),
        )  # fmt: skip
        assert arrival.points == Decimal("20.00")
        assert final.evaluation.total == Decimal("86.67")
        assert not final.evaluation.provisional
        demand.refresh_from_db()
        assert (demand.points, demand.evaluation_state) == (Decimal("86.67"), EvaluationState.FINAL)

        # Both evaluations are in the log with their figures; the final one cannot be redone.
        logged = list(demand.events.filter(kind=EventKind.EVALUATION).order_by("at", "id"))
        assert [(e.data["evaluation"]["total"], e.data["evaluation"]["provisional"]) for e in logged] == [
            ("25.56", True),
            ("86.67", False),
        ]
        reached = next(f for f in logged[1].data["progress"]["figures"] if f["key"] == "attained")
        assert len(reached["record_ids"]) == 12
        with pytest.raises(Conflict) as refused:
            do_evaluate_demand(demand, as_of=dt.date(2026, 7, 1), user=None, actor=SYSTEM)
        assert refused.value.code == "evaluation_final"
        assert AuditEvent.objects.filter(action="demand.evaluate", object_id=str(demand.pk)).count() == 2
        assert not do_evaluate_due_demands(as_of=dt.date(2026, 7, 1), actor=SYSTEM)


def test_a_performance_admin_evaluates_directly_once_the_data_have_matured(recruitment: Any) -> None:
    world, demand = recruitment
    admin = world.users["performance_admin"]
    with tenant_context(world.tenant, SYSTEM):
        result = do_evaluate_demand(demand, as_of=dt.date(2026, 6, 10), user=admin, actor=as_actor(admin))
    assert (result.evaluation.total, result.evaluation.provisional) == (Decimal("86.67"), False)
    hires = {row["candidate_name"]: row for row in demand_progress(demand, dt.date(2026, 6, 10)).rows}
    assert hires["新人0"]["premium"] == "100000.00" and hires["新人0"]["reached"]
    assert hires["新人12"]["premium"] == "99999.99" and not hires["新人12"]["reached"]
    assert hires["新人18"]["in_time"] is False and hires["新人18"]["reached"] is None
    assert hires["未到岗"]["arrived_on"] is None


# --- the points reach HR's scorecard and HR's bonus -----------------------------------------------------------


def _hr_item(run: Any, world: World) -> dict[str, Any]:
    import polars as pl

    from perflink.metrics.selectors import run_frame

    rows = run_frame(run, "results").filter(
        (pl.col("level") == "unit")
        & (pl.col("subject_id") == world.hr.pk)
        & (pl.col("metric") == "demand_points")
    )
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def _hr_total(run: Any, world: World) -> Decimal:
    import polars as pl

    from perflink.metrics.selectors import run_frame

    totals = run_frame(run, "totals").filter(
        (pl.col("level") == "unit") & (pl.col("subject_id") == world.hr.pk)
    )
    return Decimal(str(totals["score"][0]))


def test_the_points_flow_into_hr_scorecard_and_bonus_provisional_then_final(
    recruitment: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from perflink.incentives.actions import do_save_plan
    from perflink.incentives.bonus import do_run_bonus, statement
    from perflink.incentives.library import HR_PLAN
    from perflink.ingest.models import DemandEvaluationRecord
    from perflink.metrics.actions import do_calculate, do_install_library, do_publish_run
    from perflink.metrics.selectors import latest_run

    world, demand = recruitment
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        before = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 4, 1))
        assert _hr_item(before, world)["value"] is None  # no evaluated demand yet: no value, not 0
        plan = do_save_plan(
            code="hr-demands",
            name="人力部门激励",
            definition=HR_PLAN,  # 20% on own:demand_points
            valid_from=dt.date(2026, 1, 1),
            category="hr",
            actor=SYSTEM,
        ).plan

        # Month end: the provisional evaluation is written as a record and recalculates March.
        with django_capture_on_commit_callbacks(execute=True):
            do_evaluate_due_demands(as_of=dt.date(2026, 4, 1), actor=SYSTEM)
        record = DemandEvaluationRecord.objects.get(external_id=demand.number)
        assert (record.points, record.provisional, record.period_on) == (
            Decimal("25.56"), True, dt.date(2026, 3, 1),
        )  # fmt: skip
        provisional_run = latest_run("2026-03")
        assert provisional_run is not None and provisional_run.pk != before.pk
        item = _hr_item(provisional_run, world)
        assert (Decimal(str(item["value"])), Decimal(str(item["points"]))) == (
            Decimal("25.56"),
            Decimal("25.56"),
        )
        do_publish_run(provisional_run, actor=SYSTEM)
        provisional_bonus = do_run_bonus(plan, "2026-03", actor=SYSTEM)

        # The 3-month windows have passed: the final evaluation replaces the record (a new version, not a second
        # record) and March is recalculated again.
        with django_capture_on_commit_callbacks(execute=True):
            do_evaluate_due_demands(as_of=dt.date(2026, 6, 15), actor=SYSTEM)
        record.refresh_from_db()
        assert (record.points, record.provisional, record.version) == (Decimal("86.67"), False, 2)
        assert DemandEvaluationRecord.objects.count() == 1
        final_run = latest_run("2026-03")
        assert final_run is not None and final_run.number == provisional_run.number + 1
        item = _hr_item(final_run, world)
        assert (Decimal(str(item["value"])), Decimal(str(item["points"]))) == (
            Decimal("86.67"),
            Decimal("86.67"),
        )
        assert _hr_total(final_run, world) > _hr_total(provisional_run, world)
        do_publish_run(final_run, actor=SYSTEM)
        final_bonus = do_run_bonus(plan, "2026-03", actor=SYSTEM)

    # HR's staff member is paid on the unit's score and on the demand points: both moved with the final points.
    staff = world.staff.pk
    first, last = statement(provisional_bonus, staff), statement(final_bonus, staff)
    demands = next(line for line in last["lines"] if line["key"] == "demands" and line["kind"] == "component")
    assert (demands["input"], demands["value"]) == ("own:demand_points", Decimal("86.67"))
    assert last["amounts"]["amount"] > first["amounts"]["amount"]
