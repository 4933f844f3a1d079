"""The parsed form of a metric definition: frozen dataclasses, the constants of the definition format, and the
error that reports a malformed definition."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal


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
    # Cohort only: the anchors are those dated ``lag_months`` before the period (agents who arrived three months
    # earlier), so the cohort read in a period is one whose window has (mostly) closed.
    lag_months: int = 0


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
