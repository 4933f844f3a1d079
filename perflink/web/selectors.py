"""Read-only figures for the home page."""

from __future__ import annotations

from typing import Any

from perflink.accounts.access import can
from perflink.org.choices import EmployeeStatus, EmploymentType, UnitType
from perflink.org.selectors import visible_employees, visible_units


def home_summary(principal: Any) -> dict[str, Any]:
    if not can(principal, "org.view"):
        return {}
    units = visible_units(principal)
    active = visible_employees(principal).exclude(status=EmployeeStatus.LEFT)
    return {
        "units": units.count(),
        "business_units": units.filter(unit_type=UnitType.BUSINESS).count(),
        "functional_units": units.filter(unit_type=UnitType.FUNCTIONAL).count(),
        "employees": active.count(),
        "agents": active.filter(employment_type=EmploymentType.AGENT).count(),
    }
