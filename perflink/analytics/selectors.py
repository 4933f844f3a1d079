"""The analyses as the product runs them: frames from `data`, statistics from `stats`, one result each.

Read-only; every function runs in the current tenant's context.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from django.utils.translation import gettext as _

from perflink.analytics import data, stats
from perflink.core.errors import ValidationFailed
from perflink.engine.periods import Period, PeriodError
from perflink.incentives.models import Link
from perflink.metrics.models import MetricDefinition

FUNCTIONAL_DOMAINS = ("hr", "finance", "it", "general")
BUSINESS_DOMAINS = ("sales", "claims")
# New agents' outcomes are probabilities that flatten at their floor for very slow fills; the slope is
# fitted where time-to-fill is at most this many days (over 95% of hires in the demo).
COHORT_SLOPE_MAX_DAYS = 80

UNIT_EN = {
    "天": "day",
    "工作日": "working day",
    "小时": "hour",
    "%": "percentage point",
    "人": "person",
    "件": "item",
    "笔": "item",
    "元": "yuan",
    "分": "point",
}


@dataclass(frozen=True)
class MetricRef:
    code: str
    name: str
    name_en: str
    unit: str
    domain: str
    direction: str  # "higher" or "lower" is better


@dataclass(frozen=True)
class PairImpact:
    functional: MetricRef
    business: MetricRef
    result: stats.ImpactResult
    sentence: stats.Sentence
    unit_ids: tuple[int, ...]
    periods: tuple[str, str] | None
    immature: tuple[str, ...] = ()  # calculated months whose value of a metric is not yet final: left out,
    provisional: bool = False  # or counted, as 暂估, when asked for


@dataclass(frozen=True)
class RecordImpact:
    result: stats.RegressionResult
    sentence: stats.Sentence


@dataclass(frozen=True)
class PanelImpact:
    result: stats.ImpactResult
    sentence: stats.Sentence


@dataclass(frozen=True)
class Cohorts:
    by: str
    n_agents: int
    attainment: stats.CohortTable
    retention: stats.CohortTable
    attainment_slope: RecordImpact | None
    retention_slope: RecordImpact | None


@dataclass(frozen=True)
class KpiChange:
    metric: MetricRef
    before: tuple[str, str]
    after: tuple[str, str]
    result: stats.BeforeAfter
    # Months of the ranges whose value was not final at their run's data date: left out by default, or
    # counted as provisional (暂估) when asked for.
    immature: tuple[str, ...] = ()
    provisional: bool = False


def _ref(metric: MetricDefinition) -> MetricRef:
    return MetricRef(
        metric.code, metric.name, metric.name_en or metric.code, metric.unit, metric.domain, metric.direction
    )


def metric_ref(code: str, field: str) -> MetricRef:
    metric = MetricDefinition.objects.filter(code=code, is_active=True).first()
    if metric is None:
        raise ValidationFailed(_("There is no active metric %(code)s.") % {"code": repr(code)}, field=field)
    return _ref(metric)


def _outcome_units(unit: str) -> tuple[str, str]:
    if unit == "%":
        return "个百分点", "percentage points"
    return unit, UNIT_EN.get(unit, unit) + ("s" if unit in UNIT_EN and unit != "%" else "")


def wording(lever: MetricRef, outcome: MetricRef) -> stats.Wording:
    zh_unit, en_unit = _outcome_units(outcome.unit)
    return stats.Wording(
        lever.name,
        lever.name_en,
        lever.unit if lever.unit != "%" else "个百分点",
        UNIT_EN.get(lever.unit, lever.unit),
        outcome.name,
        outcome.name_en,
        zh_unit,
        en_unit,
        lever_lower=lever.direction == "lower",
    )


# --- Naming what is missing when the answer is "too few data" ------------------------------------------------

KIND_NOUNS = {
    "claim": ("件赔案", "claims"),
    "incident": ("起故障", "incidents"),
    "hire": ("条入职记录", "hire records"),
}


def missing_reason(missing: list[data.MissingInput]) -> tuple[str, str]:
    """("1,234 claims have no payment time (赔付时间)", "1,234 件赔案没有赔付时间") for the inputs records lack."""
    en, zh = [], []
    for m in missing:
        noun_zh, noun_en = KIND_NOUNS.get(m.kind, ("条记录", "records"))
        en.append(f"{m.rows:,} {noun_en} have no {m.label_en} ({m.label_zh})")
        zh.append(f"{m.rows:,} {noun_zh}没有{m.label_zh}")
    return "; ".join(en), "；".join(zh)


def _with_reasons[R: (stats.RegressionResult, stats.ImpactResult)](result: R, en: str, zh: str) -> R:
    """A too-few answer with what is missing added to its reason (other answers unchanged)."""
    if result.verdict is not stats.Verdict.TOO_FEW or not en:
        return result
    return replace(
        result,
        reason=f"{result.reason}; {en}" if result.reason else en,
        reason_zh=f"{result.reason_zh or result.reason}；{zh}" if (result.reason_zh or result.reason) else zh,
    )


def _with_missing[R: (stats.RegressionResult, stats.ImpactResult)](
    result: R, missing: list[data.MissingInput]
) -> R:
    return _with_reasons(result, *missing_reason(missing))


# --- 1. Impact of a link ----------------------------------------------------------------------------------


def pair_impact(
    functional: str, business: str, values: pl.DataFrame | None = None, *, provisional: bool = False
) -> PairImpact:
    """Panel estimate of the business metric on the functional metric across the finest units where both are
    computed, over every calculated month whose values are final (unit effects, month-of-year controls, lag 0-3
    by BIC); ``provisional`` counts the months not yet final too."""
    f_ref, b_ref = metric_ref(functional, "functional"), metric_ref(business, "business")
    if values is None and provisional:
        values = data.metric_values([functional, business], immature=True)
    panel = data.pair_panel(functional, business, values)
    result = stats.panel_impact(
        panel["unit_id"].to_numpy(),
        panel["period"].to_numpy(),
        panel["x"].fill_null(np.nan).to_numpy(),
        panel["y"].fill_null(np.nan).to_numpy(),
    )
    if result.verdict is stats.Verdict.TOO_FEW:
        result = _with_reasons(result, *_panel_counts(f_ref, b_ref, panel))
    text = stats.sentence(
        result.verdict,
        result.estimate,
        wording(f_ref, b_ref),
        reason=result.reason,
        reason_zh=result.reason_zh,
        p_value=result.p_adjusted,
    )
    periods = (
        (data.period_label(int(panel["period"].min())), data.period_label(int(panel["period"].max())))  # type: ignore[arg-type]
        if panel.height
        else None
    )
    units = tuple(int(u) for u in panel["unit_id"].unique().sort().to_list())
    unfinished = data.immature_months([functional, business])
    immature = tuple(sorted({m for found in unfinished.values() for m in found}))
    return PairImpact(f_ref, b_ref, result, text, units, periods, immature, provisional and bool(immature))


def _panel_counts(f_ref: MetricRef, b_ref: MetricRef, panel: pl.DataFrame) -> tuple[str, str]:
    """Which metric is short of unit-months (and which months were left out as not yet final)."""
    nx, ny = int(panel["x"].is_not_null().sum()), int(panel["y"].is_not_null().sum())
    both = int((panel["x"].is_not_null() & panel["y"].is_not_null()).sum())
    en = f"{f_ref.name_en} has values in {nx:,} unit-months, {b_ref.name_en} in {ny:,}, both in {both:,}"
    zh = f"{f_ref.name}有值的单位月 {nx:,} 个，{b_ref.name} {ny:,} 个，两者都有 {both:,} 个"
    unfinished = data.immature_months([f_ref.code, b_ref.code])
    months = sorted({m for found in unfinished.values() for m in found})
    if months:
        en += f"; {len(months)} months not yet final left out ({', '.join(months)})"
        zh += f"；{len(months)} 个尚未满期的月份未计入（{'、'.join(months)}）"
    return en, zh


def link_impact(link: Link) -> PairImpact:
    return pair_impact(link.functional_metric.code, link.business_metric.code)


# --- Claims: per-claim payment days -> satisfaction --------------------------------------------------------

CLAIMS_WORDING = stats.Wording(
    "赔款支付时间",
    "claim payment time",
    "天",
    "day",
    "客户满意度",
    "claimant satisfaction",
    "分",
    "points",
    lever_lower=True,
)


def claims_impact(controls: tuple[str, ...] = ("line", "branch", "month")) -> RecordImpact:
    """Each paid claim's satisfaction (1-5) on its payment days, with line, branch and approval-month controls."""
    frame = data.claims_frame()
    columns = {"line": "line", "branch": "branch_id", "month": "period"}
    result = stats.regress(
        frame["satisfaction"].to_numpy(),
        frame["payment_days"].to_numpy(),
        {name: frame[columns[name]].to_numpy() for name in controls},
    )
    result = (
        _with_missing(result, data.claims_missing()) if result.verdict is stats.Verdict.TOO_FEW else result
    )
    return RecordImpact(
        result,
        stats.sentence(
            result.verdict, result.estimate, CLAIMS_WORDING, reason=result.reason, reason_zh=result.reason_zh
        ),
    )


