"""Importing targets from a file: read every row, check every row, then write all of them or none.

Columns are found by name (期间/period, 指标代码/metric, 机构代码/unit code, 员工工号/employee no, 目标值/target),
never by position. Each problem is reported with the file, the row number as the user sees it, the field and a
reason code (the page words it); one bad row means nothing is written. ``do_import_targets`` is the action: one
transaction, one audit event ``target.import``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import ValidationFailed
from perflink.engine.periods import Period, PeriodError
from perflink.ingest.files import FileProblem, peek
from perflink.ingest.kinds import normalise_header
from perflink.metrics.choices import TargetSource
from perflink.metrics.models import MetricDefinition, Target
from perflink.org.models import Employee, OrgUnit

MAX_ROWS = 20_000
MAX_VALUE = Decimal(10) ** 14
FIELDS = ("period", "metric", "unit", "employee", "value")
# The Chinese header each field is reported under, and every header (normalised) that names it.
FIELD_HEADERS = {
    "period": "期间",
    "metric": "指标代码",
    "unit": "机构代码",
    "employee": "员工工号",
    "value": "目标值",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "period": ("期间", "考核期间", "期间(period)", "period"),
    "metric": ("指标代码", "指标", "指标编码", "metric", "metric code", "metric_code"),
    "unit": ("机构代码", "机构编码", "部门代码", "unit", "unit code", "unit_code"),
    "employee": (
        "员工工号",
        "工号",
        "代理人工号",
        "employee",
        "employee no",
        "employee_no",
        "employee number",
    ),
    "value": ("目标值", "目标", "target", "value", "target value"),
}


@dataclass(frozen=True)
class TargetRow:
    """One row of the file as text, with its row number (header = row 1)."""

    row: int
    period: str = ""
    metric: str = ""
    unit: str = ""
    employee: str = ""
    value: str = ""


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    field: str  # one of FIELDS, or "" for the file as a whole
    value: str
    reason: str  # a code: see REASONS in perflink.metrics.views.targets
    detail: str = ""


class RowsRejected(ValidationFailed):
    """The rows of a file (or of API records) have problems; ``errors`` lists every one, and nothing was
    written. Subclasses name their error ``code``."""

    code_name = "rows_rejected"

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        super().__init__(
            f"{len(errors)} problem(s), e.g. {first.file} row {first.row} {first.field}: {first.reason}",
            field=first.field or "file",
            code=self.code_name,
        )
        self.errors = errors


class TargetImportRejected(RowsRejected):
    code_name = "targets_rejected"


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    periods: list[str] = field(default_factory=list)


def cell(values: list[str], columns: dict[str, int], key: str) -> str:
    """The text of field ``key`` in a row, by the column :func:`header_map` found for it ("" if none)."""
    position = columns.get(key)
    if position is None or position >= len(values):
        return ""
    return str(values[position] or "").strip()


def header_map(headers: list[str], synonyms: dict[str, tuple[str, ...]] = SYNONYMS) -> dict[str, int]:
    """Which column holds each field, found by name (any of the field's synonyms, normalised); the first wins."""
    index = {normalise_header(name): key for key, names in synonyms.items() for name in names}
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = index.get(normalise_header(header))
        if key is not None and key not in found:
            found[key] = position
    return found


def read_targets(path: str | Path, *, file_name: str, default_period: str = "") -> list[TargetRow]:
    """The rows of a CSV or XLSX file of targets. A file that cannot be read at all, or lacks a needed column,
    raises ``TargetImportRejected`` with the problem at row 1 (the header)."""
    try:
        headers, body = peek(path, n=MAX_ROWS + 1)
    except FileProblem as exc:
        raise TargetImportRejected([RowError(file_name, 0, "", "", "file", exc.message)]) from None
    columns = header_map(headers)
    missing = [key for key in ("metric", "value") if key not in columns]
    if "period" not in columns and not default_period:
        missing.insert(0, "period")
    problems = [RowError(file_name, 1, key, "", "missing_column") for key in missing]
    if "unit" not in columns and "employee" not in columns:
        problems.append(RowError(file_name, 1, "unit", "", "missing_subject_column"))
    if problems:
        raise TargetImportRejected(problems)
    if len(body) > MAX_ROWS:
        raise TargetImportRejected([RowError(file_name, 0, "", "", "too_many_rows", str(MAX_ROWS))])

    return [
        TargetRow(
            row=number,
            period=cell(values, columns, "period") or default_period,
            metric=cell(values, columns, "metric"),
            unit=cell(values, columns, "unit"),
            employee=cell(values, columns, "employee"),
            value=cell(values, columns, "value").replace(",", ""),
        )
        for number, values in body
        if any(str(v or "").strip() for v in values)
    ]


def metric_levels(metric: MetricDefinition) -> set[str]:
    """The levels a metric has values at: a base metric's subject, or both for a derived one."""
    if metric.is_derived:
        return {"unit", "employee"}
    subject = metric.definition.get("subject") or {}
    return {level for level in ("unit", "employee") if subject.get(level)}


def check_rows(rows: Sequence[TargetRow], *, file_name: str) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Every row checked against the tenant's metrics, units and employees; (clean rows, problems)."""
    metrics = {m.code: m for m in MetricDefinition.objects.filter(is_active=True)}
    unit_codes = {r.unit for r in rows if r.unit}
    employee_nos = {r.employee for r in rows if r.employee}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes)}
    employees = {e.employee_no: e for e in Employee.objects.filter(employee_no__in=employee_nos)}
    errors: list[RowError] = []
    clean: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str, str], int] = {}

    def fail(row: TargetRow, name: str, value: str, reason: str, detail: str = "") -> None:
        errors.append(RowError(file_name, row.row, name, value, reason, detail))

    for row in rows:
        before = len(errors)
        period = ""
        if not row.period:
            fail(row, "period", "", "required")
        else:
            try:
                period = Period.parse(row.period).label
            except PeriodError:
                fail(row, "period", row.period, "bad_period")
        metric = metrics.get(row.metric)
        if not row.metric:
            fail(row, "metric", "", "required")
        elif metric is None:
            fail(row, "metric", row.metric, "unknown_metric")
        unit = employee = None
        level = ""
        if row.unit and row.employee:
            fail(row, "employee", row.employee, "two_subjects")
        elif row.unit:
            level, unit = "unit", units.get(row.unit)
            if unit is None:
                fail(row, "unit", row.unit, "unknown_unit")
        elif row.employee:
            level, employee = "employee", employees.get(row.employee)
            if employee is None:
                fail(row, "employee", row.employee, "unknown_employee")
        else:
            fail(row, "unit", "", "no_subject")
        if metric is not None and level and level not in metric_levels(metric):
            fail(row, "unit" if level == "unit" else "employee", row.unit or row.employee, f"not_for_{level}")
        value: Decimal | None = None
        try:
            value = Decimal(row.value) if row.value else None
        except InvalidOperation:
            value = None
        if not row.value:
            fail(row, "value", "", "required")
        elif value is None or not value.is_finite():
            fail(row, "value", row.value, "not_a_number")
        elif abs(value) >= MAX_VALUE or value.as_tuple().exponent < -4:  # type: ignore[operator]
            fail(row, "value", row.value, "out_of_range")
        if len(errors) > before:
            continue
        key = (period, row.metric, level, row.unit or row.employee)
        if key in seen:
            fail(row, "metric", row.metric, "duplicate", str(seen[key]))
            continue
        seen[key] = row.row
        clean.append({"period": period, "metric": metric, "unit": unit, "employee": employee, "value": value})
    return clean, errors


