"""Targets: a period's targets per subject (set one on the page), and importing many from a CSV or XLSX file
(every row checked; all written or none)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import can, scope_employees, unit_scope_q
from perflink.core.context import current_actor
from perflink.core.errors import ValidationFailed
from perflink.core.exports import csv_bytes
from perflink.core.htmx import render_page
from perflink.ingest.views.uploads import upload_dir
from perflink.metrics.actions import do_set_target
from perflink.metrics.choices import TargetSource
from perflink.metrics.forms import TARGET_SORTS, TargetFilterForm, TargetForm, TargetImportForm
from perflink.metrics.models import MetricDefinition, Target
from perflink.metrics.target_import import (
    FIELD_HEADERS,
    MAX_ROWS,
    TargetImportRejected,
    do_import_targets,
    metric_levels,
    read_targets,
)
from perflink.metrics.views.definitions import forbidden, metric_options
from perflink.metrics.views.wording import number
from perflink.org.models import Employee, OrgUnit
from perflink.web.decorators import page

TARGETS_PER_PAGE = 50
ERRORS_SHOWN = 500
SOURCE_BADGES = {
    TargetSource.UI: "badge-blue",
    TargetSource.FILE: "badge-violet",
    TargetSource.API: "badge-teal",
}
# What each problem of an imported row means (perflink.metrics.target_import reason codes).
REASONS: dict[str, Any] = {
    "file": gettext_lazy("The file cannot be read: %(detail)s"),
    "empty": gettext_lazy("The file has no rows under its header."),
    "too_many_rows": gettext_lazy("The file has more than %(detail)s rows; split it into parts."),
    "missing_column": gettext_lazy("No column for this field: name a header “%(field)s”."),
    "missing_subject_column": gettext_lazy(
        "Needs a column 机构代码 (unit code) or 员工工号 (employee number)."
    ),
    "required": gettext_lazy("Empty; a value is required."),
    "bad_period": gettext_lazy("Not a period: write YYYY-MM, YYYY-Qn or YYYY, e.g. 2026-03."),
    "unknown_metric": gettext_lazy("No active metric has this code."),
    "unknown_unit": gettext_lazy("No unit has this code."),
    "unknown_employee": gettext_lazy("No employee has this number."),
    "two_subjects": gettext_lazy("Give a unit code or an employee number, not both."),
    "no_subject": gettext_lazy("Give the unit code or the employee number the target is for."),
    "not_for_unit": gettext_lazy("This metric is not computed for units."),
    "not_for_employee": gettext_lazy("This metric is not computed for employees."),
    "not_a_number": gettext_lazy("Not a number."),
    "out_of_range": gettext_lazy("Use a number below 10¹⁴ with at most 4 decimals."),
    "duplicate": gettext_lazy("The same target appears already in row %(detail)s."),
}


def _this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def _scoped(targets: Any, user: Any) -> Any:
    """Only the targets of units and employees the user may see."""
    if unit_scope_q(user) is None:
        return targets
    units = OrgUnit.objects.filter(unit_scope_q(user)).values("pk")
    employees = scope_employees(user, Employee.objects.all()).values("pk")
    return targets.filter(Q(unit__in=units) | Q(employee__in=employees))


def _set_target(form: TargetForm) -> tuple[bool, Target | None]:
    """Resolve the subject and set (or clear) the target: (done, the target). Not done: the error is on the form."""
    data = form.cleaned_data
    metric = MetricDefinition.objects.filter(code=data["metric"], is_active=True).first()
    if metric is None:
        form.add_error("metric", _("No active metric has this code."))
        return False, None
    unit = employee = None
    if data["level"] == "unit":
        unit = OrgUnit.objects.filter(code=data["subject"].strip()).first()
        if unit is None:
            form.add_error("subject", _("No unit has this code."))
            return False, None
    else:
        employee = Employee.objects.filter(employee_no=data["subject"].strip()).first()
        if employee is None:
            form.add_error("subject", _("No employee has this number."))
            return False, None
    if data["level"] not in metric_levels(metric):
        message = (
            _("This metric is not computed for units.")
            if data["level"] == "unit"
            else _("This metric is not computed for employees.")
        )
        form.add_error("level", message)
        return False, None
    try:
        target = do_set_target(
            period=data["period"],
            metric=metric,
            value=data["value"],
            unit=unit,
            employee=employee,
            actor=current_actor(),  # the source is "set on the page" by default
        )
    except ValidationFailed as exc:
        form.add_error(None, exc.message)
        return False, None
    return True, target


@page("metrics.view")
@require_http_methods(["GET", "HEAD", "POST"])
def targets(request: HttpRequest) -> HttpResponse:
    may_manage = can(request.user, "targets.manage")
    status = 200
    set_form: TargetForm | None = None
    if request.method == "POST":
        if not may_manage:
            return forbidden(request, "targets.manage")
        set_form = TargetForm(request.POST, metrics=metric_options())
        if set_form.is_valid():
            done, target = _set_target(set_form)
            if done:
                data = set_form.cleaned_data
                text = (
                    _("Target of %(subject)s for %(period)s set to %(value)s.")
                    if target is not None
                    else _("Target of %(subject)s for %(period)s cleared; the template's default applies.")
                )
                messages.success(
                    request,
                    text
                    % {"subject": data["subject"], "period": data["period"], "value": number(data["value"])},
                )
                return redirect(f"{reverse('metrics:targets')}?period={data['period']}")
        status = 400
    form = TargetFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    period = filters.get("period") or _this_month()
    sort = filters.get("sort") or "metric"
    rows = _scoped(Target.objects.filter(period=period), request.user).select_related(
        "metric", "unit", "employee", "employee__unit"
    )
    if filters.get("metric"):
        rows = rows.filter(metric__code=filters["metric"])
    if filters.get("q"):
        q = filters["q"]
        rows = rows.filter(
            Q(unit__name__icontains=q)
            | Q(unit__code__icontains=q)
            | Q(employee__name__icontains=q)
            | Q(employee__employee_no__icontains=q)
        )
    column = TARGET_SORTS[sort.lstrip("-")]
    rows = rows.order_by(f"-{column}" if sort.startswith("-") else column, "pk")
    page_obj = Paginator(rows, TARGETS_PER_PAGE).get_page(request.GET.get("page"))
    if may_manage and set_form is None:
        set_form = TargetForm(initial={"period": period, "level": "unit"}, metrics=metric_options())
    periods = sorted(
        set(_scoped(Target.objects.all(), request.user).values_list("period", flat=True).distinct()),
        reverse=True,
    )[:12]
    ctx = {
        "tab": "targets",
        "form": form,
        "period": period,
        "periods": periods,
        "metric": filters.get("metric") or "",
        "metrics": metric_options(),
        "sort": sort,
        "page_obj": page_obj,
        "rows": [
            {"target": t, "badge": SOURCE_BADGES.get(t.source, "badge-gray"), "value": number(t.value)}
            for t in page_obj
        ],
        "filtered": bool(filters.get("metric") or filters.get("q")),
        "set_form": set_form,
    }
    return render_page(
        request, "metrics/targets.html", "metrics/partials/def_target_table.html", ctx, status=status
    )


def _template_file() -> HttpResponse:
    """A CSV to fill in: the headers and two example rows with the tenant's own codes."""
    team = (
        OrgUnit.objects.filter(kind="team").order_by("path").first()
        or OrgUnit.objects.order_by("path").first()
    )
    agent = Employee.objects.filter(employment_type="agent").order_by("employee_no").first()
    header = [FIELD_HEADERS[key] for key in ("period", "metric", "unit", "employee", "value")]
    rows = [
        [_this_month(), "new_business_premium", team.code if team else "SH-S1", "", "400000"],
        [_this_month(), "new_business_premium", "", agent.employee_no if agent else "A000123", "30000"],
    ]
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="targets-template.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _read_and_import(request: HttpRequest, upload: Any, default_period: str) -> Any:
    """Store the upload in the tenant's private directory, read it, import it, delete it."""
    suffix = Path(upload.name).suffix.lower()
    handle, name = tempfile.mkstemp(suffix=suffix, dir=upload_dir(request.user.tenant))
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        rows = read_targets(path, file_name=upload.name, default_period=default_period)
        return do_import_targets(rows, file_name=upload.name, actor=current_actor())
    finally:
        path.unlink(missing_ok=True)


