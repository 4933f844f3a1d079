"""API: the impact analyses (read-only, `analytics.view`; a BI tool pulls them with a token holding it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from perflink.analytics import selectors
from perflink.analytics.schemas import (
    BeforeAfterIn,
    BeforeAfterOut,
    ClaimsIn,
    ClaimsOut,
    CohortsIn,
    CohortsOut,
    ImpactIn,
    ImpactOut,
    LinkImpactOut,
    OutagesOut,
    SuggestionsIn,
    SuggestionsOut,
)
from perflink.core.api import errors, principal, requires
from perflink.incentives.selectors import get_link

router = Router(tags=["analytics"])
ANALYTICS_ACTION = "analytics.view"


@router.get("/analytics/impact", response={200: ImpactOut, **errors()}, summary="Impact of a metric pair")
@requires(ANALYTICS_ACTION)
def impact(request: HttpRequest, filters: Query[ImpactIn]) -> dict[str, Any]:
    return asdict(
        selectors.pair_impact(filters.functional, filters.business, provisional=filters.provisional)
    )


@router.get(
    "/analytics/links/{link_id}/impact",
    response={200: LinkImpactOut, **errors(404)},
    summary="Impact of a link",
)
@requires(ANALYTICS_ACTION)
def link_impact(request: HttpRequest, link_id: int) -> dict[str, Any]:
    link = get_link(principal(request), link_id)
    return {
        **asdict(selectors.link_impact(link)),
        "link_id": link.pk,
        "functional_unit_id": link.functional_unit_id,
        "business_unit_id": link.business_unit_id,
    }


@router.get("/analytics/claims", response={200: ClaimsOut, **errors()}, summary="Per-claim payment days")
@requires(ANALYTICS_ACTION)
def claims(request: HttpRequest, filters: Query[ClaimsIn]) -> dict[str, Any]:
    return asdict(selectors.claims_impact(tuple(filters.controls)))


@router.get("/analytics/cohorts", response={200: CohortsOut, **errors()}, summary="New-agent cohorts")
@requires(ANALYTICS_ACTION)
def cohorts(request: HttpRequest, filters: Query[CohortsIn]) -> dict[str, Any]:
    return asdict(selectors.cohorts(filters.by))


@router.get("/analytics/before-after", response={200: BeforeAfterOut, **errors()}, summary="KPI before/after")
@requires(ANALYTICS_ACTION)
def before_after(request: HttpRequest, filters: Query[BeforeAfterIn]) -> dict[str, Any]:
    change = selectors.kpi_change(
        filters.metric,
        (filters.before_from, filters.before_to),
        (filters.after_from, filters.after_to),
        provisional=filters.provisional,
    )
    return asdict(change)


@router.get("/analytics/suggestions", response={200: SuggestionsOut, **errors()}, summary="Link suggestions")
@requires(ANALYTICS_ACTION)
def suggestions(request: HttpRequest, filters: Query[SuggestionsIn]) -> dict[str, Any]:
    return asdict(selectors.suggestions(filters.top))


@router.get("/analytics/outages", response={200: OutagesOut, **errors()}, summary="Outage hours and policies")
@requires(ANALYTICS_ACTION)
def outages(request: HttpRequest) -> dict[str, Any]:
    return asdict(selectors.outage_impact())
