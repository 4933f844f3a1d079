"""Read-only selectors behind the analytics pages that the API does not need: the executive figures over the
calculated months, the points of a pair's scatter with its fitted line, units' score trends and bonus cost.

The statistics stay in `stats` and `selectors`; this module only reshapes frames for charts and tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from perflink.analytics import data, maturity, selectors, stats
from perflink.incentives.models import BonusRun, Link
from perflink.incentives.selectors import confirmed_links
from perflink.metrics.selectors import run_frame
from perflink.org.models import OrgUnit

TREND_MONTHS = 24
SUPPORT_METRIC = "internal_support_satisfaction"  # points out of 10 (满意 = 10); shown as a percentage
RETENTION_METRIC = "new_agent_retention_3m"
SCATTER_MAX_POINTS = 2000  # a scatter of more unit-months is thinned evenly (the fit uses them all)


@dataclass(frozen=True)
class Trend:
    periods: tuple[str, ...]
    attainment: tuple[float | None, ...]  # % of business units' scored targets that were reached
    support: tuple[float | None, ...]  # functional support satisfaction, % (mean points x 10)
    retention: tuple[float | None, ...]  # new agents' 3-month retention, %
    bonus: tuple[Decimal | None, ...]  # bonus cost of the month's latest run of each plan, yuan


@dataclass(frozen=True)
class Scatter:
    lag: int
    points: tuple[tuple[float, float, int, str], ...]  # x, y (each less its unit's mean, plus the grand mean)
    line: tuple[tuple[float, float], tuple[float, float]] | None  # fitted line's two ends
    low: tuple[tuple[float, float], tuple[float, float]] | None  # 95% interval's slopes, same x ends
    high: tuple[tuple[float, float], tuple[float, float]] | None
    n_points: int


@dataclass(frozen=True)
class LinkEffect:
    link: Link
    impact: selectors.PairImpact


def has_runs() -> bool:
    """Whether any month has a finished calculation run (every page needs one)."""
    return bool(data.latest_runs())


def _last_months() -> list[str]:
    return [run.period for run in data.latest_runs()][-TREND_MONTHS:]


def _coarsest_mean(values: pl.DataFrame, paths: dict[int, str]) -> dict[int, float]:
    """Per month, the mean of a metric over the highest units that carry it (the group when it has a value,
    else its branches), so that a roll-up and its parts are not averaged together."""
    if values.is_empty():
        return {}
    depths = pl.DataFrame(
        {"unit_id": list(paths), "_depth": [path.count("/") for path in paths.values()]},
        schema={"unit_id": values.schema["unit_id"], "_depth": pl.Int64},
    )
    top = (
        values.join(depths, on="unit_id", how="left")
        .with_columns(pl.col("_depth").fill_null(0))
        .filter(pl.col("_depth") == pl.col("_depth").min().over("period"))
        .group_by("period")
        .agg(pl.col("value").mean())
    )
    return {int(period): float(value) for period, value in top.iter_rows()}


def bonus_by_period() -> dict[str, Decimal]:
    """Bonus cost per month: the latest run of each plan in the month, summed (drafts included)."""
    latest: dict[tuple[str, int], Decimal] = {}
    rows = BonusRun.objects.order_by("period", "created_at", "pk").values_list(
        "period", "plan_version__plan_id", "total"
    )
    for period, plan, total in rows:
        latest[(period, plan)] = total
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (period, _plan), total in latest.items():
        out[period] += total
    return dict(out)


def trend() -> Trend:
    """The executive figures for each of the last 24 calculated months."""
    months = _last_months()
    paths = data.unit_paths()
    # Months whose value is not final at the run's data date are left out (metric_values' default): a month's
    # new agents are a retention figure only once their 90 days have passed, before that exits still to come
    # are missing and the rate reads too high.
    values = data.metric_values([SUPPORT_METRIC, RETENTION_METRIC], months)
    support = _coarsest_mean(values.filter(pl.col("metric") == SUPPORT_METRIC), paths)
    retention = _coarsest_mean(values.filter(pl.col("metric") == RETENTION_METRIC), paths)
    business = set(OrgUnit.objects.filter(unit_type="business").values_list("pk", flat=True))
    runs = data.latest_runs(months)
    attainment: dict[str, float | None] = {}
    for run in runs:
        results = run_frame(run, "results").filter(
            pl.col("level") == "unit", pl.col("status") == "scored", pl.col("attainment").is_not_null()
        )
        results = results.filter(pl.col("subject_id").is_in(list(business)))
        # A target scored on a value that is not yet final (暂估) is not yet reached or missed.
        if "metric" in results.columns:
            results = results.filter(~pl.col("metric").is_in(sorted(maturity.immature_metrics(run))))
        if "provisional" in results.columns:
            results = results.filter(~pl.col("provisional").fill_null(False))
        attainment[run.period] = (
            float((results["attainment"].cast(pl.Float64) >= 100.0).mean()) * 100.0  # type: ignore[arg-type]
            if results.height
            else None
        )
    bonus = bonus_by_period()

    def at(series: dict[int, float], label: str, scale: float = 1.0) -> float | None:
        value = series.get(data.parse_period(label))
        return None if value is None else round(value * scale, 2)

    return Trend(
        tuple(months),
        tuple(attainment.get(m) for m in months),
        tuple(at(support, m, 10.0) for m in months),
        tuple(at(retention, m) for m in months),
        tuple(bonus.get(m) for m in months),
    )


def unit_scores(
    level_depth: int = 2, limit: int = 12
) -> tuple[tuple[str, ...], dict[str, list[float | None]]]:
    """Total scores of the units one level below the top (branches) over the last 24 calculated months:
    (months, {unit name: scores})."""
    months = _last_months()
    units = {
        u.pk: u.name
        for u in OrgUnit.objects.filter(closed_on__isnull=True).order_by("path")
        if u.path.strip("/").count("/") == level_depth - 1
    }
    units = dict(list(units.items())[:limit])
    series: dict[str, list[float | None]] = {name: [None] * len(months) for name in units.values()}
    for run in data.latest_runs(months):
        totals = run_frame(run, "totals").filter(
            pl.col("level") == "unit", pl.col("subject_id").is_in(list(units))
        )
        for unit_id, score in totals.select("subject_id", "score").iter_rows():
            if score is not None:
                series[units[int(unit_id)]][months.index(run.period)] = round(float(score), 2)
    return tuple(months), {name: s for name, s in series.items() if any(v is not None for v in s)}


def link_effects() -> list[LinkEffect]:
    """Every confirmed link with the impact estimate of its metric pair (each pair estimated once)."""
    cache: dict[tuple[str, str], selectors.PairImpact] = {}
    values = data.metric_values()
    out = []
    links = confirmed_links().select_related(
        "functional_unit__parent", "business_unit__parent", "functional_metric", "business_metric"
    )
    for link in links:
        key = (link.functional_metric.code, link.business_metric.code)
        if key not in cache:
            cache[key] = selectors.pair_impact(*key, values=values)
        out.append(LinkEffect(link, cache[key]))
    return out


def scatter(functional: str, business: str, result: stats.ImpactResult) -> Scatter:
    """The unit-months behind a pair's estimate: the functional metric (lagged by the chosen lag) against the
    business metric, each less its unit's own mean (the estimate compares a unit with itself), with the fitted
    slope and its 95% interval drawn through the middle when the estimate is significant."""
    lag = result.lag or 0
    panel = data.pair_panel(functional, business)
    if panel.height == 0:
        return Scatter(lag, (), None, None, None, 0)
    panel = panel.sort("unit_id", "period").with_columns(
        pl.col("x").shift(lag).over("unit_id").alias("x_lag"),
        pl.col("period").shift(lag).over("unit_id").alias("p_lag"),
    )
    # Only months whose lagged month is exactly `lag` months earlier.
    panel = panel.filter(
        (pl.col("period") - pl.col("p_lag")) == lag, pl.col("x_lag").is_not_null(), pl.col("y").is_not_null()
    )
    if panel.height == 0:
        return Scatter(lag, (), None, None, None, 0)
    panel = panel.with_columns(
        (pl.col("x_lag") - pl.col("x_lag").mean().over("unit_id") + pl.col("x_lag").mean()).alias("xd"),
        (pl.col("y") - pl.col("y").mean().over("unit_id") + pl.col("y").mean()).alias("yd"),
    )
    step = max(1, panel.height // SCATTER_MAX_POINTS)
    shown = panel[::step]
    points = tuple(
        (round(float(x), 4), round(float(y), 4), int(u), data.period_label(int(p)))
        for x, y, u, p in shown.select("xd", "yd", "unit_id", "period").iter_rows()
    )
    est = result.estimate
    # The line is drawn only for a finding: a slope the data cannot confirm is not shown as one.
    if est is None or result.verdict is not stats.Verdict.SIGNIFICANT:
        return Scatter(lag, points, None, None, None, panel.height)
    x0, x1 = float(panel["xd"].min()), float(panel["xd"].max())  # type: ignore[arg-type]
    mx, my = float(np.mean(panel["xd"].to_numpy())), float(np.mean(panel["yd"].to_numpy()))

    def through(slope: float) -> tuple[tuple[float, float], tuple[float, float]]:
        return (
            (round(x0, 4), round(my + slope * (x0 - mx), 4)),
            (round(x1, 4), round(my + slope * (x1 - mx), 4)),
        )

    return Scatter(lag, points, through(est.coef), through(est.ci_low), through(est.ci_high), panel.height)


def claims_by_payment_day(max_days: int = 15) -> list[tuple[str, int, float]]:
    """Paid claims grouped by whole payment days (the last group open-ended): (label, claims, mean
    satisfaction 1-5). The raw picture beside the controlled estimate."""
    frame = data.claims_frame()
    if frame.height == 0:
        return []
    grouped = (
        frame.with_columns(pl.col("payment_days").floor().clip(0, max_days).cast(pl.Int64).alias("day"))
        .group_by("day")
        .agg(pl.len().alias("n"), pl.col("satisfaction").mean().alias("mean"))
        .sort("day")
    )
    return [
        (f"{d}+" if d == max_days else str(d), int(n), round(float(m), 3)) for d, n, m in grouped.iter_rows()
    ]
