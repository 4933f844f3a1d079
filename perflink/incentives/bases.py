"""Per-person bonus bases (人员基数): reading them from a CSV or XLSX file or API records, checking every row, and
the base in force for each person of a period.

Columns are found by name (工号/employee_no, 基数/base, 生效日期/valid_from, 备注/note), never by position, and other
columns (姓名, 部门, …) are ignored. Every problem is reported with the file, the row as the user sees it, the field
and a reason code, as targets are (``perflink.metrics.target_import``, whose row and error types this reuses); one
bad row means nothing is written. ``perflink.incentives.actions.do_import_plan_bases`` is the action that writes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
from django.db.models import Q, QuerySet

from perflink.ingest.cleaning import fold_width
from perflink.ingest.files import FileProblem, peek
from perflink.metrics.target_import import RowError, RowsRejected, cell, header_map
from perflink.org.models import Employee

__all__ = [
    "FIELD_HEADERS",
    "MAX_ROWS",
    "BaseRow",
    "BasesRejected",
    "RowError",
    "bases_in_force",
    "bases_listed",
    "check_rows",
    "plan_start",
    "population",
    "read_bases",
    "rows_from_records",
]

MAX_ROWS = 20_000
MAX_AMOUNT = Decimal(10) ** 16  # exclusive: Decimal(18, 2)
FIELDS = ("employee", "base", "valid_from", "note")
# The Chinese header each field is reported under, and every header (normalised) that names it.
FIELD_HEADERS = {"employee": "工号", "base": "基数", "valid_from": "生效日期", "note": "备注"}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "employee": ("工号", "员工工号", "employee_no", "employee no", "employee number", "employee"),
    "base": ("基数", "奖金基数", "人员基数", "base", "bonus base", "amount"),
    "valid_from": ("生效日期", "生效日", "起始日期", "valid_from", "valid from", "effective"),
    "note": ("备注", "说明", "note", "remark"),
}
# 2026-01-01, 2026/1/1, 2026.01.01, 2026年1月1日, with a time of 00:00[:00] as Excel writes dates.
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?$")


@dataclass(frozen=True)
class BaseRow:
    """One row as text, with its row number (in a file: header = row 1; in API records: index + 1)."""

    row: int
    employee: str = ""
    base: str = ""
    valid_from: str = ""
    note: str = ""


class BasesRejected(RowsRejected):
    code_name = "bases_rejected"


def read_bases(path: str | Path, *, file_name: str) -> list[BaseRow]:
    """The rows of a CSV or XLSX file of bases. A file that cannot be read at all, or lacks 工号 or 基数, raises
    ``BasesRejected`` with the problem at row 1 (the header)."""
    try:
        headers, body = peek(path, n=MAX_ROWS + 1)
    except FileProblem as exc:
        raise BasesRejected([RowError(file_name, 0, "", "", "file", exc.message)]) from None
    columns = header_map(headers, SYNONYMS)
    missing = [key for key in ("employee", "base") if key not in columns]
    if missing:
        raise BasesRejected([RowError(file_name, 1, key, "", "missing_column") for key in missing])
    if len(body) > MAX_ROWS:
        raise BasesRejected([RowError(file_name, 0, "", "", "too_many_rows", str(MAX_ROWS))])

    return [
        BaseRow(number, *(cell(values, columns, key) for key in FIELDS))
        for number, values in body
        if any(str(v or "").strip() for v in values)
    ]


def rows_from_records(records: Sequence[dict[str, Any]]) -> list[BaseRow]:
    """API records (``employee_no``, ``base``, optional ``valid_from`` and ``note``) as rows numbered from 1."""
    return [
        BaseRow(
            number,
            employee=str(record.get("employee_no") or "").strip(),
            base=str(record.get("base") if record.get("base") is not None else "").strip(),
            valid_from=str(record.get("valid_from") or "").strip(),
            note=str(record.get("note") or "").strip(),
        )
        for number, record in enumerate(records, start=1)
    ]


def parse_amount(text: str) -> Decimal | None:
    """Money as people write it ("12,000.50", "¥12000.5", "１２０００") as Decimal; None when not a number."""
    cleaned = fold_width(text).replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_date(text: str) -> dt.date | None:
    match = _DATE.match(fold_width(text).strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def check_rows(
    rows: Sequence[BaseRow], *, file_name: str, default_from: dt.date
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Every row checked against the tenant's employees; (clean rows, problems). A row without 生效日期 takes
    ``default_from``."""
    employees = {
        e.employee_no: e
        for e in Employee.objects.filter(employee_no__in={r.employee for r in rows if r.employee})
    }
    errors: list[RowError] = []
    clean: list[dict[str, Any]] = []
    seen: dict[tuple[str, dt.date], int] = {}

    def fail(row: BaseRow, name: str, value: str, reason: str, detail: str = "") -> None:
        errors.append(RowError(file_name, row.row, name, value, reason, detail))

    for row in rows:
        before = len(errors)
        employee = employees.get(row.employee)
        if not row.employee:
            fail(row, "employee", "", "required")
        elif employee is None:
            fail(row, "employee", row.employee, "unknown_employee")
        amount = parse_amount(row.base) if row.base else None
        if not row.base:
            fail(row, "base", "", "required")
        elif amount is None:
            fail(row, "base", row.base, "not_a_number")
        elif amount < 0:
            fail(row, "base", row.base, "negative")
        elif amount != amount.quantize(Decimal("0.01")) or amount >= MAX_AMOUNT:
            fail(row, "base", row.base, "not_money")
        valid_from = parse_date(row.valid_from) if row.valid_from else default_from
        if valid_from is None:
            fail(row, "valid_from", row.valid_from, "bad_date")
        if len(row.note) > 200:
            fail(row, "note", row.note[:40], "too_long", "200")
        if len(errors) > before:
            continue
        assert employee is not None and amount is not None and valid_from is not None
        key = (row.employee, valid_from)
        if key in seen:
            fail(row, "employee", row.employee, "duplicate", str(seen[key]))
            continue
        seen[key] = row.row
        clean.append(
            {
                "employee": employee,
                "amount": amount.quantize(Decimal("0.01")),
                "valid_from": valid_from,
                "note": row.note,
            }
        )
    return clean, errors


