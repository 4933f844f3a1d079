"""When a period's metric value is final (matured), so that an unfinished window is never read as a result.

A cohort metric (``{"type": "cohort", "days": 90}``) follows each anchor record dated in the period over
``[anchor, anchor + days)``; the period's value is final once the last anchor's window has closed. The engine
marks a row provisional while ``anchor + days > as_of`` (:func:`perflink.engine.metrics.compute.prepare_plan`,
step 3), so the last anchor (``period.end - 1 day``) matures on ``period.end - 1 day + days``, and the period
with it. Every other window reads records dated before the period's end, so its value is final at the end.
"""

from __future__ import annotations

import datetime as dt

from perflink.engine.metrics.spec import MetricSpec
from perflink.engine.periods import Period

__all__ = ["is_mature", "matures_on"]


def matures_on(spec: MetricSpec, period: Period) -> dt.date:
    """The first data date on which ``period``'s value of ``spec`` is final."""
    if spec.window.type == "cohort":
        last_anchor = period.end - dt.timedelta(days=1)
        return last_anchor + dt.timedelta(days=spec.window.days)
    return period.end


def is_mature(spec: MetricSpec, period: Period, as_of: dt.date) -> bool:
    """Whether ``period``'s value of ``spec`` computed with data as of ``as_of`` is final."""
    return as_of >= matures_on(spec, period)
