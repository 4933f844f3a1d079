"""The statistics of impact analytics: pure numpy/scipy, no Django, frozen dataclasses out.

Every estimator takes plain arrays (one element per observation) and returns a result that carries its own
verdict: `significant`, `not_significant`, or `too_few` (the minimums below were not met), so no caller can
print a number the data do not support. docs/analytics.md explains the methods in plain words.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from scipy import stats as scipy_stats

# --- Thresholds (stated once; docs/analytics.md repeats them) ---------------------------------------------

ALPHA = 0.05  # two-sided significance level; intervals are 1 - ALPHA = 95% (1 - ALPHA / tests when adjusted)
LAGS = (0, 1, 2, 3)  # months by which the lever may lead the outcome
MIN_UNITS = 5  # panel: units (clusters) with usable months
MIN_PANEL_OBS = 60  # panel: unit-months in the common sample
MIN_PERIODS = 12  # panel: distinct months (a year, so the season controls are identified)
MIN_RECORDS = 200  # record-level regressions (claims, new agents)
MIN_GROUP = 20  # cohort groups smaller than this are shown but get no interval verdict
MIN_PAIRED_UNITS = 5  # before/after: units observed in both windows
SCAN_MIN_OBS = 30  # link scan: unit-months a pair needs before it is ranked


class Verdict(StrEnum):
    SIGNIFICANT = "significant"
    NOT_SIGNIFICANT = "not_significant"
    TOO_FEW = "too_few"


@dataclass(frozen=True)
class Estimate:
    """One coefficient with its cluster-robust (or heteroskedasticity-robust) standard error."""

    coef: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_obs: int
    n_clusters: int
    df: int
    level: float = 1 - ALPHA  # the interval's confidence level, the verdict's: 1 - ALPHA / tests


@dataclass(frozen=True)
class LagFit:
    lag: int
    coef: float
    se: float
    bic: float


@dataclass(frozen=True)
class ImpactResult:
    """Panel estimate of an outcome on a lever: unit fixed effects, season controls, one chosen lag."""

    verdict: Verdict
    reason: str
    lag: int | None
    estimate: Estimate | None
    p_adjusted: float | None  # p-value x number of lags tried (Bonferroni for the lag search)
    elasticity: float | None  # % change of the outcome per 1% change of the lever, at the sample means
    pct_per_unit: float | None  # log outcome only: % change of the outcome per unit of the lever
    mean_x: float | None
    mean_y: float | None
    n_obs: int
    n_units: int
    n_periods: int
    lags: tuple[LagFit, ...]
    log_outcome: bool
    criterion: str = "BIC on the common sample of all lags"
    reason_zh: str = ""  # the reason in Chinese, written where it is decided


@dataclass(frozen=True)
class RegressionResult:
    verdict: Verdict
    reason: str
    estimate: Estimate | None
    mean_x: float | None
    mean_y: float | None
    elasticity: float | None
    controls: tuple[str, ...]
    reason_zh: str = ""


@dataclass(frozen=True)
class CohortRow:
    group: str
    n: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class CohortTable:
    outcome: str
    rows: tuple[CohortRow, ...]
    slope: RegressionResult | None  # linear-probability slope of the outcome on the lever, if given


@dataclass(frozen=True)
class BeforeAfter:
    verdict: Verdict
    reason: str
    n_units: int
    mean_before: float | None
    mean_after: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    reason_zh: str = ""


@dataclass(frozen=True)
class ScanRow:
    functional: str
    business: str
    lag: int
    r: float
    n_obs: int
    n_units: int
    p_value: float
    q_value: float  # Benjamini-Hochberg over every pair x lag tried
    significant: bool


@dataclass(frozen=True)
class LinkScan:
    rows: tuple[ScanRow, ...]
    tests: int
    note: str = (
        "Association is not proof of cause: each row is a within-unit correlation after removing each unit's "
        "level and each month's common movement; q-values control the false-discovery rate over all pairs "
        "and lags tried (Benjamini-Hochberg)."
    )


# --- Distributions (scipy) ------------------------------------------------------------------------------------


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with df degrees of freedom."""
    return float(scipy_stats.t.sf(t, df))


