"""ECharts options of the analytics pages (plain JSON for web/charts.js): the shapes only, no statistics.

Every chart here is followed on its page by a server-rendered table of the same figures, so charts.js adds
the PNG button but builds no table of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext, pgettext

from perflink.analytics import dashboards, stats

VERDICT_COLOURS = {
    "good": "var(--green)",
    "bad": "var(--red)",
    stats.Verdict.NOT_SIGNIFICANT: "var(--muted)",
    stats.Verdict.TOO_FEW: "var(--border-strong)",
}


def trend_chart(trend: dashboards.Trend) -> dict[str, Any]:
    """The three programme KPIs (%, left axis) and the bonus cost (bars, right axis) by month."""
    return {
        "grid": {"left": 8, "right": 8, "top": 48, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(trend.periods)},
        "yAxis": [
            {"type": "value", "name": "%", "max": 100, "min": 0},
            {"type": "value", "name": gettext("yuan"), "min": 0, "splitLine": {"show": False}},
        ],
        "series": [
            {
                "type": "bar",
                "name": gettext("Bonus cost"),
                "yAxisIndex": 1,
                "data": [None if v is None else float(v) for v in trend.bonus],
                "itemStyle": {"color": "var(--primary-100)"},
                "barMaxWidth": 18,
            },
            _line(gettext("Business target attainment"), trend.attainment),
            _line(gettext("Support satisfaction"), trend.support),
            _line(gettext("New-hire 3-month retention"), trend.retention),
        ],
    }


def _line(name: str, data: Sequence[float | None]) -> dict[str, Any]:
    return {"type": "line", "name": name, "data": list(data), "connectNulls": True, "symbolSize": 5}


def unit_score_chart(months: Sequence[str], series: dict[str, list[float | None]]) -> dict[str, Any]:
    return {
        "legend": {"type": "scroll", "top": 0, "left": 0, "right": 40},
        "grid": {"left": 8, "right": 16, "top": 64, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(months)},
        "yAxis": {"type": "value", "name": gettext("score")},
        "series": [_line(name, values) for name, values in series.items()],
    }


def effect_tone(impact: Any) -> str:
    """'good' / 'bad' for a significant effect in or against the business metric's good direction, else the
    verdict itself."""
    result = impact.result
    if result.verdict != stats.Verdict.SIGNIFICANT or result.estimate is None:
        return str(result.verdict)
    up = result.estimate.coef > 0
    lever_up_good = impact.functional.direction != "lower"
    outcome_up_good = impact.business.direction != "lower"
    return "good" if (up == lever_up_good) == outcome_up_good else "bad"


def link_graph(effects: Sequence[dashboards.LinkEffect], names: dict[int, str]) -> dict[str, Any]:
    """Functional units on the left, business units on the right (a Sankey layout), one band per confirmed
    link coloured by the estimate's verdict and direction, as wide as its elasticity is large."""
    nodes: dict[str, dict[str, Any]] = {}
    links = []
    for e in effects:
        left = names.get(e.link.functional_unit_id, str(e.link.functional_unit_id))
        right = names.get(e.link.business_unit_id, str(e.link.business_unit_id))
        nodes.setdefault(left, {"name": left, "depth": 0, "itemStyle": {"color": "var(--teal)"}})
        nodes.setdefault(
            right,
            {"name": right, "depth": 1, "itemStyle": {"color": "var(--primary)"}},
        )
        tone = effect_tone(e.impact)
        elasticity = e.impact.result.elasticity if tone in {"good", "bad"} else None
        links.append(
            {
                "source": left,
                "target": right,
                "value": round(1.0 + min(abs(elasticity or 0.0) * 4.0, 3.0), 3),
                "elasticity": None if elasticity is None else round(elasticity, 3),
                "lineStyle": {"color": VERDICT_COLOURS[tone], "opacity": 0.55},
            }
        )
    return {
        "legend": {"show": False},
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 170,
                "right": 170,
                "top": 36,
                "bottom": 8,
                "nodeWidth": 12,
                "nodeGap": 18,
                "nodeAlign": "justify",
                "layoutIterations": 0,
                "draggable": False,
                "data": list(nodes.values()),
                "links": links,
                "label": {"show": True, "fontSize": 12, "color": "var(--text-2)"},
                "levels": [
                    {"depth": 0, "label": {"position": "left"}},
                    {"depth": 1, "label": {"position": "right"}},
                ],
                "emphasis": {"focus": "adjacency"},
            }
        ],
    }


