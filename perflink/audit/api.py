"""API: the tenant's audit trail (read-only) and its hash-chain check."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from perflink.audit.models import AuditEvent
from perflink.audit.schemas import ChainVerifyOut, EventListIn, EventOut
from perflink.audit.selectors import filter_events, verify_tenant_chain
from perflink.core.api import Pagination, errors, principal, requires
from perflink.core.errors import NotFound

router = Router(tags=["audit"])


@router.get("/audit/events", response={200: list[EventOut], **errors()}, summary="Search the audit trail")
@requires("audit.view")
@paginate(Pagination)
def list_events(request: HttpRequest, filters: Query[EventListIn]) -> QuerySet[AuditEvent]:
    # The default manager holds the caller's tenant only.
    return filter_events(AuditEvent.objects.all(), **filters.model_dump()).order_by("-seq")


@router.get(
    "/audit/events/{event_id}", response={200: EventOut, **errors(404)}, summary="Read an audit event"
)
@requires("audit.view")
def read_event(request: HttpRequest, event_id: int) -> AuditEvent:
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound("audit event not found")
    return event


@router.get(
    "/audit/verify", response={200: ChainVerifyOut, **errors()}, summary="Verify the tenant's hash chain"
)
@requires("audit.view")
def verify_chain(request: HttpRequest) -> ChainVerifyOut:
    tenant = principal(request).tenant
    problem = verify_tenant_chain(tenant)
    return ChainVerifyOut(
        intact=problem is None,
        problem=str(problem) if problem else None,
        events=AuditEvent.objects.count(),
    )
