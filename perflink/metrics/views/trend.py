"""A scorecard's trend panel (htmx, loaded under the scorecard): the total score and each item's points over the
last 12 calculated months, as charts with their tables."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext

from perflink.metrics.selectors import get_run
from perflink.metrics.trends import SubjectTrend, subject_trend
from perflink.metrics.views.results import visible_employee, visible_unit
from perflink.web.decorators import page


def _line(name: str, data: tuple[float | None, ...]) -> dict[str, Any]:
    return {"name": name, "type": "line", "data": list(data), "connectNulls": False, "symbolSize": 6}


def charts(trend: SubjectTrend) -> dict[str, dict[str, Any]]:
    """ECharts options: the total score, and the points of each item (comparable across items: 0–120)."""
    base = {
        "legend": {"top": 0, "type": "scroll"},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 44, "right": 16, "top": 56, "bottom": 28},
        "xAxis": {"type": "category", "data": list(trend.periods)},
        "yAxis": {"type": "value", "name": gettext("points")},
        "perflink": {"format": "number"},
    }
    return {
        "score": {
            **base,
            "series": [{**_line(gettext("Total score"), trend.scores), "areaStyle": {"opacity": 0.1}}],
        },
        "items": {**base, "series": [_line(item.name, item.points) for item in trend.items]},
    }


def _panel(request: HttpRequest, run_id: int, level: str, subject_id: int) -> HttpResponse:
    run = get_run(run_id)
    trend = subject_trend(level, subject_id, run.period, english=(get_language() or "").startswith("en"))
    ctx = {"trend": trend, "charts": charts(trend), "months": len(trend.periods)}
    return render(request, "metrics/partials/res_trend.html", ctx)


@page("calc.view")
def unit_trend(request: HttpRequest, run_id: int, unit_id: int) -> HttpResponse:
    return _panel(request, run_id, "unit", visible_unit(request.user, unit_id).pk)


@page("calc.view")
def employee_trend(request: HttpRequest, run_id: int, employee_id: int) -> HttpResponse:
    return _panel(request, run_id, "employee", visible_employee(request.user, employee_id).pk)
