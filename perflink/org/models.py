"""The org-unit tree and the people in it, effective-dated so history stays right when things move."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.fields import EncryptedTextField
from perflink.core.models import TenantOwned, TimeStamped
from perflink.org.choices import Category, EmployeeStatus, EmploymentType, Gender, UnitKind, UnitType


class OrgUnit(TenantOwned, TimeStamped):
    """A group, company, branch, department or team. `parent`, `path` and `name` hold the current
    state; `OrgUnitVersion` keeps every earlier one with its dates."""

    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    unit_type = models.CharField(_("type"), max_length=20, choices=UnitType.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ids, "/1/5/12/": a subtree is one `path__startswith` away.
    path = models.CharField(max_length=400, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="orgunit_unique_code")]
        verbose_name = _("org unit")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.closed_on is None


class OrgUnitVersion(TenantOwned):
    """One period of a unit's placement and name: [valid_from, valid_to), valid_to null = current."""

    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["unit_id", "valid_from"]
        indexes = [models.Index(fields=["tenant", "valid_from", "valid_to"])]


class Position(TenantOwned):
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    is_manager = models.BooleanField(_("manager position"), default=False)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="position_unique_code")]

    def __str__(self) -> str:
        return self.name


class Employee(TenantOwned, TimeStamped):
    """A person on the insurer's books (staff or agent). Unit, position and manager are the current
    assignment; `EmployeeAssignment` keeps the dated history."""

    SENSITIVE_FIELDS = ("id_number", "mobile", "bank_account")

    employee_no = models.CharField(_("employee number"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="employees"
    )
    position = models.ForeignKey(
        Position,
        verbose_name=_("position"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    employment_type = models.CharField(_("employment type"), max_length=10, choices=EmploymentType.choices)
    hire_date = models.DateField(_("hire date"))
    exit_date = models.DateField(_("exit date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EmployeeStatus.choices, default=EmployeeStatus.ACTIVE
    )
    email = models.EmailField(_("e-mail"), blank=True)
    id_number = EncryptedTextField(_("ID-card number"), blank=True)
    mobile = EncryptedTextField(_("mobile"), blank=True)
    bank_account = EncryptedTextField(_("bank account"), blank=True)

    class Meta:
        ordering = ["employee_no"]
        constraints = [models.UniqueConstraint(fields=["tenant", "employee_no"], name="employee_unique_no")]
        indexes = [models.Index(fields=["tenant", "unit", "status"]), models.Index(fields=["tenant", "name"])]
        verbose_name = _("employee")

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"


class EmployeeAssignment(TenantOwned):
    """Where an employee sat, under whom, in which position: [valid_from, valid_to)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    position = models.ForeignKey(Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    manager = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["employee_id", "valid_from"]
        indexes = [models.Index(fields=["tenant", "unit", "valid_from"])]
