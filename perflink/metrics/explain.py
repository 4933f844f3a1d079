"""Where a number came from: a scorecard line explained from the run's own stored inputs.

The explanation re-applies the metric's definition (as the run stored it) to the records the run read (as the
run stored them), so it shows exactly the rows that were counted, even after the source data changed. Records
whose version differs from the previous run of the period are flagged: that is how a changed number names the
record that changed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from perflink.core.errors import NotFound
from perflink.engine.metrics import Level, MetricSpec, parse_metric, prepare
from perflink.engine.metrics.companions import base_code, cohort_companion, is_companion
from perflink.engine.periods import Period
from perflink.engine.run import LINKED
from perflink.metrics.calc import work_calendar
from perflink.metrics.catalogue import catalogue, field_label, value_label
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import run_frame, run_inputs

MAX_RECORDS_SHOWN = 500


@dataclass
class Explanation:
    run: CalcRun
    level: str
    subject_id: int
    metric: str
    definition: dict[str, Any]
    spec: MetricSpec
    line: dict[str, Any] | None  # the scorecard line (results row), if the subject was scored on it
    value: dict[str, Any] | None  # the values row
    records: list[dict[str, Any]] = field(default_factory=list)  # counted records, newest first
    record_count: int = 0
    changed_records: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # for a derived metric: the metrics it combines
    # (level, id) when the line reads another subject's value: its parent unit's, or ("linked", functional unit)
    value_from: tuple[str, int] | None = None


def _subtree(units: pl.DataFrame, unit_id: int) -> list[int]:
    return units.filter(pl.col("ancestors").list.contains(unit_id)).get_column("id").to_list()


def explain(run: CalcRun, level: str, subject_id: int, metric: str) -> Explanation:
    """The line of ``subject`` for ``metric`` in ``run``, its definition, and the records behind it."""
    # A matured-cohort value (``<code>@cohort``) is explained by its metric's definition, lagged as the run did.
    base = base_code(metric)
    snapshot = run.rules.get("metrics", {}).get(base)
    if snapshot is None or (is_companion(metric) and metric not in run.rules.get("companions", [])):
        raise NotFound(f"metric {metric!r} is not part of run {run}")
    definition = snapshot["definition"]
    spec = parse_metric(base, definition, catalogue())
    if is_companion(metric):
        spec = cohort_companion(spec)
    results = run_frame(run, "results").filter(
        (pl.col("level") == level) & (pl.col("subject_id") == subject_id) & (pl.col("metric") == metric)
    )
    line = results.row(0, named=True) if results.height else None
    value_level, value_subject = level, subject_id
    if line is not None:
        value_level, value_subject = line["value_level"], line["value_subject_id"]
    values = run_frame(run, "values").filter(
        (pl.col("level") == value_level)
        & (pl.col("subject_id") == value_subject)
        & (pl.col("metric") == metric)
    )
    value = values.row(0, named=True) if values.height else None
    explanation = Explanation(
        run=run,
        level=level,
        subject_id=subject_id,
        metric=metric,
        definition=definition,
        spec=spec,
        line=line,
        value=value,
        value_from=(value_level, value_subject)
        if (value_level, value_subject) != (level, subject_id)
        else None,
    )
    if spec.is_derived:
        from perflink.engine import formula

        explanation.inputs = sorted(formula.parse(spec.formula or "").names)
        return explanation

    # The counted records: the definition applied to the run's stored inputs, narrowed to the subject.
    inputs = run_inputs(run)
    from perflink.metrics.loader import inputs_from_records

    frames = inputs_from_records(inputs)
    prepared, _ = prepare(
        spec,
        frames.records,
        catalogue(),
        Period.parse(run.period),
        calendar=work_calendar(),
        as_of=run.as_of,
    )
    if value_level == LINKED:
        # A linked line: the records of every business unit linked to the functional unit for this metric.
        business = [b for f, b, m in run.rules.get("links", []) if f == value_subject and m == base]
        reach = {u for b in business for u in (_subtree(frames.units, b) if spec.subject.rollup else [b])}
        mine = prepared.filter(pl.col("_unit").is_in(sorted(reach)))
    elif value_level == Level.EMPLOYEE:
        mine = prepared.filter(pl.col("_emp") == value_subject)
    elif spec.subject.rollup:
        mine = prepared.filter(pl.col("_unit").is_in(_subtree(frames.units, value_subject)))
    else:
        mine = prepared.filter(pl.col("_unit") == value_subject)
    mine = mine.unique("_rid", keep="first").sort("_date", descending=True, nulls_last=True)
    explanation.record_count = mine.height
    kind = spec.kind or ""
    source = inputs[kind]
    shown = mine.head(MAX_RECORDS_SHOWN).join(source, left_on="_rid", right_on="id", how="left")
    changed_ids = {r["id"] for r in run.summary.get("changed_records", []) if r.get("kind") == kind}
    for row in shown.iter_rows(named=True):
        explanation.records.append(
            {
                "id": row["_rid"],
                "version": row["_version"],
                "date": row["_date"],
                "value": row["_x"],
                "hit": row["_hit"],
                "provisional": row["_provisional"],
                "changed": row["_rid"] in changed_ids,
                "fields": {
                    field_label(kind, name): value_label(kind, name, row.get(column))
                    for name, column, _ in _display_columns(kind)
                    if column in row
                },
            }
        )
    explanation.changed_records = [
        r
        for r in run.summary.get("changed_records", [])
        if r.get("kind") == kind and r["id"] in set(mine.get_column("_rid").to_list())
    ]
    return explanation


def _display_columns(kind: str) -> list[tuple[str, str, str]]:
    from perflink.metrics.catalogue import sources

    return [c for c in sources()[kind].columns if c[2] not in ("employee", "unit", "requisition")][:8]
