"""Metric definitions as data, and their vectorised computation for every employee and unit of a period.

A metric definition is a plain dict (stored as JSON, edited in the UI), parsed by :func:`parse_metric` into a
frozen :class:`MetricSpec`; every mistake is reported with the path of the faulty part
(``measure.field: unknown field 'premium' of policy``). Nothing is ``eval``ed.

Base metric keys::

    kind        record kind ("policy", "claim", "hire", ..., or "employee" for the roster)
    date_field  the date that places a record in a period (e.g. "paid_at")
    window      {"type": "period"}                      records dated in the period (default)
                {"type": "rolling", "months": 3}        the period and the N-1 months before it
                {"type": "lag", "months": 13}           the period shifted N months back (e.g. 13-month persistency)
                {"type": "cohort", "days": 90}          anchors dated in the period, outcomes over their first N days
                {"type": "open_at_end", "end_field": f} dated before the period end, and f empty or after the end
                {"type": "active", "end_field": f}      date_field before the end, and f empty or on/after the start
    filters     [condition, ...]                        all must hold
    outcomes    {"name": {"kind", "match": {their_field: our_field}, "date_field", "agg": "count"|"sum",
                 "field"?, "filters"?}}                 cohort only: per anchor, over [anchor date, + days)
    measure     {"agg": "count"|"distinct"|"sum"|"mean"|"median"|"p90"|"min"|"max"|"share",
                 "field"?: f | "duration"?: {"start", "end", "unit": "days"|"working_days"|"hours"},
                 "where"?: [condition, ...]}            share = 100 × rows meeting "where" / rows
    subject     {"employee": path | null, "unit": path | null, "rollup": true}
    direction   "higher" | "lower"; unit: display unit; min_count: fewest records to score (default 1)

A condition is ``{"field": path, "op": "eq"|"ne"|"in"|"not_in"|"lt"|"le"|"gt"|"ge"|"is_null"|"not_null",
"value": v}``, or ``"other": path`` instead of ``"value"`` to compare two fields, or ``"duration": {...}``
instead of ``"field"``. A path is a field of the kind, or ``ref.field`` through an employee / unit / requisition
reference (``requisition.opened_on``, ``agent.employment_type``).

Derived metrics are ``{"formula": "a / b * 100", "direction", "unit"}`` over other metrics' values of the same
subject (see :mod:`perflink.engine.formula`).

Semantics worth knowing: datetimes are local (Asia/Shanghai) wall-clock times; calendar-day durations of
datetimes are fractional (hours / 24), working-day durations count the working days in ``[start date, end date)``;
p90 is the linear-interpolated 90th percentile; a record with a null value does not count for mean, median or
percentiles, while a share counts every record and a condition that cannot be decided (a null compared) as not
met (an unpaid commission is not paid on time): filter out nulls first where they should not count. Units are rolled up the tree: a unit's value covers every record of its subtree.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import polars as pl

from perflink.engine.calendar import WorkCalendar
from perflink.engine.periods import Period, add_months

__all__ = [
    "AGGREGATES",
    "Catalogue",
    "Condition",
    "Duration",
    "FieldInfo",
    "Level",
    "Measure",
    "MetricError",
    "MetricSpec",
    "Outcome",
    "Subject",
    "Window",
    "aggregate",
    "parse_metric",
    "prepare",
    "prepare_plan",
    "window_bounds",
]


class MetricError(ValueError):
    """A metric definition is malformed; the message starts with the path of the faulty part."""


class Level(enum.StrEnum):
    EMPLOYEE = "employee"
    UNIT = "unit"


AGGREGATES: Final = ("count", "distinct", "sum", "mean", "median", "p90", "min", "max", "share")
# Aggregates that are 0 (not missing) for a subject without records: an agent with no policy sold 0.
ZERO_WHEN_EMPTY: Final = frozenset({"count", "distinct", "sum"})
# Metric values are kept to 6 decimal places (the scoring scale): parallel float sums may differ in the last
# bits from run to run, and a run must give the same numbers for the same inputs.
VALUE_DECIMALS: Final = 6
OPS: Final = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_null", "not_null")
REF_TYPES: Final = {"employee": "employee", "unit": "unit", "requisition": "requisition"}
NUMERIC_TYPES: Final = frozenset({"int", "decimal", "money", "satisfaction"})
TEMPORAL_TYPES: Final = frozenset({"date", "datetime"})


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the engine needs to know of a record field: its type and the frame column holding it."""

    type: str
    column: str