# --- 2. New-agent cohorts ---------------------------------------------------------------------------------

COHORT_KEYS = ("time_to_fill", "channel", "trained")
TTF_WORDING = {
    "attained": stats.Wording(
        "招聘周期",
        "time-to-fill",
        "天",
        "day",
        "新人三个月达成率",
        "new agents' 3-month attainment",
        "个百分点",
        "percentage points",
        100.0,
        lever_lower=True,
    ),
    "retained": stats.Wording(
        "招聘周期",
        "time-to-fill",
        "天",
        "day",
        "新人三个月留存率",
        "new agents' 3-month retention",
        "个百分点",
        "percentage points",
        100.0,
        lever_lower=True,
    ),
}


def ttf_slope(agents: pl.DataFrame, outcome: str) -> RecordImpact:
    """Linear-probability slope of a yes/no outcome on time-to-fill (days), where time-to-fill is at most
    COHORT_SLOPE_MAX_DAYS."""
    sub = agents.filter(pl.col("time_to_fill") <= COHORT_SLOPE_MAX_DAYS)
    result = stats.regress(sub[outcome].cast(pl.Float64).to_numpy(), sub["time_to_fill"].to_numpy())
    if result.verdict is stats.Verdict.TOO_FEW:
        result = _with_missing(result, data.hires_missing())
        waiting = data.hires_in_open_windows()
        if waiting:
            result = _with_reasons(
                result,
                f"{waiting:,} new agents arrived less than {data.WINDOW_DAYS} days before the data's last day and "
                "are not counted yet",
                f"{waiting:,} 名新人到岗未满 {data.WINDOW_DAYS} 天，暂不计入",
            )
    text = stats.sentence(
        result.verdict,
        result.estimate,
        TTF_WORDING[outcome],
        reason=result.reason,
        reason_zh=result.reason_zh,
    )
    return RecordImpact(result, text)


