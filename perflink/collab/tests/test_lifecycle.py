"""The life of a demand: who may move it, where it may go, what is refused (by code), and what is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from perflink.audit.models import AuditEvent
from perflink.collab.actions import (
    do_accept_demand,
    do_comment_demand,
    do_decline_demand,
    do_deliver_demand,
    do_evaluate_demand,
    do_raise_demand,
    do_request_change,
    do_start_demand,
    do_withdraw_demand,
)
from perflink.collab.choices import DEMAND_TRANSITIONS, DemandStatus, EventKind, Side
from perflink.collab.models import Demand, DemandEvent
from perflink.collab.tests.factories import RECRUITMENT_SPEC, at, make_demands, make_head, make_support_unit
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from tests.factories import World


def as_actor(user: Any) -> Actor:
    return Actor("user", user.pk, user.username)


@pytest.fixture
def sides(world: World) -> Any:
    """The sales head (requesting side), the HR head (serving side), and a performance administrator."""
    hr_head = make_head(world, world.hr, "hr-head@alpha")
    with tenant_context(world.tenant, SYSTEM):
        yield world, world.users["unit_head"], hr_head, world.users["performance_admin"]


def raise_one(world: World, user: Any, **overrides: Any) -> Demand:
    fields: dict[str, Any] = {
        "kind": "recruitment",
        "title": "招聘20名代理人",
        "requesting_unit": world.sales,
        "serving_unit": world.hr,
        "spec": RECRUITMENT_SPEC,
        "user": user,
        "actor": as_actor(user) if user else SYSTEM,
    }
    return do_raise_demand(**(fields | overrides))


def test_a_demand_walks_from_submission_to_delivery_with_a_log_entry_per_step(sides: Any) -> None:
    world, sales_head, hr_head, _ = sides
    demand = raise_one(world, sales_head)
    assert demand.status == DemandStatus.SUBMITTED and demand.created_by == sales_head
    demand = do_accept_demand(demand, plan="内推为主", user=hr_head, actor=as_actor(hr_head))
    assert (demand.status, demand.plan) == (DemandStatus.ACCEPTED, "内推为主")
    demand = do_start_demand(demand, user=hr_head, actor=as_actor(hr_head))
    demand = do_deliver_demand(demand, note="20人已入职", user=hr_head, actor=as_actor(hr_head))
    assert demand.status == DemandStatus.DELIVERED
    assert all((demand.accepted_at, demand.started_at, demand.delivered_at))
    log = list(demand.events.values_list("kind", "from_status", "to_status", "side", "by_label"))
    assert log == [
        (EventKind.RAISED, "", "submitted", Side.REQUESTER, sales_head.username),
        (EventKind.ACCEPTED, "submitted", "accepted", Side.SERVER, hr_head.username),
        (EventKind.STARTED, "accepted", "in_progress", Side.SERVER, hr_head.username),
        (EventKind.DELIVERED, "in_progress", "delivered", Side.SERVER, hr_head.username),
    ]
    actions = set(AuditEvent.objects.filter(object_id=str(demand.pk)).values_list("action", flat=True))
    assert {"demand.raise", "demand.accept", "demand.start", "demand.deliver"} <= actions


def test_numbers_count_per_month_within_the_tenant(sides: Any, other_world: World) -> None:
    world, *_ = sides
    numbers = [
        raise_one(world, None, at=at(day)).number for day in ("2026-03-02", "2026-03-31", "2026-04-01")
    ]
    assert numbers == ["XQ-202603-0001", "XQ-202603-0002", "XQ-202604-0001"]
    with tenant_context(other_world.tenant, SYSTEM):
        assert raise_one(other_world, None, at=at("2026-03-05")).number == "XQ-202603-0001"


@pytest.mark.parametrize(
    ("state", "attempt"),
    [
        ("submitted", "start"),
        ("submitted", "deliver"),
        ("accepted", "accept"),
        ("accepted", "decline"),
        ("in_progress", "accept"),
        ("delivered", "withdraw"),
        ("delivered", "start"),
        ("declined", "accept"),
        ("withdrawn", "start"),
    ],
)
def test_moves_outside_the_allowed_transitions_are_refused(sides: Any, state: str, attempt: str) -> None:
    world, *_ = sides
    demands = make_demands(world)
    demand = demands.get(state) or demands["submitted"]
    if state == "declined":
        demand = do_decline_demand(demand, reason="人力不足", user=None, actor=SYSTEM)
    if state == "withdrawn":
        demand = do_withdraw_demand(demand, user=None, actor=SYSTEM)
    moves = {
        "accept": lambda d: do_accept_demand(d, plan="方案", user=None, actor=SYSTEM),
        "decline": lambda d: do_decline_demand(d, reason="理由", user=None, actor=SYSTEM),
        "start": lambda d: do_start_demand(d, user=None, actor=SYSTEM),
        "deliver": lambda d: do_deliver_demand(d, user=None, actor=SYSTEM),
        "withdraw": lambda d: do_withdraw_demand(d, user=None, actor=SYSTEM),
    }
    with pytest.raises(Conflict) as refused:
        moves[attempt](demand)
    assert refused.value.code == "demand_state"
    demand.refresh_from_db()
    assert demand.status == state


def test_the_transition_table_ends_in_final_states() -> None:
    for final in (DemandStatus.DECLINED, DemandStatus.WITHDRAWN, DemandStatus.EVALUATED):
        assert DEMAND_TRANSITIONS[final] == frozenset()
    assert DemandStatus.WITHDRAWN in DEMAND_TRANSITIONS[DemandStatus.IN_PROGRESS]
    assert DemandStatus.WITHDRAWN not in DEMAND_TRANSITIONS[DemandStatus.DELIVERED]


def test_declining_needs_a_reason_and_accepting_a_plan(sides: Any) -> None:
    world, _, hr_head, _ = sides
    demand = raise_one(world, None)
    with pytest.raises(ValidationFailed) as no_reason:
        do_decline_demand(demand, reason="  ", user=hr_head, actor=as_actor(hr_head))
    assert no_reason.value.field == "reason"
    with pytest.raises(ValidationFailed) as no_plan:
        do_accept_demand(demand, plan="", user=hr_head, actor=as_actor(hr_head))
    assert no_plan.value.field == "plan"
    demand = do_decline_demand(demand, reason="编制已满", user=hr_head, actor=as_actor(hr_head))
    assert (demand.status, demand.decline_reason) == (DemandStatus.DECLINED, "编制已满")


def test_only_the_requesting_side_raises_withdraws_and_requests_changes(sides: Any) -> None:
    world, sales_head, hr_head, admin = sides
    with pytest.raises(PermissionDeniedError) as refused:
        raise_one(world, hr_head)
    assert refused.value.code == "not_requesting_side"
    demand = raise_one(world, sales_head)
    for attempt in (
        lambda: do_withdraw_demand(demand, user=hr_head, actor=as_actor(hr_head)),
        lambda: do_request_change(demand, text="加产品知识", user=hr_head, actor=as_actor(hr_head)),
    ):
        with pytest.raises(PermissionDeniedError) as refused:
            attempt()
        assert refused.value.code == "not_requesting_side"
    change = do_request_change(demand, text="培训加入产品知识", user=sales_head, actor=as_actor(sales_head))
    assert (change.kind, change.side, change.text) == (
        EventKind.CHANGE_REQUEST,
        Side.REQUESTER,
        "培训加入产品知识",
    )
    # Performance administrators may act for the requester too.
    demand = do_withdraw_demand(demand, reason="需求取消", user=admin, actor=as_actor(admin))
    assert demand.status == DemandStatus.WITHDRAWN
    assert demand.events.last().side == Side.ADMIN
    with pytest.raises(Conflict) as closed:
        do_request_change(demand, text="再改", user=sales_head, actor=as_actor(sales_head))
    assert closed.value.code == "demand_state"


def test_only_the_serving_side_accepts_starts_and_delivers(sides: Any) -> None:
    world, sales_head, hr_head, admin = sides
    demand = raise_one(world, sales_head)
    for attempt in (
        lambda: do_accept_demand(demand, plan="自己批", user=sales_head, actor=as_actor(sales_head)),
        lambda: do_decline_demand(demand, reason="不做", user=sales_head, actor=as_actor(sales_head)),
    ):
        with pytest.raises(PermissionDeniedError) as refused:
            attempt()
        assert refused.value.code == "not_serving_side"
    demand = do_accept_demand(demand, plan="方案", user=admin, actor=as_actor(admin))
    with pytest.raises(PermissionDeniedError):
        do_start_demand(demand, user=sales_head, actor=as_actor(sales_head))
    assert do_start_demand(demand, user=hr_head, actor=as_actor(hr_head)).status == DemandStatus.IN_PROGRESS


def test_both_sides_comment_and_outsiders_cannot(sides: Any) -> None:
    world, sales_head, hr_head, _ = sides
    claims = make_head(world, world.group, "group-head@alpha")  # scoped above both: counts as either side
    outsider_unit = world.sales_team
    outsider = make_head(world, outsider_unit, "team-head@alpha")  # below the requesting unit: not its head
    demand = raise_one(world, sales_head)
    do_comment_demand(demand, text="请尽快", user=sales_head, actor=as_actor(sales_head))
    do_comment_demand(demand, text="已安排", user=hr_head, actor=as_actor(hr_head))
    do_comment_demand(demand, text="关注", user=claims, actor=as_actor(claims))
    with pytest.raises(PermissionDeniedError) as refused:
        do_comment_demand(demand, text="路过", user=outsider, actor=as_actor(outsider))
    assert refused.value.code == "not_a_party"
    comments = list(
        DemandEvent.objects.filter(demand=demand, kind=EventKind.COMMENT).values_list("side", "text")
    )
    assert comments == [(Side.REQUESTER, "请尽快"), (Side.SERVER, "已安排"), (Side.REQUESTER, "关注")]


def test_the_serving_side_cannot_evaluate_its_own_demand(sides: Any) -> None:
    world, _, hr_head, admin = sides
    demand = make_demands(world)["delivered"]
    with pytest.raises(PermissionDeniedError) as refused:
        do_evaluate_demand(demand, user=hr_head, actor=as_actor(hr_head))
    assert refused.value.code == "serving_side"
    # A head over both units is the serving side too.
    support = make_support_unit(world)
    own = make_demands(world, serving=support)["delivered"]
    with pytest.raises(PermissionDeniedError) as refused:
        do_evaluate_demand(own, user=world.users["unit_head"], actor=SYSTEM)
    assert refused.value.code == "serving_side"
    result = do_evaluate_demand(demand, user=admin, actor=as_actor(admin))
    assert result.demand.status == DemandStatus.EVALUATED


def test_only_a_delivered_demand_is_evaluated_and_never_as_of_a_future_date(sides: Any) -> None:
    world, *_ = sides
    demands = make_demands(world)
    with pytest.raises(Conflict) as refused:
        do_evaluate_demand(demands["in_progress"], user=None, actor=SYSTEM)
    assert refused.value.code == "demand_state"
    with pytest.raises(ValidationFailed) as future:
        do_evaluate_demand(demands["delivered"], as_of=dt.date(2999, 1, 1), user=None, actor=SYSTEM)
    assert future.value.field == "as_of"


def test_the_requesting_unit_must_be_business_and_the_serving_unit_functional(sides: Any) -> None:
    world, *_ = sides
    with pytest.raises(ValidationFailed) as wrong:
        raise_one(world, None, requesting_unit=world.hr)
    assert wrong.value.field == "requesting_unit_id"
    with pytest.raises(ValidationFailed) as wrong:
        raise_one(world, None, serving_unit=world.sales_team)
    assert wrong.value.field == "serving_unit_id"


def test_a_requisition_named_on_acceptance_is_followed(sides: Any) -> None:
    world, _, hr_head, _ = sides
    demand = raise_one(world, None, spec={"positions": 5, "arrival_days": 10})
    demand = do_accept_demand(demand, plan="方案", requisition="REQ-9", user=hr_head, actor=as_actor(hr_head))
    assert demand.spec["requisition"] == "REQ-9"
    assert demand.spec["attainment_days"] == 90
