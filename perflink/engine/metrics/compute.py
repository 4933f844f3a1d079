"""Computation: a base metric's counted records for a period as a lazy polars plan (:func:`prepare_plan`), one
row per record, and their aggregation to one value per employee or unit (:func:`aggregate`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl

from perflink.engine.calendar import WorkCalendar
from perflink.engine.metrics.spec import (
    REF_TYPES,
    VALUE_DECIMALS,
    Catalogue,
    Condition,
    Duration,
    FieldInfo,
    Level,
    MetricSpec,
    Outcome,
)
from perflink.engine.periods import Period, add_months


def _midnight(day: dt.date) -> dt.datetime:
    # Record datetimes are naive local wall-clock times (see the package docstring), so the bound is too.
    return dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001


def window_bounds(spec: MetricSpec, period: Period) -> tuple[dt.date, dt.date]:
    """``[low, high)`` of ``date_field`` values that the metric reads for ``period``."""
    window = spec.window
    if window.type == "rolling":
        return add_months(period.start, -(window.months - 1)), period.end
    if window.type == "lag":
        return add_months(period.start, -window.months), add_months(period.end, -window.months)
    if window.type == "cohort" and window.lag_months:
        # A lagged cohort: the anchors dated in the period ``lag_months`` back (outcomes still run from each
        # anchor over its own window, and stay provisional until anchor + days has passed).
        return add_months(period.start, -window.lag_months), add_months(period.end, -window.lag_months)
    if window.type in ("open_at_end", "active"):
        return dt.date(1900, 1, 1), period.end
    return period.start, period.end


def _compare(column: pl.Expr, dtype: pl.DataType, op: str, value: Any) -> pl.Expr:
    if isinstance(value, dt.date) and isinstance(dtype, pl.Datetime):
        value = _midnight(value)
    if op in ("in", "not_in"):
        hit = column.is_in(list(value))
        return ~hit if op == "not_in" else hit
    literal = value if isinstance(value, pl.Expr) else pl.lit(value)
    return {
        "eq": column == literal,
        "ne": column != literal,
        "lt": column < literal,
        "le": column <= literal,
        "gt": column > literal,
        "ge": column >= literal,
    }[op]


class _Frame:
    """One metric's working plan: the records of its kind (lazy) with resolved paths as columns."""

    def __init__(
        self,
        spec: MetricSpec,
        kind: str,
        records: Mapping[str, pl.DataFrame],
        catalogue: Catalogue,
        calendar: WorkCalendar | None,
        missing_years: set[int] | None = None,
    ) -> None:
        self.spec = spec
        self.kind = kind
        self.records = records
        self.catalogue = catalogue
        self.calendar = calendar
        # Filled while the plan runs (working-day counts report the years they could not count).
        self.missing_years: set[int] = set() if missing_years is None else missing_years

    def column(self, kind: str, path: str) -> str:
        head, _, rest = path.partition(".")
        return self.catalogue[kind][head].column if not rest else path

    def with_paths(self, frame: pl.LazyFrame, kind: str, paths: Sequence[str]) -> pl.LazyFrame:
        """Add a column per ``ref.field`` path by joining the referenced kind (one join per reference)."""
        by_ref: dict[str, list[str]] = {}
        for path in dict.fromkeys(paths):
            head, _, rest = path.partition(".")
            if rest:
                by_ref.setdefault(head, []).append(rest)
        for head, rests in by_ref.items():
            info = self.catalogue[kind][head]
            target = REF_TYPES[info.type]
            columns = [self.catalogue[target][rest].column for rest in rests]
            other = (
                self.records[target]
                .lazy()
                .select(
                    pl.col("id").alias(info.column),
                    *(pl.col(c).alias(f"{head}.{r}") for c, r in zip(columns, rests, strict=True)),
                )
            )
            frame = frame.join(other, on=info.column, how="left")
        return frame

    def duration(self, schema: pl.Schema, kind: str, duration: Duration) -> pl.Expr:
        """The duration per row as a Float64 expression (working days are counted by the calendar)."""
        start_name, end_name = self.column(kind, duration.start), self.column(kind, duration.end)
        start, end = pl.col(start_name), pl.col(end_name)
        if duration.unit == "working_days":
            calendar = self.calendar
            if calendar is None:
                raise ValueError(f"metric {self.spec.code}: working days need a calendar")
            missing = self.missing_years

            def count(pair: pl.Series) -> pl.Series:
                result = calendar.working_days_between(
                    pair.struct.field(start_name), pair.struct.field(end_name)
                )
                missing.update(result.missing_years)
                return result.values.cast(pl.Float64)

            return pl.struct(start, end).map_batches(count, return_dtype=pl.Float64)
        both_datetime = isinstance(schema[start_name], pl.Datetime) and isinstance(
            schema[end_name], pl.Datetime
        )
        if duration.unit == "hours":
            return ((end - start).dt.total_seconds() / 3600).cast(pl.Float64)
        if both_datetime:
            return ((end - start).dt.total_seconds() / 86400).cast(pl.Float64)
        return (end.cast(pl.Date) - start.cast(pl.Date)).dt.total_days().cast(pl.Float64)

    def condition(self, schema: pl.Schema, kind: str, cond: Condition) -> pl.Expr:
        """The condition's truth per row (a comparison with a null is false)."""
        dtype: pl.DataType
        if cond.duration is not None:
            column, dtype = self.duration(schema, kind, cond.duration), pl.Float64()
        else:
            assert cond.field is not None
            col_name = (
                self.column(kind, cond.field)
                if cond.field in self.catalogue[kind] or "." in cond.field
                else cond.field
            )
            column, dtype = pl.col(col_name), schema[col_name]
        if cond.op == "is_null":
            expr = column.is_null()
        elif cond.op == "not_null":
            expr = column.is_not_null()
        elif cond.other is not None:
            other = pl.col(self.column(kind, cond.other))
            expr = _compare(column, dtype, cond.op, other)
        else:
            expr = _compare(column, dtype, cond.op, cond.value)
        return expr.fill_null(False)


