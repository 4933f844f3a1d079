"""One metric computed on a period's real records, for its page: nothing is stored, no run is made.

Loads only what the metric (and, for a derived one, the metrics its formula reads) needs, runs the engine's
``compute_values`` and keeps the subjects the user may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from perflink.accounts.access import scope_employees, unit_scope_q
from perflink.core.context import current_tenant
from perflink.engine import formula as formulas
from perflink.engine.metrics import MetricSpec, parse_metric
from perflink.engine.periods import Period
from perflink.engine.run import compute_values
from perflink.metrics import calc, loader
from perflink.metrics.catalogue import catalogue
from perflink.metrics.choices import SubjectLevel
from perflink.metrics.models import MetricDefinition
from perflink.org.models import Employee, OrgUnit


@dataclass
class Preview:
    period: Period
    level: str
    count: int  # subjects with a value
    smallest: float | None
    median: float | None
    largest: float | None
    top: list[dict[str, Any]]  # best first: subject_id, name, detail, value, n, provisional
    records: dict[str, int]  # rows read per record kind
    missing_years: list[int]  # working-day calendar years the computation lacked
    scoped: bool  # only the user's data scope is shown
    inputs: list[str] = field(default_factory=list)  # the metrics a derived one reads


def needed_specs(metric: MetricDefinition) -> dict[str, MetricSpec]:
    """The metric parsed, plus (for a derived one) every metric its formula reads, transitively.

    Raises the engine's ``MetricError`` / ``FormulaError`` when a stored definition no longer parses.
    """
    cat = catalogue()
    rows = {m.code: m for m in MetricDefinition.objects.filter(is_active=True)}
    rows[metric.code] = metric
    specs: dict[str, MetricSpec] = {}
    pending = [metric.code]
    while pending:
        code = pending.pop()
        if code in specs or code not in rows:
            continue  # done, or a built-in name such as period_days
        specs[code] = parse_metric(code, rows[code].definition, cat)
        if specs[code].is_derived:
            pending.extend(formulas.parse(specs[code].formula or "").names)
    return specs


def visible_ids(user: Any) -> tuple[set[int] | None, set[int] | None]:
    """Unit and employee ids the user may see values of (None: the whole tenant)."""
    q = unit_scope_q(user)
    if q is None:
        return None, None
    units = set(OrgUnit.objects.filter(q).values_list("pk", flat=True))
    employees = set(scope_employees(user, Employee.objects.all()).values_list("pk", flat=True))
    return units, employees


def subject_names(level: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    """id -> (name, detail): an employee's number and unit, or a unit's code."""
    if level == SubjectLevel.EMPLOYEE:
        rows = Employee.objects.filter(pk__in=ids).values_list("pk", "name", "employee_no", "unit__name")
        return {pk: (name, f"{no} · {unit or ''}") for pk, name, no, unit in rows}
    units = OrgUnit.objects.filter(pk__in=ids).values_list("pk", "name", "code")
    return {pk: (name, code) for pk, name, code in units}


def preview_metric(
    metric: MetricDefinition, period: Period, level: str, *, user: Any, as_of: dt.date, top: int = 20
) -> Preview:
    """The metric's values in ``period`` at ``level`` ("" = the metric's first level) for the user's scope."""
    specs = needed_specs(metric)
    tenant = current_tenant()
    assert tenant is not None
    inputs, counts = loader.load(tenant.pk, specs, period)
    values, missing = compute_values(
        specs, inputs, catalogue(), period, calendar=calc.work_calendar(), as_of=as_of
    )
    spec = specs[metric.code]
    if level not in (SubjectLevel.EMPLOYEE, SubjectLevel.UNIT):
        level = "unit" if spec.levels and SubjectLevel.EMPLOYEE not in spec.levels else "employee"
    unit_ids, employee_ids = visible_ids(user)
    allowed = unit_ids if level == SubjectLevel.UNIT else employee_ids
    frame = values.filter(
        (pl.col("metric") == metric.code) & (pl.col("level") == level) & pl.col("value").is_not_null()
    )
    if allowed is not None:
        frame = frame.filter(pl.col("subject_id").is_in(list(allowed)))
    series = frame.get_column("value")
    best = frame.sort("value", descending=spec.direction == "higher").head(top)
    names = subject_names(level, best.get_column("subject_id").to_list())
    rows = [
        {
            **row,
            "name": names.get(row["subject_id"], (str(row["subject_id"]), ""))[0],
            "detail": names.get(row["subject_id"], ("", ""))[1],
        }
        for row in best.select("subject_id", "value", "n", "provisional").iter_rows(named=True)
    ]
    empty = frame.is_empty()
    return Preview(
        period=period,
        level=level,
        count=frame.height,
        smallest=None if empty else float(series.min()),  # type: ignore[arg-type]
        median=None if empty else float(series.median()),  # type: ignore[arg-type]
        largest=None if empty else float(series.max()),  # type: ignore[arg-type]
        top=rows,
        records={
            kind: n for kind, n in counts.items() if kind not in ("employee", "unit") and "." not in kind
        },
        missing_years=sorted({year for found in missing.values() for year in found}),
        scoped=allowed is not None,
        inputs=[code for code in specs if code != metric.code],
    )