# kind -> field name -> info. Built by the caller from the ingest kinds (the engine imports no app code).
type Catalogue = Mapping[str, Mapping[str, FieldInfo]]


@dataclass(frozen=True, slots=True)
class Duration:
    start: str
    end: str
    unit: Literal["days", "working_days", "hours"] = "days"


@dataclass(frozen=True, slots=True)
class Condition:
    op: str
    field: str | None = None
    duration: Duration | None = None
    value: Any = None
    other: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    type: Literal["period", "rolling", "lag", "cohort", "open_at_end", "active"] = "period"
    months: int = 0
    days: int = 0
    end_field: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A cohort outcome: per anchor record, an aggregate of another kind's records in the anchor's window."""

    kind: str
    match: tuple[tuple[str, str], ...]  # (their field, our field)
    date_field: str
    agg: Literal["count", "sum"]
    field: str | None = None
    filters: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Measure:
    agg: str
    field: str | None = None
    duration: Duration | None = None
    where: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Subject:
    employee: str | None = None
    unit: str | None = None
    rollup: bool = True
    multi: bool = False  # the unit field lists several units (an incident's affected units)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A parsed metric definition: a base metric (``kind`` set) or a derived one (``formula`` set)."""

    code: str
    direction: Literal["higher", "lower"] = "higher"
    unit: str = ""
    min_count: int | None = None  # None: 0 for counts and sums (no records is a real 0), else 1
    kind: str | None = None
    date_field: str | None = None
    window: Window = field(default_factory=Window)
    filters: tuple[Condition, ...] = ()
    outcomes: tuple[tuple[str, Outcome], ...] = ()
    measure: Measure | None = None
    subject: Subject = field(default_factory=Subject)
    formula: str | None = None

    @property
    def is_derived(self) -> bool:
        return self.formula is not None

    @property
    def zero_when_empty(self) -> bool:
        return self.measure is not None and self.measure.agg in ZERO_WHEN_EMPTY

    @property
    def effective_min_count(self) -> int:
        if self.min_count is not None:
            return self.min_count
        return 0 if self.zero_when_empty or self.is_derived else 1

    @property
    def levels(self) -> tuple[Level, ...]:
        levels = []
        if self.subject.employee:
            levels.append(Level.EMPLOYEE)
        if self.subject.unit:
            levels.append(Level.UNIT)
        return tuple(levels)


