"""A calculation run: every metric value, attainment, points and weighted score for every subject of a period.

Pure and columnar: the caller loads the period's records as frames once (:class:`Inputs`), and gets frames back
(:class:`RunResult`). The steps:

1. base metrics: per metric, the counted records (:func:`perflink.engine.metrics.prepare`), aggregated per
   employee and per unit (rolled up the unit tree);
2. derived metrics: formulas over the values of the same subject, in dependency order;
3. scoring: each subject's template items, with the subject's target (or the template's default) and the item's
   rule; a functional unit's item may read its parent unit's value (``scope="parent"``: a branch's finance
   department is scored on the branch's claims), or the business outcome of the units it is linked to
   (``scope="linked"``: the mean of the metric over the business units that confirmed a link with the subject's
   unit, e.g. HR scored on the 3-month attainment of the sales units that asked for the hires);
4. totals: ``Σ points × weight / Σ weight`` over the items that could be scored, rounded half up once; the share
   of the weight behind it is kept, so a thin total is never shown as a full one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

import polars as pl

from perflink.engine import formula as formulas
from perflink.engine.calendar import WorkCalendar
from perflink.engine.metrics import VALUE_DECIMALS, Catalogue, Level, MetricSpec, aggregate, prepare_plan
from perflink.engine.periods import Period
from perflink.engine.scoring import (
    POINTS_DTYPE,
    Rule,
    Status,
    SurveyRule,
    _div_half_up,
    _from_micro,
    score,
)

__all__ = [
    "ENGINE_VERSION",
    "LINKED",
    "LINK_SCHEMA",
    "Inputs",
    "Item",
    "RunResult",
    "Template",
    "builtins_for",
    "compute_values",
    "fingerprint",
    "kinds_read",
    "linked_values",
    "rerun",
    "run",
    "score_subjects",
]

SCORING_THREADS: Final = max(2, min(4, os.cpu_count() or 2))

# Bumped whenever a change to the engine may change a number: part of every run's fingerprint.
ENGINE_VERSION: Final = "4.0"

# A confirmed link: the functional unit is scored on ``metric`` of the business unit (``scope="linked"``).
LINK_SCHEMA: Final = {"functional_unit_id": pl.Int64, "business_unit_id": pl.Int64, "metric": pl.String}
LINKED: Final = "linked"  # the value_level of a line that reads its linked business units' mean

VALUE_SCHEMA: Final = {
    "metric": pl.String,
    "level": pl.String,
    "subject_id": pl.Int64,
    "value": pl.Float64,
    "n": pl.Int64,
    "provisional": pl.Boolean,
}


@dataclass(frozen=True)
class Inputs:
    """The frames a run reads: records per kind (``id``, ``version``, field columns), the unit tree
    (``id, parent_id, ancestors``) and the employees (``id, unit_id``). Multi-unit fields come as
    ``records["incident.affected_units"]`` with ``owner_id, unit_id``."""

    records: Mapping[str, pl.DataFrame]
    units: pl.DataFrame
    employees: pl.DataFrame


@dataclass(frozen=True, slots=True)
class Item:
    metric: str
    weight: Decimal
    rule: Rule
    target: Decimal | None = None
    scope: Literal["self", "parent", "linked"] = "self"


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class RunResult:
    values: pl.DataFrame  # metric, level, subject_id, value, n, provisional
    results: pl.DataFrame  # one row per (subject, template item)
    totals: pl.DataFrame  # one row per scored subject
    missing_years: Mapping[str, frozenset[int]] = field(default_factory=dict)


def builtins_for(period: Period, calendar: WorkCalendar | None) -> dict[str, float | None]:
    """Names every formula may use besides metric codes."""
    working: float | None = None
    if calendar is not None:
        result = calendar.working_days_between(
            pl.Series([period.start], dtype=pl.Date), pl.Series([period.end], dtype=pl.Date)
        )
        value = result.values[0]
        working = None if value is None else float(value)
    return {
        "period_days": float(period.days),
        "period_hours": float(period.days * 24),
        "period_working_days": working,
    }


def compute_values(
    metrics: Mapping[str, MetricSpec],
    inputs: Inputs,
    catalogue: Catalogue,
    period: Period,
    *,
    calendar: WorkCalendar | None = None,
    as_of: dt.date | None = None,
) -> tuple[pl.DataFrame, dict[str, frozenset[int]]]:
    """Every metric's value for every subject that has one: ``metric, level, subject_id, value, n, provisional``."""
    plans: list[pl.LazyFrame] = []
    missing_by_metric: dict[str, set[int]] = {}
    # Step 1: base metrics, each from its own records: one lazy plan per (metric, level), collected together
    # so polars optimises and parallelises them as one job.
    for code, spec in metrics.items():
        if spec.is_derived:
            continue
        years = missing_by_metric.setdefault(code, set())
        prepared = prepare_plan(
            spec, inputs.records, catalogue, period, calendar=calendar, as_of=as_of, missing_years=years
        )
        for level in spec.levels:
            plans.append(
                aggregate(spec, prepared, level, inputs.units)
                .with_columns(pl.lit(code).alias("metric"), pl.lit(level.value).alias("level"))
                .select(list(VALUE_SCHEMA))
            )
    frames = pl.collect_all(plans) if plans else []
    missing = {code: frozenset(years) for code, years in missing_by_metric.items() if years}
    base = pl.concat(frames) if frames else pl.DataFrame(schema=VALUE_SCHEMA)

    # Step 2: derived metrics, level by level, in dependency order.
    derived = {code: spec for code, spec in metrics.items() if spec.is_derived}
    if derived:
        base = _derived_values(base, metrics, derived, builtins_for(period, calendar))
    return base, missing