@page("targets.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def targets_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" and request.GET.get("download") == "template":
        return _template_file()
    errors: list[dict[str, Any]] = []
    error_total = 0
    file_name = ""
    status = 200
    if request.method == "POST":
        form = TargetImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            file_name = upload.name
            try:
                result = _read_and_import(request, upload, form.cleaned_data["period"])
            except TargetImportRejected as exc:
                error_total = len(exc.errors)
                errors = [
                    {
                        "file": e.file,
                        "row": e.row,
                        "field": FIELD_HEADERS.get(e.field, e.field),
                        "value": e.value,
                        "reason": str(REASONS.get(e.reason, e.reason))
                        % {"detail": e.detail, "field": FIELD_HEADERS.get(e.field, e.field)},
                    }
                    for e in exc.errors[:ERRORS_SHOWN]
                ]
            else:
                messages.success(
                    request,
                    _("%(rows)s targets imported from %(file)s: %(created)s new, %(updated)s replaced.")
                    % {
                        "rows": result.rows,
                        "file": file_name,
                        "created": result.created,
                        "updated": result.updated,
                    },
                )
                return redirect(f"{reverse('metrics:targets')}?period={result.periods[0]}")
    else:
        form = TargetImportForm(initial={"period": _this_month()})
    ctx = {
        "tab": "targets",
        "form": form,
        "errors": errors,
        "error_total": error_total,
        "file_name": file_name,
        "headers": FIELD_HEADERS,
        "max_rows": MAX_ROWS,
    }
    return render(request, "metrics/targets_import.html", ctx, status=status)
