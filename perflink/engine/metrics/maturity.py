"""When a period's metric value is final (matured), so that an unfinished window is never read as a result.

A cohort metric (``{"type": "cohort", "days": 90}``) follows each anchor record dated in the period over
``[anchor, anchor + days)``; the period's value is final once the last anchor's window has closed. The engine
marks a row provisional while ``anchor + days > as_of`` (:func:`perflink.engine.metrics.compute.prepare_plan`,
step 3), so the last anchor (``period.end - 1 day``) matures on ``period.end - 1 day + days``, and the period
with it. Every other window reads records dated before the period's end, so its value is final at the end.
A derived metric is final when the last of the metrics its formula reads is (:func:`matures_on_all`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from perflink.engine import formula as formulas
from perflink.engine.formula import FormulaError
from perflink.engine.metrics.compute import window_bounds
from perflink.engine.metrics.spec import MetricSpec
from perflink.engine.periods import Period

__all__ = ["is_mature", "matures_on", "matures_on_all"]


def matures_on(spec: MetricSpec, period: Period) -> dt.date:
    """The first data date on which ``period``'s value of ``spec`` is final. A lagged cohort (a matured-cohort
    companion, ``lag_months``) reads anchors dated months before the period: its last anchor is the last day of
    its own window, not of the period."""
    if spec.window.type == "cohort":
        last_anchor = window_bounds(spec, period)[1] - dt.timedelta(days=1)
        return last_anchor + dt.timedelta(days=spec.window.days)
    return period.end


def is_mature(spec: MetricSpec, period: Period, as_of: dt.date) -> bool:
    """Whether ``period``'s value of ``spec`` computed with data as of ``as_of`` is final."""
    return as_of >= matures_on(spec, period)


def matures_on_all(specs: Mapping[str, MetricSpec], period: Period) -> dict[str, dt.date]:
    """:func:`matures_on` of every metric, a derived one taking the latest date of the metrics it reads (a ratio
    of a 90-day retention is no more final than the retention). A formula that does not parse, or names no known
    metric, matures at the period's end."""
    out: dict[str, dt.date] = {}
    visiting: set[str] = set()

    def date_of(code: str) -> dt.date:
        if code in out:
            return out[code]
        spec = specs[code]
        day = matures_on(spec, period)
        if spec.is_derived and code not in visiting:
            visiting.add(code)  # a cycle (refused when saved) must not recurse for ever
            try:
                names = formulas.parse(spec.formula or "").names
            except FormulaError:
                names = frozenset()
            for name in sorted(names):
                if name in specs and name not in visiting:
                    day = max(day, date_of(name))
            visiting.discard(code)
        out[code] = day
        return day

    for code in specs:
        date_of(code)
    return out