def cohorts(by: str = "time_to_fill", agents: pl.DataFrame | None = None) -> Cohorts:
    if by not in COHORT_KEYS:
        raise ValidationFailed(
            _("Group new agents by one of: %(keys)s.") % {"keys": ", ".join(COHORT_KEYS)}, field="by"
        )
    agents = data.new_agent_frame() if agents is None else agents
    if by == "time_to_fill":
        groups = stats.bin_days(agents["time_to_fill"].to_numpy())
        order = stats.bin_order()
    elif by == "trained":
        groups = np.where(agents["trained"].to_numpy(), "trained", "not trained")
        order = ["trained", "not trained"]
    else:
        groups = agents["channel"].to_numpy()
        order = None
    tables = {
        name: stats.cohort_table(groups, agents[name].to_numpy(), name=name, order=order)
        for name in ("attained", "retained")
    }
    slopes = (
        {name: ttf_slope(agents, name) for name in ("attained", "retained")} if by == "time_to_fill" else {}
    )
    return Cohorts(
        by,
        agents.height,
        tables["attained"],
        tables["retained"],
        slopes.get("attained"),
        slopes.get("retained"),
    )


# --- 3. Before / after ------------------------------------------------------------------------------------


def _month(label: str, field: str) -> int:
    """A month label (YYYY-MM, a real month) as the panel's month number; else refused naming the field."""
    try:
        if len(label) != 7:
            raise PeriodError(label)
        Period.parse(label)
    except PeriodError:
        raise ValidationFailed(
            _("%(field)s: a month is written like 2026-03, not %(value)s.")
            % {"field": field, "value": repr(label)},
            field=field,
        ) from None
    return data.parse_period(label)


