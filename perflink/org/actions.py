"""Writes for the org tree and employees: one transaction each, audited, effective-dated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from perflink.audit.actions import record_event, snapshot
from perflink.core.context import Actor
from perflink.core.errors import Conflict, ValidationFailed
from perflink.org.choices import BUSINESS_CATEGORIES, FUNCTIONAL_CATEGORIES, UnitType
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, OrgUnitVersion

UNIT_FIELDS = ["code", "name", "name_en", "kind", "unit_type", "category", "parent", "opened_on", "closed_on"]
EMPLOYEE_FIELDS = [
    "employee_no",
    "name",
    "gender",
    "unit",
    "position",
    "manager",
    "employment_type",
    "hire_date",
    "exit_date",
    "status",
    "email",
    "id_number",
    "mobile",
    "bank_account",
]


def _check_type_category(unit_type: str, category: str) -> None:
    if unit_type == UnitType.BUSINESS and category not in BUSINESS_CATEGORIES:
        raise ValidationFailed(f"a business unit cannot have category {category!r}", field="category")
    if unit_type == UnitType.FUNCTIONAL and category not in FUNCTIONAL_CATEGORIES:
        raise ValidationFailed(f"a functional unit cannot have category {category!r}", field="category")


def do_create_unit(
    *,
    code: str,
    name: str,
    kind: str,
    unit_type: str,
    category: str,
    parent: OrgUnit | None,
    opened_on: date,
    name_en: str = "",
    actor: Actor,
) -> OrgUnit:
    _check_type_category(unit_type, category)
    if parent is not None and parent.closed_on is not None:
        raise ValidationFailed(
            f"the parent unit {parent.code} was closed on {parent.closed_on}", field="parent"
        )
    with transaction.atomic():
        if OrgUnit.objects.filter(code=code).exists():
            raise Conflict(f"unit code {code!r} already exists", field="code", code="unit_code_taken")
        unit = OrgUnit(
            code=code,
            name=name,
            name_en=name_en,
            kind=kind,
            unit_type=unit_type,
            category=category,
            parent=parent,
            opened_on=opened_on,
            path="",
            depth=0,
        )
        unit.save()
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.depth = parent.depth + 1 if parent else 0
        unit.save(update_fields=["path", "depth"])
        OrgUnitVersion.objects.create(unit=unit, parent=parent, name=name, valid_from=opened_on)
        record_event("org.unit.create", unit, after=snapshot(unit, UNIT_FIELDS))
    return unit


def do_move_unit(unit: OrgUnit, *, new_parent: OrgUnit, effective: date, actor: Actor) -> OrgUnit:
    """Move a unit (and its subtree) under a new parent from `effective`; the old placement stays
    in the unit's history up to the day before."""
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed("a unit cannot move under itself or its own subtree", field="parent")
    if new_parent.closed_on is not None:
        raise ValidationFailed(
            f"the unit {new_parent.code} was closed on {new_parent.closed_on}", field="parent"
        )
    with transaction.atomic():
        before = snapshot(unit, UNIT_FIELDS)
        current = OrgUnitVersion.objects.filter(unit=unit, valid_to__isnull=True).first()
        if current and effective <= current.valid_from:
            raise ValidationFailed(
                "the move must be dated after the current placement began", field="effective"
            )
        if current:
            current.valid_to = effective
            current.save(update_fields=["valid_to"])
        OrgUnitVersion.objects.create(unit=unit, parent=new_parent, name=unit.name, valid_from=effective)
        old_path, new_path = unit.path, f"{new_parent.path}{unit.pk}/"
        depth_shift = new_parent.depth + 1 - unit.depth
        # Re-root the whole subtree in one statement.
        OrgUnit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)), depth=F("depth") + depth_shift
        )
        unit.refresh_from_db()
        unit.parent = new_parent
        unit.save(update_fields=["parent"])
        record_event(
            "org.unit.move", unit, before=before, after=snapshot(unit, UNIT_FIELDS) | {"effective": effective}
        )
    return unit


def do_update_unit(unit: OrgUnit, *, changes: dict[str, Any], actor: Actor) -> OrgUnit:
    allowed = {"name", "name_en", "closed_on"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))} here", field=sorted(unknown)[0])
    closing = changes.get("closed_on")
    if closing is not None:
        if closing < unit.opened_on:
            raise ValidationFailed(
                f"a unit cannot close before it opened ({unit.opened_on})", field="closed_on"
            )
        if Employee.objects.filter(unit=unit).exclude(status="left").exists():
            raise ValidationFailed("move or exit the unit's people before closing it", field="closed_on")
    with transaction.atomic():
        before = snapshot(unit, UNIT_FIELDS)
        for key, value in changes.items():
            setattr(unit, key, value)
        unit.save()
        if "name" in changes:
            OrgUnitVersion.objects.filter(unit=unit, valid_to__isnull=True).update(name=unit.name)
        record_event("org.unit.update", unit, before=before, after=snapshot(unit, UNIT_FIELDS))
    return unit


