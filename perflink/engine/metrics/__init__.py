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
                {"type": "cohort", "days": 90, "lag_months": 3}   anchors dated 3 months back (a matured cohort;
                                                        every cohort metric also runs so as ``<code>@cohort``,
                                                        see :mod:`perflink.engine.metrics.companions`)
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

from perflink.engine.metrics.compute import PREPARED_COLUMNS as PREPARED_COLUMNS
from perflink.engine.metrics.compute import aggregate, prepare, prepare_plan, reference_paths, window_bounds
from perflink.engine.metrics.maturity import is_mature, matures_on
from perflink.engine.metrics.parse import parse_metric
from perflink.engine.metrics.spec import (
    AGGREGATES,
    Catalogue,
    Condition,
    Duration,
    FieldInfo,
    Level,
    Measure,
    MetricError,
    MetricSpec,
    Outcome,
    Subject,
    Window,
)
from perflink.engine.metrics.spec import NUMERIC_TYPES as NUMERIC_TYPES
from perflink.engine.metrics.spec import OPS as OPS
from perflink.engine.metrics.spec import REF_TYPES as REF_TYPES
from perflink.engine.metrics.spec import TEMPORAL_TYPES as TEMPORAL_TYPES
from perflink.engine.metrics.spec import VALUE_DECIMALS as VALUE_DECIMALS
from perflink.engine.metrics.spec import ZERO_WHEN_EMPTY as ZERO_WHEN_EMPTY

# ``X as X``: public before the split though not in __all__ (run.py imports VALUE_DECIMALS, the metrics app
# REF_TYPES), so still importable from here.
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
    "is_mature",
    "matures_on",
    "parse_metric",
    "prepare",
    "prepare_plan",
    "reference_paths",
    "window_bounds",
]