def kpi_change(
    code: str, before: tuple[str, str], after: tuple[str, str], *, provisional: bool = False
) -> KpiChange:
    """A KPI's change between two ranges of months (inclusive labels 'YYYY-MM'), over the finest units where it
    is computed and seen in both. Months whose value is not yet final are left out (and named in the result),
    unless ``provisional``: then they count, and the result says its figures are provisional."""
    ref = metric_ref(code, "metric")
    b0, b1 = _month(before[0], "before_from"), _month(before[1], "before_to")
    a0, a1 = _month(after[0], "after_from"), _month(after[1], "after_to")
    for start, end, field in ((b0, b1, "before_from"), (a0, a1, "after_from")):
        if start > end:
            raise ValidationFailed(_("A range must start on or before the month it ends."), field=field)
    in_ranges = pl.col("period").is_between(b0, b1) | pl.col("period").is_between(a0, a1)
    values = data.metric_values([code], immature=True).filter(in_ranges)
    immature = tuple(
        data.period_label(int(p)) for p in values.filter(pl.col("provisional"))["period"].unique().sort()
    )
    if not provisional:
        values = values.filter(~pl.col("provisional"))
    units = data.finest_units(values["unit_id"].unique().to_list(), data.unit_paths())
    values = values.filter(pl.col("unit_id").is_in(units))
    result = stats.before_after(
        values["unit_id"].to_numpy(),
        values["value"].to_numpy(),
        values["period"].is_between(a0, a1).to_numpy(),
    )
    return KpiChange(ref, before, after, result, immature, provisional and bool(immature))


def last_mature_month(codes: list[str]) -> str | None:
    """The newest calculated month whose values of every one of ``codes`` are final (the default end of a
    before/after comparison)."""
    unfinished = {month for months in data.immature_months(codes).values() for month in months}
    mature = [run.period for run in data.latest_runs() if run.period not in unfinished]
    return mature[-1] if mature else None


# --- 4. Link suggestions ----------------------------------------------------------------------------------


def suggestions(top: int | None = 20, values: pl.DataFrame | None = None) -> stats.LinkScan:
    """Every functional x business metric pair, ranked by its strongest lagged within-unit correlation."""
    metrics = {m.code: m.domain for m in MetricDefinition.objects.filter(is_active=True)}
    values = data.metric_values(metrics) if values is None else values
    if values.height == 0:
        return stats.LinkScan((), 0)
    unit_ids, u_idx = np.unique(values["unit_id"].to_numpy(), return_inverse=True)
    first = int(values["period"].min())  # type: ignore[arg-type]
    t_idx = values["period"].to_numpy() - first
    n_t = int(t_idx.max()) + 1
    codes = values["metric"].to_numpy()
    grids: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    vals = values["value"].to_numpy()
    for code in np.unique(codes):
        sel = codes == code
        grid = np.full((len(unit_ids), n_t), np.nan)
        grid[u_idx[sel], t_idx[sel]] = vals[sel]
        grids[str(code)] = grid
        present[str(code)] = np.isfinite(grid).any(axis=1)
    functional = sorted(c for c in grids if metrics.get(c) in FUNCTIONAL_DOMAINS)
    business = sorted(c for c in grids if metrics.get(c) in BUSINESS_DOMAINS)
    paths = data.unit_paths()
    masks: dict[tuple[str, str], np.ndarray] = {}
    position = {int(u): i for i, u in enumerate(unit_ids)}
    for f in functional:
        for b in business:
            common = unit_ids[present[f] & present[b]]
            mask = np.zeros(len(unit_ids), bool)
            mask[[position[u] for u in data.finest_units(common.tolist(), paths)]] = True
            masks[(f, b)] = mask
    return stats.link_scan(grids, functional, business, units=masks, top=top)


# --- IT outages -> policies issued (records, log outcome) --------------------------------------------------

OUTAGE_WORDING = stats.Wording(
    "故障时长", "outage time", "小时", "hour", "新单件数", "policies issued", lever_lower=True
)


def outage_impact() -> PanelImpact:
    """Sales teams' policies issued per month (log) on their outage hours that month, with team and calendar-month
    effects (the month effects absorb the 开门红 season and company-wide shocks)."""
    frame = data.outage_policy_frame()
    result = stats.panel_impact(
        frame["unit_id"].to_numpy(),
        frame["period"].to_numpy(),
        frame["outage_hours"].to_numpy(),
        frame["policies"].to_numpy(),
        lags=(0,),
        log_outcome=True,
        time_effects="period",
    )
    if result.verdict is stats.Verdict.TOO_FEW:
        result = _with_missing(result, data.incidents_missing())
    text = stats.sentence(
        result.verdict,
        result.estimate,
        OUTAGE_WORDING,
        reason=result.reason,
        reason_zh=result.reason_zh,
        percent=True,
    )
    return PanelImpact(result, text)
