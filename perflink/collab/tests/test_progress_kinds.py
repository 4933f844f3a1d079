"""Progress of training, payment-acceleration and IT-support demands, from records pushed like any source's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from perflink.collab.actions import (
    do_accept_demand,
    do_deliver_demand,
    do_evaluate_demand,
    do_raise_demand,
    do_start_demand,
)
from perflink.collab.progress import demand_progress
from perflink.collab.tests.factories import at
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import PASSWORD, World, make_employee, make_unit, push


def page(world: World, demand: Any) -> str:
    """The demand page as the performance administrator sees it."""
    from django.test import Client

    client = Client()
    assert client.login(username=world.users["performance_admin"].username, password=PASSWORD)
    response = client.get(f"/collab/demands/{demand.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def values(progress: Any) -> dict[str, Any]:
    return {f.key: f.value for f in progress.figures}


def deliver(demand: Any) -> Any:
    demand = do_accept_demand(demand, plan="方案", user=None, actor=SYSTEM)
    return do_deliver_demand(do_start_demand(demand, user=None, actor=SYSTEM), user=None, actor=SYSTEM)


@pytest.fixture
def units(world: World) -> Any:
    with tenant_context(world.tenant, SYSTEM):
        claims = make_unit("alpha-C", "理赔部", world.group, category="claims")
        finance = make_unit("alpha-F", "财务部", world.group, unit_type="functional", category="finance")
        it = make_unit("alpha-IT", "信息技术部", world.group, unit_type="functional", category="it")
        yield world, claims, finance, it


def test_training_counts_the_audience_s_completions_of_the_requested_courses(units: Any) -> None:
    world, *_ = units
    trainees = [make_employee(world.sales_team, employee_no=f"T-{i}", etype="agent") for i in range(4)]
    demand = do_raise_demand(
        kind="training",
        title="新人产品知识培训",
        requesting_unit=world.sales,
        serving_unit=world.hr,
        spec={"audience": "销售一组新人", "content": "产品知识", "courses": ["产品知识", "合规"],
              "pass_rate_target": 75, "audience_size": 4},
        user=None,
        actor=SYSTEM,
        at=at("2026-03-02"),
    )  # fmt: skip

    def record(i: int, who: Any, course: str, day: str, passed: str | None) -> dict[str, Any]:
        row = {"external_id": f"TR-{i}", "employee": who.employee_no, "course": course, "completed_on": day}
        return row | ({"passed": passed} if passed is not None else {})

    push(
        "training",
        [
            record(1, trainees[0], "产品知识", "2026-03-05", "是"),
            record(2, trainees[1], "产品知识", "2026-03-06", "否"),
            record(3, trainees[2], "合规", "2026-03-06", "是"),
            record(4, trainees[2], "产品知识", "2026-03-09", "是"),
            record(5, trainees[3], "产品知识", "2026-03-10", None),  # no exam result yet
            record(6, trainees[3], "产品知识", "2026-02-20", "是"),  # before the demand: not counted
            record(7, trainees[0], "Excel", "2026-03-07", "是"),  # another course
            record(8, world.staff, "产品知识", "2026-03-07", "是"),  # not in the audience (HR staff)
        ],
    )
    progress = demand_progress(demand, dt.date(2026, 3, 20))
    shown = values(progress)
    assert (shown["completions"], shown["trainees"], shown["passed"]) == (5, 4, 3)
    assert shown["pass_rate"] == Decimal("75.000000")  # 3 passed of 4 with a result
    assert shown["completion_rate"] == Decimal("100.000000")
    # The records behind the figures, in date order, for the drill-down and the chart.
    assert [(r["course"], r["completed_on"].day, r["passed"]) for r in progress.rows] == [
        ("产品知识", 5, True), ("产品知识", 6, False), ("合规", 6, True), ("产品知识", 9, True), ("产品知识", 10, None),
    ]  # fmt: skip
    assert progress.provisional  # due 30 working days… 20 working days after 2 March: 30 March
    assert demand.delivery_due_on == dt.date(2026, 3, 30)
    assert not demand_progress(demand, dt.date(2026, 3, 31)).provisional
    body = page(world, demand)
    assert 'data-kind="training"' in body and body.count("data-record=") == 5
    demand = deliver(demand)
    result = do_evaluate_demand(demand, as_of=dt.date(2026, 3, 31), user=None, actor=SYSTEM)
    assert (result.evaluation.total, result.evaluation.provisional) == (Decimal("100.00"), False)


def test_payment_time_of_the_catastrophe_claims_in_scope(units: Any) -> None:
    world, claims_unit, finance, _ = units
    demand = do_raise_demand(
        kind="payment",
        title="台风理赔加速支付",
        requesting_unit=claims_unit,
        serving_unit=finance,
        spec={"catastrophe_tag": "2026-台风摩羯", "target_payment_days": 1},
        user=None,
        actor=SYSTEM,
        at=at("2026-07-20"),
    )

    def claim(
        no: str, approved: str | None, paid: str | None, tag: str = "2026-台风摩羯", **extra: str
    ) -> dict:
        row = {"claim_no": no, "line": "property", "handler": world.staff.employee_no, "unit": claims_unit.code,
               "reported_at": "2026-07-20 08:00", "amount_claimed": "5000", "catastrophe_tag": tag, **extra}  # fmt: skip
        return row | {k: v for k, v in (("approved_at", approved), ("paid_at", paid)) if v}

    push(
        "claim",
        [
            claim("C-1", "2026-07-21 09:00", "2026-07-21 21:00"),  # 0.5 day
            claim("C-2", "2026-07-21 09:00", "2026-07-23 09:00"),  # 2 days
            claim("C-3", "2026-07-22 09:00", "2026-07-23 09:00"),  # exactly 1 day: within
            claim("C-4", "2026-07-22 09:00", None),  # approved, not yet paid
            claim("C-5", "2026-07-22 09:00", "2026-07-22 10:00", tag="暴雨"),  # another event
        ],
    )
    progress = demand_progress(demand, dt.date(2026, 7, 31))
    shown = values(progress)
    assert (shown["claims"], shown["paid"], shown["awaiting_payment"]) == (4, 3, 1)
    assert shown["payment_days_mean"] == Decimal("1.166667")  # (0.5 + 2 + 1) / 3
    assert shown["paid_within_target_rate"] == Decimal("66.666667")
    assert progress.provisional  # C-4 is still waiting
    assert [(r["claim_no"], r["payment_days"], r["within_target"]) for r in progress.rows] == [
        ("C-1", Decimal("0.500000"), True), ("C-2", Decimal("2.000000"), False),
        ("C-3", Decimal("1.000000"), True), ("C-4", None, None),
    ]  # fmt: skip
    with tenant_context(world.tenant, SYSTEM):
        body = page(world, demand)
    assert 'data-chart="demand-progress"' in body and 'data-kind="payment"' in body
    assert 'id="record-table"' in body and "C-4" in body and "C-5" not in body


def test_it_support_availability_and_fix_time_of_the_system(units: Any) -> None:
    world, _, _, it = units
    demand = do_raise_demand(
        kind="it_support",
        title="开门红出单系统保障",
        requesting_unit=world.sales,
        serving_unit=it,
        spec={
            "system": "核心业务系统",
            "availability_target": "99.5",
            "fix_hours_target": 2,
            "due_working_days": 5,
        },
        user=None,
        actor=SYSTEM,
        at=at("2026-03-02"),
    )
    assert demand.delivery_due_on == dt.date(2026, 3, 9)  # 3, 4, 5, 6, 9 March

    def incident(no: str, severity: str, start: str, end: str | None, system: str = "核心业务系统") -> dict:
        # affected_transactions is sent because the push path does not default it (an ingest gap, reported).
        row = {"external_id": no, "system": system, "severity": severity, "started_at": start,
               "affected_transactions": "0"}  # fmt: skip
        return row | ({"ended_at": end} if end else {})

    push(
        "incident",
        [
            incident("I-1", "P1", "2026-03-03 10:00", "2026-03-03 13:00"),  # 3 hours
            incident("I-2", "P3", "2026-03-04 10:00", "2026-03-04 11:00"),  # 1 hour, not an outage
            incident("I-3", "P1", "2026-03-05 10:00", "2026-03-05 12:00", system="邮件系统"),
        ],
    )
    progress = demand_progress(demand, dt.date(2026, 3, 12))
    shown = values(progress)
    assert (shown["incidents"], shown["resolved"]) == (2, 2)
    assert shown["fix_hours_mean"] == Decimal("2.000000")
    assert shown["outage_hours"] == Decimal("3.000000")
    # 8 days (2–9 March) = 192 hours; 3 hours out: 100 − 3 / 192 × 100 = 98.4375
    assert shown["availability"] == Decimal("98.437500")
    assert not progress.provisional
    assert [(r["severity"], r["hours"], r["outage"]) for r in progress.rows] == [
        ("P1", Decimal("3.000000"), True), ("P3", Decimal("1.000000"), False),
    ]  # fmt: skip
    with tenant_context(world.tenant, SYSTEM):
        body = page(world, demand)
    assert 'data-kind="it_support"' in body and body.count("data-record=") == 2
    result = do_evaluate_demand(deliver(demand), as_of=dt.date(2026, 3, 12), user=None, actor=SYSTEM)
    availability, fix = result.evaluation.components
    assert (availability.points, fix.points, result.evaluation.total) == (
        Decimal("0.00"), Decimal("50.00"), Decimal("50.00"),
    )  # fmt: skip


def test_other_demands_have_nothing_measured_and_no_points(world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        demand = do_raise_demand(
            kind="other",
            title="协助客户活动",
            requesting_unit=world.sales,
            serving_unit=world.hr,
            spec={"target": "提供活动场地与人员支持"},
            user=None,
            actor=SYSTEM,
        )
        assert demand_progress(demand).issues == ("not_measured",)
        result = do_evaluate_demand(deliver(demand), user=None, actor=SYSTEM)
    assert (result.evaluation.total, result.evaluation.components) == (None, ())
