"""Org units and employees kept in sync with the HR system (file, push or pull), effective-dated.

A roster is the full or partial list of units or people as the HR system sees them. Each row is
compared with what Perflink holds and only real differences are applied, through the org actions,
so history stays intact: a move is a new placement from its effective date, an exit closes the
last assignment, an employee who left keeps their past records. A re-sent roster with one change
changes exactly that one thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.ingest.cleaning import clean_frame
from perflink.ingest.kinds import MASTER_KINDS
from perflink.ingest.refs import load_refs
from perflink.org.actions import (
    do_create_employee,
    do_create_unit,
    do_exit_employee,
    do_move_unit,
    do_set_manager,
    do_transfer_employee,
    do_update_employee,
    do_update_unit,
)
from perflink.org.models import Employee, OrgUnit, Position


class RosterRejected(ValueError):
    def __init__(self, report: RosterReport) -> None:
        super().__init__(f"{report.rejected} of {report.total} rows rejected; nothing was changed")
        self.report = report


@dataclass
class RosterReport:
    kind: str
    total: int = 0
    created: int = 0
    moved: int = 0
    updated: int = 0
    exited: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "kind",
                "total",
                "created",
                "moved",
                "updated",
                "exited",
                "unchanged",
                "rejected",
                "errors",
                "dry_run",
            )
        }


def _error(report: RosterReport, row: int, column: str, value: Any, reason: str) -> None:
    report.rejected += 1
    report.errors.append({"row": row, "column": column, "field": column, "value": value, "reason": reason})


def sync_roster(
    kind: str,
    chunks: Iterable[pl.DataFrame],
    *,
    actor: Actor,
    headers: dict[str, str] | None = None,
    dry_run: bool = False,
) -> RosterReport:
    """Apply a roster of units or employees. All-or-nothing: any rejected row changes nothing."""
    spec = MASTER_KINDS[kind]
    report = RosterReport(kind=kind, dry_run=dry_run)
    with transaction.atomic():
        for raw in chunks:
            result = clean_frame(raw, spec, load_refs(raw, spec), headers=headers)
            report.total += result.total_rows
            for e in result.errors.iter_rows(named=True):
                _error(report, e["_row"], e["column"], e["value"], e["reason"])
            rows = result.frame.to_dicts()
            if kind == "unit":
                _sync_units(rows, report, actor)
            else:
                _sync_employees(rows, report, actor)
        if report.rejected or dry_run:
            transaction.set_rollback(True)
            if report.rejected and not dry_run:
                raise RosterRejected(report)
            return report
        record_event(
            "ingest.roster.sync", None, after={k: v for k, v in report.as_dict().items() if k != "errors"}
        )
    return report


def _sync_units(rows: list[dict[str, Any]], report: RosterReport, actor: Actor) -> None:
    today = timezone.localdate()
    existing = {u.code: u for u in OrgUnit.objects.all()}
    pending = {r["code"]: r for r in rows}
    # Parents first: a unit is placed once its parent exists (in Perflink or earlier in this roster).
    order: list[dict[str, Any]] = []
    placed = set(existing)
    while pending:
        ready = [
            r for c, r in pending.items() if not r.get("parent") or r["parent"] in placed or r["parent"] == c
        ]
        if not ready:
            for r in pending.values():
                _error(report, r["_row"], "parent", r["parent"], f"unknown parent unit code '{r['parent']}'")
            return
        for r in ready:
            order.append(r)
            placed.add(r["code"])
            del pending[r["code"]]
    for r in order:
        effective: date = r.get("effective_date") or today
        parent = existing.get(r["parent"]) if r.get("parent") else None
        unit = existing.get(r["code"])
        if unit is None:
            existing[r["code"]] = do_create_unit(
                code=r["code"],
                name=r["name"],
                name_en=r.get("name_en") or "",
                kind=r["kind"],
                unit_type=r["unit_type"],
                category=r["category"],
                parent=parent,
                opened_on=effective,
                actor=actor,
            )
            report.created += 1
            continue
        changed = False
        if (parent.pk if parent else None) != unit.parent_id and parent is not None:
            do_move_unit(unit, new_parent=parent, effective=effective, actor=actor)
            report.moved += 1
            changed = True
        changes = {
            k: r[k] for k in ("name", "closed_on") if r.get(k) is not None and getattr(unit, k) != r[k]
        }
        if (r.get("name_en") or "") != unit.name_en and r.get("name_en") is not None:
            changes["name_en"] = r["name_en"]
        if changes:
            do_update_unit(unit, changes=changes, actor=actor)
            report.updated += 1
            changed = True
        if not changed:
            report.unchanged += 1


PERSONAL = ("name", "gender", "email", "id_number", "mobile", "bank_account", "employment_type")


def _sync_employees(rows: list[dict[str, Any]], report: RosterReport, actor: Actor) -> None:
    today = timezone.localdate()
    numbers = [r["employee_no"] for r in rows]
    existing = {e.employee_no: e for e in Employee.objects.filter(employee_no__in=numbers)}
    managers_needed = {r["manager"] for r in rows if r.get("manager")}
    managers = {e.employee_no: e for e in Employee.objects.filter(employee_no__in=managers_needed)}
    positions = {p.name: p for p in Position.objects.all()}
    units = {u.pk: u for u in OrgUnit.objects.all()}
    # People first, managers after: a manager may be a new hire in the same roster.
    deferred_managers: list[tuple[Employee, str, int]] = []
    for r in rows:
        position = None
        if r.get("position"):
            position = positions.get(r["position"])
            if position is None:
                position = Position.objects.create(code=f"P{len(positions) + 1:04d}", name=r["position"])
                positions[r["position"]] = position
        unit = units[r["unit_id"]]
        emp = existing.get(r["employee_no"])
        effective: date = r.get("effective_date") or today
        if emp is None:
            emp = do_create_employee(
                actor=actor,
                employee_no=r["employee_no"],
                name=r["name"],
                gender=r.get("gender") or "",
                unit=unit,
                position=position,
                employment_type=r["employment_type"],
                hire_date=r["hire_date"],
                email=r.get("email") or "",
                id_number=r.get("id_number") or "",
                mobile=r.get("mobile") or "",
                bank_account=r.get("bank_account") or "",
            )
            existing[emp.employee_no] = managers[emp.employee_no] = emp
            report.created += 1
            if r.get("exit_date"):
                do_exit_employee(emp, exit_date=r["exit_date"], actor=actor)
            if r.get("manager"):
                deferred_managers.append((emp, r["manager"], r["_row"]))
            continue
        changed = False
        if emp.unit_id != unit.pk and emp.exit_date is None:
            do_transfer_employee(
                emp, unit=unit, effective=effective, position=position, manager=emp.manager, actor=actor
            )
            report.moved += 1
            changed = True
        changes = {
            k: (r.get(k) or "") for k in PERSONAL if r.get(k) is not None and (getattr(emp, k) or "") != r[k]
        }
        if changes:
            do_update_employee(emp, changes=changes, actor=actor)
            report.updated += 1
            changed = True
        if r.get("exit_date") and emp.exit_date is None:
            do_exit_employee(emp, exit_date=r["exit_date"], actor=actor)
            report.exited += 1
            changed = True
        if r.get("manager") and (emp.manager.employee_no if emp.manager else None) != r["manager"]:
            deferred_managers.append((emp, r["manager"], r["_row"]))
            changed = True
        if not changed:
            report.unchanged += 1
    for emp, manager_no, row in deferred_managers:
        manager = managers.get(manager_no) or existing.get(manager_no)
        if manager is None:
            _error(report, row, "manager", manager_no, f"unknown employee number '{manager_no}'")
            continue
        if emp.manager_id != manager.pk:
            do_set_manager(emp, manager=manager, actor=actor)