def scatter_chart(sc: dashboards.Scatter, x_name: str, y_name: str, *, level: str = "95%") -> dict[str, Any]:
    series: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "name": gettext("Unit-months"),
            "data": [[x, y] for x, y, _u, _p in sc.points],
            "symbolSize": 5,
            "itemStyle": {"color": "var(--primary)", "opacity": 0.45},
        }
    ]
    if sc.line and sc.low and sc.high:
        series += [
            _segment(gettext("Fitted effect"), sc.line, "var(--red)", "solid", 2.5),
            _segment(
                gettext("%(level)s interval, low") % {"level": level}, sc.low, "var(--amber)", "dashed", 1.5
            ),
            _segment(
                gettext("%(level)s interval, high") % {"level": level}, sc.high, "var(--amber)", "dashed", 1.5
            ),
        ]
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 24, "top": 48, "bottom": 28, "containLabel": True},
        "xAxis": {"type": "value", "name": x_name, "nameLocation": "middle", "nameGap": 28, "scale": True},
        "yAxis": {"type": "value", "name": y_name, "scale": True},
        "series": series,
    }


def _segment(name: str, ends: Any, colour: str, kind: str, width: float) -> dict[str, Any]:
    return {
        "type": "line",
        "name": name,
        "data": [list(ends[0]), list(ends[1])],
        "showSymbol": False,
        "lineStyle": {"color": colour, "type": kind, "width": width},
        "itemStyle": {"color": colour},
    }


def interval_chart(
    labels: Sequence[str], rows: Sequence[tuple[float | None, float | None, float | None]], name: str
) -> dict[str, Any]:
    """Rates (%) with their 95% intervals: a floating bar from the low to the high end, a dot at the rate."""
    low = [None if lo is None else round(lo, 2) for _r, lo, _h in rows]
    span = [None if lo is None or hi is None else round(hi - lo, 2) for _r, lo, hi in rows]
    rate = [None if r is None else round(r, 2) for r, _l, _h in rows]
    return {
        "perflink": {"format": "percent"},
        "legend": {"show": False},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "category", "data": list(labels)},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "type": "bar",
                "stack": "ci",
                "data": low,
                "itemStyle": {"color": "transparent"},
                "silent": True,
            },
            {
                "type": "bar",
                "stack": "ci",
                "name": gettext("95% CI"),
                "data": span,
                "itemStyle": {"color": "var(--primary)", "opacity": 0.2},
                "barMaxWidth": 40,
            },
            {
                "type": "scatter",
                "name": name,
                "data": rate,
                "symbolSize": 10,
                "itemStyle": {"color": "var(--primary)"},
            },
        ],
    }


def bars_chart(
    labels: Sequence[str], values: Sequence[float | None], name: str, *, y_name: str = ""
) -> dict[str, Any]:
    """Bars whose value axis starts at 0 (a bar's length is its value: an axis starting at 48 makes 50 look
    twice 49); negative values extend it below 0."""
    low = min((v for v in values if v is not None), default=0.0)
    return {
        "legend": {"show": False},
        "xAxis": {"type": "category", "data": list(labels)},
        "yAxis": {"type": "value", "name": y_name, "scale": False, **({"min": 0} if low >= 0 else {})},
        "series": [{"type": "bar", "name": name, "data": list(values), "barMaxWidth": 36}],
    }


def before_after_chart(name: str, before: float | None, after: float | None) -> dict[str, Any]:
    return bars_chart(
        [pgettext("analytics range", "Before"), pgettext("analytics range", "After")], [before, after], name
    )
