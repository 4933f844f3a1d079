"""Which calculated months hold final values of a metric, read from what each calculation run stored.

A month's value of a metric is mature when :func:`perflink.engine.metrics.maturity.is_mature` says so for the
definition the run used and the run's data date (``CalcRun.as_of``); a value the engine itself marked
provisional (``values.provisional``) is not mature either. Analytics and the weekly report leave immature
months out by default and say which (:func:`left_out_note`): an unfinished 90-day window is neither a zero nor
a trend (DOMAIN.md §3a).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from perflink.engine.metrics import MetricError, MetricSpec, Window, parse_metric
from perflink.engine.metrics.maturity import matures_on_all
from perflink.engine.periods import Period, PeriodError
from perflink.metrics.catalogue import catalogue
from perflink.metrics.models import CalcRun

# Runs are never edited, so a run's maturity dates can be kept for the life of the process.
_DATES: dict[int, dict[str, dt.date]] = {}
_KEPT = 4096


def _spec(code: str, definition: Any) -> MetricSpec:
    """The stored definition parsed; one that no longer parses (a field since renamed) still says its window."""
    try:
        return parse_metric(code, definition, catalogue())
    except (MetricError, KeyError, TypeError, ValueError):
        window = definition.get("window", {}) if isinstance(definition, dict) else {}
        if window.get("type") == "cohort":
            return MetricSpec(code, window=Window(type="cohort", days=int(window.get("days") or 0)))
        return MetricSpec(code, formula=definition.get("formula") if isinstance(definition, dict) else None)


def matures_on_by_metric(run: CalcRun) -> dict[str, dt.date]:
    """Per metric the run computed, the first data date on which its value for the run's month is final."""
    if run.pk in _DATES:
        return _DATES[run.pk]
    metrics = (run.rules or {}).get("metrics", {})
    specs = {code: _spec(code, item.get("definition", {})) for code, item in metrics.items()}
    try:
        dates = matures_on_all(specs, Period.parse(run.period))
    except PeriodError:
        dates = {}
    if len(_DATES) >= _KEPT:
        _DATES.pop(next(iter(_DATES)))
    _DATES[run.pk] = dates
    return dates


def is_mature(run: CalcRun, code: str) -> bool:
    """Whether the run's value of ``code`` for its month is final at the run's data date."""
    day = matures_on_by_metric(run).get(code)
    return day is None or run.as_of >= day


def immature_metrics(run: CalcRun) -> frozenset[str]:
    """The metrics whose value for the run's month was not yet final at the run's data date."""
    return frozenset(code for code, day in matures_on_by_metric(run).items() if run.as_of < day)


def left_out_note(months: Sequence[str], *, latest: bool = True, included: bool = False) -> str:
    """The sentence a page or report shows for the immature months it left out (or, ``included``, showed as
    provisional): "最近 2 个月（2026-09、2026-10）尚未满期，未计入"; empty when there are none."""
    if not months:
        return ""
    listed = ("、" if (get_language() or "zh").startswith("zh") else ", ").join(months)
    values = {"count": len(months), "months": listed}
    if included:
        if len(months) == 1:
            return _("The month %(months)s has not matured yet: its values are provisional (暂估).") % values
        return (
            _("%(count)s months (%(months)s) have not matured yet: their values are provisional (暂估).")
            % values
        )
    if latest and len(months) == 1:
        return _("The latest month (%(months)s) has not matured yet and is left out.") % values
    if latest:
        return _("The latest %(count)s months (%(months)s) have not matured yet and are left out.") % values
    if len(months) == 1:
        return _("The month %(months)s has not matured yet and is left out.") % values
    return _("%(count)s months (%(months)s) have not matured yet and are left out.") % values


def are_latest(months: Iterable[str], shown: Sequence[str]) -> bool:
    """Whether ``months`` are the tail of ``shown`` (the newest months), as they are unless an old month's only
    run predates its maturity."""
    wanted = sorted(set(months))
    return bool(wanted) and list(shown[-len(wanted) :]) == wanted