def do_import_targets(rows: Sequence[TargetRow], *, file_name: str = "", actor: Actor) -> ImportResult:
    """Write every row's target (creating or replacing), or, if any row has a problem, nothing at all."""
    if not rows:
        raise TargetImportRejected([RowError(file_name, 0, "", "", "empty")])
    clean, errors = check_rows(rows, file_name=file_name)
    if errors:
        raise TargetImportRejected(errors)
    result = ImportResult(rows=len(clean), periods=sorted({r["period"] for r in clean}))
    with transaction.atomic():
        existing = {
            (t.period, t.metric_id, t.unit_id, t.employee_id): t
            for t in Target.objects.select_for_update().filter(
                period__in=result.periods, metric__in={r["metric"].pk for r in clean}
            )
        }
        to_create: list[Target] = []
        to_update: list[Target] = []
        for row in clean:
            unit, employee = row["unit"], row["employee"]
            key = (
                row["period"],
                row["metric"].pk,
                unit.pk if unit else None,
                employee.pk if employee else None,
            )
            current = existing.get(key)
            if current is None:
                to_create.append(
                    Target(
                        period=row["period"],
                        metric=row["metric"],
                        unit=unit,
                        employee=employee,
                        value=row["value"],
                        source=TargetSource.FILE,
                        tenant_id=row["metric"].tenant_id,
                    )
                )
            else:
                current.value, current.source = row["value"], TargetSource.FILE
                to_update.append(current)
        Target.objects.bulk_create(to_create)
        # bulk_update skips auto_now: the rows were changed now, so say so.
        now = timezone.now()
        for target in to_update:
            target.updated_at = now
        Target.objects.bulk_update(to_update, ["value", "source", "updated_at"])
        result.created, result.updated = len(to_create), len(to_update)
        record_event(
            "target.import",
            None,
            after={
                "file": file_name,
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "periods": result.periods,
            },
        )
    return result
