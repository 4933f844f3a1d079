"""Reads of the org tree and employees, always through the principal's data scope.

"Missing" and "not yours" look the same: both raise NotFound (404)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from perflink.accounts.access import can, scope_employees, scope_units
from perflink.core.errors import NotFound
from perflink.core.masking import mask_field
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, OrgUnitVersion, Position

EMPLOYEE_SORTS = {
    "employee_no": "employee_no", "-employee_no": "-employee_no", "name": "name", "-name": "-name",
    "unit": "unit__name", "-unit": "-unit__name", "hire_date": "hire_date", "-hire_date": "-hire_date",
    "status": "status", "-status": "-status", "type": "employment_type", "-type": "-employment_type",
}  # fmt: skip


def visible_units(principal: Any) -> QuerySet[OrgUnit]:
    return scope_units(principal, OrgUnit.objects.all())


def get_unit(principal: Any, unit_id: int) -> OrgUnit:
    unit = visible_units(principal).filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("org unit not found")
    return unit


def search_units(
    principal: Any,
    *,
    unit_type: str = "",
    category: str = "",
    kind: str = "",
    parent: OrgUnit | None = None,
) -> QuerySet[OrgUnit]:
    """Visible units, optionally only the direct children of `parent`, in tree order."""
    qs = visible_units(principal)
    if unit_type:
        qs = qs.filter(unit_type=unit_type)
    if category:
        qs = qs.filter(category=category)
    if kind:
        qs = qs.filter(kind=kind)
    if parent is not None:
        qs = qs.filter(parent=parent)
    return qs.order_by("path", "pk")


def get_position(principal: Any, position_id: int) -> Position:
    """A position of the tenant (positions are not tied to units, so every principal of the tenant
    who may manage employees may use any of them)."""
    position = Position.objects.filter(pk=position_id).first()
    if position is None:
        raise NotFound("position not found")
    return position


def unit_children(principal: Any, parent: OrgUnit | None) -> QuerySet[OrgUnit]:
    """Direct children (or the visible roots), each with its headcount and number of children."""
    qs = visible_units(principal)
    if parent is None:
        roots = qs.order_by("depth").values_list("depth", flat=True).first()
        qs = qs.filter(depth=roots) if roots is not None else qs.none()
    else:
        qs = qs.filter(parent=parent)
    return qs.annotate(
        n_children=Count("children", distinct=True),
        n_employees=Count("employees", filter=~Q(employees__status="left"), distinct=True),
    ).order_by("sort_order", "code")


def subtree_headcount(unit: OrgUnit) -> int:
    return Employee.objects.filter(unit__path__startswith=unit.path).exclude(status="left").count()


def unit_ancestors(unit: OrgUnit) -> list[OrgUnit]:
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    by_id = OrgUnit.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def unit_history(unit: OrgUnit) -> QuerySet[OrgUnitVersion]:
    return OrgUnitVersion.objects.filter(unit=unit).select_related("parent").order_by("valid_from")


def units_as_of(day: date) -> QuerySet[OrgUnitVersion]:
    """The tree as it stood on `day`: each unit's version in force then."""
    return OrgUnitVersion.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=day)
    )


def visible_employees(principal: Any) -> QuerySet[Employee]:
    return scope_employees(principal, Employee.objects.all())


def search_employees(
    principal: Any,
    *,
    q: str = "",
    unit: OrgUnit | None = None,
    include_subunits: bool = True,
    employment_type: str = "",
    status: str = "",
    sort: str = "employee_no",
) -> QuerySet[Employee]:
    qs = visible_employees(principal).select_related("unit", "position")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(employee_no__icontains=q))
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path) if include_subunits else qs.filter(unit=unit)
    if employment_type:
        qs = qs.filter(employment_type=employment_type)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by(EMPLOYEE_SORTS.get(sort, "employee_no"), "pk")


def get_employee(principal: Any, employee_id: int) -> Employee:
    emp = (
        visible_employees(principal)
        .select_related("unit", "position", "manager")
        .filter(pk=employee_id)
        .first()
    )
    if emp is None:
        raise NotFound("employee not found")
    return emp


def employee_assignments(employee: Employee) -> QuerySet[EmployeeAssignment]:
    return EmployeeAssignment.objects.filter(employee=employee).select_related("unit", "position", "manager")


def sensitive_values(principal: Any, employee: Employee) -> dict[str, str]:
    """The sensitive fields, masked unless the principal may see them in full."""
    reveal = can(principal, "employee.view_sensitive")
    return {
        name: (getattr(employee, name) or "") if reveal else mask_field(name, getattr(employee, name))
        for name in Employee.SENSITIVE_FIELDS
    }
