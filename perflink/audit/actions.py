"""Append an audit event inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from perflink.audit.chain import GENESIS, event_hash
from perflink.audit.models import AuditChainHead, AuditEvent
from perflink.core.context import SYSTEM, current_actor, current_ip, current_request_id, current_tenant
from perflink.core.errors import TenantScopeError
from perflink.core.masking import mask_field

SENSITIVE_KEYS = frozenset({"id_number", "mobile", "bank_account", "password"})


def _clean(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Mask sensitive keys and normalise to plain JSON (Decimals, dates as strings)."""
    if data is None:
        return None
    masked = {k: (mask_field(k, str(v)) if k in SENSITIVE_KEYS and v else v) for k, v in data.items()}
    return json.loads(json.dumps(masked, default=str, ensure_ascii=False))


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of a model instance (FKs as ids) for before/after."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        out[name] = getattr(instance, field.attname)
    return out


def record_event(
    action: str,
    obj: models.Model | tuple[str, Any, str] | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the current tenant's chain. Must run inside the action's transaction."""
    tenant = current_tenant()
    if tenant is None:
        raise TenantScopeError("audit event without a tenant")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event() must run inside the action's transaction.atomic()")
    actor = current_actor() or SYSTEM
    if obj is None:
        object_type, object_id, object_repr = "", "", ""
    elif isinstance(obj, tuple):
        object_type, object_id, object_repr = obj[0], str(obj[1]), obj[2]
    else:
        object_type, object_id, object_repr = obj._meta.label_lower, str(obj.pk), str(obj)[:200]

    # Lock the head so concurrent writers of one tenant append one after another.
    head = AuditChainHead.objects.select_for_update().filter(tenant=tenant).first()
    if head is None:
        head = AuditChainHead(tenant=tenant, seq=0, hash=GENESIS)
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": timezone.now(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label[:150],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr[:200],
        "before": _clean(before),
        "after": _clean(after),
        "request_id": current_request_id() or "",
        "ip": current_ip() or "",
        "prev_hash": head.hash,
    }
    fields["hash"] = event_hash(tenant.pk, fields)
    event = AuditEvent.objects.create(tenant=tenant, **fields)
    head.seq, head.hash = event.seq, event.hash
    head.save()
    return event