def do_create_employee(*, actor: Actor, **fields: Any) -> Employee:
    with transaction.atomic():
        if Employee.objects.filter(employee_no=fields["employee_no"]).exists():
            raise Conflict(
                f"employee number {fields['employee_no']!r} already exists",
                field="employee_no",
                code="employee_no_taken",
            )
        employee = Employee(**fields)
        employee.save()
        EmployeeAssignment.objects.create(
            employee=employee,
            unit=employee.unit,
            position=employee.position,
            manager=employee.manager,
            valid_from=employee.hire_date,
        )
        record_event("org.employee.create", employee, after=snapshot(employee, EMPLOYEE_FIELDS))
    return employee


def do_update_employee(employee: Employee, *, changes: dict[str, Any], actor: Actor) -> Employee:
    """Change an employee's personal fields (not placement: use do_transfer_employee / do_exit_employee)."""
    allowed = {"name", "gender", "email", "id_number", "mobile", "bank_account", "employment_type", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))} here", field=sorted(unknown)[0])
    if "status" in changes:
        if changes["status"] not in {"active", "on_leave"}:
            raise ValidationFailed(
                "status is active or on_leave here; record an exit to mark a leaver", field="status"
            )
        if employee.exit_date is not None and changes["status"] != employee.status:
            raise ValidationFailed("the employee has left; their status cannot change", field="status")
    with transaction.atomic():
        before = snapshot(employee, EMPLOYEE_FIELDS)
        for key, value in changes.items():
            setattr(employee, key, value)
        employee.save()
        record_event(
            "org.employee.update", employee, before=before, after=snapshot(employee, EMPLOYEE_FIELDS)
        )
    return employee


def do_transfer_employee(
    employee: Employee,
    *,
    unit: OrgUnit,
    effective: date,
    position: Any = None,
    manager: Any = None,
    actor: Actor,
) -> Employee:
    """Move an employee to another unit from `effective`; records before it stay with the old unit.
    The manager and position carry over unless new ones are given."""
    if employee.exit_date is not None:
        raise Conflict(
            f"{employee.employee_no} left on {employee.exit_date}; a leaver cannot be transferred",
            field="unit",
            code="employee_left",
        )
    if manager is not None and manager.pk == employee.pk:
        raise ValidationFailed("an employee cannot be their own manager", field="manager")
    if unit.closed_on is not None:
        raise ValidationFailed(f"the unit {unit.code} was closed on {unit.closed_on}", field="unit")
    with transaction.atomic():
        before = snapshot(employee, EMPLOYEE_FIELDS)
        current = EmployeeAssignment.objects.filter(employee=employee, valid_to__isnull=True).first()
        if current and effective <= current.valid_from:
            raise ValidationFailed(
                "the transfer must be dated after the current assignment began", field="effective"
            )
        if current:
            current.valid_to = effective
            current.save(update_fields=["valid_to"])
        employee.unit = unit
        employee.position = position or employee.position
        employee.manager = manager if manager is not None else employee.manager
        employee.save()
        EmployeeAssignment.objects.create(
            employee=employee,
            unit=unit,
            position=employee.position,
            manager=employee.manager,
            valid_from=effective,
        )
        record_event(
            "org.employee.transfer",
            employee,
            before=before,
            after=snapshot(employee, EMPLOYEE_FIELDS) | {"effective": effective},
        )
    return employee


def do_exit_employee(employee: Employee, *, exit_date: date, actor: Actor) -> Employee:
    """Record an exit: the last assignment ends the day after `exit_date`; past records stay theirs."""
    if exit_date < employee.hire_date:
        raise ValidationFailed("the exit date is before the hire date", field="exit_date")
    if employee.exit_date is not None:
        raise Conflict(
            f"{employee.employee_no} already left on {employee.exit_date}",
            field="exit_date",
            code="employee_left",
        )
    with transaction.atomic():
        current = EmployeeAssignment.objects.filter(employee=employee, valid_to__isnull=True).first()
        if current is not None and exit_date < current.valid_from:
            raise ValidationFailed(
                f"the exit date is before the current assignment began ({current.valid_from})",
                field="exit_date",
            )
        before = snapshot(employee, EMPLOYEE_FIELDS)
        EmployeeAssignment.objects.filter(employee=employee, valid_to__isnull=True).update(
            valid_to=exit_date + timedelta(days=1)
        )
        employee.exit_date = exit_date
        employee.status = "left"
        employee.save()
        record_event("org.employee.exit", employee, before=before, after=snapshot(employee, EMPLOYEE_FIELDS))
    return employee


def do_set_manager(employee: Employee, *, manager: Employee | None, actor: Actor) -> Employee:
    """Change who an employee reports to (on the current assignment too)."""
    if manager is not None and manager.pk == employee.pk:
        raise ValidationFailed("an employee cannot be their own manager", field="manager")
    with transaction.atomic():
        before = snapshot(employee, ["manager"])
        employee.manager = manager
        employee.save(update_fields=["manager", "updated_at"])
        EmployeeAssignment.objects.filter(employee=employee, valid_to__isnull=True).update(manager=manager)
        record_event("org.employee.manager", employee, before=before, after=snapshot(employee, ["manager"]))
    return employee