# --------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, code: str, data: Mapping[str, Any], catalogue: Catalogue) -> None:
        self.code = code
        self.data = data
        self.catalogue = catalogue

    def fail(self, where: str, message: str) -> MetricError:
        return MetricError(f"{where}: {message}" if where else message)

    def keys(self, data: Any, allowed: set[str], where: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, "must be an object")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        return data

    def field_type(self, kind: str, path: Any, where: str) -> str:
        """The type of ``path`` (a field or ``ref.field``) of ``kind``, or a MetricError naming the spot."""
        if not isinstance(path, str) or not path:
            raise self.fail(where, "must name a field")
        fields = self.catalogue[kind]
        head, _, rest = path.partition(".")
        if head not in fields:
            raise self.fail(where, f"unknown field {head!r} of {kind} (known: {', '.join(sorted(fields))})")
        info = fields[head]
        if not rest:
            return info.type
        target = REF_TYPES.get(info.type)
        if target is None or target not in self.catalogue:
            raise self.fail(
                where, f"{head!r} is a {info.type} field, not a reference, so {path!r} cannot follow it"
            )
        if "." in rest:
            raise self.fail(where, f"{path!r}: only one reference step is supported")
        return self.field_type(target, rest, where)

    def temporal(self, kind: str, path: Any, where: str) -> str:
        type_ = self.field_type(kind, path, where)
        if type_ not in TEMPORAL_TYPES:
            raise self.fail(where, f"{path!r} is a {type_} field; a date or datetime is needed")
        return type_

    def duration(self, kind: str, data: Any, where: str) -> Duration:
        data = self.keys(data, {"start", "end", "unit"}, where)
        for key in ("start", "end"):
            if key not in data:
                raise self.fail(where, f"needs {key!r}")
        start = self.temporal(kind, data["start"], f"{where}.start")
        end = self.temporal(kind, data["end"], f"{where}.end")
        unit = data.get("unit", "days")
        if unit not in ("days", "working_days", "hours"):
            raise self.fail(f"{where}.unit", "must be days, working_days or hours")
        if unit == "hours" and "date" in (start, end):
            raise self.fail(f"{where}.unit", "hours need datetime fields at both ends")
        return Duration(data["start"], data["end"], unit)

    def condition(self, kind: str, data: Any, where: str) -> Condition:
        data = self.keys(data, {"field", "duration", "op", "value", "other"}, where)
        op = data.get("op")
        if op not in OPS:
            raise self.fail(f"{where}.op", f"must be one of {', '.join(OPS)}")
        if ("field" in data) == ("duration" in data):
            raise self.fail(where, "needs exactly one of 'field' or 'duration'")
        if "duration" in data:
            duration = self.duration(kind, data["duration"], f"{where}.duration")
            type_, column = "decimal", None
        else:
            duration, column = None, data["field"]
            type_ = self.field_type(kind, column, f"{where}.field")
        other = data.get("other")
        if op in ("is_null", "not_null"):
            if "value" in data or other is not None:
                raise self.fail(where, f"{op} takes no value")
            return Condition(op, column, duration)
        if other is not None:
            if "value" in data or op in ("in", "not_in"):
                raise self.fail(
                    where, "'other' compares two fields with eq, ne, lt, le, gt or ge, without 'value'"
                )
            other_type = self.field_type(kind, other, f"{where}.other")
            if (other_type in TEMPORAL_TYPES) != (type_ in TEMPORAL_TYPES):
                raise self.fail(where, f"cannot compare a {type_} with a {other_type}")
            return Condition(op, column, duration, other=other)
        if "value" not in data:
            raise self.fail(where, f"{op} needs a 'value' (or 'other')")
        value = data["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.fail(f"{where}.value", f"{op} needs a non-empty list")
            values = [self.literal(type_, item, f"{where}.value") for item in value]
            return Condition(op, column, duration, tuple(values))
        return Condition(op, column, duration, self.literal(type_, value, f"{where}.value"))

    def literal(self, type_: str, value: Any, where: str) -> Any:
        if type_ in TEMPORAL_TYPES:
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise self.fail(where, f"{value!r} is not a date (YYYY-MM-DD)") from None
        if type_ in NUMERIC_TYPES or type_ == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise self.fail(where, f"{value!r} is not a number")
            try:
                return float(value)
            except ValueError:
                raise self.fail(where, f"{value!r} is not a number") from None
        if type_ == "bool":
            if not isinstance(value, bool):
                raise self.fail(where, f"{value!r} is not true or false")
            return value
        if type_ in REF_TYPES or type_ == "units":
            raise self.fail(where, "references are compared by field, e.g. 'agent.employment_type'")
        if not isinstance(value, str):
            raise self.fail(where, f"{value!r} is not text")
        return value

    def window(self, kind: str, data: Any) -> Window:
        data = self.keys(data if data is not None else {}, {"type", "months", "days", "end_field"}, "window")
        type_ = data.get("type", "period")
        if type_ == "period":
            return Window()
        if type_ in ("rolling", "lag"):
            months = data.get("months")
            if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 36:
                raise self.fail("window.months", "must be a whole number of months from 1 to 36")
            return Window(type_, months=months)
        if type_ == "cohort":
            days = data.get("days")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 730:
                raise self.fail("window.days", "must be a whole number of days from 1 to 730")
            return Window("cohort", days=days)
        if type_ in ("open_at_end", "active"):
            end_field = data.get("end_field")
            self.temporal(kind, end_field, "window.end_field")
            return Window(type_, end_field=end_field)
        raise self.fail("window.type", "must be period, rolling, lag, cohort, open_at_end or active")

    def outcome(self, name: str, data: Any) -> Outcome:
        where = f"outcomes.{name}"
        data = self.keys(data, {"kind", "match", "date_field", "agg", "field", "filters"}, where)
        kind = data.get("kind")
        if kind not in self.catalogue:
            raise self.fail(f"{where}.kind", f"unknown record kind {kind!r}")
        match = data.get("match")
        if not isinstance(match, Mapping) or len(match) != 1:
            raise self.fail(f"{where}.match", "must map one of their fields to one of ours")
        ((theirs, ours),) = match.items()
        their_type = self.field_type(kind, theirs, f"{where}.match")
        our_type = self.field_type(str(self.data["kind"]), ours, f"{where}.match")
        if their_type != our_type:
            raise self.fail(f"{where}.match", f"{theirs!r} is a {their_type}, {ours!r} a {our_type}")
        self.temporal(kind, data.get("date_field"), f"{where}.date_field")
        agg = data.get("agg")
        if agg not in ("count", "sum"):
            raise self.fail(f"{where}.agg", "must be count or sum")
        value_field = data.get("field")
        if agg == "sum":
            if self.field_type(kind, value_field, f"{where}.field") not in NUMERIC_TYPES:
                raise self.fail(f"{where}.field", f"{value_field!r} is not numeric")
        elif value_field is not None:
            raise self.fail(f"{where}.field", "count takes no field")
        filters = self.conditions(kind, data.get("filters", []), f"{where}.filters")
        return Outcome(kind, ((theirs, ours),), data["date_field"], agg, value_field, filters)

    def conditions(self, kind: str, data: Any, where: str) -> tuple[Condition, ...]:
        if not isinstance(data, list):
            raise self.fail(where, "must be a list of conditions")
        return tuple(self.condition(kind, item, f"{where}[{i}]") for i, item in enumerate(data))

    def measure(self, kind: str, data: Any, outcome_names: set[str]) -> Measure:
        data = self.keys(data, {"agg", "field", "duration", "where"}, "measure")
        agg = data.get("agg")
        if agg not in AGGREGATES:
            raise self.fail("measure.agg", f"must be one of {', '.join(AGGREGATES)}")
        where = self.conditions_or_outcomes(kind, data.get("where", []), outcome_names)
        if agg == "share":
            if not where:
                raise self.fail("measure.where", "a share needs the condition of the rows it counts")
            if "field" in data or "duration" in data:
                raise self.fail("measure", "a share counts rows: give 'where', not a field")
            return Measure("share", where=where)
        if where:
            raise self.fail("measure.where", "only a share takes 'where'; put other conditions in 'filters'")
        if agg == "count":
            if "field" in data or "duration" in data:
                raise self.fail("measure", "count counts rows and takes no field")
            return Measure("count")
        if "duration" in data:
            if agg == "distinct":
                raise self.fail("measure", "distinct needs a field, not a duration")
            return Measure(agg, duration=self.duration(kind, data["duration"], "measure.duration"))
        value_field = data.get("field")
        if value_field in outcome_names:
            return Measure(agg, field=value_field)
        type_ = self.field_type(kind, value_field, "measure.field")
        if agg != "distinct" and type_ not in NUMERIC_TYPES:
            raise self.fail("measure.field", f"{value_field!r} is a {type_} field; {agg} needs a number")
        return Measure(agg, field=value_field)

    def conditions_or_outcomes(self, kind: str, data: Any, outcome_names: set[str]) -> tuple[Condition, ...]:
        """``where`` conditions may also test a cohort outcome by name (``{"field": "premium_90d", ...}``)."""
        if not isinstance(data, list):
            raise self.fail("measure.where", "must be a list of conditions")
        result = []
        for i, item in enumerate(data):
            where = f"measure.where[{i}]"
            if isinstance(item, Mapping) and item.get("field") in outcome_names:
                self.keys(item, {"field", "op", "value"}, where)
                if item.get("op") not in ("eq", "ne", "lt", "le", "gt", "ge"):
                    raise self.fail(f"{where}.op", "an outcome compares with eq, ne, lt, le, gt or ge")
                result.append(
                    Condition(
                        item["op"],
                        item["field"],
                        value=self.literal("decimal", item.get("value"), f"{where}.value"),
                    )
                )
            else:
                result.append(self.condition(kind, item, where))
        return tuple(result)

    def subject(self, kind: str, data: Any) -> Subject:
        data = self.keys(data, {"employee", "unit", "rollup"}, "subject")
        employee, unit = data.get("employee"), data.get("unit")
        if employee is None and unit is None:
            raise self.fail("subject", "name the employee field, the unit field, or both")
        if employee is not None and self.field_type(kind, employee, "subject.employee") != "employee":
            raise self.fail("subject.employee", f"{employee!r} is not an employee field")
        if unit is not None and self.field_type(kind, unit, "subject.unit") not in ("unit", "units"):
            raise self.fail("subject.unit", f"{unit!r} is not a unit field")
        rollup = data.get("rollup", True)
        if not isinstance(rollup, bool):
            raise self.fail("subject.rollup", "must be true or false")
        multi = unit is not None and self.field_type(kind, unit, "subject.unit") == "units"
        return Subject(employee, unit, rollup, multi)

    def common(self) -> dict[str, Any]:
        direction = self.data.get("direction", "higher")
        if direction not in ("higher", "lower"):
            raise self.fail("direction", "must be higher or lower")
        unit = self.data.get("unit", "")
        if not isinstance(unit, str):
            raise self.fail("unit", "must be text")
        min_count = self.data.get("min_count")
        if min_count is not None and (
            not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 0
        ):
            raise self.fail("min_count", "must be a whole number ≥ 0")
        return {"code": self.code, "direction": direction, "unit": unit, "min_count": min_count}

    def parse(self) -> MetricSpec:
        data = self.data
        if "formula" in data:
            self.keys(data, {"formula", "direction", "unit", "min_count"}, "")
            formula = data["formula"]
            if not isinstance(formula, str) or not formula.strip():
                raise self.fail("formula", "must be a non-empty formula")
            return MetricSpec(**self.common(), formula=formula.strip())
        allowed = {"kind", "date_field", "window", "filters", "outcomes", "measure", "subject"}
        self.keys(data, allowed | {"direction", "unit", "min_count"}, "")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in self.catalogue:
            raise self.fail(
                "kind", f"unknown record kind {kind!r} (known: {', '.join(sorted(self.catalogue))})"
            )
        self.temporal(kind, data.get("date_field"), "date_field")
        window = self.window(kind, data.get("window"))
        filters = self.conditions(kind, data.get("filters", []), "filters")
        raw_outcomes = data.get("outcomes", {})
        if not isinstance(raw_outcomes, Mapping):
            raise self.fail("outcomes", "must be an object of named outcomes")
        if raw_outcomes and window.type != "cohort":
            raise self.fail("outcomes", "outcomes need a cohort window")
        for name in raw_outcomes:
            if name in self.catalogue[kind]:
                raise self.fail(f"outcomes.{name}", f"the name clashes with a field of {kind}")
        outcomes = tuple((str(name), self.outcome(str(name), item)) for name, item in raw_outcomes.items())
        if "measure" not in data:
            raise self.fail("measure", "is required")
        measure = self.measure(kind, data["measure"], {name for name, _ in outcomes})
        if "subject" not in data:
            raise self.fail("subject", "is required")
        subject = self.subject(kind, data["subject"])
        return MetricSpec(
            **self.common(),
            kind=kind,
            date_field=data["date_field"],
            window=window,
            filters=filters,
            outcomes=outcomes,
            measure=measure,
            subject=subject,
        )


def parse_metric(code: str, data: Mapping[str, Any], catalogue: Catalogue) -> MetricSpec:
    """Validate a metric definition and freeze it; a :class:`MetricError` names the faulty part."""
    return _Parser(code, data, catalogue).parse()


# --------------------------------------------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    # Record datetimes are naive local wall-clock times (see the module docstring), so the bound is too.
    return dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001


def window_bounds(spec: MetricSpec, period: Period) -> tuple[dt.date, dt.date]:
    """``[low, high)`` of ``date_field`` values that the metric reads for ``period``."""
    window = spec.window
    if window.type == "rolling":
        return add_months(period.start, -(window.months - 1)), period.end
    if window.type == "lag":
        return add_months(period.start, -window.months), add_months(period.end, -window.months)
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

    def paths(self) -> list[str]:
        """Every ``ref.field`` path the metric reads from its own kind."""
        spec = self.spec
        assert spec.measure is not None
        paths: list[str] = []
        conds = list(spec.filters) + list(spec.measure.where)
        for cond in conds:
            for path in (cond.field, cond.other):
                if path and "." in path:
                    paths.append(path)
            if cond.duration:
                paths += [p for p in (cond.duration.start, cond.duration.end) if "." in p]
        if spec.measure.duration:
            paths += [p for p in (spec.measure.duration.start, spec.measure.duration.end) if "." in p]
        for path in (spec.measure.field, spec.subject.employee, spec.subject.unit, spec.date_field):
            if path and "." in path:
                paths.append(path)
        for _, outcome in spec.outcomes:
            ours = outcome.match[0][1]
            if "." in ours:
                paths.append(ours)
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
    frame = work.with_paths(records[kind].lazy(), kind, work.paths())
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