def reference_paths(spec: MetricSpec) -> list[str]:
    """Every ``ref.field`` path a base metric reads from its own kind (the engine joins them; the loader reads
    the referenced kinds)."""
    assert spec.measure is not None
    paths: list[str] = []
    for cond in (*spec.filters, *spec.measure.where):
        paths += [p for p in (cond.field, cond.other) if p and "." in p]
        if cond.duration:
            paths += [p for p in (cond.duration.start, cond.duration.end) if "." in p]
    if spec.measure.duration:
        paths += [p for p in (spec.measure.duration.start, spec.measure.duration.end) if "." in p]
    paths += [
        p
        for p in (spec.measure.field, spec.subject.employee, spec.subject.unit, spec.date_field)
        if p and "." in p
    ]
    paths += [outcome.match[0][1] for _, outcome in spec.outcomes if "." in outcome.match[0][1]]
    return paths


PREPARED_COLUMNS: Final = ("_rid", "_version", "_date", "_emp", "_unit", "_x", "_hit", "_provisional")


def prepare(
    spec: MetricSpec,
    records: Mapping[str, pl.DataFrame],
    catalogue: Catalogue,
    period: Period,
    *,
    calendar: WorkCalendar | None = None,
    as_of: dt.date | None = None,
) -> tuple[pl.DataFrame, frozenset[int]]:
    """The records a base metric counts for ``period``, one row each, before aggregation.

    Columns: ``_rid`` and ``_version`` (the source record), ``_date``, ``_emp`` and ``_unit`` (subjects,
    null when the metric has no such level), ``_x`` (the measured value; null for count and share),
    ``_hit`` (share only: meets the condition) and ``_provisional`` (cohort outcome not yet mature).
    The drill-down reads this frame too, so an explanation shows exactly the rows that were counted.
    Also returns the years without working-day calendar data that the metric touched.
    """
    missing: set[int] = set()
    plan = prepare_plan(
        spec, records, catalogue, period, calendar=calendar, as_of=as_of, missing_years=missing
    )
    frame = plan.collect()
    return frame, frozenset(missing)


