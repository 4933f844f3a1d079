"""Definition pages: the metric library and editor (with live checking and a preview on real data), seasons,
the working-day calendar, and templates with their versions.

Everyone with ``metrics.view`` reads them; the forms on them write through the actions and need
``metrics.manage``. Each view parses input, calls actions or selectors and renders; one view serves a page and
its htmx fragment.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, Q, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from perflink.accounts.access import ACTIONS, can
from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.htmx import render_page
from perflink.engine import formula as formulas
from perflink.engine.calendar import WorkCalendar, chinese_calendar_years, overrides_from_notice
from perflink.engine.metrics import MetricError, parse_metric
from perflink.engine.periods import Period, PeriodError
from perflink.metrics import library as product_library
from perflink.metrics.actions import (
    check_definition,
    do_save_metric,
    do_save_season,
    do_save_template_version,
    do_set_calendar_days,
)
from perflink.metrics.catalogue import catalogue
from perflink.metrics.choices import Domain, Scope, SubjectLevel
from perflink.metrics.forms import (
    LIBRARY_SORTS,
    CalendarForm,
    LibraryFilterForm,
    MetricForm,
    SeasonForm,
    VersionForm,
    items_from_post,
    parse_json_object,
)
from perflink.metrics.models import CalcRun, CalendarDay, CalendarYear, MetricDefinition, Season, Template
from perflink.metrics.preview import preview_metric
from perflink.metrics.selectors import version_in_force
from perflink.metrics.views import wording
from perflink.org.choices import Category, EmploymentType
from perflink.web.decorators import page

METRICS_PER_PAGE = 25
PREVIEW_TOP = 20
CALENDAR_YEARS = range(2024, 2028)
DOMAIN_BADGES = {
    Domain.SALES: "badge-blue",
    Domain.CLAIMS: "badge-teal",
    Domain.HR: "badge-violet",
    Domain.FINANCE: "badge-amber",
    Domain.IT: "badge-gray",
    Domain.GENERAL: "badge-outline",
}
DOMAIN_TONES = {
    Domain.SALES: "tone-blue",
    Domain.CLAIMS: "tone-teal",
    Domain.HR: "tone-violet",
    Domain.FINANCE: "tone-amber",
    Domain.IT: "tone-gray",
    Domain.GENERAL: "tone-gray",
}
MONTHS = range(1, 13)
SCOPE_LABELS = dict(Scope.choices)
METRIC_FORM_FIELDS = ("name", "name_en", "domain", "description", "description_en", "definition")


# --- small helpers ----------------------------------------------------------------------------------------------


def forbidden(request: HttpRequest, action: str) -> HttpResponse:
    """The 403 page, for a form on a page that the user may read but not change."""
    return render(request, "web/403.html", {"action": ACTIONS[action]}, status=403)


def _year(raw: str | None, default: int) -> int:
    try:
        year = int(raw or default)
    except ValueError:
        return default
    return year if 2000 <= year <= 2100 else default


def _month_labels() -> list[str]:
    """Jan … Dec (一月 … 十二月) in the current language."""
    return [capfirst(str(MONTHS_3[month])) for month in MONTHS]


def _month_periods(year: int) -> list[Period]:
    return [Period.parse(f"{year}-{month:02d}") for month in MONTHS]


def _show(value: float | None) -> str:
    """A metric value as people read it: thousands separated, at most two decimals."""
    if value is None:
        return "—"
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _error_field(exc: ValidationFailed, fields: tuple[str, ...]) -> str | None:
    """The form field an action's error belongs to (``definition.formula`` -> ``definition``)."""
    head = (exc.field or "").split(".")[0].split("[")[0]
    return head if head in fields else None


def _metric(metric_id: int) -> MetricDefinition:
    metric = MetricDefinition.objects.filter(pk=metric_id).first()
    if metric is None:
        raise NotFound("metric not found")
    return metric


def _template(template_id: int) -> Template:
    template = Template.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound("template not found")
    return template


def domain_order() -> Case:
    """Domains in the product's order (sales, claims, HR, finance, IT, general), not alphabetically."""
    return Case(*(When(domain=value, then=i) for i, value in enumerate(Domain.values)), default=99)


