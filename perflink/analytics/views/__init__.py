"""The analytics pages: the executive overview, the impact of a metric pair and of a link, claims, new-agent
cohorts, before/after and link suggestions. Read-only; every figure comes from `selectors` or `dashboards`.

Heavy panels (overview, claims, suggestions) are served by the same view as an htmx fragment, so the page
shell appears at once and the panel follows with a loading state."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import can
from perflink.analytics import dashboards, data, maturity, selectors, stats
from perflink.analytics.views import charts
from perflink.core.errors import ValidationFailed
from perflink.core.htmx import is_partial, render_page
from perflink.incentives.selectors import get_link
from perflink.metrics.models import MetricDefinition
from perflink.org.models import OrgUnit
from perflink.web.decorators import page

ACTION = "analytics.view"
DEFAULT_PAIR = ("claim_payment_days", "claim_satisfaction_score")
PROGRAMME_KPIS = ("internal_support_satisfaction", "new_agent_attainment_3m", "new_agent_retention_3m")

TABS = (
    ("overview", gettext_lazy("Executive overview"), "analytics:overview"),
    ("impact", gettext_lazy("Metric impact"), "analytics:impact"),
    ("claims", gettext_lazy("Claims"), "analytics:claims"),
    ("cohorts", gettext_lazy("New-agent cohorts"), "analytics:cohorts"),
    ("before_after", gettext_lazy("Before / after"), "analytics:before_after"),
    ("suggestions", gettext_lazy("Link suggestions"), "analytics:suggestions"),
)
VERDICT_LABELS = {
    stats.Verdict.SIGNIFICANT: gettext_lazy("Significant"),
    stats.Verdict.NOT_SIGNIFICANT: gettext_lazy("Not significant"),
    stats.Verdict.TOO_FEW: gettext_lazy("Too few data"),
}
VERDICT_BADGES = {
    stats.Verdict.SIGNIFICANT: "badge-green",
    stats.Verdict.NOT_SIGNIFICANT: "badge-gray",
    stats.Verdict.TOO_FEW: "badge-amber",
}
COHORT_BY = (
    ("time_to_fill", gettext_lazy("Time-to-fill")),
    ("channel", gettext_lazy("Hiring channel")),
    ("trained", gettext_lazy("Training")),
)
COHORT_GROUPS = {"trained": gettext_lazy("trained"), "not trained": gettext_lazy("not trained")}


# --- helpers ----------------------------------------------------------------------------------------------


def num(value: float | None, digits: int = 3) -> str:
    """A figure as the pages (and their tests) print it: fixed decimals, '—' for none."""
    return "—" if value is None else f"{value:.{digits}f}"


def p_text(value: float | None) -> str:
    """A p-value as the pages print it: four decimals, or '< 0.0001'."""
    if value is None:
        return "—"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


def _chinese() -> bool:
    return (get_language() or "zh").startswith("zh")


def _said(sentence: stats.Sentence) -> str:
    return sentence.zh if _chinese() else sentence.en


def _metric_name(ref: selectors.MetricRef) -> str:
    return ref.name if _chinese() else ref.name_en


def verdict_ctx(verdict: stats.Verdict, sentence: stats.Sentence) -> dict[str, Any]:
    return {
        "code": str(verdict),
        "label": VERDICT_LABELS[verdict],
        "badge": VERDICT_BADGES[verdict],
        "sentence": _said(sentence),
        "significant": verdict == stats.Verdict.SIGNIFICANT,
    }


def level_text(level: float) -> str:
    """A confidence level as the pages print it: 95%, 98.75%."""
    return f"{level * 100:.4g}%"


def estimate_ctx(estimate: stats.Estimate | None) -> dict[str, str] | None:
    if estimate is None:
        return None
    return {
        "level": level_text(estimate.level),
        "coef": num(estimate.coef, 4),
        "ci_low": num(estimate.ci_low, 4),
        "ci_high": num(estimate.ci_high, 4),
        "p_value": p_text(estimate.p_value),
        "n_obs": str(estimate.n_obs),
        "n_clusters": str(estimate.n_clusters),
    }


def _base(request: HttpRequest, tab: str, **ctx: Any) -> dict[str, Any]:
    return {
        "tabs": [
            {"key": k, "label": label, "url": reverse(name), "active": k == tab} for k, label, name in TABS
        ],
        "tab": tab,
        "has_runs": dashboards.has_runs(),
        "may_calculate": can(request.user, "calc.run"),
        **ctx,
    }


def _unit_names() -> dict[int, str]:
    """Unit names, with the parent's name in front where a name occurs more than once (each branch's 财务部)."""
    units = list(OrgUnit.objects.select_related("parent"))
    counts = Counter(u.name for u in units)
    return {u.pk: f"{u.parent.name} · {u.name}" if counts[u.name] > 1 and u.parent else u.name for u in units}


def _impact_ctx(impact: selectors.PairImpact) -> dict[str, Any]:
    result = impact.result
    scatter = dashboards.scatter(impact.functional.code, impact.business.code, result)
    x_name, y_name = _metric_name(impact.functional), _metric_name(impact.business)
    level = level_text(result.estimate.level if result.estimate else 1 - stats.ALPHA)
    months = list(impact.immature)
    latest = maturity.are_latest(months, [run.period for run in data.latest_runs()])
    return {
        "maturity_note": maturity.left_out_note(months, latest=latest, included=impact.provisional),
        "provisional": impact.provisional,
        "interval_level": level,
        "impact": impact,
        "verdict": verdict_ctx(result.verdict, impact.sentence),
        "estimate": estimate_ctx(result.estimate) if result.verdict == stats.Verdict.SIGNIFICANT else None,
        "p_adjusted": p_text(result.p_adjusted),
        "elasticity": num(result.elasticity, 3),
        "lag": result.lag,
        "x_name": x_name,
        "y_name": y_name,
        "scatter": scatter,
        "scatter_chart": charts.scatter_chart(
            scatter, f"{x_name} ({impact.functional.unit})", y_name, level=level
        ),
        "fitted_rows": (
            [
                (gettext("Fitted effect"), scatter.line),
                (gettext("%(level)s interval, low") % {"level": level}, scatter.low),
                (gettext("%(level)s interval, high") % {"level": level}, scatter.high),
            ]
            if scatter.line
            else []
        ),
    }


# --- pages ------------------------------------------------------------------------------------------------


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def overview(request: HttpRequest) -> HttpResponse:
    """The executive dashboard: programme KPIs and bonus cost over 24 months, the link graph, unit scores."""
    ctx = _base(request, "overview")
    if ctx["has_runs"] and is_partial(request):
        trend = dashboards.trend()
        months, scores = dashboards.unit_scores()
        effects = dashboards.link_effects()
        names = _unit_names()
        ctx.update(
            trend=trend,
            trend_rows=list(
                zip(trend.periods, trend.attainment, trend.support, trend.retention, trend.bonus, strict=True)
            ),
            latest=_latest_kpis(trend),
            retention_note=_unfinished_note(dashboards.RETENTION_METRIC, trend.periods),
            trend_chart=charts.trend_chart(trend),
            score_months=months,
            scores=scores,
            score_chart=charts.unit_score_chart(months, scores),
            score_rows=[(m, [s[i] for s in scores.values()]) for i, m in enumerate(months)],
            graph=charts.link_graph(effects, names),
            graph_height=120 + 56 * max(len({e.link.functional_unit_id for e in effects}), 1),
            effects=[
                {
                    "link": e.link,
                    "functional_unit": names.get(e.link.functional_unit_id, ""),
                    "business_unit": names.get(e.link.business_unit_id, ""),
                    "tone": charts.effect_tone(e.impact),
                    "verdict": verdict_ctx(e.impact.result.verdict, e.impact.sentence),
                    "elasticity": num(e.impact.result.elasticity, 3),
                }
                for e in effects
            ],
        )
    return render_page(request, "analytics/overview.html", "analytics/partials/overview_panel.html", ctx)


def _unfinished_note(code: str, months: tuple[str, ...]) -> str:
    """The sentence naming the shown months whose value of ``code`` is not yet final (left out)."""
    unfinished = data.immature_months([code], months)[code]
    return maturity.left_out_note(unfinished, latest=maturity.are_latest(unfinished, list(months)))


def _latest_kpis(trend: dashboards.Trend) -> list[dict[str, Any]]:
    def last(series: tuple[Any, ...]) -> tuple[str, Any]:
        for period, value in zip(reversed(trend.periods), reversed(series), strict=True):
            if value is not None:
                return period, value
        return "", None

    out = []
    for key, label, series, icon, tone in (
        ("attainment", gettext("Business target attainment"), trend.attainment, "chart", "tone-blue"),
        ("support", gettext("Support satisfaction"), trend.support, "handshake", "tone-green"),
        ("retention", gettext("New-hire 3-month retention"), trend.retention, "people", "tone-violet"),
        ("bonus", gettext("Bonus cost"), trend.bonus, "coins", "tone-amber"),
    ):
        period, value = last(series)
        out.append({"key": key, "label": label, "period": period, "value": value, "icon": icon, "tone": tone})
    return out


def _metric_choices(domains: tuple[str, ...]) -> list[tuple[str, str]]:
    english = not _chinese()
    return [
        (m.code, (m.name_en or m.code) if english else m.name)
        for m in MetricDefinition.objects.filter(is_active=True, domain__in=domains).order_by(
            "domain", "code"
        )
    ]


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def impact(request: HttpRequest) -> HttpResponse:
    """The impact of any functional metric on any business metric, as the analyst picks them."""
    functional = request.GET.get("functional") or DEFAULT_PAIR[0]
    business = request.GET.get("business") or DEFAULT_PAIR[1]
    provisional = request.GET.get("provisional") in ("1", "on", "true")
    ctx = _base(
        request,
        "impact",
        functional=functional,
        business=business,
        include_provisional=provisional,
        functional_choices=_metric_choices(selectors.FUNCTIONAL_DOMAINS),
        business_choices=_metric_choices(selectors.BUSINESS_DOMAINS),
    )
    if ctx["has_runs"]:
        try:
            ctx.update(_impact_ctx(selectors.pair_impact(functional, business, provisional=provisional)))
        except ValidationFailed as exc:
            ctx["error"] = exc.message
    status = 400 if ctx.get("error") else 200
    return render_page(
        request, "analytics/impact.html", "analytics/partials/impact_panel.html", ctx, status=status
    )


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def link(request: HttpRequest, link_id: int) -> HttpResponse:
    """One link: the scatter of its unit-months, the fitted effect with its interval, the verdict in words."""
    the_link = get_link(request.user, link_id)
    names = _unit_names()
    ctx = _base(
        request,
        "overview",
        link=the_link,
        functional_unit=names.get(the_link.functional_unit_id, ""),
        business_unit=names.get(the_link.business_unit_id, ""),
    )
    if ctx["has_runs"]:
        ctx.update(_impact_ctx(selectors.link_impact(the_link)))
    return render_page(request, "analytics/link.html", "analytics/partials/impact_panel.html", ctx)


CLAIM_CONTROLS = (
    ("line", gettext_lazy("Line of business")),
    ("branch", gettext_lazy("Branch")),
    ("month", gettext_lazy("Approval month")),
)


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def claims(request: HttpRequest) -> HttpResponse:
    """Per-claim payment days and claimant satisfaction, with the controls the analyst keeps."""
    chosen = [c for c, _ in CLAIM_CONTROLS if c in request.GET.getlist("controls")]
    if "controls" not in request.GET and "run" not in request.GET:
        chosen = [c for c, _ in CLAIM_CONTROLS]
    ctx = _base(request, "claims", controls=CLAIM_CONTROLS, chosen=chosen, query=request.GET.urlencode())
    if ctx["has_runs"] and is_partial(request):
        result = selectors.claims_impact(tuple(chosen))
        by_day = dashboards.claims_by_payment_day()
        ctx.update(
            verdict=verdict_ctx(result.result.verdict, result.sentence),
            estimate=estimate_ctx(result.result.estimate)
            if result.result.verdict == stats.Verdict.SIGNIFICANT
            else None,
            elasticity=num(result.result.elasticity, 3),
            mean_y=num(result.result.mean_y, 3),
            by_day=by_day,
            n_claims=sum(n for _d, n, _m in by_day),
            day_chart=charts.bars_chart(
                [d for d, _n, _m in by_day],
                [m for _d, _n, m in by_day],
                gettext("Mean satisfaction (1-5)"),
                y_name=gettext("satisfaction"),
            ),
        )
    return render_page(request, "analytics/claims.html", "analytics/partials/claims_panel.html", ctx)


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def cohorts(request: HttpRequest) -> HttpResponse:
    """New agents grouped by time-to-fill, channel or training: counts, 3-month attainment and retention."""
    by = request.GET.get("by") or "time_to_fill"
    if by not in selectors.COHORT_KEYS:
        by = "time_to_fill"
    ctx = _base(request, "cohorts", by=by, by_choices=COHORT_BY)
    if ctx["has_runs"]:
        result = selectors.cohorts(by)
        tables = []
        for key, label, table, slope in (
            ("attained", gettext("3-month attainment"), result.attainment, result.attainment_slope),
            ("retained", gettext("3-month retention"), result.retention, result.retention_slope),
        ):
            labels = [str(COHORT_GROUPS.get(r.group, r.group)) for r in table.rows]
            rates: list[tuple[float | None, float | None, float | None]] = [
                (_pct(r.rate), _pct(r.ci_low), _pct(r.ci_high)) for r in table.rows
            ]
            rows = [
                {
                    "group": group,
                    "n": r.n,
                    "successes": r.successes,
                    "rate": rate,
                    "ci_low": low,
                    "ci_high": high,
                }
                for group, r, (rate, low, high) in zip(labels, table.rows, rates, strict=True)
            ]
            tables.append(
                {
                    "key": key,
                    "label": label,
                    "rows": rows,
                    "chart": charts.interval_chart(labels, rates, label),
                    "slope": None if slope is None else verdict_ctx(slope.result.verdict, slope.sentence),
                }
            )
        ctx.update(
            n_agents=result.n_agents,
            tables=tables,
            min_group=stats.MIN_GROUP,
            waiting=data.hires_in_open_windows(),  # their windows are still open: not counted, not zero
        )
    return render_page(request, "analytics/cohorts.html", "analytics/partials/cohorts_panel.html", ctx)


def _default_ranges(codes: list[str]) -> tuple[tuple[str, str], tuple[str, str]]:
    """The last 12 matured months against the 12 before them (or halves of what there is): the ranges end at
    the newest month whose values of every compared KPI are final, so an unfinished month is never read as a
    result by default."""
    last = selectors.last_mature_month(codes)
    months = [run.period for run in data.latest_runs() if last is not None and run.period <= last]
    if len(months) >= 24:
        return (months[-24], months[-13]), (months[-12], months[-1])
    if len(months) >= 2:
        half = len(months) // 2
        return (months[0], months[half - 1]), (months[half], months[-1])
    today = timezone.localdate().strftime("%Y-%m")
    return (today, today), (today, today)


def _ba_row(change: selectors.KpiChange) -> dict[str, Any]:
    r = change.result
    name = _metric_name(change.metric)
    return {
        "code": change.metric.code,
        "name": name,
        "unit": change.metric.unit,
        "verdict": {
            "code": str(r.verdict),
            "label": VERDICT_LABELS[r.verdict],
            "badge": VERDICT_BADGES[r.verdict],
            "reason": (r.reason_zh or r.reason) if _chinese() else r.reason,
        },
        "before": num(r.mean_before, 2),
        "after": num(r.mean_after, 2),
        "change": num(r.change, 2),
        "ci_low": num(r.ci_low, 2),
        "ci_high": num(r.ci_high, 2),
        "p_value": p_text(r.p_value),
        "n_units": r.n_units,
        "immature": change.immature,
        "provisional": change.provisional,
        "chart": charts.before_after_chart(name, r.mean_before, r.mean_after)
        if r.mean_before is not None and r.mean_after is not None
        else None,
    }


def _maturity_note(codes: list[str], rows: list[dict[str, Any]], provisional: bool) -> str:
    """One sentence naming the calculated months not final for some compared KPI (left out), or, with the
    switch on, those of the ranges that were counted as provisional."""
    if provisional:
        months = sorted({m for row in rows for m in row["immature"]})
    else:
        months = sorted({m for found in data.immature_months(codes).values() for m in found})
    latest = maturity.are_latest(months, [run.period for run in data.latest_runs()])
    return maturity.left_out_note(months, latest=latest, included=provisional)


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def before_after(request: HttpRequest) -> HttpResponse:
    """The programme KPIs (and a metric the analyst adds) between two ranges of months. Months not yet final
    are left out unless the analyst includes them as provisional (``provisional=1``)."""
    metric = request.GET.get("metric", "")
    codes = [*PROGRAMME_KPIS, *([metric] if metric and metric not in PROGRAMME_KPIS else [])]
    (b0, b1), (a0, a1) = _default_ranges(codes)
    form = {
        "before_from": request.GET.get("before_from") or b0,
        "before_to": request.GET.get("before_to") or b1,
        "after_from": request.GET.get("after_from") or a0,
        "after_to": request.GET.get("after_to") or a1,
        "metric": metric,
        "provisional": request.GET.get("provisional") in ("1", "on", "true"),
    }
    ctx = _base(
        request,
        "before_after",
        form=form,
        metric_choices=_metric_choices((*selectors.FUNCTIONAL_DOMAINS, *selectors.BUSINESS_DOMAINS)),
    )
    if ctx["has_runs"]:
        rows: list[dict[str, Any]] = []
        try:
            for code in codes:
                change = selectors.kpi_change(
                    code,
                    (form["before_from"], form["before_to"]),
                    (form["after_from"], form["after_to"]),
                    provisional=form["provisional"],
                )
                rows.append(_ba_row(change))
        except ValidationFailed as exc:
            ctx["error"] = exc.message
        ctx["rows"] = rows
        ctx["maturity_note"] = _maturity_note(codes, rows, form["provisional"])
    return render_page(
        request,
        "analytics/before_after.html",
        "analytics/partials/before_after_panel.html",
        ctx,
        status=400 if ctx.get("error") else 200,
    )


@page(ACTION)
@require_http_methods(["GET", "HEAD"])
def suggestions(request: HttpRequest) -> HttpResponse:
    """Metric pairs whose within-unit movements go together: candidates a business head may propose as links."""
    ctx = _base(request, "suggestions", may_propose=can(request.user, "links.propose"))
    if ctx["has_runs"] and is_partial(request):
        scan = selectors.suggestions(20)
        refs = {
            m.code: (m.name if _chinese() else (m.name_en or m.code))
            for m in MetricDefinition.objects.filter(is_active=True)
        }
        propose = reverse("incentives:link_new")
        ctx.update(
            tests=scan.tests,
            rows=[
                {
                    "row": row,
                    "functional": refs.get(row.functional, row.functional),
                    "business": refs.get(row.business, row.business),
                    "r": num(row.r, 3),
                    "q": f"{row.q_value:.2g}",
                    "propose_url": f"{propose}?functional_metric={row.functional}&business_metric={row.business}",
                    "impact_url": f"{reverse('analytics:impact')}?functional={row.functional}&business={row.business}",
                }
                for row in scan.rows
            ],
        )
    return render_page(
        request, "analytics/suggestions.html", "analytics/partials/suggestions_panel.html", ctx
    )
