"""Matured-cohort companions: for every cohort metric, the same metric over the cohort whose window has closed.

A cohort metric read in the month its anchors are dated (the month's new agents' 3-month attainment) is not
known yet: the agents started days ago. Its companion ``<code>@cohort`` is the same definition with the anchors
``lag_months = ceil(days / 30)`` months back (90 days → the agents who arrived three months before the period),
computed by the same calculation run as an ordinary value, so a scorecard line or a bonus component can pay on a
matured cohort and still be a function of its calculation run alone. The engine's maturity rule is unchanged: an
anchor whose ``anchor + days`` is after the data date stays provisional (an agent who arrived on 31 January is
not mature on 30 April).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Collection, Mapping
from typing import Final

from perflink.engine.metrics.spec import MetricSpec
from perflink.engine.periods import Period, add_months

COHORT_SUFFIX: Final = "@cohort"


def is_companion(code: str) -> bool:
    return code.endswith(COHORT_SUFFIX)


def companion_code(code: str) -> str:
    """``new_agent_attainment_3m`` → ``new_agent_attainment_3m@cohort``."""
    return f"{code}{COHORT_SUFFIX}"


def base_code(code: str) -> str:
    """The metric a companion code belongs to (a plain code is returned as it is)."""
    return code.removesuffix(COHORT_SUFFIX)


def has_companion(spec: MetricSpec) -> bool:
    """A base metric with a cohort window gets a companion; period, rolling, derived … metrics do not."""
    return not spec.is_derived and spec.window.type == "cohort" and not is_companion(spec.code)


def maturity_lag(spec: MetricSpec) -> int:
    """Months between a period and the cohort its companion reads: ``ceil(days / 30)``, at least the metric's
    own lag (a definition already lagged enough gets a companion equal to itself)."""
    return max(spec.window.lag_months, math.ceil(spec.window.days / 30))


def cohort_companion(spec: MetricSpec) -> MetricSpec:
    """The companion of a cohort metric: same definition, code ``<code>@cohort``, anchors lagged."""
    if not has_companion(spec):
        raise ValueError(f"metric {spec.code}: only a base metric with a cohort window has a matured cohort")
    window = dataclasses.replace(spec.window, lag_months=maturity_lag(spec))
    return dataclasses.replace(spec, code=companion_code(spec.code), window=window)


def with_cohort_companions(
    metrics: Mapping[str, MetricSpec], only: Collection[str] | None = None
) -> dict[str, MetricSpec]:
    """``metrics`` plus the companion of every cohort metric, or of those whose codes are in ``only`` (existing
    entries are kept as they are)."""
    result = dict(metrics)
    for code, spec in metrics.items():
        if has_companion(spec) and (only is None or code in only):
            result.setdefault(companion_code(code), cohort_companion(spec))
    return result


def cohort_period(spec: MetricSpec, period: Period) -> Period:
    """The period whose anchors a cohort metric reads when computed for ``period``: ``period`` shifted the
    metric's ``lag_months`` back. For a companion of 90 days, ``2026-10`` → ``2026-07`` (the agents who arrived
    in July); for a plain cohort metric, ``period`` itself."""
    if spec.window.type != "cohort":
        raise ValueError(f"metric {spec.code} has no cohort window")
    lag = spec.window.lag_months
    if lag == 0:
        return period
    start, end = add_months(period.start, -lag), add_months(period.end, -lag)
    return Period(_label(start, end), start, end)


def _label(start: dt.date, end: dt.date) -> str:
    """A month, quarter or year label when ``[start, end)`` is one, else ``2026-05–2026-07``."""
    quarter = (start.month - 1) // 3 + 1
    for label in (f"{start:%Y-%m}", f"{start.year}-Q{quarter}", f"{start.year}"):
        candidate = Period.parse(label)
        if (candidate.start, candidate.end) == (start, end):
            return candidate.label
    return f"{start:%Y-%m}–{end - dt.timedelta(days=1):%Y-%m}"
