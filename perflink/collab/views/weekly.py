"""Weekly coordination report pages (协同周报): the generated weeks per unit (filter, sort, pages), a report
(its stored snapshot, or generated from live data when the week has none yet), its PDF and XLSX, subscribing to a
unit's report, and generating a week's reports by hand.

Readers of demands see the reports of the functional units in their data scope, and the company's report when
they see the whole tenant (``weekly.may_view``); another tenant's unit, or one out of scope, is a 404 like a
missing one. Generating by hand needs ``demands.evaluate``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from perflink.collab import weekly
from perflink.collab.weekly_actions import (
    do_generate_weekly_reports,
    do_subscribe_weekly,
    do_unsubscribe_weekly,
    report_url,
)
from perflink.collab.weekly_export import report_pdf, report_xlsx
from perflink.core.context import Actor, current_actor, current_tenant
from perflink.core.errors import NotFound, PermissionDeniedError, ValidationFailed
from perflink.core.htmx import render_page
from perflink.core.pdf import PdfUnavailable, content_disposition
from perflink.org.models import OrgUnit
from perflink.web.decorators import page

REPORTS_PER_PAGE = 25
SORTS = {
    "-week": ("-week_start", "unit__path"),
    "week": ("week_start", "unit__path"),
    "unit": ("unit__path", "-week_start"),
    "-unit": ("-unit__path", "-week_start"),
}
COMPANY = "company"


class WeeklyFilterForm(forms.Form):
    unit = forms.CharField(required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)


class GenerateForm(forms.Form):
    week = forms.CharField(label=gettext_lazy("Week"), max_length=10)


def _actor() -> Actor:
    actor = current_actor()
    assert actor is not None, "a logged-in request always has an actor"
    return actor


def _unit(user: Any, value: Any) -> OrgUnit | None:
    """The report's unit from the query (None: the company), NotFound when the reader may not read it. Without
    one, a reader who does not see the whole company gets the first functional unit of their scope."""
    unit = weekly.find_report_unit(user, value)
    if unit is None and not weekly.may_view(user, None):
        units = weekly.report_units(user)
        if not units:
            raise NotFound("report not found")
        return units[0]
    return unit


def _week(text: str) -> dt.date:
    try:
        return weekly.parse_week(text)
    except ValidationFailed:
        raise NotFound("no such week") from None


@page("demands.view")
@require_http_methods(["GET", "HEAD", "POST"])
def weekly_list(request: HttpRequest) -> HttpResponse:
    """The generated reports, newest week first; filter by unit (or the company), sort by week or unit. A POST
    generates (again) a week's reports, for those who may (``demands.evaluate``)."""
    user = request.user
    if request.method == "POST":
        return _generate(request)
    form = WeeklyFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data if form.is_valid() else {}
    reports = weekly.visible_reports(user)
    chosen = str(data.get("unit") or "")
    if chosen == COMPANY:
        reports = reports.filter(unit__isnull=True)
    elif chosen:
        unit = next((u for u in weekly.report_units(user) if str(u.pk) == chosen), None)
        reports = reports.filter(unit=unit) if unit is not None else reports.none()
    sort = str(data.get("sort") or "-week")
    page_obj = Paginator(reports.order_by(*SORTS.get(sort, SORTS["-week"]), "id"), REPORTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    this_week = weekly.week_start_of(timezone.localdate())
    rows = [
        {
            "report": r,
            "week": r.data.get("week") or weekly.week_label(r.week_start),
            "counts": r.data.get("demands", {}).get("counts", {}),
            "items": len(r.data.get("meeting", [])),
            "url": report_url(r.week_start, r.unit),
        }
        for r in page_obj.object_list
    ]
    ctx = {
        "rows": rows,
        "page_obj": page_obj,
        "units": weekly.report_units(user),
        "company_visible": weekly.may_view(user, None),
        "chosen": chosen,
        "sort": sort,
        "this_week": weekly.week_label(this_week),
        "last_week": weekly.week_label(this_week - dt.timedelta(days=7)),
        "may_generate": weekly.may_generate(user),
        "any": weekly.visible_reports(user).exists(),
    }
    return render_page(request, "collab/weekly_list.html", "collab/partials/weekly_rows.html", ctx)


def _report(request: HttpRequest, week: str) -> tuple[dict[str, Any], OrgUnit | None, Any]:
    """The presented report, its unit and the stored snapshot (None: generated now from live data). Values not
    yet final are shown, marked 暂估, only with ``?provisional=1``."""
    week_start = _week(week)
    unit = _unit(request.user, request.GET.get("unit"))
    provisional = request.GET.get("provisional") == "1"
    stored = weekly.stored_report(week_start, unit)
    if stored is not None:
        return weekly.present(stored.data, provisional=provisional), unit, stored
    if week_start > weekly.week_start_of(timezone.localdate()):
        raise NotFound("the week has not begun")
    return weekly.present(weekly.weekly_report(week_start, unit), provisional=provisional), unit, None


@page("demands.view")
@require_http_methods(["GET", "HEAD", "POST"])
def weekly_report_page(request: HttpRequest, week: str) -> HttpResponse:
    """The report; a POST subscribes the reader to the unit's report (or unsubscribes them)."""
    if request.method == "POST":
        return _subscription(request, week)
    report, unit, stored = _report(request, week)
    query = f"?unit={unit.pk}" if unit is not None else ""
    other = "" if report["show_provisional"] else "provisional=1"  # the switch's target
    ctx = {
        "report": report,
        "unit": unit,
        "stored": stored,
        "live": stored is None,
        "query": query + (("&" if query else "?") + "provisional=1" if report["show_provisional"] else ""),
        "switch_query": query + (("&" if query else "?") + other if other else ""),
        "subscribed": weekly.is_subscribed(request.user, unit),
        "may_generate": weekly.may_generate(request.user),
        "charts": [
            {"id": f"metric-trend-{i}", "name": m["name"], "option": trend_chart(m)}
            for i, m in enumerate(report["metrics"])
            if sum(p["value"] is not None for p in m["values"]) >= 2
        ],
    }
    return render(request, "collab/weekly_report.html", ctx)


def trend_chart(metric: dict[str, Any]) -> dict[str, Any]:
    """A small line of a metric's values over the periods (gaps where a month has no value)."""
    return {
        "legend": {"show": False},
        "grid": {"left": 40, "right": 12, "top": 12, "bottom": 24},
        "xAxis": {"type": "category", "data": [p["period"] for p in metric["values"]]},
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {
                "name": metric["name"],
                "type": "line",
                "connectNulls": False,
                "data": [None if p["value"] is None else float(p["value"]) for p in metric["values"]],
            }
        ],
        "perflink": {"format": "number"},
    }