def metric_options() -> list[tuple[str, str]]:
    """Active metrics for a select: (code, "name (code)"), by domain."""
    rows = MetricDefinition.objects.filter(is_active=True).annotate(domain_order=domain_order())
    return [(m.code, f"{m.name} ({m.code})") for m in rows.order_by("domain_order", "code")]


def _season_names() -> dict[str, str]:
    """Season code -> name (the latest year's name)."""
    return dict(Season.objects.order_by("year").values_list("code", "name"))


def _season_tones(codes: list[str]) -> dict[str, str]:
    """A stable colour class per season code (season-0, season-1, …)."""
    return {code: f"season-{i % 6}" for i, code in enumerate(sorted(set(codes)))}


# --- the library --------------------------------------------------------------------------------------------------


@page("metrics.view")
@require_safe
def library(request: HttpRequest) -> HttpResponse:
    form = LibraryFilterForm(request.GET or None)
    filters = form.cleaned_filters()
    sort = filters.pop("sort") or "domain"
    metrics = MetricDefinition.objects.all()
    if filters["q"]:
        q = filters["q"]
        metrics = metrics.filter(
            Q(name__icontains=q)
            | Q(name_en__icontains=q)
            | Q(code__icontains=q)
            | Q(description__icontains=q)
        )
    if filters["domain"]:
        metrics = metrics.filter(domain=filters["domain"])
    if filters["type"] == "derived":
        metrics = metrics.filter(definition__has_key="formula")
    elif filters["type"] == "base":
        metrics = metrics.exclude(definition__has_key="formula")
    metrics = metrics.annotate(domain_order=domain_order())
    column = LIBRARY_SORTS[sort.lstrip("-")]
    metrics = metrics.order_by(f"-{column}" if sort.startswith("-") else column, "code")
    page_obj = Paginator(metrics, METRICS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "metric": m,
            "kind": wording.kind_of(m.definition),
            "badge": DOMAIN_BADGES.get(m.domain, "badge-gray"),
        }
        for m in page_obj
    ]
    counts = dict(
        MetricDefinition.objects.values_list("domain").annotate(n=Count("id")).values_list("domain", "n")
    )
    tiles = [
        {"domain": value, "label": label, "n": counts.get(value, 0), "tone": DOMAIN_TONES[value]}
        for value, label in Domain.choices
        if counts.get(value)
    ]
    ctx = {
        "tab": "library",
        "form": form,
        "page_obj": page_obj,
        "rows": rows,
        "sort": sort,
        "filtered": any(filters.values()),
        "domains": Domain.choices,
        "tiles": tiles,
        "total": sum(counts.values()),
    }
    return render_page(request, "metrics/library.html", "metrics/partials/def_metric_table.html", ctx)


# --- one metric: new, edit, check, preview ------------------------------------------------------------------------


def _examples() -> list[tuple[str, str]]:
    return [(m.code, f"{m.name} · {m.code}") for m in product_library.METRICS]


def _save_metric(form: MetricForm, *, is_active: bool = True) -> MetricDefinition | None:
    """Save through the action; its error goes back next to the field it names."""
    data = form.cleaned_data
    try:
        return do_save_metric(
            code=data["code"],
            name=data["name"],
            name_en=data["name_en"],
            description=data["description"],
            description_en=data["description_en"],
            domain=data["domain"],
            definition=data["definition"],
            is_active=is_active,
            actor=current_actor(),
        )
    except ValidationFailed as exc:
        form.add_error(_error_field(exc, METRIC_FORM_FIELDS), exc.message)
        return None