def prepare_plan(
    spec: MetricSpec,
    records: Mapping[str, pl.DataFrame],
    catalogue: Catalogue,
    period: Period,
    *,
    calendar: WorkCalendar | None = None,
    as_of: dt.date | None = None,
    missing_years: set[int] | None = None,
) -> pl.LazyFrame:
    """:func:`prepare` as a lazy plan, so a run can collect every metric at once (``missing_years`` is
    filled when the plan runs)."""
    assert spec.kind is not None and spec.measure is not None and spec.date_field is not None
    kind, measure = spec.kind, spec.measure
    work = _Frame(spec, kind, records, catalogue, calendar, missing_years)
    frame = work.with_paths(records[kind].lazy(), kind, reference_paths(spec))
    schema = frame.collect_schema()
    date_col = work.column(kind, spec.date_field)
    low, high = window_bounds(spec, period)

    def bound(day: dt.date, column: str) -> Any:
        return _midnight(day) if isinstance(schema[column], pl.Datetime) else day

    # Step 1: place records in the window by their date.
    placed = (pl.col(date_col) >= bound(low, date_col)) & (pl.col(date_col) < bound(high, date_col))
    if spec.window.type in ("open_at_end", "active"):
        assert spec.window.end_field is not None
        end_name = work.column(kind, spec.window.end_field)
        # Open at the end: not yet closed when the period ends. Active: not ended before it started.
        edge = period.end if spec.window.type == "open_at_end" else period.start
        placed = placed & (pl.col(end_name).is_null() | (pl.col(end_name) >= bound(edge, end_name)))
    frame = frame.filter(placed.fill_null(False))

    # Step 2: the metric's filters, all of which must hold.
    for cond in spec.filters:
        frame = frame.filter(work.condition(schema, kind, cond))

    # Step 3: cohort outcomes per anchor record, over [anchor date, anchor date + days).
    provisional = pl.lit(False)
    if spec.window.type == "cohort":
        days = spec.window.days
        anchor = pl.col(date_col).cast(pl.Date)
        frame = frame.with_columns(anchor.alias("_anchor"))
        for name, outcome in spec.outcomes:
            frame = _join_outcome(frame, work, name, outcome, days)
        mature = (
            pl.lit(False) if as_of is None else (pl.col("_anchor") + pl.duration(days=days)) > pl.lit(as_of)
        )
        frame = frame.with_columns(mature.alias("_mature")).drop("_anchor")
        provisional = pl.col("_mature")
        schema = frame.collect_schema()

    # Step 4: the measured value and, for a share, whether the row meets the condition.
    if measure.duration is not None:
        x = work.duration(schema, kind, measure.duration)
    elif measure.field is not None and measure.agg != "share":
        source = measure.field if measure.field in dict(spec.outcomes) else work.column(kind, measure.field)
        x = pl.col(source) if measure.agg == "distinct" else pl.col(source).cast(pl.Float64)
    else:
        x = pl.lit(None, dtype=pl.Float64)
    if measure.agg == "share":
        hit = pl.all_horizontal(*(work.condition(schema, kind, cond) for cond in measure.where))
    else:
        hit = pl.lit(None, dtype=pl.Boolean)

    # Step 5: the subjects each record is attributed to.
    emp = (
        pl.col(work.column(kind, spec.subject.employee)) if spec.subject.employee else pl.lit(None, pl.Int64)
    )
    unit_col = work.column(kind, spec.subject.unit) if spec.subject.unit else None
    frame = frame.with_columns(
        pl.col("id").alias("_rid"),
        (pl.col("version") if "version" in schema else pl.lit(1)).cast(pl.Int64).alias("_version"),
        pl.col(date_col).alias("_date"),
        emp.cast(pl.Int64).alias("_emp"),
        x.alias("_x"),
        hit.alias("_hit"),
        provisional.alias("_provisional"),
    )
    if (
        unit_col is not None
        and catalogue[kind].get(spec.subject.unit or "", FieldInfo("", "")).type == "units"
    ):
        # A record listing several units (an incident's affected units) counts once for each.
        links = records[f"{kind}.{spec.subject.unit}"].lazy()
        frame = frame.join(links.rename({"owner_id": "_rid", "unit_id": "_unit"}), on="_rid", how="left")
    else:
        unit_expr = pl.col(unit_col) if unit_col is not None else pl.lit(None, pl.Int64)
        frame = frame.with_columns(unit_expr.cast(pl.Int64).alias("_unit"))
    return frame.select(PREPARED_COLUMNS)