# --- reading bases --------------------------------------------------------------------------------------------


def plan_start(plan: Any) -> dt.date:
    """The day the plan's first version takes effect: the ``valid_from`` of a base given without one."""
    first = plan.versions.order_by("valid_from").values_list("valid_from", flat=True).first()
    return first or dt.date(2000, 1, 1)


def bases_in_force(plan: Any, start: dt.date, end: dt.date) -> pl.DataFrame:
    """``person_id, base, base.valid_from``: per person, the base in force on ``start`` (the latest one from on
    or before it); for someone whose first base takes effect later in the period (a mid-month hire), that one."""
    return _in_force(plan, start, end).drop("id")


def _in_force(plan: Any, start: dt.date, end: dt.date) -> pl.DataFrame:
    rows = list(
        plan.bases.filter(valid_from__lt=end)
        .order_by("employee_id", "valid_from")
        .values_list("id", "employee_id", "amount", "valid_from")
    )
    frame = pl.DataFrame(
        rows,
        schema={"id": pl.Int64, "person_id": pl.Int64, "base": pl.Decimal(18, 2), "base.valid_from": pl.Date},
        orient="row",
    )
    on_start = frame.filter(pl.col("base.valid_from") <= start).group_by("person_id").agg(pl.all().last())
    later = (
        frame.filter(~pl.col("person_id").is_in(on_start.get_column("person_id").implode()))
        .group_by("person_id")
        .agg(pl.all().first())
    )
    return pl.concat([on_start, later]).sort("person_id")


def population(plan: Any, on: dt.date) -> QuerySet[Employee]:
    """The people the plan pays as of a day, from the org as it is now (for the template and the page's list of
    people without a base; a bonus run takes its population from the calculation run instead)."""
    people = Employee.objects.filter(hire_date__lte=on).filter(
        Q(exit_date__isnull=True) | Q(exit_date__gte=on)
    )
    if plan.unit_id:
        people = people.filter(unit__path__startswith=plan.unit.path)
    if plan.category:
        people = people.filter(unit__category=plan.category)
    if plan.employment_type:
        people = people.filter(employment_type=plan.employment_type)
    return people


def bases_listed(plan: Any, *, period: Any = None, q: str = "") -> QuerySet[Any]:
    """The plan's bases by employee number, newest first per person; with a period, only the one each person has
    in force at its start (as a run of that period reads them); ``q`` narrows by employee number or name."""
    bases = plan.bases.select_related("employee", "employee__unit")
    if q:
        bases = bases.filter(Q(employee__employee_no__icontains=q) | Q(employee__name__icontains=q))
    if period is not None:
        bases = bases.filter(pk__in=_in_force(plan, period.start, period.end).get_column("id").to_list())
    return bases.order_by("employee__employee_no", "-valid_from", "pk")
