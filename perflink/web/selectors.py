"""Read-only figures for the web shell: the home page's summary and the org tree's headcounts."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from perflink.accounts.access import can
from perflink.org.choices import EmployeeStatus, EmploymentType, UnitType
from perflink.org.models import Employee, OrgUnit
from perflink.org.selectors import visible_employees, visible_units


def home_summary(principal: Any) -> dict[str, Any]:
    """Counts of units and people in the principal's scope (empty when they may not see the org)."""
    if not can(principal, "org.view"):
        return {}
    units = visible_units(principal).aggregate(
        units=Count("pk"),
        business_units=Count("pk", filter=Q(unit_type=UnitType.BUSINESS)),
        functional_units=Count("pk", filter=Q(unit_type=UnitType.FUNCTIONAL)),
    )
    people = (
        visible_employees(principal)
        .exclude(status=EmployeeStatus.LEFT)
        .aggregate(employees=Count("pk"), agents=Count("pk", filter=Q(employment_type=EmploymentType.AGENT)))
    )
    return units | people


def with_subtree_headcount(units: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate `headcount`: people (not left) in each unit and everything below it, in one query.

    A correlated COUNT over the materialised path, so a tree level costs one query however wide it is."""
    below = (
        Employee.objects.filter(unit__path__startswith=OuterRef("path"))
        .exclude(status=EmployeeStatus.LEFT)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return units.annotate(headcount=Coalesce(Subquery(below, output_field=IntegerField()), 0))
