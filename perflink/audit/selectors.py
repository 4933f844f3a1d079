"""Reads of the audit trail."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from perflink.audit.chain import HASHED_FIELDS, ChainProblem, verify_chain
from perflink.audit.models import AuditChainHead, AuditEvent
from perflink.tenancy.models import Tenant

CHAIN_FIELDS = ("id", *HASHED_FIELDS, "hash")  # what verify_chain reads of each event


def filter_events(
    qs: QuerySet[AuditEvent],
    *,
    q: str = "",
    action: str = "",
    actor: str = "",
    object_type: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    if q:
        qs = qs.filter(
            Q(object_repr__icontains=q) | Q(object_id=q) | Q(request_id=q) | Q(action__icontains=q)
        )
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs


def verify_tenant_chain(tenant: Tenant) -> ChainProblem | None:
    """Verify one tenant's chain, streaming the events in sequence order."""
    events = AuditEvent.objects.for_tenant(tenant).order_by("seq").values(*CHAIN_FIELDS)
    head = AuditChainHead.objects.for_tenant(tenant).values_list("seq", "hash").first()
    return verify_chain(tenant.pk, events.iterator(chunk_size=2000), head)