@page("metrics.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def metric_new(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = MetricForm(request.POST)
        if form.is_valid():
            if MetricDefinition.objects.filter(code=form.cleaned_data["code"]).exists():
                form.add_error("code", _("A metric with this code exists already: edit it on its own page."))
            elif (metric := _save_metric(form)) is not None:
                messages.success(request, _("Metric “%(name)s” created.") % {"name": metric.name})
                return redirect("metrics:metric_detail", metric_id=metric.pk)
        status = 400
    else:
        example = next((m for m in product_library.METRICS if m.code == request.GET.get("example")), None)
        initial: dict[str, Any] = {"domain": Domain.GENERAL, "definition": "{\n}"}
        if example is not None:
            initial.update(
                domain=example.domain,
                definition=json.dumps(example.definition, ensure_ascii=False, indent=2),
            )
        form = MetricForm(initial=initial)
    ctx = {
        "tab": "library",
        "form": form,
        "examples": _examples(),
        "example": request.GET.get("example", ""),
        "domains": Domain.choices,
        "is_new": True,
    }
    return render(request, "metrics/metric_form.html", ctx, status=status)


@page("metrics.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def metric_check(request: HttpRequest) -> HttpResponse:
    """Live validation of the definition textarea: ✓, or the JSON or engine message naming the faulty part."""
    data = request.POST if request.method == "POST" else request.GET
    text = data.get("definition", "")
    code = (data.get("code") or "").strip() or "new_metric"
    ctx: dict[str, Any] = {"ok": False, "message": "", "empty": not text.strip()}
    if not ctx["empty"]:
        try:
            definition = parse_json_object(text)
        except forms.ValidationError as exc:  # the JSON position
            ctx["message"] = " ".join(exc.messages)
        else:
            others = {m.code: m.definition for m in MetricDefinition.objects.filter(is_active=True)}
            others[code] = definition
            try:
                check_definition(code, definition, others=others)
            except ValidationFailed as exc:
                ctx["message"] = exc.message
            else:
                ctx["ok"] = True
                ctx["summary"] = wording.describe_metric(definition)[:3]
    return render(request, "metrics/partials/def_check.html", ctx)


def _used_by(metric: MetricDefinition) -> tuple[list[tuple[Template, list[int]]], list[MetricDefinition]]:
    """The templates whose versions score the metric (with version numbers), and derived metrics reading it."""
    templates: dict[int, tuple[Template, list[int]]] = {}
    for template in Template.objects.prefetch_related("versions").order_by("code"):
        for version in template.versions.all():
            if any(item.get("metric") == metric.code for item in version.items):
                templates.setdefault(template.pk, (template, []))[1].append(version.number)
    readers = []
    for other in MetricDefinition.objects.filter(definition__has_key="formula").exclude(pk=metric.pk):
        try:
            names = formulas.parse(str(other.definition.get("formula", ""))).names
        except formulas.FormulaError:
            continue
        if metric.code in names:
            readers.append(other)
    return [(t, sorted(v)) for t, v in templates.values()], readers


def _default_period() -> str:
    """The period of the latest run (that is where data is), else the current month."""
    run = CalcRun.objects.filter(status="done").order_by("-created_at", "-id").first()
    return run.period if run else timezone.localdate().strftime("%Y-%m")


@page("metrics.view")
@require_http_methods(["GET", "HEAD", "POST"])
def metric_detail(request: HttpRequest, metric_id: int) -> HttpResponse:
    metric = _metric(metric_id)
    may_manage = can(request.user, "metrics.manage")
    status = 200
    form: MetricForm | None = None
    if request.method == "POST":
        if not may_manage:
            return forbidden(request, "metrics.manage")
        form = MetricForm(request.POST, fixed_code=metric.code)
        if form.is_valid():
            before = metric.version
            saved = _save_metric(form, is_active=metric.is_active)
            if saved is not None:
                if saved.version != before:
                    text = _("Saved as version %(v)s. Runs from now on use it; earlier runs keep theirs.")
                    messages.success(request, text % {"v": saved.version})
                else:
                    messages.success(request, _("Saved. The definition is unchanged, so the version stays."))
                return redirect("metrics:metric_detail", metric_id=metric.pk)
        status = 400
    elif may_manage:
        form = MetricForm(
            initial={
                "name": metric.name,
                "name_en": metric.name_en,
                "description": metric.description,
                "description_en": metric.description_en,
                "domain": metric.domain,
                "definition": json.dumps(metric.definition, ensure_ascii=False, indent=2),
            },
            fixed_code=metric.code,
        )
    templates, readers = _used_by(metric)
    try:
        spec = parse_metric(metric.code, metric.definition, catalogue())
        problem = ""
    except MetricError as exc:
        spec, problem = None, str(exc)
    ctx = {
        "tab": "library",
        "metric": metric,
        "badge": DOMAIN_BADGES.get(metric.domain, "badge-gray"),
        "summary": wording.describe_metric(metric.definition),
        "kind": wording.kind_of(metric.definition),
        "problem": problem,
        "levels": [(level.value, SubjectLevel(level.value).label) for level in spec.levels] if spec else [],
        "derived": metric.is_derived,
        "form": form,
        "domains": Domain.choices,
        "templates": templates,
        "readers": readers,
        "period": _default_period(),
    }
    return render(request, "metrics/metric_detail.html", ctx, status=status)


@page("metrics.view")
@require_safe
def metric_preview(request: HttpRequest, metric_id: int) -> HttpResponse:
    """The metric computed on the period's real records, for the subjects the user may see (htmx fragment)."""
    metric = _metric(metric_id)
    label = (request.GET.get("period") or "").strip() or _default_period()
    ctx: dict[str, Any] = {"metric": metric, "period": label, "problem": ""}
    try:
        preview = preview_metric(
            metric,
            Period.parse(label),
            request.GET.get("level", ""),
            user=request.user,
            as_of=timezone.localdate(),
            top=PREVIEW_TOP,
        )
    except PeriodError:
        ctx["problem"] = _("Write the period as YYYY-MM, YYYY-Qn or YYYY, e.g. 2026-03.")
        return render(request, "metrics/partials/def_preview.html", ctx)
    except (MetricError, formulas.FormulaError) as exc:
        ctx["problem"] = str(exc)
        return render(request, "metrics/partials/def_preview.html", ctx)
    ctx.update(
        period=preview.period.label,
        level=preview.level,
        count=preview.count,
        stats=[
            (_("Smallest"), _show(preview.smallest)),
            (_("Median"), _show(preview.median)),
            (_("Largest"), _show(preview.largest)),
        ],
        top=[{**row, "value": _show(row["value"])} for row in preview.top],
        records=[(wording.kind_label(kind), n) for kind, n in preview.records.items()],
        missing_years=preview.missing_years,
        scoped=preview.scoped,
        unit=metric.unit,
        inputs=preview.inputs,
    )
    return render(request, "metrics/partials/def_preview.html", ctx)


# --- seasons -----------------------------------------------------------------------------------------------------


def _season_strip(starts_on: dt.date, ends_on: dt.date, year: int) -> list[dict[str, Any]]:
    """Twelve cells: how much of each month of ``year`` the range ``[starts_on, ends_on]`` covers."""
    cells = []
    for period in _month_periods(year):
        days = period.overlap_days(starts_on, ends_on + dt.timedelta(days=1))
        cells.append(
            {
                "month": period.start.month,
                "days": days,
                "state": "full" if days == period.days else "part" if days else "",
            }
        )
    return cells


@page("metrics.view")
@require_http_methods(["GET", "HEAD", "POST"])
def seasons(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    year = _year(request.POST.get("year") or request.GET.get("year"), today.year)
    may_manage = can(request.user, "metrics.manage")
    status = 200
    form: SeasonForm | None = None
    if request.method == "POST":
        if not may_manage:
            return forbidden(request, "metrics.manage")
        form = SeasonForm(request.POST)
        if form.is_valid():
            try:
                season = do_save_season(**form.cleaned_data, actor=current_actor())
            except ValidationFailed as exc:
                form.add_error(_error_field(exc, tuple(form.fields)), exc.message)
            else:
                messages.success(
                    request,
                    _("Season “%(name)s” of %(year)s saved.") % {"name": season.name, "year": season.year},
                )
                return redirect(f"{reverse('metrics:seasons')}?year={season.year}")
        status = 400
    elif may_manage:
        editing = Season.objects.filter(year=year, code=request.GET.get("edit", "")).first()
        initial: dict[str, Any] = {"year": year}
        if editing is not None:
            initial.update(
                code=editing.code,
                name=editing.name,
                name_en=editing.name_en,
                starts_on=editing.starts_on,
                ends_on=editing.ends_on,
            )
        form = SeasonForm(initial=initial)
    rows = list(Season.objects.filter(year=year).order_by("starts_on", "code"))
    tones = _season_tones(list(Season.objects.values_list("code", flat=True)))
    used: dict[str, set[str]] = defaultdict(set)
    for code, name in Template.objects.filter(versions__season_code__gt="").values_list(
        "versions__season_code", "name"
    ):
        used[code].add(name)
    seasons_ctx = [
        {
            "season": s,
            "tone": tones.get(s.code, "season-0"),
            "days": (s.ends_on - s.starts_on).days + 1,
            "strip": _season_strip(s.starts_on, s.ends_on, year),
            "templates": sorted(used.get(s.code, ())),
        }
        for s in rows
    ]
    years = sorted(
        set(Season.objects.values_list("year", flat=True)) | {today.year - 1, today.year, today.year + 1}
    )
    ctx = {
        "tab": "seasons",
        "year": year,
        "years": years,
        "seasons": seasons_ctx,
        "form": form,
        "months": _month_labels(),
    }
    return render(request, "metrics/seasons.html", ctx, status=status)


# --- the working-day calendar --------------------------------------------------------------------------------------


def _ranges(days: list[tuple[dt.date, str]]) -> list[str]:
    """Consecutive days of one kind as ``first,last,休|班`` lines (the form's own format)."""
    lines: list[str] = []
    run: list[Any] = []
    for day, kind in sorted(days):
        sign = "休" if kind == "off" else "班"
        if run and run[2] == sign and day == run[1] + dt.timedelta(days=1):
            run[1] = day
            continue
        if run:
            lines.append(f"{run[0]},{run[1]},{run[2]}")
        run = [day, day, sign]
    if run:
        lines.append(f"{run[0]},{run[1]},{run[2]}")
    return lines


@page("metrics.view")
@require_http_methods(["GET", "HEAD", "POST"])
def calendar(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    may_manage = can(request.user, "metrics.manage")
    status = 200
    form: CalendarForm | None = None
    if request.method == "POST":
        if not may_manage:
            return forbidden(request, "metrics.manage")
        form = CalendarForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                overrides = overrides_from_notice(data["year"], data["ranges"])
                do_set_calendar_days(
                    year=data["year"],
                    days_off=overrides.days_off,
                    working_days=overrides.working_days,
                    source=data["source"],
                    actor=current_actor(),
                )
            except (ValueError, ValidationFailed) as exc:
                form.add_error("lines", getattr(exc, "message", str(exc)))
            else:
                messages.success(
                    request,
                    _(
                        "The working-day calendar of %(year)s is entered: %(off)s days off, %(work)s make-up working days."
                    )
                    % {
                        "year": data["year"],
                        "off": len(overrides.days_off),
                        "work": len(overrides.working_days),
                    },
                )
                return redirect("metrics:calendar")
        status = 400
    entered = {row.year: row for row in CalendarYear.objects.all()}
    days_by_year: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    for day, kind in CalendarDay.objects.values_list("day", "kind"):
        days_by_year[day.year].append((day, kind))
    supported = chinese_calendar_years()
    shipped = WorkCalendar.from_chinese_calendar(
        [y for y in _calendar_years(today, entered) if y in supported]
    )
    years: list[dict[str, Any]] = []
    for year in _calendar_years(today, entered):
        own = days_by_year.get(year, [])
        if year in entered:
            state = "entered"
        elif year in supported:
            state = "library"
        else:
            state = "missing"
        years.append(
            {
                "year": year,
                "state": state,
                "entry": entered.get(year),
                "days_off": sum(1 for _day, kind in own if kind == "off"),
                "working_days": sum(1 for _day, kind in own if kind == "work"),
                "holidays": sum(1 for d in shipped.holidays if d.year == year),
                "makeup": sum(1 for d in shipped.workdays if d.year == year),
                "lines": _ranges(own),
            }
        )
    if form is None and may_manage:
        edit = _year(request.GET.get("year"), 0)
        first_missing = next((y["year"] for y in years if y["state"] == "missing"), today.year + 1)
        pick = edit or first_missing
        form = CalendarForm(initial={"year": pick, "lines": "\n".join(_ranges(days_by_year.get(pick, [])))})
    ctx = {"tab": "calendar", "years": years, "form": form}
    return render(request, "metrics/calendar.html", ctx, status=status)


def _calendar_years(today: dt.date, entered: Mapping[int, Any]) -> list[int]:
    """2024–2027, the years the tenant entered, this year and the next."""
    return sorted(set(CALENDAR_YEARS) | set(entered) | {today.year, today.year + 1})


# --- templates -----------------------------------------------------------------------------------------------------


def _level_label(level: str) -> str:
    return str(dict(SubjectLevel.choices).get(level, level))


def _applies_to(template: Template) -> str:
    parts = [
        _level_label(template.level),
        str(dict(Category.choices).get(template.category, template.category)),
    ]
    if template.employment_type:
        parts.append(
            str(dict(EmploymentType.choices).get(template.employment_type, template.employment_type))
        )
    return " · ".join(parts)


def _in_force(
    template: Template, year: int, names: Mapping[str, str], tones: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The version that applies in each month of ``year``, with why."""
    cells = []
    seasons = list(Season.objects.filter(year__in=[year - 1, year, year + 1]))
    for period in _month_periods(year):
        choice = version_in_force(template, period, seasons)
        if choice is None:
            cells.append({"month": period.start.month, "version": None, "label": "", "tone": "none"})
            continue
        version = choice.version
        if version.season_code:
            label, tone = (
                names.get(version.season_code, version.season_code),
                tones.get(version.season_code, ""),
            )
        elif version.valid_from or version.valid_to:
            label, tone = _("Dated"), "dated"
        else:
            label, tone = _("General"), "general"
        cells.append(
            {
                "month": period.start.month,
                "version": version,
                "label": label,
                "tone": tone,
                "covered": choice.covered_days,
                "days": choice.period_days,
            }
        )
    return cells


@page("metrics.view")
@require_safe
def templates(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year"), timezone.localdate().year)
    names = _season_names()
    tones = _season_tones(list(names))
    groups: dict[str, list[dict[str, Any]]] = {}
    rows = (
        Template.objects.annotate(n_versions=Count("versions"))
        .prefetch_related("versions")
        .order_by("level", "category", "code")
    )
    for template in rows:
        key = f"{_level_label(template.level)} · {dict(Category.choices).get(template.category, template.category)}"
        groups.setdefault(key, []).append(
            {
                "template": template,
                "applies_to": _applies_to(template),
                "strip": _in_force(template, year, names, tones),
            }
        )
    years = sorted({year - 1, year, year + 1, timezone.localdate().year})
    ctx = {
        "tab": "templates",
        "year": year,
        "years": years,
        "groups": list(groups.items()),
        "months": _month_labels(),
        "legend": [(names[code], tone) for code, tone in sorted(tones.items())],
    }
    return render_page(request, "metrics/templates.html", "metrics/partials/def_template_list.html", ctx)


def _item_rows(
    items: list[Mapping[str, Any]], metrics: Mapping[str, MetricDefinition]
) -> list[dict[str, Any]]:
    """A version's items as the page shows them: metric, weight, rule in words, target, scope."""
    rows = []
    for item in items:
        metric = metrics.get(str(item.get("metric")))
        rows.append(
            {
                "code": item.get("metric"),
                "metric": metric,
                "weight": wording.number(item.get("weight")),
                "rule": wording.rule_words(item.get("rule"), metric.direction if metric else None),
                "rule_json": json.dumps(item.get("rule"), ensure_ascii=False),
                "target": "" if item.get("target") in (None, "") else wording.number(item["target"]),
                "scope": item.get("scope", "self"),
                "scope_label": SCOPE_LABELS.get(item.get("scope", "self"), item.get("scope")),
                "maturity": item.get("maturity", ""),
            }
        )
    return rows


def _editor_row(
    item: Mapping[str, Any] | None = None, errors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    item = item or {}
    rule = item.get("rule")
    return {
        "metric": item.get("metric", ""),
        "weight": "" if item.get("weight") in (None, "") else wording.number(item["weight"]),
        "rule": rule if isinstance(rule, str) else json.dumps(rule or {}, ensure_ascii=False) if rule else "",
        "target": "" if item.get("target") in (None, "") else str(item["target"]),
        "scope": item.get("scope") or "self",
        "maturity": item.get("maturity") or "",
        "errors": dict(errors or {}),
    }


def _posted_rows(post: Any, errors: Mapping[tuple[int, str], str]) -> list[dict[str, Any]]:
    """The editor's rows as posted (so a refused save shows what was typed), with their errors."""
    fields = ("metric", "weight", "rule", "target", "scope", "maturity")
    columns = {name: post.getlist(f"item_{name}") for name in fields}
    rows = []
    for i in range(len(columns["metric"])):
        item = {name: (columns[name][i] if i < len(columns[name]) else "") for name in fields}
        rows.append(_editor_row(item, {f: msg for (row, f), msg in errors.items() if row == i}))
    return rows


def _season_options() -> list[tuple[str, str]]:
    return sorted(_season_names().items(), key=lambda item: item[0])


@page("metrics.view")
@require_http_methods(["GET", "HEAD", "POST"])
def template_detail(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(template_id)
    may_manage = can(request.user, "metrics.manage")
    if request.GET.get("row") == "new":  # the editor's "add a row" (htmx)
        if not may_manage:
            return forbidden(request, "metrics.manage")
        ctx = {"row": _editor_row(), "metric_options": metric_options(), "scopes": Scope.choices}
        return render(request, "metrics/partials/def_item_row.html", ctx)
    year = _year(request.GET.get("year"), timezone.localdate().year)
    status = 200
    form: VersionForm | None = None
    editor: list[dict[str, Any]] = []
    items_error = ""
    if request.method == "POST":
        if not may_manage:
            return forbidden(request, "metrics.manage")
        form = VersionForm(request.POST, seasons=_season_options())
        items, rows, errors = items_from_post(request.POST)
        if form.is_valid() and not errors:
            data = form.cleaned_data
            try:
                version = do_save_template_version(
                    template,
                    items=items,
                    season_code=data["season_code"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    note=data["note"],
                    actor=current_actor(),
                )
            except ValidationFailed as exc:
                field = exc.field or ""
                if field.startswith("items["):
                    index = int(field[6 : field.index("]")])
                    name = field.split(".", 1)[1] if "." in field else "metric"
                    message = exc.message.split(": ", 1)[-1]
                    errors[(rows[index] if index < len(rows) else 0, name)] = message
                elif field in form.fields:
                    form.add_error(field, exc.message)
                else:
                    items_error = exc.message
            else:
                messages.success(
                    request,
                    _("Version %(n)s of “%(name)s” saved.") % {"n": version.number, "name": template.name},
                )
                return redirect("metrics:template_detail", template_id=template.pk)
        editor = _posted_rows(request.POST, errors)
        status = 400
    metrics = {m.code: m for m in MetricDefinition.objects.all()}
    versions = list(template.versions.order_by("-number"))
    names = _season_names()
    tones = _season_tones(list(names))
    strip = _in_force(template, year, names, tones)
    labels = _month_labels()
    months_of: dict[int, list[int]] = defaultdict(list)
    for cell in strip:
        if cell["version"] is not None:
            months_of[cell["version"].pk].append(cell["month"])
    now = version_in_force(template, Period.parse(timezone.localdate().strftime("%Y-%m")))
    version_rows = [
        {
            "version": v,
            "season": names.get(v.season_code, v.season_code) if v.season_code else "",
            "tone": tones.get(v.season_code, "general") if v.season_code else "general",
            "items": _item_rows(v.items, metrics),
            "weight_total": wording.number(
                sum((_decimal(i.get("weight")) for i in v.items), start=Decimal(0))
            ),
            "months": [labels[month - 1] for month in months_of.get(v.pk, [])],
            "current": now is not None and now.version.pk == v.pk,
        }
        for v in versions
    ]
    if may_manage and form is None:
        base = now.version if now is not None else (versions[0] if versions else None)
        form = VersionForm(
            initial={"season_code": base.season_code if base else ""}, seasons=_season_options()
        )
        editor = [_editor_row(item) for item in (base.items if base else [])] or [_editor_row()]
    ctx = {
        "tab": "templates",
        "template": template,
        "applies_to": _applies_to(template),
        "year": year,
        "years": sorted({year - 1, year, year + 1, timezone.localdate().year}),
        "strip": strip,
        "versions": version_rows,
        "form": form,
        "editor": editor,
        "items_error": items_error,
        "metric_options": metric_options(),
        "scopes": Scope.choices,
        "months": _month_labels(),
    }
    return render_page(
        request, "metrics/template_detail.html", "metrics/partials/def_versions.html", ctx, status=status
    )


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


__all__ = [
    "calendar",
    "library",
    "metric_check",
    "metric_detail",
    "metric_new",
    "metric_preview",
    "seasons",
    "template_detail",
    "templates",
]
