"""API schemas of the org tree and employees. Each endpoint has its own input schema; reads and
writes of one kind of object answer with the same output schema."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from perflink.accounts.access import can
from perflink.core.api import principal
from perflink.core.schemas import (
    Code,
    Id,
    InSchema,
    IsoDate,
    SearchText,
    free_text,
    name_text,
    optional_field,
)
from perflink.org.choices import Category, EmployeeStatus, EmploymentType, Gender, UnitKind, UnitType
from perflink.org.models import Employee, OrgUnit
from perflink.org.selectors import EMPLOYEE_SORTS, employee_assignments, sensitive_values, unit_history

UnitName = name_text(120)
UnitNameEn = free_text(160)
PersonName = name_text(60)
Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^$|^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$"),
]
# Sensitive personal fields, or "" to clear: an ID number is letters and digits (it may end in X),
# a mobile digits with an optional leading +, a bank account digits.
IdNumber = Annotated[str, StringConstraints(max_length=30, pattern=r"^[0-9A-Za-z]*$")]
Mobile = Annotated[str, StringConstraints(max_length=20, pattern=r"^(\+?[0-9]+)?$")]
BankAccount = Annotated[str, StringConstraints(max_length=40, pattern=r"^[0-9]*$")]
EmployeeSort = Literal[tuple(EMPLOYEE_SORTS)]  # type: ignore[valid-type]
GenderOrBlank = Gender | Literal[""]


# --- Org units ------------------------------------------------------------------------------------


class UnitListIn(Schema):
    unit_type: UnitType | None = Field(None, description="business, functional or management")
    category: Category | None = None
    kind: UnitKind | None = None
    parent: Id | None = Field(None, description="Only the direct children of this unit.")


class UnitOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    kind: UnitKind
    unit_type: UnitType
    category: Category
    parent_id: int | None
    depth: int
    opened_on: date
    closed_on: date | None
    is_active: bool


class UnitVersionOut(Schema):
    parent_id: int | None
    name: str
    valid_from: date
    valid_to: date | None = Field(description="Exclusive; null while the version is current.")


class UnitDetailOut(UnitOut):
    history: list[UnitVersionOut] = Field(description="Every placement and name the unit has had.")

    @staticmethod
    def resolve_history(obj: OrgUnit) -> Any:
        return unit_history(obj)


class UnitCreateIn(InSchema):
    code: Code
    name: UnitName
    name_en: UnitNameEn = ""
    kind: UnitKind
    unit_type: UnitType
    category: Category
    parent_id: Id | None = Field(None, description="Null for a root unit.")
    opened_on: IsoDate


class UnitUpdateIn(InSchema):
    """Only the fields sent are changed. Placement changes go through /move."""

    name: UnitName = optional_field()
    name_en: UnitNameEn = optional_field()
    closed_on: IsoDate | None = optional_field(description="Null re-opens the unit.")


class UnitMoveIn(InSchema):
    parent_id: Id = Field(description="The new parent unit.")
    effective: IsoDate = Field(description="The first day under the new parent.")


# --- Employees ------------------------------------------------------------------------------------


class EmployeeListIn(Schema):
    q: SearchText = Field("", description="Part of the name or employee number.")
    unit: Id | None = Field(None, description="Only employees of this unit…")
    include_subunits: bool = Field(True, description="…and (by default) of the units below it.")
    employment_type: EmploymentType | None = None
    status: EmployeeStatus | None = None
    sort: EmployeeSort = Field("employee_no", description="A field name; a leading '-' sorts descending.")


class EmployeeOut(Schema):
    """An employee without the sensitive fields (lists never carry them)."""

    id: int
    employee_no: str
    name: str
    gender: str
    unit_id: int
    unit_name: str
    position_id: int | None
    manager_id: int | None
    employment_type: EmploymentType
    hire_date: date
    exit_date: date | None
    status: EmployeeStatus
    email: str

    @staticmethod
    def resolve_unit_name(obj: Employee) -> str:
        return obj.unit.name


class AssignmentOut(Schema):
    unit_id: int
    position_id: int | None
    manager_id: int | None
    valid_from: date
    valid_to: date | None = Field(description="Exclusive; null while current.")


class EmployeeDetailOut(EmployeeOut):
    id_number: str = Field(description="Masked unless the caller may see sensitive fields.")
    mobile: str = Field(description="Masked unless the caller may see sensitive fields.")
    bank_account: str = Field(description="Masked unless the caller may see sensitive fields.")
    sensitive_masked: bool = Field(description="True when the three fields above are masked.")
    assignments: list[AssignmentOut] = Field(description="Where the employee sat, and when.")

    # Rendered from the ORM object with the request in the context: whether the sensitive fields
    # are shown depends on who asks.
    @staticmethod
    def resolve_id_number(obj: Employee, context: dict[str, Any]) -> str:
        return sensitive_values(principal(context["request"]), obj)["id_number"]

    @staticmethod
    def resolve_mobile(obj: Employee, context: dict[str, Any]) -> str:
        return sensitive_values(principal(context["request"]), obj)["mobile"]

    @staticmethod
    def resolve_bank_account(obj: Employee, context: dict[str, Any]) -> str:
        return sensitive_values(principal(context["request"]), obj)["bank_account"]

    @staticmethod
    def resolve_sensitive_masked(obj: Employee, context: dict[str, Any]) -> bool:
        return not can(principal(context["request"]), "employee.view_sensitive")

    @staticmethod
    def resolve_assignments(obj: Employee) -> Any:
        return employee_assignments(obj)


class EmployeeCreateIn(InSchema):
    employee_no: Code
    name: PersonName
    gender: GenderOrBlank = ""
    unit_id: Id
    position_id: Id | None = None
    manager_id: Id | None = None
    employment_type: EmploymentType
    hire_date: IsoDate
    email: Email = ""
    id_number: IdNumber = ""
    mobile: Mobile = ""
    bank_account: BankAccount = ""


class EmployeeUpdateIn(InSchema):
    """Personal fields only; only the fields sent are changed. Use /transfer and /exit for placement."""

    name: PersonName = optional_field()
    gender: GenderOrBlank = optional_field()
    email: Email = optional_field()
    id_number: IdNumber = optional_field()
    mobile: Mobile = optional_field()
    bank_account: BankAccount = optional_field()
    employment_type: EmploymentType = optional_field()
    status: Literal["active", "on_leave"] = optional_field(description="Leaving is recorded through /exit.")


class EmployeeTransferIn(InSchema):
    unit_id: Id
    effective: IsoDate = Field(description="The first day in the new unit.")
    position_id: Id | None = Field(None, description="Keeps the current position when null.")
    manager_id: Id | None = Field(None, description="The manager in the new unit (none when null).")


class EmployeeExitIn(InSchema):
    exit_date: IsoDate = Field(description="The last working day.")
