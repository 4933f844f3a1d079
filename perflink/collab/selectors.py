"""Reads of demands, within the reader's data scope: a unit head sees the demands their subtree raised or serves.

"Missing" and "not yours" look the same: both raise NotFound (404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from perflink.accounts.access import unit_scope_q
from perflink.collab.choices import DemandStatus
from perflink.collab.models import Demand
from perflink.core.errors import NotFound
from perflink.org.models import OrgUnit

DEMAND_SORTS = {
    "submitted_at": "submitted_at", "-submitted_at": "-submitted_at", "number": "number", "-number": "-number",
    "status": "status", "-status": "-status", "kind": "kind", "-kind": "-kind",
    "delivery_due_on": "delivery_due_on", "-delivery_due_on": "-delivery_due_on",
    "acceptance_due_on": "acceptance_due_on", "-acceptance_due_on": "-acceptance_due_on",
    "period": "period", "-period": "-period", "points": "points", "-points": "-points",
}  # fmt: skip


def visible_demands(who: Any) -> QuerySet[Demand]:
    demands = Demand.objects.select_related("requesting_unit", "serving_unit")
    q = unit_scope_q(who)
    if q is None:
        return demands
    units = OrgUnit.objects.filter(q).values("pk")
    return demands.filter(Q(requesting_unit__in=units) | Q(serving_unit__in=units))


def get_demand(who: Any, demand_id: int) -> Demand:
    demand = visible_demands(who).filter(pk=demand_id).first()
    if demand is None:
        raise NotFound("demand not found")
    return demand


def search_demands(
    who: Any,
    *,
    status: str = "",
    kind: str = "",
    unit: OrgUnit | None = None,
    period: str = "",
    sort: str = "-submitted_at",
) -> QuerySet[Demand]:
    """Visible demands, filtered; ``unit`` matches demands raised or served by the unit or a unit below it."""
    demands = visible_demands(who)
    if status:
        demands = demands.filter(status=status)
    if kind:
        demands = demands.filter(kind=kind)
    if period:
        demands = demands.filter(period=period)
    if unit is not None:
        demands = demands.filter(
            Q(requesting_unit__path__startswith=unit.path) | Q(serving_unit__path__startswith=unit.path)
        )
    return demands.order_by(DEMAND_SORTS.get(sort, "-submitted_at"), "-id")


def overdue(demand: Demand, today: dt.date) -> str:
    """Which SLA clock has run out today: "acceptance", "delivery", or "" (none, or the demand is past it)."""
    if (
        demand.status == DemandStatus.SUBMITTED
        and demand.acceptance_due_on
        and today > demand.acceptance_due_on
    ):
        return "acceptance"
    if (
        demand.status in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED, DemandStatus.IN_PROGRESS)
        and demand.delivery_due_on
        and today > demand.delivery_due_on
    ):
        return "delivery"
    return ""