def _join_outcome(frame: pl.LazyFrame, work: _Frame, name: str, outcome: Outcome, days: int) -> pl.LazyFrame:
    """Add column ``name``: per anchor row, the count or sum of the outcome kind's rows in its window."""
    theirs, ours = outcome.match[0]
    other_work = _Frame(
        work.spec, outcome.kind, work.records, work.catalogue, work.calendar, work.missing_years
    )
    # Every path through a reference the outcome reads: its key, date, value and filters.
    paths = [theirs, outcome.date_field, outcome.field or ""]
    for cond in outcome.filters:
        paths += [cond.field or "", cond.other or ""]
        if cond.duration:
            paths += [cond.duration.start, cond.duration.end]
    other = other_work.with_paths(
        work.records[outcome.kind].lazy(), outcome.kind, [p for p in paths if "." in p]
    )
    other_schema = other.collect_schema()
    for cond in outcome.filters:
        other = other.filter(other_work.condition(other_schema, outcome.kind, cond))
    date_col = other_work.column(outcome.kind, outcome.date_field)
    value = (
        pl.col(other_work.column(outcome.kind, outcome.field)).cast(pl.Float64)
        if outcome.field
        else pl.lit(1.0)
    )
    slim = other.select(
        pl.col(other_work.column(outcome.kind, theirs)).alias("_key"),
        pl.col(date_col).cast(pl.Date).alias("_odate"),
        value.alias("_oval"),
    ).filter(pl.col("_key").is_not_null() & pl.col("_odate").is_not_null())
    anchors = frame.select(
        pl.col("id").alias("_aid"), pl.col(work.column(work.kind, ours)).alias("_key"), "_anchor"
    )
    joined = (
        anchors.join(slim, on="_key", how="inner")
        .filter(
            (pl.col("_odate") >= pl.col("_anchor"))
            & (pl.col("_odate") < pl.col("_anchor") + pl.duration(days=days))
        )
        .group_by("_aid")
        .agg(pl.col("_oval").sum().alias(name))
    )
    return frame.join(joined.rename({"_aid": "id"}), on="id", how="left").with_columns(
        pl.col(name).fill_null(0.0)
    )


def aggregate[F: (pl.DataFrame, pl.LazyFrame)](
    spec: MetricSpec, prepared: F, level: Level, units: pl.DataFrame | None = None
) -> F:
    """One row per subject: ``subject_id, value (Float64), n, provisional``.

    ``units`` (``id, ancestors``: list of ids root → self) rolls unit values up the tree when the metric says so.
    """
    assert spec.measure is not None
    agg = spec.measure.agg
    key = "_emp" if level is Level.EMPLOYEE else "_unit"
    frame = prepared.filter(pl.col(key).is_not_null())
    if level is Level.UNIT and spec.subject.rollup:
        if units is None:
            raise ValueError("rolling up needs the unit tree")
        # Each record counts for its unit and every ancestor: one row per (record, ancestor).
        tree = units.select(pl.col("id").alias("_unit"), "ancestors")
        joined = (
            frame.lazy().join(tree.lazy(), on="_unit", how="inner").drop("_unit").explode("ancestors")
        ).rename({"ancestors": "_unit"})
        if spec.subject.multi:
            # A record listing two teams of one branch counts once for the branch, not twice.
            joined = joined.unique(["_rid", "_unit"], keep="first", maintain_order=True)
        frame = joined if isinstance(prepared, pl.LazyFrame) else joined.collect()
    x = pl.col("_x")
    value: pl.Expr
    n = x.count()
    if agg == "count":
        value, n = pl.len().cast(pl.Float64), pl.len()
    elif agg == "distinct":
        value, n = x.drop_nulls().n_unique().cast(pl.Float64), pl.len()
    elif agg == "sum":
        value = x.sum()
    elif agg == "mean":
        value = x.mean()
    elif agg == "median":
        value = x.median()
    elif agg == "p90":
        value = x.quantile(0.9, interpolation="linear")
    elif agg == "min":
        value = x.min()
    elif agg == "max":
        value = x.max()
    else:  # share: percent of counted rows meeting the condition
        n = pl.col("_hit").count()
        value = pl.col("_hit").cast(pl.Float64).sum() * 100.0 / pl.col("_hit").count().cast(pl.Float64)
    return (
        frame.group_by(key)
        .agg(
            value.cast(pl.Float64).alias("value"),
            n.cast(pl.Int64).alias("n"),
            pl.col("_provisional").any().alias("provisional"),
        )
        .rename({key: "subject_id"})
        # A mean of no values is no value, not NaN; values are rounded to a stable 6 places.
        .with_columns(pl.col("value").fill_nan(None).round(VALUE_DECIMALS))
    )
