"""Metrics pages. Definitions (library, seasons, calendar, templates, targets) and results (runs,
scorecards, explanations) live in separate modules."""

from perflink.metrics.views.definitions import (
    calendar,
    library,
    metric_check,
    metric_detail,
    metric_new,
    metric_preview,
    seasons,
    template_detail,
    templates,
)
from perflink.metrics.views.results import (
    employee_scorecard,
    explain_line,
    my_scorecard,
    run_detail,
    run_publish,
    runs,
    scorecards,
    unit_scorecard,
)
from perflink.metrics.views.targets import targets, targets_import
from perflink.metrics.views.trend import employee_trend, unit_trend

__all__ = [
    "calendar",
    "employee_scorecard",
    "employee_trend",
    "explain_line",
    "library",
    "metric_check",
    "metric_detail",
    "metric_new",
    "metric_preview",
    "my_scorecard",
    "run_detail",
    "run_publish",
    "runs",
    "scorecards",
    "seasons",
    "targets",
    "targets_import",
    "template_detail",
    "templates",
    "unit_scorecard",
    "unit_trend",
]