def _derived_values(
    base: pl.DataFrame,
    metrics: Mapping[str, MetricSpec],
    derived: Mapping[str, MetricSpec],
    builtins: Mapping[str, float | None],
) -> pl.DataFrame:
    parsed = {code: formulas.parse(spec.formula or "") for code, spec in derived.items()}
    known = set(metrics) - set(derived) | set(builtins)
    order = formulas.check(parsed, known)
    frames = [base]
    for level in Level:
        rows = base.filter(pl.col("level") == level.value)
        if rows.is_empty():
            continue
        # One row per subject, one column per metric value and per metric count.
        wide = rows.pivot(
            on="metric", index="subject_id", values=["value", "n", "provisional"], aggregate_function="first"
        )
        produced: list[pl.DataFrame] = []
        for code in order:
            names = parsed[code].names - set(builtins)
            present = [name for name in names if f"value_{name}" in wide.columns]
            if not present:
                continue
            # A missing count or sum is 0 for a subject without records; a missing mean stays missing.
            fills = [
                pl.col(f"value_{name}").fill_null(0.0)
                if metrics[name].zero_when_empty and f"value_{name}" in wide.columns
                else pl.col(f"value_{name}")
                if f"value_{name}" in wide.columns
                else pl.lit(None, pl.Float64).alias(f"value_{name}")
                for name in names
            ]
            frame = wide.with_columns(fills)

            def column(name: str, frame_columns: Sequence[str] = tuple(frame.columns)) -> pl.Expr:
                if name in builtins:
                    return pl.lit(builtins[name], dtype=pl.Float64)
                return pl.col(f"value_{name}")

            expr = formulas.compile_expr(parsed[code], column)
            n_cols = [
                pl.col(f"n_{name}")
                for name in present
                if metrics[name].is_derived is False or f"n_{name}" in wide.columns
            ]
            prov_cols = [pl.col(f"provisional_{name}").fill_null(False) for name in present]
            result = frame.select(
                pl.lit(code).alias("metric"),
                pl.lit(level.value).alias("level"),
                pl.col("subject_id"),
                expr.cast(pl.Float64).fill_nan(None).round(VALUE_DECIMALS).alias("value"),
                (pl.min_horizontal(*(c.fill_null(0) for c in n_cols)) if n_cols else pl.lit(None, pl.Int64))
                .cast(pl.Int64)
                .alias("n"),
                pl.any_horizontal(*prov_cols).alias("provisional"),
            )
            produced.append(result)
            # Later formulas may read this one.
            wide = wide.join(
                result.select(
                    "subject_id",
                    pl.col("value").alias(f"value_{code}"),
                    pl.col("n").alias(f"n_{code}"),
                    pl.col("provisional").alias(f"provisional_{code}"),
                ),
                on="subject_id",
                how="left",
            )
        frames.extend(produced)
    return pl.concat(frames)


