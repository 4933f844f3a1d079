"""Results pages: calculation runs, a run's report, scorecards of units and employees, the explanation of every
number, and an employee's own scorecard.

Every figure comes from the run's stored frames (``values``, ``results``, ``totals``) and its snapshot of the
definitions and template versions it used, never from today's definitions: a page shows the run as it was
computed. Scores are always narrowed to the reader's data scope (``scope_frame`` / ``visible_subjects``); a
subject outside it answers 404, like a missing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import polars as pl
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from perflink.accounts.access import can, scope_employees, scope_units
from perflink.core.context import current_actor
from perflink.core.errors import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from perflink.core.htmx import is_partial, render_page
from perflink.engine.periods import Period, PeriodError, add_months
from perflink.metrics.actions import do_calculate, do_publish_run
from perflink.metrics.api import scope_frame, visible_subjects
from perflink.metrics.calc import MAX_CHANGES_KEPT
from perflink.metrics.catalogue import sources
from perflink.metrics.choices import RunStatus, SubjectLevel
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import get_run, latest_run, run_frame, runs_for
from perflink.metrics.views.result_rows import (
    COVERAGE_BADGES,
    COVERAGE_LABELS,
    FrameRows,
    changed_records,
    explanation_context,
    fmt_number,
    latest_numbers,
    metric_labels,
    metric_name,
    open_line,
    overview,
    period_runs,
    run_badges,
    scorecard_cards,
    templates_applied,
    with_labels,
)
from perflink.org.models import Employee, OrgUnit
from perflink.web.decorators import page

RUNS_PER_PAGE = 25
SCORES_PER_PAGE = 25
MEMBERS_SHOWN = 200  # employees listed on a unit's scorecard
MY_PERIODS = 24  # periods searched for an employee's own scorecard
SLOT = re.compile(r"^[A-Za-z0-9_-]{1,120}$")
PERIOD_HELP = _("Enter a month (2026-03), a quarter (2026-Q1) or a year (2026).")


# --- forms -------------------------------------------------------------------------------------------------------


class RunFilterForm(forms.Form):
    period = forms.CharField(label=_("Period"), required=False, max_length=10)

    def clean_period(self) -> str:
        value = self.cleaned_data["period"].strip()
        try:
            return Period.parse(value).label if value else ""
        except PeriodError:
            raise forms.ValidationError(PERIOD_HELP) from None


class CalculateForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=10)

    def clean_period(self) -> str:
        try:
            return Period.parse(self.cleaned_data["period"]).label
        except PeriodError:
            raise forms.ValidationError(PERIOD_HELP) from None


SCORE_SORTS = ("score", "name")


class ScoreFilterForm(forms.Form):
    template = forms.ChoiceField(label=_("Template"), required=False)
    level = forms.ChoiceField(
        label=_("Scored subjects"), required=False, choices=[("", _("All")), *SubjectLevel.choices]
    )
    coverage = forms.ChoiceField(
        label=_("Coverage"), required=False, choices=[("", _("All")), *COVERAGE_LABELS.items()]
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=60)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for key in SCORE_SORTS for s in (key, f"-{key}")]
    )

    def __init__(self, *args: Any, templates: dict[str, dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", _("All"))] + [
            (code, meta.get("name", code)) for code, meta in templates.items()
        ]

    def cleaned_filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {k: (data.get(k) or "").strip() for k in ("template", "level", "coverage", "q", "sort")}


class LineForm(forms.Form):
    """Which scorecard line to explain: the subject, the metric, and the table row it opens under."""

    level = forms.ChoiceField(choices=SubjectLevel.choices)
    subject_id = forms.IntegerField(min_value=1)
    # A metric, or its matured cohort (``<code>@cohort``).
    metric = forms.RegexField(regex=r"^[-a-zA-Z0-9_]+(@cohort)?$", max_length=70)
    slot = forms.RegexField(regex=SLOT, required=False)


# --- shared reads ------------------------------------------------------------------------------------------------


def last_month() -> str:
    today = timezone.localdate()
    return Period.parse(add_months(today.replace(day=1), -1).strftime("%Y-%m")).label


def may_see(principal: Any) -> Callable[[str, int], bool]:
    """Whether the principal may see a subject's scores and records (their data scope)."""
    unit_ids, employee_ids = visible_subjects(principal)

    def check(level: str, subject_id: int) -> bool:
        allowed = unit_ids if level == "unit" else employee_ids
        return allowed is None or subject_id in allowed

    return check


