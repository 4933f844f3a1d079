"""API: the org tree and employees. Reads go through the caller's data scope (a unit head sees a
subtree, an employee only themself); an id outside it is answered exactly like a missing one (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.responses import Status

from perflink.core.api import Pagination, errors, lookup, principal, requires
from perflink.core.context import current_actor
from perflink.org.actions import (
    do_create_employee,
    do_create_unit,
    do_exit_employee,
    do_move_unit,
    do_transfer_employee,
    do_update_employee,
    do_update_unit,
)
from perflink.org.models import Employee, OrgUnit
from perflink.org.schemas import (
    EmployeeCreateIn,
    EmployeeDetailOut,
    EmployeeExitIn,
    EmployeeListIn,
    EmployeeOut,
    EmployeeTransferIn,
    EmployeeUpdateIn,
    UnitCreateIn,
    UnitDetailOut,
    UnitListIn,
    UnitMoveIn,
    UnitOut,
    UnitUpdateIn,
)
from perflink.org.selectors import (
    get_employee,
    get_position,
    get_unit,
    search_employees,
    search_units,
)

router = Router(tags=["org"])


# --- Org units ------------------------------------------------------------------------------------


@router.get("/org/units", response={200: list[UnitOut], **errors(404)}, summary="List org units")
@requires("org.view")
@paginate(Pagination)
def list_units(request: HttpRequest, filters: Query[UnitListIn]) -> QuerySet[OrgUnit]:
    who = principal(request)
    return search_units(
        who,
        unit_type=filters.unit_type or "",
        category=filters.category or "",
        kind=filters.kind or "",
        parent=lookup(get_unit, who, filters.parent, field="parent"),
    )


@router.get("/org/units/{unit_id}", response={200: UnitDetailOut, **errors(404)}, summary="Read an org unit")
@requires("org.view")
def read_unit(request: HttpRequest, unit_id: int) -> OrgUnit:
    return get_unit(principal(request), unit_id)


@router.post(
    "/org/units", response={201: UnitDetailOut, **errors(400, 404, 409)}, summary="Create an org unit"
)
@requires("org.manage")
def create_unit(request: HttpRequest, payload: UnitCreateIn) -> Status:
    data: dict[str, Any] = payload.model_dump()
    parent = lookup(get_unit, principal(request), data.pop("parent_id"), field="parent_id")
    unit = do_create_unit(parent=parent, actor=current_actor(), **data)
    return Status(201, unit)


@router.patch(
    "/org/units/{unit_id}", response={200: UnitDetailOut, **errors(400, 404)}, summary="Change an org unit"
)
@requires("org.manage")
def update_unit(request: HttpRequest, unit_id: int, payload: UnitUpdateIn) -> OrgUnit:
    unit = get_unit(principal(request), unit_id)
    return do_update_unit(unit, changes=payload.model_dump(exclude_unset=True), actor=current_actor())


@router.post(
    "/org/units/{unit_id}/move",
    response={200: UnitDetailOut, **errors(400, 404)},
    summary="Move an org unit (and its subtree) under another parent from a date",
)
@requires("org.manage")
def move_unit(request: HttpRequest, unit_id: int, payload: UnitMoveIn) -> OrgUnit:
    who = principal(request)
    unit = get_unit(who, unit_id)
    new_parent = lookup(get_unit, who, payload.parent_id, field="parent_id")
    return do_move_unit(unit, new_parent=new_parent, effective=payload.effective, actor=current_actor())


# --- Employees ------------------------------------------------------------------------------------


@router.get("/employees", response={200: list[EmployeeOut], **errors(404)}, summary="Search employees")
@requires("employee.view")
@paginate(Pagination)
def list_employees(request: HttpRequest, filters: Query[EmployeeListIn]) -> QuerySet[Employee]:
    who = principal(request)
    return search_employees(
        who,
        q=filters.q,
        unit=lookup(get_unit, who, filters.unit, field="unit"),
        include_subunits=filters.include_subunits,
        employment_type=filters.employment_type or "",
        status=filters.status or "",
        sort=filters.sort,
    )


@router.get(
    "/employees/{employee_id}",
    response={200: EmployeeDetailOut, **errors(404)},
    summary="Read an employee (sensitive fields masked unless the caller may see them)",
)
@requires("employee.view")
def read_employee(request: HttpRequest, employee_id: int) -> Employee:
    return get_employee(principal(request), employee_id)


@router.post(
    "/employees", response={201: EmployeeDetailOut, **errors(400, 404, 409)}, summary="Create an employee"
)
@requires("employee.manage")
def create_employee(request: HttpRequest, payload: EmployeeCreateIn) -> Status:
    who = principal(request)
    data: dict[str, Any] = payload.model_dump()
    employee = do_create_employee(
        unit=lookup(get_unit, who, data.pop("unit_id"), field="unit_id"),
        position=lookup(get_position, who, data.pop("position_id"), field="position_id"),
        manager=lookup(get_employee, who, data.pop("manager_id"), field="manager_id"),
        actor=current_actor(),
        **data,
    )
    return Status(201, employee)


@router.patch(
    "/employees/{employee_id}",
    response={200: EmployeeDetailOut, **errors(400, 404)},
    summary="Change an employee's personal fields",
)
@requires("employee.manage")
def update_employee(request: HttpRequest, employee_id: int, payload: EmployeeUpdateIn) -> Employee:
    employee = get_employee(principal(request), employee_id)
    changes = payload.model_dump(exclude_unset=True)
    return do_update_employee(employee, changes=changes, actor=current_actor())


@router.post(
    "/employees/{employee_id}/transfer",
    response={200: EmployeeDetailOut, **errors(400, 404)},
    summary="Transfer an employee to another unit from a date",
)
@requires("employee.manage")
def transfer_employee(request: HttpRequest, employee_id: int, payload: EmployeeTransferIn) -> Employee:
    who = principal(request)
    employee = get_employee(who, employee_id)
    return do_transfer_employee(
        employee,
        unit=lookup(get_unit, who, payload.unit_id, field="unit_id"),
        effective=payload.effective,
        position=lookup(get_position, who, payload.position_id, field="position_id"),
        manager=lookup(get_employee, who, payload.manager_id, field="manager_id"),
        actor=current_actor(),
    )


@router.post(
    "/employees/{employee_id}/exit",
    response={200: EmployeeDetailOut, **errors(400, 404)},
    summary="Record an employee's exit",
)
@requires("employee.manage")
def exit_employee(request: HttpRequest, employee_id: int, payload: EmployeeExitIn) -> Employee:
    employee = get_employee(principal(request), employee_id)
    return do_exit_employee(employee, exit_date=payload.exit_date, actor=current_actor())
