"""Shared abstract models: timestamps and tenant ownership with a manager that cannot be forgotten."""

from __future__ import annotations

from typing import Any

from django.db import models

from perflink.core.context import current_tenant, unscoped_reason
from perflink.core.errors import TenantScopeError


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Any) -> TenantQuerySet:
        return self.filter(tenant=tenant)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of every tenant-owned model.

    Inside a tenant context it returns only that tenant's rows. Outside one it raises
    `TenantScopeError`, unless the caller opened `unscoped("reason")` on purpose. It never falls
    back to returning every tenant's rows.
    """

    def get_queryset(self) -> TenantQuerySet:
        qs = super().get_queryset()
        tenant = current_tenant()
        if tenant is not None:
            return qs.filter(tenant_id=tenant.pk)
        if unscoped_reason():
            return qs
        raise TenantScopeError(
            f"{self.model.__name__} queried without a tenant; wrap the call in tenant_context() "
            "or, for maintenance code, unscoped('reason')"
        )


class TenantOwned(models.Model):
    """A row that belongs to exactly one tenant; the tenant is taken from the context when saved."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+", editable=False)

    objects = TenantManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        ctx = current_tenant()
        if self.tenant_id is None:
            if ctx is None:
                raise TenantScopeError(f"{type(self).__name__} saved without a tenant")
            self.tenant = ctx
        elif ctx is not None and ctx.pk != self.tenant_id:
            raise TenantScopeError(
                f"{type(self).__name__} of tenant {self.tenant_id} saved inside tenant {ctx.pk}"
            )
        super().save(*args, **kwargs)