@lru_cache(maxsize=256)
def t_ppf(q: float, df: float) -> float:
    """The q-quantile of Student's t."""
    return float(scipy_stats.t.ppf(q, df))


def norm_ppf(q: float) -> float:
    """The q-quantile of the standard normal."""
    return float(scipy_stats.norm.ppf(q))


# --- Linear algebra ---------------------------------------------------------------------------------------


def _group_index(values: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64), int(inverse.max()) + 1 if len(inverse) else 0


def _demean(a: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Subtract each group's mean from the rows of `a` (1- or 2-D)."""
    counts = np.bincount(group, minlength=n_groups).astype(float)
    if a.ndim == 1:
        return a - (np.bincount(group, weights=a, minlength=n_groups) / counts)[group]
    sums = np.zeros((n_groups, a.shape[1]))
    np.add.at(sums, group, a)
    return a - (sums / counts[:, None])[group]


def _dummies(values: np.ndarray) -> np.ndarray:
    """Indicator columns of a categorical, the first level dropped (the constant or fixed effects span it)."""
    idx, n = _group_index(values)
    out = np.zeros((len(values), max(n - 1, 0)))
    rows = np.flatnonzero(idx > 0)
    out[rows, idx[rows] - 1] = 1.0
    return out


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    cov: np.ndarray
    rss: float
    df: int
    n_clusters: int


def _ols(
    y: np.ndarray, x: np.ndarray, clusters: np.ndarray | None, absorbed: int = 0, nested: bool = True
) -> _Fit:
    """OLS of y on x with a cluster-robust (CR1) covariance, or HC1 when `clusters` is None.

    `absorbed` counts fixed effects removed beforehand by demeaning; when they are nested in the clusters
    (unit effects, unit clusters) they do not enter the small-sample correction, as in Stata's areg/xtreg."""
    # Products through einsum, not BLAS: on a busy two-core host a multi-threaded BLAS spins for
    # hundreds of milliseconds on these small matrices, while einsum's single-threaded loop takes a few.
    n, k = x.shape
    gram = np.einsum("ij,ik->jk", x, x)
    try:
        xtx_inv = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        xtx_inv = np.linalg.pinv(gram)
    beta = np.einsum("jk,k->j", xtx_inv, np.einsum("ij,i->j", x, y))
    resid = y - np.einsum("ij,j->i", x, beta)
    rss = float(np.einsum("i,i->", resid, resid))
    scores = x * resid[:, None]
    if clusters is None:
        dof = n - k - absorbed
        meat = np.einsum("ij,ik->jk", scores, scores) * (n / max(dof, 1))
        g = n
        df = max(dof, 1)
    else:
        cl, g = _group_index(clusters)
        sums = np.zeros((g, k))
        np.add.at(sums, cl, scores)
        k_eff = k if nested else k + absorbed
        meat = np.einsum("ij,ik->jk", sums, sums) * (g / max(g - 1, 1)) * ((n - 1) / max(n - k_eff, 1))
        df = max(g - 1, 1)
    cov = np.einsum("ij,jk,kl->il", xtx_inv, meat, xtx_inv)
    return _Fit(beta, cov, rss, df, g)


def _estimate(fit: _Fit, column: int, n_obs: int, tests: int = 1) -> Estimate:
    """The coefficient with its interval at the level of the test that decides the verdict: with a
    Bonferroni adjustment over ``tests`` (the lags tried), the interval is at 1 - ALPHA / tests, so it excludes
    zero exactly when the adjusted p-value is below ALPHA (a 95% interval beside a Bonferroni verdict could
    exclude zero next to "not significant")."""
    coef = float(fit.beta[column])
    se = float(math.sqrt(max(fit.cov[column, column], 0.0)))
    alpha = ALPHA / max(tests, 1)
    crit = float(t_ppf(1 - alpha / 2, fit.df))
    p = float(2 * t_sf(abs(coef / se), fit.df)) if se > 0 else 1.0
    return Estimate(coef, se, coef - crit * se, coef + crit * se, p, n_obs, fit.n_clusters, fit.df, 1 - alpha)


# --- Panel impact -----------------------------------------------------------------------------------------


def _panel_grid(
    unit: np.ndarray, period: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dense (units x months) grids of x and y (NaN where missing), with the unit labels and months."""
    units, u = np.unique(unit, return_inverse=True)
    first = int(period.min())
    t = (period - first).astype(np.int64)
    n_t = int(t.max()) + 1
    gx = np.full((len(units), n_t), np.nan)
    gy = np.full((len(units), n_t), np.nan)
    gx[u, t] = x
    gy[u, t] = y
    return gx, gy, units, np.arange(first, first + n_t)


def panel_impact(
    unit: np.ndarray,
    period: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    lags: tuple[int, ...] = LAGS,
    log_outcome: bool = False,
    time_effects: str = "season",
    cluster: np.ndarray | None = None,
) -> ImpactResult:
    """Effect of lever x on outcome y in a unit x month panel.

    `period` is a month number (year * 12 + month - 1). The model for each lag k is
    y[u, t] = a[u] + s[month of t] + b * x[u, t - k] + e (or log y with `log_outcome`), estimated by the
    within transformation with standard errors clustered by unit (or by `cluster`, a label per row that is
    constant within a unit, e.g. the branch when the lever is shared by a branch's units). `time_effects="period"` replaces the
    month-of-year controls with one effect per calendar month (absorbing common shocks and trends).
    All lags are fitted on the rows every lag can use; the lag with the lowest BIC is reported, and its
    p-value is multiplied by the number of lags tried so the search does not manufacture significance."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    empty = ImpactResult(
        Verdict.TOO_FEW, "", None, None, None, None, None, None, None, 0, 0, 0, (), log_outcome
    )
    if len(x) == 0:
        return _too_few(empty, "no observations", "没有观测数据")
    gx, gy, unit_labels, months = _panel_grid(np.asarray(unit), np.asarray(period), x, y)
    cluster_of_unit = np.arange(len(unit_labels))
    if cluster is not None:
        _, cl = np.unique(np.asarray(cluster), return_inverse=True)
        cluster_of_unit[np.searchsorted(unit_labels, np.asarray(unit))] = cl
    if log_outcome:
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = np.where(gy > 0, np.log(gy), np.nan)
    max_lag = max(lags)
    n_u, n_t = gx.shape
    # x[u, t - k] for every lag, aligned on t.
    # (A panel shorter than a lag has no row for it: pad it whole.)
    shifted = {
        k: np.concatenate([np.full((n_u, min(k, n_t)), np.nan), gx[:, : n_t - min(k, n_t)]], axis=1)
        for k in lags
    }
    ok = np.isfinite(gy)
    for k in lags:
        ok &= np.isfinite(shifted[k])
    ok[:, :max_lag] = False
    u_i, t_i = np.nonzero(ok)
    n_obs = len(u_i)
    n_units = len(np.unique(u_i))
    n_periods = len(np.unique(t_i))
    base = ImpactResult(
        Verdict.TOO_FEW,
        "",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        n_obs,
        n_units,
        n_periods,
        (),
        log_outcome,
    )
    if n_units < MIN_UNITS or n_obs < MIN_PANEL_OBS or n_periods < MIN_PERIODS:
        return _too_few(
            base,
            f"needs at least {MIN_UNITS} units, {MIN_PANEL_OBS} unit-months and {MIN_PERIODS} months "
            f"with the lever and the outcome; has {n_units}, {n_obs} and {n_periods}",
            f"至少需要 {MIN_UNITS} 个单位、{MIN_PANEL_OBS} 个单位月和 {MIN_PERIODS} 个月同时有两项数据；"
            f"现有 {n_units} 个、{n_obs} 个和 {n_periods} 个",
        )
    yy = gy[u_i, t_i]
    controls = _dummies(t_i) if time_effects == "period" else _dummies((months[t_i] % 12).astype(np.int64))
    fits: list[tuple[LagFit, _Fit, float]] = []
    y_w = _demean(yy, u_i, n_u)
    c_w = _demean(controls, u_i, n_u) if controls.shape[1] else controls
    for k in lags:
        xk = shifted[k][u_i, t_i]
        x_w = _demean(xk, u_i, n_u)
        if float(np.var(x_w)) <= 1e-12:
            return _too_few(base, "the lever does not vary within units", "该指标在各单位内没有变化")
        design = np.column_stack([x_w, c_w])
        fit = _ols(y_w, design, cluster_of_unit[u_i], absorbed=n_units)
        params = design.shape[1] + n_units
        bic = n_obs * math.log(max(fit.rss, 1e-300) / n_obs) + params * math.log(n_obs)
        fits.append(
            (
                LagFit(k, float(fit.beta[0]), float(math.sqrt(max(fit.cov[0, 0], 0))), bic),
                fit,
                float(xk.mean()),
            )
        )
    best = min(range(len(fits)), key=lambda i: fits[i][0].bic)
    lag_fit, fit, mean_x = fits[best]
    est = _estimate(fit, 0, n_obs, tests=len(lags))
    p_adj = min(1.0, est.p_value * len(lags))
    mean_y = float(np.exp(yy).mean()) if log_outcome else float(yy.mean())
    elasticity: float | None
    pct: float | None
    if log_outcome:
        elasticity = est.coef * mean_x
        pct = 100.0 * (math.exp(est.coef) - 1.0)
    else:
        elasticity = est.coef * mean_x / mean_y if mean_y else None
        pct = None
    verdict = Verdict.SIGNIFICANT if p_adj < ALPHA else Verdict.NOT_SIGNIFICANT
    reason = (
        f"p = {p_adj:.3g} after adjusting for {len(lags)} lags tried"
        if verdict is Verdict.SIGNIFICANT
        else f"p = {p_adj:.3g} after adjusting for {len(lags)} lags tried, not below {ALPHA}"
    )
    return ImpactResult(
        verdict,
        reason,
        lag_fit.lag,
        est,
        p_adj,
        elasticity,
        pct,
        mean_x,
        mean_y,
        n_obs,
        n_units,
        n_periods,
        tuple(f[0] for f in fits),
        log_outcome,
    )


def _too_few(result: ImpactResult, reason: str, reason_zh: str) -> ImpactResult:
    return ImpactResult(
        Verdict.TOO_FEW,
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        result.n_obs,
        result.n_units,
        result.n_periods,
        (),
        result.log_outcome,
        reason_zh=reason_zh,
    )


# --- Record-level regression ------------------------------------------------------------------------------


def regress(
    y: np.ndarray,
    x: np.ndarray,
    controls: dict[str, np.ndarray] | None = None,
    *,
    clusters: np.ndarray | None = None,
    min_records: int = MIN_RECORDS,
) -> RegressionResult:
    """OLS of y on x plus a constant and categorical controls (one dummy per level), robust errors (HC1, or
    clustered when `clusters` is given). Used per claim and per new agent (a linear-probability model)."""
    controls = controls or {}
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(y) & np.isfinite(x)
    names = tuple(controls)
    if int(ok.sum()) < min_records:
        return RegressionResult(
            Verdict.TOO_FEW,
            f"needs at least {min_records} records with both values; has {int(ok.sum())}",
            None,
            None,
            None,
            None,
            names,
            reason_zh=f"至少需要 {min_records} 条同时有两项数据的记录；现有 {int(ok.sum())} 条",
        )
    cols = [np.ones(int(ok.sum())), x[ok]]
    cols += [_dummies(np.asarray(v)[ok]) for v in controls.values()]
    design = np.column_stack(cols)
    if float(np.var(x[ok])) <= 1e-12:
        return RegressionResult(
            Verdict.TOO_FEW,
            "the lever does not vary",
            None,
            None,
            None,
            None,
            names,
            reason_zh="该指标没有变化",
        )
    fit = _ols(y[ok], design, None if clusters is None else np.asarray(clusters)[ok])
    est = _estimate(fit, 1, int(ok.sum()))
    mean_x, mean_y = float(x[ok].mean()), float(y[ok].mean())
    verdict = Verdict.SIGNIFICANT if est.p_value < ALPHA else Verdict.NOT_SIGNIFICANT
    reason = f"p = {est.p_value:.3g}" + ("" if verdict is Verdict.SIGNIFICANT else f", not below {ALPHA}")
    elasticity = est.coef * mean_x / mean_y if mean_y else None
    return RegressionResult(verdict, reason, est, mean_x, mean_y, elasticity, names)


# --- Cohorts ----------------------------------------------------------------------------------------------

TIME_TO_FILL_BINS = (15, 30, 45, 60, 90)  # upper edges in days (inclusive); the last group is open


def bin_days(days: np.ndarray, edges: tuple[int, ...] = TIME_TO_FILL_BINS) -> np.ndarray:
    """Labels like '≤15', '16–30', …, '>90' for each value."""
    labels = [f"≤{edges[0]}"] + [f"{a + 1}–{b}" for a, b in itertools.pairwise(edges)]
    labels.append(f">{edges[-1]}")
    idx = np.searchsorted(np.asarray(edges), np.asarray(days, dtype=float), side="left")
    return np.array(labels, dtype=object)[idx]


def bin_order(edges: tuple[int, ...] = TIME_TO_FILL_BINS) -> list[str]:
    return list(bin_days(np.array([*edges, edges[-1] + 1]), edges))


def wilson(successes: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (math.nan, math.nan)
    z = norm_ppf(1 - alpha / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1 (the formula leaves a rounding crumb).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def cohort_table(
    groups: np.ndarray, outcome: np.ndarray, *, name: str, order: list[str] | None = None
) -> CohortTable:
    """Count, rate and Wilson 95% interval of a yes/no outcome per group (groups under MIN_GROUP get no rate)."""
    groups = np.asarray(groups, dtype=object)
    outcome = np.asarray(outcome, dtype=bool)
    present = [str(g) for g in np.unique(groups.astype(str))]
    keys = [g for g in order if g in present] if order else present
    keys += [g for g in present if g not in keys]
    rows = []
    gs = groups.astype(str)
    for key in keys:
        sel = gs == key
        n = int(sel.sum())
        k = int(outcome[sel].sum())
        if n < MIN_GROUP:
            rows.append(CohortRow(key, n, k, None, None, None))
            continue
        lo, hi = wilson(k, n)
        rows.append(CohortRow(key, n, k, k / n, lo, hi))
    return CohortTable(name, tuple(rows), None)


# --- Before / after ---------------------------------------------------------------------------------------


def before_after(unit: np.ndarray, value: np.ndarray, after: np.ndarray) -> BeforeAfter:
    """Change of a KPI between two windows: each unit's mean in the 'after' window minus its mean in the
    'before' window (rows with after=False), averaged over the units seen in both, with a paired t interval."""
    unit = np.asarray(unit)
    value = np.asarray(value, dtype=float)
    after = np.asarray(after, dtype=bool)
    ok = np.isfinite(value)
    unit, value, after = unit[ok], value[ok], after[ok]
    u, n_u = _group_index(unit) if len(unit) else (np.zeros(0, np.int64), 0)
    cnt_b = np.bincount(u[~after], minlength=n_u)
    cnt_a = np.bincount(u[after], minlength=n_u)
    both = (cnt_b > 0) & (cnt_a > 0)
    n = int(both.sum())
    if n < MIN_PAIRED_UNITS:
        return BeforeAfter(
            Verdict.TOO_FEW,
            f"needs at least {MIN_PAIRED_UNITS} units seen in both windows; has {n}",
            n,
            None,
            None,
            None,
            None,
            None,
            None,
            reason_zh=f"至少需要 {MIN_PAIRED_UNITS} 个在前后两段都有数据的单位；现有 {n} 个",
        )
    mb = np.bincount(u[~after], weights=value[~after], minlength=n_u)[both] / cnt_b[both]
    ma = np.bincount(u[after], weights=value[after], minlength=n_u)[both] / cnt_a[both]
    d = ma - mb
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    crit = float(t_ppf(1 - ALPHA / 2, n - 1))
    p = float(2 * t_sf(abs(mean / se), n - 1)) if se > 0 else (0.0 if mean else 1.0)
    verdict = Verdict.SIGNIFICANT if p < ALPHA else Verdict.NOT_SIGNIFICANT
    return BeforeAfter(
        verdict,
        f"p = {p:.3g}" + ("" if verdict is Verdict.SIGNIFICANT else f", not below {ALPHA}"),
        n,
        float(mb.mean()),
        float(ma.mean()),
        mean,
        mean - crit * se,
        mean + crit * se,
        p,
        reason_zh=f"p = {p:.3g}" + ("" if verdict is Verdict.SIGNIFICANT else f"，未低于 {ALPHA}"),
    )


# --- Link suggestions -------------------------------------------------------------------------------------


def _two_way_residual(grid: np.ndarray) -> np.ndarray:
    """Remove each unit's mean and then each month's mean from a (units x months) grid (NaN kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows and columns stay NaN
        g = grid - np.nanmean(grid, axis=1, keepdims=True)
        return g - np.nanmean(g, axis=0, keepdims=True)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def link_scan(
    grids: dict[str, np.ndarray],
    functional: list[str],
    business: list[str],
    *,
    units: dict[tuple[str, str], np.ndarray] | None = None,
    lags: tuple[int, ...] = LAGS,
    top: int | None = None,
) -> LinkScan:
    """Rank functional x business metric pairs by their strongest lagged within-unit correlation.

    `grids[code]` is a (units x months) grid on a shared unit and month axis (NaN where missing);
    `units[(f, b)]`, when given, is a boolean row mask of the units to use for that pair (e.g. the finest
    units where both are computed, so roll-ups are not counted twice)."""
    resid = {code: _two_way_residual(g) for code, g in grids.items()}
    found: list[tuple[str, str, int, float, int, int, float]] = []
    for f in functional:
        for b in business:
            if f == b or f not in resid or b not in resid:
                continue
            mask = units.get((f, b)) if units else None
            fx = resid[f] if mask is None else resid[f][mask]
            by = resid[b] if mask is None else resid[b][mask]
            n_t = fx.shape[1]
            for k in lags:
                xs = fx[:, : n_t - k]
                ys = by[:, k:]
                ok = np.isfinite(xs) & np.isfinite(ys)
                n = int(ok.sum())
                n_units = int(ok.any(axis=1).sum())
                if n < SCAN_MIN_OBS or n_units < 2:
                    continue
                xv, yv = xs[ok], ys[ok]
                xv = xv - xv.mean()
                yv = yv - yv.mean()
                denom = math.sqrt(float(np.einsum("i,i->", xv, xv)) * float(np.einsum("i,i->", yv, yv)))
                if denom <= 0:
                    continue
                r = float(np.einsum("i,i->", xv, yv)) / denom
                df = n - n_units - 2
                if df < 3:
                    continue
                t = r * math.sqrt(df / max(1 - r * r, 1e-12))
                found.append((f, b, k, r, n, n_units, float(2 * t_sf(abs(t), df))))
    if not found:
        return LinkScan((), 0)
    q = benjamini_hochberg(np.array([row[6] for row in found]))
    # One row per pair: its strongest lag.
    best: dict[tuple[str, str], int] = {}
    for i, row in enumerate(found):
        key = (row[0], row[1])
        if key not in best or abs(row[3]) > abs(found[best[key]][3]):
            best[key] = i
    rows = [
        ScanRow(*found[i][:6], p_value=found[i][6], q_value=float(q[i]), significant=bool(q[i] < ALPHA))
        for i in best.values()
    ]
    rows.sort(key=lambda r: (-abs(r.r), r.functional, r.business))
    return LinkScan(tuple(rows[:top] if top else rows), len(found))


# --- Plain sentences --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    zh: str
    en: str


@dataclass(frozen=True)
class Wording:
    """How to name a lever and an outcome in a sentence, in both languages."""

    lever_zh: str
    lever_en: str
    lever_unit_zh: str  # "天"
    lever_unit_en: str  # "day"
    outcome_zh: str
    outcome_en: str
    outcome_unit_zh: str = ""  # "分", "个百分点"; empty for "%" (log outcome)
    outcome_unit_en: str = ""
    scale: float = 1.0  # multiply the coefficient (e.g. 100 for a proportion shown in percentage points)
    lever_lower: bool | None = None  # True: less of the lever is better (days, hours); None: go by the sign


def _fmt(v: float) -> str:
    a = abs(v)
    return f"{v:.3f}" if a < 0.1 else f"{v:.2f}" if a < 10 else f"{v:.1f}"


def sentence(
    verdict: Verdict,
    estimate: Estimate | None,
    wording: Wording,
    *,
    reason: str = "",
    reason_zh: str = "",
    p_value: float | None = None,
    percent: bool = False,
) -> Sentence:
    """The finding in one sentence. A significant effect is phrased in the direction that helps the outcome
    ('每缩短1天 … 提高约 X'); otherwise the sentence says there is no number to give, and why."""
    w = wording
    if verdict is Verdict.TOO_FEW or estimate is None:
        return Sentence(
            f"数据不足，无法估计{w.lever_zh}对{w.outcome_zh}的影响（{reason_zh or reason}）。",
            f"Too few data to estimate the effect of {w.lever_en} on {w.outcome_en} ({reason}).",
        )
    p = estimate.p_value if p_value is None else p_value
    if verdict is Verdict.NOT_SIGNIFICANT:
        return Sentence(
            f"未发现{w.lever_zh}对{w.outcome_zh}有统计上显著的影响（p = {p:.2f}，样本 {estimate.n_obs}）；"
            "这不等于没有影响，只是现有数据不足以确认。",
            f"No statistically significant effect of {w.lever_en} on {w.outcome_en} was found "
            f"(p = {p:.2f}, n = {estimate.n_obs}); this does not prove there is none, only that the data "
            "cannot confirm one.",
        )
    coef, lo, hi = estimate.coef, estimate.ci_low, estimate.ci_high
    if percent:
        coef, lo, hi = (100.0 * (math.exp(v) - 1.0) for v in (coef, lo, hi))
        unit_zh, unit_en = "%", "%"
    else:
        coef, lo, hi = (v * w.scale for v in (coef, lo, hi))
        unit_zh, unit_en = w.outcome_unit_zh, (" " + w.outcome_unit_en if w.outcome_unit_en else "")
    # Phrase it as "each unit less of the lever" when less is the lever's good direction (or, when that is not
    # known, when less helps the outcome), so the sentence reads as what improving the lever buys.
    less = w.lever_lower if w.lever_lower is not None else coef < 0
    if less:
        move_zh = "缩短" if w.lever_unit_zh in {"天", "小时", "工作日"} else "减少"
        move_en = "less"
        coef, lo, hi = -coef, -hi, -lo
    else:
        move_zh, move_en = "增加", "more"
    gain = coef >= 0
    verb_zh, verb_en = ("提高", "rises") if gain else ("降低", "falls")
    mag, a, b = abs(coef), (lo if gain else -hi), (hi if gain else -lo)
    return Sentence(
        f"{w.lever_zh}每{move_zh}1{w.lever_unit_zh}，{w.outcome_zh}平均{verb_zh}约 {_fmt(mag)} {unit_zh}"
        f"（95% 置信区间 {_fmt(a)}–{_fmt(b)}）。",
        f"For each {w.lever_unit_en} {move_en} of {w.lever_en}, {w.outcome_en} {verb_en} by about "
        f"{_fmt(mag)}{unit_en} on average (95% CI {_fmt(a)} to {_fmt(b)}).",
    )
