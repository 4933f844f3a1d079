"""Tenant scoping cannot be forgotten: unscoped queries raise instead of returning every tenant's rows."""

from __future__ import annotations

import pytest

from perflink.core.context import tenant_context, unscoped
from perflink.core.errors import TenantScopeError
from perflink.org.models import Employee, OrgUnit
from tests.factories import World


def test_given_no_tenant_in_context_when_querying_then_it_raises(world: World) -> None:
    with pytest.raises(TenantScopeError, match="without a tenant"):
        list(OrgUnit.objects.all())
    with pytest.raises(TenantScopeError):
        Employee.objects.count()


def test_given_a_tenant_context_then_only_its_rows_are_seen(world: World, other_world: World) -> None:
    with tenant_context(world.tenant):
        codes = set(OrgUnit.objects.values_list("code", flat=True))
        employee_nos = set(Employee.objects.values_list("employee_no", flat=True))
    assert codes and all(code.startswith("alpha-") for code in codes)
    with tenant_context(other_world.tenant):
        assert not employee_nos & set(Employee.objects.values_list("employee_no", flat=True))
        assert OrgUnit.objects.filter(pk=world.sales.pk).first() is None


def test_related_managers_are_scoped_too(world: World, other_world: World) -> None:
    with tenant_context(other_world.tenant):
        assert other_world.sales.children.count() == 1
        assert set(other_world.sales_team.employees.values_list("pk", flat=True)) == {other_world.agent.pk}


def test_unscoped_needs_a_reason_and_sees_every_tenant(world: World, other_world: World) -> None:
    with pytest.raises(ValueError, match="reason"), unscoped(""):
        pass
    with unscoped("test"):
        assert OrgUnit.objects.filter(pk__in=[world.sales.pk, other_world.sales.pk]).count() == 2


def test_saving_into_another_tenant_raises(world: World, other_world: World) -> None:
    with tenant_context(other_world.tenant), pytest.raises(TenantScopeError, match="saved inside tenant"):
        world.sales.save()
    unit = OrgUnit(
        code="x", name="x", kind="team", unit_type="business", category="sales", opened_on="2024-01-01"
    )
    with pytest.raises(TenantScopeError, match="without a tenant"):
        unit.save()
