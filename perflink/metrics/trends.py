"""A scorecard over time: a unit's or an employee's total score and each item's points, month by month, from the
latest finished run of every period up to the one shown (read-only; the stored result frames, nothing
recalculated)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from django.utils.translation import gettext

from perflink.engine.metrics.companions import base_code, is_companion
from perflink.metrics.choices import RunStatus
from perflink.metrics.models import CalcRun, MetricDefinition
from perflink.metrics.selectors import run_frame

TREND_MONTHS = 12


@dataclass(frozen=True)
class ItemTrend:
    metric: str
    name: str
    unit: str
    values: tuple[float | None, ...]
    points: tuple[float | None, ...]


@dataclass(frozen=True)
class SubjectTrend:
    periods: tuple[str, ...]
    run_ids: tuple[int, ...]
    scores: tuple[float | None, ...]
    items: tuple[ItemTrend, ...]


def trend_runs(upto: str, months: int = TREND_MONTHS) -> list[CalcRun]:
    """The latest finished run of each of the last ``months`` periods up to ``upto``, oldest first."""
    latest: dict[str, CalcRun] = {}
    for run in (
        CalcRun.objects.filter(status=RunStatus.DONE, period__lte=upto)
        .defer("rules", "summary")
        .order_by("period", "-number")
    ):
        latest.setdefault(run.period, run)
    return [latest[p] for p in sorted(latest)[-months:]]


def _number(value: object) -> float | None:
    return None if value is None else round(float(value), 2)  # type: ignore[arg-type]


def subject_trend(level: str, subject_id: int, upto: str, *, english: bool = False) -> SubjectTrend:
    """The subject's score and item points in each period (None where it was not scored)."""
    runs = trend_runs(upto)
    scores: list[float | None] = []
    by_metric: dict[str, dict[int, tuple[float | None, float | None]]] = {}
    for i, run in enumerate(runs):
        mine = (pl.col("level") == level) & (pl.col("subject_id") == subject_id)
        totals = run_frame(run, "totals").filter(mine)
        scores.append(_number(totals["score"].drop_nulls().mean()) if totals.height else None)
        for row in run_frame(run, "results").filter(mine).iter_rows(named=True):
            by_metric.setdefault(row["metric"], {})[i] = (_number(row["value"]), _number(row["points"]))
    definitions = {
        m.code: m
        for m in MetricDefinition.objects.filter(code__in=[base_code(c) for c in by_metric]).only(
            "code", "name", "name_en", "definition"
        )
    }
    items = []
    for code in sorted(by_metric, key=lambda c: min(by_metric[c])):
        found = by_metric[code]
        metric = definitions.get(base_code(code))  # a matured-cohort line is named after its metric
        name = (
            metric.name_en if english and metric and metric.name_en else metric.name if metric else code
        ) or code
        if is_companion(code) and metric is not None:
            name = gettext("%(name)s (matured cohort)") % {"name": name}
        unit = str((metric.definition or {}).get("unit", "")) if metric else ""
        items.append(
            ItemTrend(
                code,
                name,
                unit,
                tuple(found.get(i, (None, None))[0] for i in range(len(runs))),
                tuple(found.get(i, (None, None))[1] for i in range(len(runs))),
            )
        )
    return SubjectTrend(tuple(r.period for r in runs), tuple(r.pk for r in runs), tuple(scores), tuple(items))
