"""API: demands from business units to functional units, their progress from data, comments and evaluation.

Reads go through the caller's data scope (a unit head sees what their subtree raised or serves); an id outside it
is answered like a missing one (404). An OA system raises and follows demands with a token holding
``demands.raise`` and ``demands.view``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.responses import Status

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
from perflink.collab.models import Demand, DemandEvent
from perflink.collab.progress import demand_progress
from perflink.collab.schemas import (
    AcceptIn,
    DeclineIn,
    DemandDetailOut,
    DemandEventOut,
    DemandIn,
    DemandListIn,
    DemandOut,
    EvaluateIn,
    EvaluationOut,
    NoteIn,
    ProgressOut,
    TextIn,
    WithdrawIn,
)
from perflink.collab.selectors import get_demand, search_demands
from perflink.core.api import Pagination, errors, lookup, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound
from perflink.core.schemas import IsoDate
from perflink.org.models import OrgUnit
from perflink.org.selectors import get_unit

router = Router(tags=["demands"])


def _any_unit(who: Any, unit_id: int) -> OrgUnit:
    """The unit asked to serve: any unit of the tenant (it is usually outside the requester's own subtree)."""
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("org unit not found")
    return unit


@router.get("/demands", response={200: list[DemandOut], **errors(404)}, summary="Demands, newest first")
@requires("demands.view")
@paginate(Pagination)
def list_demands(request: HttpRequest, filters: Query[DemandListIn]) -> QuerySet[Demand]:
    who = principal(request)
    return search_demands(
        who,
        status=filters.status or "",
        kind=filters.kind or "",
        unit=lookup(get_unit, who, filters.unit, field="unit"),
        period=filters.period or "",
        sort=filters.sort,
    )


@router.post("/demands", response={201: DemandDetailOut, **errors(400, 404)}, summary="Raise a demand")
@requires("demands.raise")
def raise_demand(request: HttpRequest, payload: DemandIn) -> Status:
    who = principal(request)
    demand = do_raise_demand(
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        requesting_unit=lookup(get_unit, who, payload.requesting_unit_id, field="requesting_unit_id"),
        serving_unit=lookup(_any_unit, who, payload.serving_unit_id, field="serving_unit_id"),
        spec=payload.spec,
        rule=payload.rule,
        period=payload.period,
        accept_within_working_days=payload.accept_within_working_days,
        user=who,
        actor=current_actor(),
    )
    return Status(201, demand)


@router.get(
    "/demands/{demand_id}",
    response={200: DemandDetailOut, **errors(404)},
    summary="A demand with its live progress and its log",
)
@requires("demands.view")
def read_demand(request: HttpRequest, demand_id: int) -> Demand:
    return get_demand(principal(request), demand_id)


@router.get(
    "/demands/{demand_id}/progress",
    response={200: ProgressOut, **errors(404)},
    summary="A demand's progress from the ingested records, as of a date (default today)",
)
@requires("demands.view")
def read_progress(request: HttpRequest, demand_id: int, as_of: IsoDate | None = None) -> dict[str, Any]:
    return demand_progress(get_demand(principal(request), demand_id), as_of).as_data()


@router.post(
    "/demands/{demand_id}/accept",
    response={200: DemandOut, **errors(400, 404, 409)},
    summary="Accept with a plan (serving side)",
)
@requires("demands.respond")
def accept_demand(request: HttpRequest, demand_id: int, payload: AcceptIn) -> Demand:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return do_accept_demand(
        demand, plan=payload.plan, requisition=payload.requisition, user=who, actor=current_actor()
    )


@router.post(
    "/demands/{demand_id}/decline",
    response={200: DemandOut, **errors(400, 404, 409)},
    summary="Decline with a reason (serving side)",
)
@requires("demands.respond")
def decline_demand(request: HttpRequest, demand_id: int, payload: DeclineIn) -> Demand:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return do_decline_demand(demand, reason=payload.reason, user=who, actor=current_actor())


@router.post(
    "/demands/{demand_id}/start",
    response={200: DemandOut, **errors(400, 404, 409)},
    summary="Start the work (serving side)",
)
@requires("demands.respond")
def start_demand(request: HttpRequest, demand_id: int, payload: NoteIn) -> Demand:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return do_start_demand(demand, note=payload.note, user=who, actor=current_actor())


@router.post(
    "/demands/{demand_id}/deliver",
    response={200: DemandOut, **errors(400, 404, 409)},
    summary="Mark delivered (serving side)",
)
@requires("demands.respond")
def deliver_demand(request: HttpRequest, demand_id: int, payload: NoteIn) -> Demand:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return do_deliver_demand(demand, note=payload.note, user=who, actor=current_actor())


@router.post(
    "/demands/{demand_id}/withdraw",
    response={200: DemandOut, **errors(400, 404, 409)},
    summary="Withdraw (requesting side, before delivery)",
)
@requires("demands.raise")
def withdraw_demand(request: HttpRequest, demand_id: int, payload: WithdrawIn) -> Demand:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return do_withdraw_demand(demand, reason=payload.reason, user=who, actor=current_actor())


@router.post(
    "/demands/{demand_id}/comments",
    response={201: DemandEventOut, **errors(400, 404)},
    summary="Comment (either side)",
)
@requires("demands.comment")
def comment_demand(request: HttpRequest, demand_id: int, payload: TextIn) -> Status:
    who = principal(request)
    demand = get_demand(who, demand_id)
    event: DemandEvent = do_comment_demand(demand, text=payload.text, user=who, actor=current_actor())
    return Status(201, event)


@router.post(
    "/demands/{demand_id}/change-requests",
    response={201: DemandEventOut, **errors(400, 404, 409)},
    summary="Ask for a change while the work is open (requesting side)",
)
@requires("demands.raise")
def request_change(request: HttpRequest, demand_id: int, payload: TextIn) -> Status:
    who = principal(request)
    demand = get_demand(who, demand_id)
    return Status(201, do_request_change(demand, text=payload.text, user=who, actor=current_actor()))


@router.post(
    "/demands/{demand_id}/evaluate",
    response={200: EvaluationOut, **errors(400, 404, 409)},
    summary="Evaluate by the demand's rule (not by the serving side); again while provisional",
)
@requires("demands.evaluate")
def evaluate_demand(request: HttpRequest, demand_id: int, payload: EvaluateIn) -> dict[str, Any]:
    who = principal(request)
    demand = get_demand(who, demand_id)
    result = do_evaluate_demand(demand, as_of=payload.as_of, user=who, actor=current_actor())
    return {
        "demand_id": result.demand.pk,
        "status": result.demand.status,
        **result.evaluation.as_data(),
        "recorded": result.event is not None,
    }