def _filename(report: dict[str, Any], ext: str) -> tuple[str, str]:
    unit = report.get("unit")
    name = f"{gettext('Weekly coordination report')}-{report['week']}-{unit['name'] if unit else gettext('Whole company')}.{ext}"
    fallback = f"weekly-report-{report['week']}-{unit['code'] if unit else 'company'}.{ext}"
    return name, fallback


@page("demands.view")
@require_safe
def weekly_report_pdf(request: HttpRequest, week: str) -> HttpResponse:
    report, unit, stored = _report(request, week)
    tenant = current_tenant()
    try:
        body = report_pdf(report, tenant_name=getattr(tenant, "name", ""), live=stored is None)
    except PdfUnavailable as exc:
        ctx = {"report": report, "reason": exc.message, "query": f"?unit={unit.pk}" if unit else ""}
        return render(request, "collab/weekly_pdf_unavailable.html", ctx, status=503)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(*_filename(report, "pdf"))
    response["Cache-Control"] = "private, no-store"
    return response


@page("demands.view")
@require_safe
def weekly_report_xlsx(request: HttpRequest, week: str) -> HttpResponse:
    report = _report(request, week)[0]
    response = HttpResponse(
        report_xlsx(report), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition(*_filename(report, "xlsx"))
    response["Cache-Control"] = "private, no-store"
    return response


def _subscription(request: HttpRequest, week: str) -> HttpResponse:
    """Subscribe to (or unsubscribe from) the unit's weekly report; back to the report."""
    week_start = _week(week)
    unit = _unit(request.user, request.GET.get("unit") or request.POST.get("unit"))
    if request.POST.get("subscribe"):
        do_subscribe_weekly(request.user, unit, actor=_actor())
        messages.success(request, gettext("You will receive this report every week in your inbox."))
    else:
        do_unsubscribe_weekly(request.user, unit, actor=_actor())
        messages.success(request, gettext("You no longer receive this report."))
    return redirect(report_url(week_start, unit))


def _generate(request: HttpRequest) -> HttpResponse:
    """Generate (again) a week's reports for every functional unit and the company."""
    if not weekly.may_generate(request.user):
        raise PermissionDeniedError("generating weekly reports needs demands.evaluate")
    form = GenerateForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed(gettext("A week is written like 2026-W10."), field="week")
        week_start = weekly.parse_week(form.cleaned_data["week"])
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("collab:weekly_list")
    if week_start > weekly.week_start_of(timezone.localdate()):
        messages.error(request, gettext("That week has not begun yet."))
        return redirect("collab:weekly_list")
    reports = do_generate_weekly_reports(week_start, actor=_actor())
    messages.success(
        request,
        gettext("Generated %(n)s reports of %(week)s.")
        % {"n": len(reports), "week": weekly.week_label(week_start)},
    )
    return redirect("collab:weekly_list")


urlpatterns = [
    path("", weekly_list, name="weekly_list"),
    path("<str:week>/", weekly_report_page, name="weekly_report"),
    path("<str:week>/pdf", weekly_report_pdf, name="weekly_pdf"),
    path("<str:week>/xlsx", weekly_report_xlsx, name="weekly_xlsx"),
]
