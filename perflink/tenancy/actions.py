"""Writes for tenants (platform operators only: the CLI's create-tenant)."""

from __future__ import annotations

from django.db import transaction

from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict
from perflink.tenancy.models import Tenant


def do_create_tenant(*, slug: str, name: str, actor: Actor = SYSTEM) -> Tenant:
    from perflink.audit.actions import record_event

    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise Conflict(f"tenant {slug!r} already exists", field="slug", code="tenant_exists")
        tenant = Tenant.objects.create(slug=slug, name=name)
        with tenant_context(tenant, actor):
            record_event("tenant.create", tenant, after={"slug": slug, "name": name})
    return tenant
