"""Org and people master data from the HR system: effective-dated, and a re-sent roster changes
exactly what changed."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from perflink.core.context import SYSTEM
from perflink.ingest.roster import RosterRejected, sync_roster
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, OrgUnitVersion
from tests.factories import World

UNITS = {
    "_row": [2, 3, 4, 5],
    "code": ["BJ", "BJ-S", "BJ-S1", "BJ-HR"],
    "name": ["北京分公司", "北京个险部", "个险一组", "北京人力部"],
    "kind": ["分公司", "部门", "团队", "部门"],
    "unit_type": ["管理", "业务", "业务", "职能"],
    "category": ["综合管理", "个险", "个险", "人力"],
    "parent": [None, "BJ", "BJ-S", "BJ"],
    "effective_date": ["2020-01-01"] * 4,
}


def _people(n: int) -> dict[str, list]:
    return {
        "_row": list(range(2, n + 2)),
        "employee_no": [f"BJ{i:04d}" for i in range(n)],
        "name": [f"员工{i}" for i in range(n)],
        "unit": ["BJ-S1"] * (n - 1) + ["BJ-HR"],
        "employment_type": ["代理人"] * (n - 1) + ["员工"],
        "hire_date": ["2024-01-15"] * n,
        "manager": [f"BJ{n - 1:04d}"] * (n - 1) + [None],
        "mobile": [f"1380000{i:04d}" for i in range(n)],
    }


def _sync(kind: str, data: dict, **kw):
    return sync_roster(kind, [pl.DataFrame(data, schema_overrides={"_row": pl.Int64})], actor=SYSTEM, **kw)


def test_units_are_created_parents_first_and_resending_changes_nothing(in_world: World) -> None:
    shuffled = {k: list(reversed(v)) for k, v in UNITS.items()}
    report = _sync("unit", shuffled)
    assert (report.created, report.rejected) == (4, 0)
    assert OrgUnit.objects.get(code="BJ-S1").path.startswith(OrgUnit.objects.get(code="BJ-S").path)
    again = _sync("unit", UNITS)
    assert (again.created, again.moved, again.updated, again.unchanged) == (0, 0, 0, 4)


def test_roster_resent_with_one_move_and_one_exit_changes_exactly_those(in_world: World) -> None:
    _sync("unit", UNITS)
    first = _sync("employee", _people(20))
    assert first.created == 20
    assert Employee.objects.get(employee_no="BJ0003").manager.employee_no == "BJ0019"
    people = _people(20)
    people["unit"][3] = "BJ-HR"
    people["effective_date"] = [None] * 20
    people["effective_date"][3] = "2026-06-01"
    people["exit_date"] = [None] * 20
    people["exit_date"][7] = "2026-05-31"
    report = _sync("employee", people)
    assert (report.created, report.moved, report.exited, report.updated, report.unchanged) == (0, 1, 1, 0, 18)
    moved = Employee.objects.get(employee_no="BJ0003")
    history = list(
        EmployeeAssignment.objects.filter(employee=moved)
        .order_by("valid_from")
        .values_list("unit__code", "valid_from", "valid_to")
    )
    assert history == [("BJ-S1", date(2024, 1, 15), date(2026, 6, 1)), ("BJ-HR", date(2026, 6, 1), None)]
    left = Employee.objects.get(employee_no="BJ0007")
    assert (left.status, left.exit_date) == ("left", date(2026, 5, 31))
    assert EmployeeAssignment.objects.get(employee=left).valid_to == date(2026, 6, 1)
    assert (_sync("employee", people).unchanged, _sync("employee", people).moved) == (20, 0)


def test_a_unit_move_is_dated_and_keeps_the_old_placement(in_world: World) -> None:
    _sync("unit", UNITS)
    moved = dict(UNITS, parent=[None, "BJ", "BJ-HR", "BJ"], effective_date=["2026-07-01"] * 4)
    report = _sync("unit", moved)
    assert (report.moved, report.unchanged) == (1, 3)
    versions = list(
        OrgUnitVersion.objects.filter(unit__code="BJ-S1")
        .order_by("valid_from")
        .values_list("parent__code", "valid_to")
    )
    assert versions == [("BJ-S", date(2026, 7, 1)), ("BJ-HR", None)]


def test_bad_rows_change_nothing_and_are_named(in_world: World) -> None:
    _sync("unit", UNITS)
    people = _people(3)
    people["unit"][1] = "NOWHERE"
    people["hire_date"][2] = "someday"
    with pytest.raises(RosterRejected) as exc:
        _sync("employee", people)
    reasons = {(e["row"], e["field"]) for e in exc.value.report.errors}
    # Row 2's manager is the person on row 4, which was itself rejected.
    assert reasons == {(3, "unit"), (4, "hire_date"), (2, "manager")}
    assert not Employee.objects.filter(employee_no__startswith="BJ").exists()
