"""API: propose links, let the business side confirm or reject them, withdraw them."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from perflink.core.api import Pagination, errors, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.incentives.actions import (
    check_plan,
    do_decide_link,
    do_propose_link,
    do_save_plan,
    do_withdraw_link,
)
from perflink.incentives.models import IncentivePlan, Link
from perflink.incentives.schemas import (
    DecisionIn,
    LinkDetailOut,
    LinkIn,
    LinkOut,
    PlanCheckIn,
    PlanCheckOut,
    PlanIn,
    PlanOut,
)
from perflink.incentives.selectors import get_link, visible_links
from perflink.metrics.models import MetricDefinition
from perflink.org.models import OrgUnit

router = Router(tags=["links"])


@router.get(
    "/links", response={200: list[LinkOut], **errors()}, summary="Links between functions and business"
)
@requires("links.view")
@paginate(Pagination)
def list_links(request: HttpRequest, status: str | None = None) -> QuerySet[Link]:
    links = visible_links(principal(request)).order_by("id")
    return links.filter(status=status) if status else links


@router.get(
    "/links/{link_id}", response={200: LinkDetailOut, **errors(404)}, summary="A link and its versions"
)
@requires("links.view")
def read_link(request: HttpRequest, link_id: int) -> Link:
    return get_link(principal(request), link_id)


def _metric(code: str, field: str) -> MetricDefinition:
    metric = MetricDefinition.objects.filter(code=code, is_active=True).first()
    if metric is None:
        raise ValidationFailed(f"unknown metric {code!r}", field=field)
    return metric


def _unit(unit_id: int, field: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("unit not found", field=field)
    return unit


@router.post("/links", response={200: LinkOut, **errors(400, 404, 409)}, summary="Propose a link")
@requires("links.propose")
def propose_link(request: HttpRequest, body: LinkIn) -> Link:
    return do_propose_link(
        functional_unit=_unit(body.functional_unit_id, "functional_unit_id"),
        functional_metric=_metric(body.functional_metric, "functional_metric"),
        business_unit=_unit(body.business_unit_id, "business_unit_id"),
        business_metric=_metric(body.business_metric, "business_metric"),
        rationale=body.rationale,
        actor=current_actor(),
    )


@router.post(
    "/links/{link_id}/confirm",
    response={200: LinkOut, **errors(400, 404, 409)},
    summary="Confirm (business side)",
)
@requires("links.decide")
def confirm_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_decide_link(link, confirm=True, note=body.note, user=principal(request), actor=current_actor())


@router.post(
    "/links/{link_id}/reject",
    response={200: LinkOut, **errors(400, 404, 409)},
    summary="Reject (business side)",
)
@requires("links.decide")
def reject_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_decide_link(link, confirm=False, note=body.note, user=principal(request), actor=current_actor())


@router.post(
    "/links/{link_id}/withdraw", response={200: LinkOut, **errors(400, 404, 409)}, summary="Withdraw a link"
)
@requires("links.propose")
def withdraw_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_withdraw_link(link, note=body.note, user=principal(request), actor=current_actor())


# --- incentive plans --------------------------------------------------------------------------------------------


@router.get("/plans", response={200: list[PlanOut], **errors()}, summary="Incentive plans and their versions")
@requires("plans.view")
def list_plans(request: HttpRequest) -> QuerySet[IncentivePlan]:
    return IncentivePlan.objects.prefetch_related("versions").order_by("code")


@router.post(
    "/plans/validate", response={200: PlanCheckOut, **errors(400)}, summary="Check a plan without saving it"
)
@requires("plans.manage")
def validate_plan(request: HttpRequest, body: PlanCheckIn) -> dict[str, object]:
    try:
        check_plan(body.definition)
    except ValidationFailed as exc:
        return {"valid": False, "message": exc.message}
    return {"valid": True}


@router.get("/plans/{plan_id}", response={200: PlanOut, **errors(404)}, summary="A plan and its versions")
@requires("plans.view")
def read_plan(request: HttpRequest, plan_id: int) -> IncentivePlan:
    plan = IncentivePlan.objects.prefetch_related("versions").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


@router.post("/plans", response={200: PlanOut, **errors(400, 404)}, summary="Create a plan or add a version")
@requires("plans.manage")
def save_plan(request: HttpRequest, body: PlanIn) -> IncentivePlan:
    unit = _unit(body.unit_id, "unit_id") if body.unit_id else None
    version = do_save_plan(
        code=body.code,
        name=body.name,
        definition=body.definition,
        valid_from=body.valid_from,
        unit=unit,
        category=body.category,
        employment_type=body.employment_type,
        note=body.note,
        actor=current_actor(),
    )
    return IncentivePlan.objects.prefetch_related("versions").get(pk=version.plan_id)