def visible_unit(principal: Any, unit_id: int) -> OrgUnit:
    unit = scope_units(principal, OrgUnit.objects.filter(pk=unit_id)).first()
    if unit is None:
        raise NotFound("unit not found")
    return unit


def visible_employee(principal: Any, employee_id: int) -> Employee:
    employee = (
        scope_employees(principal, Employee.objects.filter(pk=employee_id)).select_related("unit").first()
    )
    if employee is None:
        raise NotFound("employee not found")
    return employee


# --- runs ----------------------------------------------------------------------------------------------------------


def _calc_refusal(exc: ValidationFailed) -> str:
    if exc.message.startswith("no metrics"):
        return gettext("No metrics are defined yet: install the metric library or add a metric first.")
    return exc.message


def _run_row(run: CalcRun, latest: dict[str, int]) -> dict[str, Any]:
    summary = run.summary or {}
    return {
        "run": run,
        "badges": run_badges(run, latest.get(run.period)),
        "subjects": summary.get("subjects"),
        "records": summary.get("records_total"),
        "seconds": fmt_number(summary.get("timings", {}).get("total_s"), 2),
    }


@page("calc.view")
def runs(request: HttpRequest) -> HttpResponse:
    """The history of calculation runs, and (for calc.run) the form that calculates a period."""
    may_run = can(request.user, "calc.run")
    calc_form = CalculateForm(initial={"period": last_month()})
    status = 200
    if request.method == "POST":
        if not may_run:
            raise PermissionDeniedError("calc.run")
        calc_form = CalculateForm(request.POST)
        if calc_form.is_valid():
            try:
                run = do_calculate(calc_form.cleaned_data["period"], actor=current_actor())
            except ValidationFailed as exc:
                calc_form.add_error("period", _calc_refusal(exc))
            else:
                messages.success(
                    request,
                    gettext("%(period)s calculated: run #%(n)s, %(subjects)s subjects scored in %(s)s s.")
                    % {
                        "period": run.period,
                        "n": run.number,
                        "subjects": run.summary.get("subjects", 0),
                        "s": fmt_number(run.summary.get("timings", {}).get("total_s")),
                    },
                )
                return redirect("metrics:run_detail", run_id=run.pk)
        status = 422
    periods = sorted(set(CalcRun.objects.values_list("period", flat=True)), reverse=True)
    form = RunFilterForm(request.GET or None)
    period = (form.cleaned_data.get("period") or "") if form.is_valid() else ""
    page_obj = Paginator(runs_for(period or None), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    latest = latest_numbers()
    ctx = {
        "form": form,
        "periods": periods,
        "period": period,
        "filtered": bool(period),
        "page_obj": page_obj,
        "rows": [_run_row(run, latest) for run in page_obj],
        "calc_form": calc_form,
        "may_run": may_run,
    }
    return render_page(
        request, "metrics/runs.html", "metrics/partials/res_run_table.html", ctx, status=status
    )


@page("calc.view")
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run(run_id)
    summary = run.summary or {}
    newest = latest_run(run.period)
    newer = newest if newest is not None and newest.number > run.number else None
    done = run.status == RunStatus.DONE
    templates = templates_applied(run)
    labels = {kind: source.label for kind, source in sources().items()}
    records = [
        (labels.get(kind, kind), n) for kind, n in summary.get("records", {}).items() if "." not in kind and n
    ]
    missing_years = summary.get("missing_calendar_years", {})
    metrics = metric_labels(missing_years)
    timings = summary.get("timings", {})
    changed = summary.get("changed_records", [])
    whole_tenant = visible_subjects(request.user)[0] is None
    ctx = {
        "run": run,
        "summary": summary,
        "badges": run_badges(run, newest.number if newest else None),
        "newer": newer,
        "stale": run.published_at is not None and run.stale_since is not None,
        "may_publish": can(request.user, "calc.publish") and done and newer is None and not run.published_at,
        "templates": templates,
        "records": sorted(records, key=lambda item: -item[1]),
        "missing_years": [(metric_name(code, metrics), years) for code, years in missing_years.items()],
        "timings": [
            (label, fmt_number(timings.get(key), 3))
            for key, label in (
                ("load_s", _("Load records")),
                ("compute_s", _("Compute")),
                ("persist_s", _("Store")),
                ("total_s", _("Total")),
            )
            if key in timings
        ],
        "stats": [
            (_("Subjects scored"), summary.get("subjects", 0)),
            (_("Scorecard lines"), summary.get("results", 0)),
            (_("Records read"), summary.get("records_total", 0)),
            (_("Provisional lines"), summary.get("provisional", 0)),
        ],
        "has_previous": "previous_run" in summary,
        "previous": run.previous,
        "results_changed": summary.get("results_changed", 0),
        "subjects_changed": summary.get("subjects_changed", 0),
        # The changed records name records of the whole tenant: listed only to readers of the whole tenant.
        "changed": changed_records(run, changed) if changed and whole_tenant else [],
        "changed_hidden": bool(changed) and not whole_tenant,
        "changed_total": len(changed),
        "changed_capped": len(changed) >= MAX_CHANGES_KEPT,
        "overview": overview(run, request.user, templates) if done else [],
    }
    return render(request, "metrics/run_detail.html", ctx)


@page("calc.publish")
@require_POST
def run_publish(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run(run_id)
    try:
        do_publish_run(run, actor=current_actor())
    except Conflict as exc:
        run.refresh_from_db()
        newest = latest_run(run.period)
        params = {"n": run.number, "period": run.period}
        if run.published_at is not None:
            refusal = gettext("Run #%(n)s of %(period)s is already published.") % params
        elif newest is not None and newest.number > run.number:
            refusal = (
                gettext(
                    "Run #%(n)s cannot be published: a newer run of %(period)s exists. "
                    "Publish that one, or recalculate."
                )
                % params
            )
        elif run.status != RunStatus.DONE:
            refusal = gettext("Run #%(n)s did not finish and cannot be published.") % params
        else:
            refusal = exc.message
        messages.error(request, refusal)
    else:
        messages.success(
            request,
            gettext(
                "Run #%(n)s of %(period)s is published: employees now see these results as their scorecard."
            )
            % {"n": run.number, "period": run.period},
        )
    return redirect("metrics:run_detail", run_id=run.pk)


# --- scorecards ----------------------------------------------------------------------------------------------------


@page("calc.view")
def scorecards(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's totals the reader may see, filtered, sorted and paged."""
    run = get_run(run_id)
    templates = run.rules.get("templates", {})
    form = ScoreFilterForm(request.GET or None, templates=templates)
    filters = form.cleaned_filters()
    sort = filters.pop("sort") or "-score"
    totals = with_labels(scope_frame(run_frame(run, "totals"), request.user))
    if filters["template"]:
        totals = totals.filter(pl.col("template") == filters["template"])
    if filters["level"]:
        totals = totals.filter(pl.col("level") == filters["level"])
    if filters["coverage"]:
        totals = totals.filter(pl.col("coverage") == filters["coverage"])
    if filters["q"]:
        needle = filters["q"].lower()
        totals = totals.filter(
            pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("code").str.to_lowercase().str.contains(needle, literal=True)
        )
    descending = sort.startswith("-")
    if sort.lstrip("-") == "name":
        totals = totals.sort(["name", "subject_id"], descending=[descending, False])
    else:
        totals = totals.sort(["score", "name"], descending=[descending, False], nulls_last=True)
    page_obj = Paginator(FrameRows(totals), SCORES_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for row in page_obj.object_list:
        meta = templates.get(row["template"], {})
        rows.append(
            {
                **row,
                "template_name": meta.get("name", row["template"]),
                "template_version": meta.get("version"),
                "score_text": fmt_number(row["score"]),
                "weight_text": fmt_number(row["weight_scored"]),
                "coverage_label": COVERAGE_LABELS.get(row["coverage"], row["coverage"]),
                "coverage_badge": COVERAGE_BADGES.get(row["coverage"], "badge-gray"),
            }
        )
    ctx = {
        "run": run,
        "form": form,
        "page_obj": page_obj,
        "rows": rows,
        "sort": sort,
        "filtered": any(filters.values()),
        "templates": [(code, meta.get("name", code)) for code, meta in templates.items()],
        "levels": SubjectLevel.choices,
        "coverages": list(COVERAGE_LABELS.items()),
    }
    return render_page(request, "metrics/scorecards.html", "metrics/partials/res_score_table.html", ctx)


def period_links(current: CalcRun, url_for: Callable[[int], str]) -> list[dict[str, Any]]:
    return [
        {"period": period, "url": url_for(run_id), "current": period == current.period}
        for period, run_id in period_runs().items()
    ]


def _staff_explain_url(run: CalcRun, level: str, subject_id: int) -> Callable[[str, str], str]:
    base = reverse("metrics:explain", kwargs={"run_id": run.pk})

    def url(metric: str, slot: str) -> str:
        query = urlencode({"level": level, "subject_id": subject_id, "metric": metric, "slot": slot})
        return f"{base}?{query}"

    return url


def _scorecard_page(
    request: HttpRequest,
    run: CalcRun,
    *,
    unit: OrgUnit | None = None,
    employee: Employee | None = None,
    open_metric: str = "",
) -> HttpResponse:
    level = "unit" if unit is not None else "employee"
    subject: Any = unit if unit is not None else employee
    assert subject is not None
    cards = scorecard_cards(run, level, subject.pk, explain_url=_staff_explain_url(run, level, subject.pk))
    if open_metric:
        explanation = explanation_context(run, level, subject.pk, open_metric, may_see=may_see(request.user))
        open_line(cards, open_metric, explanation)
    view = "metrics:unit_scorecard" if unit is not None else "metrics:employee_scorecard"
    kwarg = "unit_id" if unit is not None else "employee_id"
    ctx: dict[str, Any] = {
        "run": run,
        "level": level,
        "unit": unit,
        "employee": employee,
        "subject": subject,
        "cards": cards,
        "periods": period_links(
            run, lambda run_id: reverse(view, kwargs={"run_id": run_id, kwarg: subject.pk})
        ),
    }
    principal = request.user
    if unit is not None:
        ancestor_ids = [int(pk) for pk in unit.path.strip("/").split("/")[:-1] if pk]
        ancestors = {u.pk: u for u in scope_units(principal, OrgUnit.objects.filter(pk__in=ancestor_ids))}
        ctx["ancestors"] = [ancestors[pk] for pk in ancestor_ids if pk in ancestors]
        ctx["children"], ctx["members"], ctx["members_more"] = _unit_members(run, principal, unit)
    elif employee is not None:
        ctx["unit_visible"] = scope_units(principal, OrgUnit.objects.filter(pk=employee.unit_id)).exists()
    return render(request, "metrics/scorecard.html", ctx)


def _unit_members(
    run: CalcRun, principal: Any, unit: OrgUnit
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The unit's child units (scored or not) and the employees directly in it who were scored."""
    totals = scope_frame(run_frame(run, "totals"), principal)
    templates = run.rules.get("templates", {})
    children = list(
        scope_units(principal, OrgUnit.objects.filter(parent=unit)).order_by("sort_order", "code")
    )
    unit_totals: dict[int, list[dict[str, Any]]] = {}
    for row in totals.filter(
        (pl.col("level") == "unit") & pl.col("subject_id").is_in([c.pk for c in children])
    ).iter_rows(named=True):
        unit_totals.setdefault(row["subject_id"], []).append(row)
    people = {
        e.pk: e
        for e in scope_employees(principal, Employee.objects.filter(unit=unit)).only("name", "employee_no")
    }
    scored = totals.filter((pl.col("level") == "employee") & pl.col("subject_id").is_in(list(people))).sort(
        ["score", "subject_id"], descending=[True, False], nulls_last=True
    )

    def score(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "template": templates.get(row["template"], {}).get("name", row["template"]),
            "score": fmt_number(row["score"]),
            "coverage_label": COVERAGE_LABELS.get(row["coverage"], row["coverage"]),
            "coverage_badge": COVERAGE_BADGES.get(row["coverage"], "badge-gray"),
            "provisional": bool(row["provisional"]),
        }

    child_rows = [{"unit": c, "scores": [score(r) for r in unit_totals.get(c.pk, [])]} for c in children]
    member_rows = [
        {"employee": people[row["subject_id"]], **score(row)}
        for row in scored.head(MEMBERS_SHOWN).iter_rows(named=True)
    ]
    return child_rows, member_rows, max(scored.height - MEMBERS_SHOWN, 0)


@page("calc.view")
def unit_scorecard(request: HttpRequest, run_id: int, unit_id: int) -> HttpResponse:
    run = get_run(run_id)
    return _scorecard_page(request, run, unit=visible_unit(request.user, unit_id))


@page("calc.view")
def employee_scorecard(request: HttpRequest, run_id: int, employee_id: int) -> HttpResponse:
    run = get_run(run_id)
    return _scorecard_page(request, run, employee=visible_employee(request.user, employee_id))


@page("calc.view")
def explain_line(request: HttpRequest, run_id: int) -> HttpResponse:
    """One scorecard line explained: the htmx fragment under the line, or the scorecard with the line opened."""
    run = get_run(run_id)
    if not any(request.GET.get(name) for name in ("level", "subject_id", "metric")):
        return render(request, "metrics/scorecard.html", {"run": run, "subject": None, "cards": []})
    form = LineForm(request.GET)
    if not form.is_valid():
        raise NotFound("no such line")
    level, subject_id, metric = (form.cleaned_data[k] for k in ("level", "subject_id", "metric"))
    visible = may_see(request.user)
    if not visible(level, subject_id):
        raise NotFound("subject not found")
    if is_partial(request):
        ctx = {
            "x": explanation_context(run, level, subject_id, metric, may_see=visible),
            "slot": form.cleaned_data["slot"] or metric,
        }
        return render(request, "metrics/partials/res_explain_row.html", ctx)
    if level == "unit":
        return _scorecard_page(request, run, unit=visible_unit(request.user, subject_id), open_metric=metric)
    return _scorecard_page(
        request, run, employee=visible_employee(request.user, subject_id), open_metric=metric
    )


# --- self-service ------------------------------------------------------------------------------------------------


def _contains(run: CalcRun, employee_id: int) -> bool:
    try:
        totals = run_frame(run, "totals")
    except NotFound:
        return False
    return not totals.filter(
        (pl.col("level") == "employee") & (pl.col("subject_id") == employee_id)
    ).is_empty()


def my_runs() -> dict[str, CalcRun]:
    """Per period (newest first): its published run, or else its latest run."""
    chosen: dict[str, CalcRun] = {}
    for run in (
        CalcRun.objects.filter(status=RunStatus.DONE).defer("rules", "summary").order_by("-period", "-number")
    ):
        current = chosen.get(run.period)
        if current is None or (run.published_at and not current.published_at):
            chosen[run.period] = run
    return dict(list(chosen.items())[:MY_PERIODS])


def my_run(employee: Employee, candidates: dict[str, CalcRun]) -> CalcRun | None:
    """The latest published run containing the employee; else the latest run containing them."""
    published = [r for r in candidates.values() if r.published_at]
    for run in published:
        if _contains(run, employee.pk):
            return run
    for period in candidates:
        run = latest_run(period)
        if run is not None and not run.published_at and _contains(run, employee.pk):
            return run
    return None


@page("self.view")
def my_scorecard(request: HttpRequest) -> HttpResponse:
    """The logged-in employee's scorecard: the latest published run, else the latest run with a note."""
    user: Any = request.user
    employee = (
        Employee.objects.filter(pk=user.employee_id).select_related("unit").first()
        if user.employee_id
        else None
    )
    ctx: dict[str, Any] = {"employee": employee, "run": None, "cards": []}
    if employee is None:
        return render(request, "metrics/my_scorecard.html", ctx)
    candidates = my_runs()
    requested = request.GET.get("run", "")
    run = None
    if requested.isdigit():
        run = CalcRun.objects.filter(pk=int(requested), status=RunStatus.DONE).first()
        if run is None:
            raise NotFound("calculation run not found")
    else:
        run = my_run(employee, candidates)
    if run is None:
        return render(request, "metrics/my_scorecard.html", ctx)
    base = reverse("metrics:my_scorecard")

    def explain_url(metric: str, slot: str) -> str:
        return f"{base}?{urlencode({'run': run.pk, 'metric': metric, 'slot': slot})}"

    explanation = None
    if request.GET.get("metric"):
        line = LineForm({**request.GET.dict(), "level": "employee", "subject_id": employee.pk})
        if not line.is_valid():
            raise NotFound("no such line")
        metric = line.cleaned_data["metric"]
        # An employee sees their own records; a value read from their unit comes without the unit's records.
        explanation = explanation_context(
            run, "employee", employee.pk, metric, may_see=lambda level, subject_id: False
        )
        if is_partial(request):
            ctx = {"x": explanation, "slot": line.cleaned_data["slot"] or metric}
            return render(request, "metrics/partials/res_explain_row.html", ctx)
    cards = scorecard_cards(run, "employee", employee.pk, explain_url=explain_url)
    if explanation is not None:
        open_line(cards, explanation["metric"], explanation)
    newest = latest_run(run.period)
    ctx |= {
        "run": run,
        "cards": cards,
        "published": run.published_at is not None,
        "newer_unpublished": newest is not None and newest.number > run.number,
        "periods": [
            {
                "period": period,
                "url": f"{base}?run={r.pk}",
                "current": r.pk == run.pk,
                "published": bool(r.published_at),
            }
            for period, r in candidates.items()
        ],
    }
    return render(request, "metrics/my_scorecard.html", ctx)