def score_subjects(
    values: pl.DataFrame,
    metrics: Mapping[str, MetricSpec],
    templates: Mapping[str, Template],
    assignments: pl.DataFrame,
    targets: pl.DataFrame,
    inputs: Inputs,
    links: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Score each assigned subject on its template: ``(results, totals)``.

    ``assignments``: ``level, subject_id, template``. ``targets``: ``level, subject_id, metric, target``
    (Float64); a subject without its own target takes the template item's default. ``links``
    (:data:`LINK_SCHEMA`): the confirmed links that ``scope="linked"`` items read.
    """
    item_rows = [
        {
            "template": key,
            "item": i,
            "metric": item.metric,
            "weight": float(item.weight),
            "default_target": None if item.target is None else float(item.target),
            "scope": item.scope,
        }
        for key, template in templates.items()
        for i, item in enumerate(template.items)
    ]
    items = pl.DataFrame(
        item_rows,
        schema={
            "template": pl.String,
            "item": pl.Int64,
            "metric": pl.String,
            "weight": pl.Float64,
            "default_target": pl.Float64,
            "scope": pl.String,
        },
    )
    # Step 1: one row per (subject, item), with where the value is read: the subject, or its parent.
    parents = pl.concat(
        [
            inputs.employees.select(
                pl.lit(Level.EMPLOYEE.value).alias("level"),
                pl.col("id").alias("subject_id"),
                pl.lit(Level.UNIT.value).alias("parent_level"),
                pl.col("unit_id").cast(pl.Int64).alias("parent_id"),
            ),
            inputs.units.select(
                pl.lit(Level.UNIT.value).alias("level"),
                pl.col("id").alias("subject_id"),
                pl.lit(Level.UNIT.value).alias("parent_level"),
                pl.col("parent_id").cast(pl.Int64),
            ),
        ]
    )
    rows = (
        assignments.join(items, on="template", how="inner")
        .join(parents, on=["level", "subject_id"], how="left")
        .with_columns(
            pl.when(pl.col("scope") == "parent")
            .then(pl.col("parent_level"))
            .when(pl.col("scope") == LINKED)
            .then(pl.lit(LINKED))
            .otherwise(pl.col("level"))
            .alias("value_level"),
            # A linked line reads the links of the subject's unit: the unit itself, or an employee's unit.
            pl.when(
                (pl.col("scope") == "parent")
                | ((pl.col("scope") == LINKED) & (pl.col("level") == "employee"))
            )
            .then(pl.col("parent_id"))
            .otherwise(pl.col("subject_id"))
            .alias("value_subject_id"),
        )
        .drop("parent_level", "parent_id")
    )
    # Step 2: the value (0 for a count or sum without records; a linked line without links has none) and the
    # target.
    if items.get_column("scope").eq(LINKED).any():
        values = pl.concat([values, linked_values(values, links)])
    rows = rows.join(
        values.rename({"level": "value_level", "subject_id": "value_subject_id"}),
        on=["metric", "value_level", "value_subject_id"],
        how="left",
    )
    zero_metrics = [code for code, spec in metrics.items() if spec.zero_when_empty]
    rows = rows.with_columns(
        pl.when(
            pl.col("value").is_null() & pl.col("metric").is_in(zero_metrics) & (pl.col("scope") != LINKED)
        )
        .then(pl.lit(0.0))
        .otherwise(pl.col("value"))
        .alias("value"),
        pl.col("n").fill_null(0),
        pl.col("provisional").fill_null(False),
    )
    rows = (
        rows.join(targets, on=["level", "subject_id", "metric"], how="left")
        .with_columns(pl.coalesce("target", "default_target").alias("target"))
        .drop("default_target")
    )

    # Step 3: each item's rule over its rows at once.
    jobs: list[tuple[Rule, pl.DataFrame]] = []
    # Eager per item: measured faster here than one lazy plan of all items (the rule expressions are wide).
    parts = rows.partition_by("template", "item", as_dict=True)
    for key, template in templates.items():
        for i, item in enumerate(template.items):
            part = parts.get((key, i))
            if part is None:
                continue
            rule = item.rule
            if isinstance(rule, SurveyRule):
                raise ValueError(
                    f"template {key} item {item.metric}: survey rules score answers; use a metric"
                )
            spec = metrics[item.metric]
            if rule.min_count is None:
                rule = dataclasses.replace(rule, min_count=spec.effective_min_count)
            jobs.append((rule, part))
    # polars releases the GIL while it computes: two threads keep both cores busy on the items.
    with ThreadPoolExecutor(max_workers=SCORING_THREADS) as pool:
        scored = list(pool.map(lambda job: score(*job), jobs))
    result_schema: dict[str, pl.DataType] = {
        **rows.schema,
        "attainment": pl.Decimal(38, 6),
        "points": POINTS_DTYPE,
        "status": pl.String(),
    }
    results = pl.concat(scored) if scored else pl.DataFrame(schema=result_schema)

    # Step 4: the weighted total of the items that could be scored.
    totals = _totals(results)
    return results, totals


def linked_values(values: pl.DataFrame, links: pl.DataFrame | None) -> pl.DataFrame:
    """Per functional unit and linked metric: the mean of the metric over the linked business units that have
    a value (level :data:`LINKED`, ``subject_id`` = the functional unit), ``n`` summed, provisional if any is."""
    if links is None or links.is_empty():
        return pl.DataFrame(schema=VALUE_SCHEMA)
    business = values.filter(pl.col("level") == "unit").rename({"subject_id": "business_unit_id"})
    return (
        links.unique()
        .join(business, on=["metric", "business_unit_id"], how="inner")
        .filter(pl.col("value").is_not_null())
        .group_by("metric", "functional_unit_id")
        .agg(
            pl.col("value").mean().round(VALUE_DECIMALS),
            pl.col("n").sum().cast(pl.Int64),
            pl.col("provisional").any(),
        )
        .select(
            "metric",
            pl.lit(LINKED).alias("level"),
            pl.col("functional_unit_id").alias("subject_id"),
            "value",
            "n",
            "provisional",
        )
    )


def _totals(results: pl.DataFrame) -> pl.DataFrame:
    scored = pl.col("status") == Status.SCORED.value
    points_cent = (pl.col("points").cast(pl.Float64) * 100).round(0).cast(pl.Int128)
    weight_cent = (pl.col("weight") * 100).round(0).cast(pl.Int128)
    return (
        results.group_by("level", "subject_id", "template")
        .agg(
            (points_cent * weight_cent).filter(scored).sum().alias("_num"),
            weight_cent.filter(scored).sum().alias("_den"),
            weight_cent.sum().alias("_all"),
            pl.col("provisional").any().alias("provisional"),
            scored.sum().cast(pl.Int64).alias("items_scored"),
            pl.len().cast(pl.Int64).alias("items"),
        )
        .with_columns(
            _from_micro(_div_half_up(pl.col("_num"), pl.col("_den")), POINTS_DTYPE).alias("score"),
            _from_micro(pl.col("_den"), POINTS_DTYPE).alias("weight_scored"),
            pl.when(pl.col("items_scored") == pl.col("items"))
            .then(pl.lit("complete"))
            .when(pl.col("items_scored") == 0)
            .then(pl.lit("none"))
            .otherwise(pl.lit("partial"))
            .alias("coverage"),
        )
        .drop("_num", "_den", "_all")
        .sort("level", "subject_id")
    )


def run(
    metrics: Mapping[str, MetricSpec],
    templates: Mapping[str, Template],
    inputs: Inputs,
    assignments: pl.DataFrame,
    targets: pl.DataFrame,
    catalogue: Catalogue,
    period: Period,
    *,
    calendar: WorkCalendar | None = None,
    as_of: dt.date | None = None,
    links: pl.DataFrame | None = None,
) -> RunResult:
    """The whole run for one period (see the module docstring)."""
    values, missing = compute_values(metrics, inputs, catalogue, period, calendar=calendar, as_of=as_of)
    values = values.sort("metric", "level", "subject_id")
    results, totals = score_subjects(values, metrics, templates, assignments, targets, inputs, links)
    results = results.sort("level", "subject_id", "template", "item")
    return RunResult(values=values, results=results, totals=totals, missing_years=missing)


def kinds_read(spec: MetricSpec, catalogue: Catalogue) -> frozenset[str]:
    """Every record kind a base metric's value depends on: its own, its outcomes', and referenced kinds."""
    if spec.kind is None:
        return frozenset()
    kinds = {spec.kind, *(outcome.kind for _, outcome in spec.outcomes)}
    for kind in list(kinds):
        for info in catalogue[kind].values():
            if info.type in ("employee", "unit", "requisition"):
                kinds.add(info.type)
    return frozenset(kinds)


def rerun(
    previous: RunResult,
    metrics: Mapping[str, MetricSpec],
    templates: Mapping[str, Template],
    inputs: Inputs,
    assignments: pl.DataFrame,
    targets: pl.DataFrame,
    catalogue: Catalogue,
    period: Period,
    *,
    changed_kinds: Collection[str],
    calendar: WorkCalendar | None = None,
    as_of: dt.date | None = None,
    links: pl.DataFrame | None = None,
) -> RunResult:
    """The same run after records of ``changed_kinds`` changed, recomputing only what they can move.

    The caller guarantees that nothing else changed (definitions, targets, roster, ``as_of``). Metrics that read
    none of the changed kinds keep their previous values; derived metrics are recomputed; only subjects with a
    moved value are scored again, and everyone else's lines and totals are carried over. The result equals a
    full :func:`run` over the same inputs (tested).
    """
    changed = set(changed_kinds)
    affected = {
        code
        for code, spec in metrics.items()
        if not spec.is_derived and kinds_read(spec, catalogue) & changed
    }
    # Derived metrics that read an affected metric, directly or through another derived one.
    names = {
        code: formulas.parse(spec.formula or "").names for code, spec in metrics.items() if spec.is_derived
    }
    derived: set[str] = set()
    grew = True
    while grew:
        grew = False
        for code, used in names.items():
            if code not in derived and used & (affected | derived):
                derived.add(code)
                grew = True
    # Step 1: new values for the affected base metrics; the others carried over.
    fresh, missing = compute_values(
        {code: metrics[code] for code in sorted(affected)},
        inputs,
        catalogue,
        period,
        calendar=calendar,
        as_of=as_of,
    )
    kept = previous.values.filter(~pl.col("metric").is_in(sorted(affected | derived)))
    base = pl.concat([kept, fresh.select(kept.columns)])
    if derived:
        base = _derived_values(
            base, metrics, {c: metrics[c] for c in derived}, builtins_for(period, calendar)
        )
    values = base.sort("metric", "level", "subject_id")
    # Step 2: which (metric, level, subject) values moved, and so which subjects' lines must be scored again.
    keys = ["metric", "level", "subject_id"]
    moved = pl.concat(
        [
            values.join(previous.values, on=list(VALUE_SCHEMA), how="anti", nulls_equal=True).select(keys),
            previous.values.join(values, on=list(VALUE_SCHEMA), how="anti", nulls_equal=True).select(keys),
        ]
    ).unique()
    # A moved business value moves the linked value of every functional unit linked to it.
    if links is not None and not links.is_empty():
        moved = pl.concat(
            [
                moved,
                moved.filter(pl.col("level") == "unit")
                .join(
                    links.rename({"business_unit_id": "subject_id"}), on=["metric", "subject_id"], how="inner"
                )
                .select(
                    "metric", pl.lit(LINKED).alias("level"), pl.col("functional_unit_id").alias("subject_id")
                ),
            ]
        ).unique()
    touched = (
        previous.results.join(
            moved.rename({"level": "value_level", "subject_id": "value_subject_id"}),
            on=["metric", "value_level", "value_subject_id"],
            how="semi",
        )
        .select("level", "subject_id")
        .unique()
    )
    # Step 3: score the touched subjects again; carry everyone else over.
    subjects = ["level", "subject_id"]
    again = assignments.join(touched, on=subjects, how="semi")
    results, totals = score_subjects(values, metrics, templates, again, targets, inputs, links)
    results = pl.concat(
        [previous.results.join(touched, on=subjects, how="anti"), results.select(previous.results.columns)]
    ).sort("level", "subject_id", "template", "item")
    totals = pl.concat(
        [previous.totals.join(touched, on=subjects, how="anti"), totals.select(previous.totals.columns)]
    ).sort("level", "subject_id")
    years = {code: previous.missing_years[code] for code in previous.missing_years if code not in affected}
    years.update(missing)
    return RunResult(values=values, results=results, totals=totals, missing_years=years)


def fingerprint(frames: Mapping[str, pl.DataFrame], extra: bytes = b"") -> str:
    """A stable SHA-256 of the frames' contents (sorted by name, columns as Arrow IPC bytes) and ``extra``.

    Same inputs, same fingerprint: the frames are written with a fixed column order and sorted rows.
    """
    digest = hashlib.sha256()
    digest.update(ENGINE_VERSION.encode())
    for name in sorted(frames):
        frame = frames[name]
        frame = frame.select(sorted(frame.columns))
        flat = [c for c, dtype in frame.schema.items() if not dtype.is_nested()]
        if flat:
            frame = frame.sort(flat, nulls_last=True)
        digest.update(name.encode())
        for column in frame.columns:
            series = frame.get_column(column)
            digest.update(column.encode())
            digest.update(str(series.dtype).encode())
            digest.update(_series_bytes(series))
    digest.update(extra)
    return digest.hexdigest()


def _series_bytes(series: pl.Series) -> bytes:
    """The column's Arrow buffers (validity, offsets, data) after a rechunk: no per-row Python."""
    array = series.rechunk().to_arrow()
    return b"".join(buffer.to_pybytes() for buffer in array.buffers() if buffer is not None)
