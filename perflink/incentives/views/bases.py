"""Per-person bonus bases (人员基数) of a plan: the list (search, the bases in force for a period, paging), who of
the plan's people has none, importing a CSV or XLSX file (every row checked; all written or none) and a template
to fill in.

``plans.view`` reads the page; ``plans.manage`` imports and downloads the template (it lists the people and their
current bases, which is pay data).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import ACTIONS, can
from perflink.core.context import current_actor
from perflink.core.errors import NotFound
from perflink.core.exports import csv_bytes
from perflink.core.htmx import render_page
from perflink.engine.incentives import parse_plan
from perflink.engine.incentives.plan import FixedBase
from perflink.engine.periods import Period, PeriodError
from perflink.incentives.actions import BasesImported, do_import_plan_bases
from perflink.incentives.bases import (
    FIELD_HEADERS,
    MAX_ROWS,
    BasesRejected,
    bases_in_force,
    bases_listed,
    plan_start,
    population,
    read_bases,
)
from perflink.incentives.models import IncentivePlan
from perflink.incentives.views.bonus import yuan
from perflink.ingest.views.uploads import upload_dir
from perflink.web.decorators import page

BASES_PER_PAGE = 50
ERRORS_SHOWN = 500
MISSING_SHOWN = 20
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
# What each problem of an imported row means (perflink.incentives.bases reason codes).
REASONS: dict[str, Any] = {
    "file": gettext_lazy("The file cannot be read: %(detail)s"),
    "empty": gettext_lazy("The file has no rows under its header."),
    "too_many_rows": gettext_lazy("The file has more than %(detail)s rows; split it into parts."),
    "missing_column": gettext_lazy("No column for this field: name a header “%(field)s”."),
    "required": gettext_lazy("Empty; a value is required."),
    "unknown_employee": gettext_lazy("No employee has this number."),
    "not_a_number": gettext_lazy("Not a number."),
    "negative": gettext_lazy("A base cannot be negative; 0 pays nothing."),
    "not_money": gettext_lazy("Use an amount in yuan to the fen (two decimals at most), below 10¹⁶."),
    "bad_date": gettext_lazy("Not a date: write YYYY-MM-DD, e.g. 2026-01-01."),
    "too_long": gettext_lazy("At most %(detail)s characters."),
    "duplicate": gettext_lazy("The same person and date appear already in row %(detail)s."),
}


class BasesImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        error_messages={
            "required": gettext_lazy("Choose a .csv or .xlsx file to upload."),
            "empty": gettext_lazy("The file is empty. Check that you picked the right file."),
        },
    )
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(
                _(
                    "Only .csv and .xlsx files can be imported. In Excel, use “Save as” to save the sheet in one of them."
                )
            )
        return upload


def _plan(plan_id: int) -> IncentivePlan:
    plan = IncentivePlan.objects.select_related("unit").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


def _period(text: str) -> Period | None:
    try:
        return Period.parse(text.strip()) if text.strip() else None
    except PeriodError:
        return None


def _template_file(plan: IncentivePlan) -> HttpResponse:
    """A CSV to fill in: the plan's people today, with the base each has in force (empty where none)."""
    today = timezone.localdate()
    people = list(population(plan, today).select_related("unit").order_by("employee_no")[:MAX_ROWS])
    current = {
        row["person_id"]: row["base"]
        for row in bases_in_force(plan, today, today + dt.timedelta(days=1)).iter_rows(named=True)
    }
    header = [
        FIELD_HEADERS["employee"],
        "姓名",
        "部门",
        FIELD_HEADERS["base"],
        FIELD_HEADERS["valid_from"],
        "备注",
    ]
    rows = [[p.employee_no, p.name, p.unit.name, current.get(p.pk, ""), "", ""] for p in people]
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bases-{plan.code}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _read_and_import(
    request: HttpRequest, plan: IncentivePlan, upload: Any, valid_from: Any
) -> BasesImported:
    """Store the upload in the tenant's private directory, read it, import it, delete it."""
    handle, name = tempfile.mkstemp(
        suffix=Path(upload.name).suffix.lower(), dir=upload_dir(request.user.tenant)
    )
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        rows = read_bases(path, file_name=upload.name)
        return do_import_plan_bases(
            plan, rows, file_name=upload.name, default_from=valid_from, actor=current_actor()
        )
    finally:
        path.unlink(missing_ok=True)


def _errors(exc: BasesRejected) -> list[dict[str, Any]]:
    return [
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


@page("plans.view")
@require_http_methods(["GET", "HEAD", "POST"])
def plan_bases(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(plan_id)
    may_manage = can(request.user, "plans.manage")
    if request.method != "POST" and request.GET.get("download") == "template":
        if not may_manage:
            return render(request, "web/403.html", {"action": ACTIONS["plans.manage"]}, status=403)
        return _template_file(plan)
    form = BasesImportForm()
    errors: list[dict[str, Any]] = []
    error_total, file_name, status = 0, "", 200
    if request.method == "POST":
        if not may_manage:
            return render(request, "web/403.html", {"action": ACTIONS["plans.manage"]}, status=403)
        form, status = BasesImportForm(request.POST, request.FILES), 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            file_name = upload.name
            try:
                result = _read_and_import(request, plan, upload, form.cleaned_data["valid_from"])
            except BasesRejected as exc:
                error_total, errors = len(exc.errors), _errors(exc)
            else:
                messages.success(
                    request,
                    _("%(rows)s bases imported from %(file)s: %(created)s new, %(updated)s replaced.")
                    % {
                        "rows": result.rows,
                        "file": file_name,
                        "created": result.created,
                        "updated": result.updated,
                    },
                )
                return redirect("incentives:plan_bases", plan_id=plan.pk)

    q = request.GET.get("q", "").strip()[:60]
    period_text = request.GET.get("period", "").strip()[:10]
    period = _period(period_text)
    bases = bases_listed(plan, period=period, q=q)
    page_obj = Paginator(bases, BASES_PER_PAGE).get_page(request.GET.get("page"))
    on = period.start if period else timezone.localdate()
    have = set(bases_in_force(plan, on, on + dt.timedelta(days=1)).get_column("person_id").to_list())
    without = population(plan, on).exclude(pk__in=have).select_related("unit").order_by("employee_no")
    version = plan.versions.order_by("-valid_from", "-number").first()
    ctx = {
        "plan": plan,
        "per_person": version is not None and not isinstance(parse_plan(version.definition).base, FixedBase),
        "page_obj": page_obj,
        "rows": [{"base": base, "amount": yuan(base.amount)} for base in page_obj],
        "q": q,
        "period": period.label if period else "",
        "period_invalid": bool(period_text) and period is None,
        "filtered": bool(q or period),
        "on": on,
        "missing": list(without[:MISSING_SHOWN]),
        "missing_total": without.count(),
        "may_manage": may_manage,
        "form": form,
        "errors": errors,
        "error_total": error_total,
        "file_name": file_name,
        "headers": FIELD_HEADERS,
        "max_rows": MAX_ROWS,
        "plan_start": plan_start(plan),
        "template_url": f"{reverse('incentives:plan_bases', kwargs={'plan_id': plan.pk})}?download=template",
    }
    return render_page(
        request, "incentives/plan_bases.html", "incentives/partials/plan_bases_table.html", ctx, status=status
    )
