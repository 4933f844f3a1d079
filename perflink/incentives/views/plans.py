"""Incentive plan pages: the list of plans, a plan's page (its population, versions and the version in force read
as sentences and tables, with what changed from the version before), and the editor that creates a plan or adds a
version to one (versions are never edited).

The editor is a structured form whose field names are the engine's paths (see :mod:`perflink.incentives.plan_form`),
with a JSON mode for what the form does not cover. ``plan_check`` validates it live (htmx) and points at the faulty
field; saving goes through ``do_save_plan``, which validates again and writes nothing when the plan is invalid.
Everyone with ``plans.view`` reads; ``plans.manage`` creates and changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from perflink.accounts.access import can
from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.htmx import is_htmx, render_page
from perflink.incentives import plan_form
from perflink.incentives.actions import check_plan, do_save_plan
from perflink.incentives.choices import BonusRunStatus
from perflink.incentives.forms import PlanFilterForm, PlanMetaForm, PlanVersionForm
from perflink.incentives.library import FINANCE_PLAN, HR_PLAN
from perflink.incentives.models import BonusRun, IncentivePlan, PlanVersion
from perflink.incentives.plan_form import Spot
from perflink.incentives.views.bonus import STATUS_BADGES, yuan
from perflink.incentives.views.plan_words import changed_keys, describe, plan_changes
from perflink.metrics.forms import parse_json_object
from perflink.metrics.models import MetricDefinition
from perflink.org.choices import Category, EmploymentType
from perflink.org.models import OrgUnit
from perflink.web.decorators import page

PLANS_PER_PAGE = 25
RECENT_RUNS = 5
INDENT = "\u3000"  # an ideographic space per level in a flat <select> of units
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code",),
    "name": ("name",),
    "versions": ("version_count",),
    "valid_from": ("current_from",),
    "last_run": ("last_run_period", "last_run_at"),
}
# Plans to start from: the product's worked examples (DOMAIN.md), ready to adopt and adjust.
EXAMPLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "finance": (
        gettext_lazy("Claims ↔ finance: payment-time multiplier once the claims cycle is met (DOMAIN.md)"),
        FINANCE_PLAN,
    ),
    "hr": (
        gettext_lazy(
            "Sales ↔ HR: 30% tied to sales' new-hire attainment, 20% to collaboration demand points (DOMAIN.md)"
        ),
        HR_PLAN,
    ),
}
VERSION_STATES = {
    "in_force": (pgettext_lazy("plan version", "In force"), "badge-green"),
    "scheduled": (pgettext_lazy("plan version", "Scheduled"), "badge-blue"),
    "superseded": (pgettext_lazy("plan version", "Superseded"), "badge-gray"),
}


# --- shared reads -------------------------------------------------------------------------------------------------


def _english() -> bool:
    return (get_language() or "").startswith("en")


def metric_units() -> dict[str, str]:
    """Each input's unit as its metric states it (天, %, 件), for a plan part that does not say its own."""
    units = {}
    for code, definition in MetricDefinition.objects.values_list("code", "definition"):
        unit = str((definition or {}).get("unit", "")) if isinstance(definition, dict) else ""
        units[f"linked:{code}"] = units[f"own:{code}"] = unit
    return units


def input_labels() -> dict[str, str]:
    """Every input a plan may read, as people say it: ``linked:claim_cycle_days`` -> ``理赔周期（联动业务部门）``
    (the English name when the page is in English and the metric has one). The same words as the statement."""
    shown = {"score": gettext("own score")}
    for code, name, name_en in MetricDefinition.objects.values_list("code", "name", "name_en"):
        metric = name_en if _english() and name_en else name
        shown[f"linked:{code}"] = gettext("%(metric)s (linked business units)") % {"metric": metric}
        shown[f"own:{code}"] = gettext("%(metric)s (own)") % {"metric": metric}
    return shown


def _input_groups(state: plan_form.State | None) -> list[dict[str, Any]]:
    """The inputs for the editor's selects, grouped: the score, the person's own metrics, linked business
    outcomes; an input the plan reads that is no active metric stays choosable, so nothing is lost."""
    metrics = list(MetricDefinition.objects.filter(is_active=True).order_by("domain", "code"))

    def name(m: MetricDefinition) -> str:
        return m.name_en if _english() and m.name_en else m.name

    groups = [
        {"label": gettext("Appraisal score"), "options": [("score", gettext("own score"), "")]},
        {
            "label": gettext("Own metrics (own:)"),
            "options": [(f"own:{m.code}", f"{name(m)} · {m.code}", m.unit) for m in metrics],
        },
        {
            "label": gettext("Linked business outcomes (linked:)"),
            "options": [(f"linked:{m.code}", f"{name(m)} · {m.code}", m.unit) for m in metrics],
        },
    ]
    known = {value for g in groups for value, _label, _unit in g["options"]}
    used: list[str] = []
    if state is not None:
        used += [c["source"] for c in state["components"]]
        for m in state["multipliers"]:
            used += [m["when"]["input"], m["then"]["input"], m["else"]["input"]]
    unknown = sorted({u.strip() for u in used if u.strip() and u.strip() not in known})
    if unknown:
        groups.append({"label": gettext("Not an active metric"), "options": [(u, u, "") for u in unknown]})
    return groups


def _plan(plan_id: int) -> IncentivePlan:
    """The plan (404 alike for missing and another tenant's: the default manager is the tenant's)."""
    plan = IncentivePlan.objects.select_related("unit").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


def in_force(versions: list[PlanVersion], today: dt.date) -> PlanVersion | None:
    """The version in force on ``today`` (the rule bonus runs use: latest valid_from, then highest number)."""
    started = [v for v in versions if v.valid_from <= today]
    return max(started, key=lambda v: (v.valid_from, v.number), default=None)


def population(plan: IncentivePlan) -> list[str]:
    """Whom the plan pays, in parts: the unit (and below), the unit category, the employment type."""
    parts = []
    if plan.unit is not None:
        parts.append(gettext("%(unit)s and below") % {"unit": f"{plan.unit.name} ({plan.unit.code})"})
    if plan.category:
        label = dict(Category.choices).get(plan.category, plan.category)
        parts.append(gettext("unit category: %(category)s") % {"category": label})
    if plan.employment_type:
        parts.append(str(dict(EmploymentType.choices).get(plan.employment_type, plan.employment_type)))
    else:
        parts.append(gettext("agents and staff"))
    return parts


def _related_action(name: str) -> str:
    """What another page needs (read off its view), so a button shows only to those who may open it."""
    from perflink.incentives import views

    return str(getattr(getattr(views, name), "required_action", None) or "plans.view")


# --- the list -----------------------------------------------------------------------------------------------------


def _annotated(today: dt.date) -> QuerySet[IncentivePlan]:
    started = PlanVersion.objects.filter(plan=OuterRef("pk"), valid_from__lte=today).order_by(
        "-valid_from", "-number"
    )
    runs = BonusRun.objects.filter(plan_version__plan=OuterRef("pk")).order_by(
        "-period", "-created_at", "-pk"
    )
    return IncentivePlan.objects.select_related("unit").annotate(
        version_count=Count("versions", distinct=True),
        latest_number=Max("versions__number"),
        first_from=Min("versions__valid_from"),
        current_number=Subquery(started.values("number")[:1]),
        current_from=Subquery(started.values("valid_from")[:1]),
        last_run_id=Subquery(runs.values("pk")[:1]),
        last_run_period=Subquery(runs.values("period")[:1]),
        last_run_status=Subquery(runs.values("status")[:1]),
        last_run_at=Subquery(runs.values("created_at")[:1]),
    )


def _ordering(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    columns = []
    for column in SORT_COLUMNS[sort.lstrip("-")]:
        expr = F(column)
        columns.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
    return [*columns, "code", "pk"]


def _list_row(plan: Any) -> dict[str, Any]:
    status = plan.last_run_status
    return {
        "plan": plan,
        "population": population(plan),
        "scheduled": plan.current_number is None and plan.latest_number is not None,  # all start later
        "newer": plan.latest_number is not None
        and plan.current_number is not None
        and plan.latest_number > plan.current_number,
        "run_badge": STATUS_BADGES.get(status, "badge-gray") if status else "",
        "run_status": BonusRunStatus(status).label if status in BonusRunStatus.values else "",
    }


@page("plans.view")
@require_safe
def plans(request: HttpRequest) -> HttpResponse:
    """The plans: whom each pays, its version in force, how many versions, its last bonus run."""
    form = PlanFilterForm(request.GET or None, categories=list(Category.choices))
    filters = form.filters()
    every = _annotated(timezone.localdate())
    shown = every
    if filters["q"]:
        shown = shown.filter(Q(code__icontains=filters["q"]) | Q(name__icontains=filters["q"]))
    if filters["category"]:
        shown = shown.filter(category=filters["category"])
    page_obj = Paginator(shown.order_by(*_ordering(filters["sort"])), PLANS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    ctx = {
        "page_obj": page_obj,
        "rows": [_list_row(plan) for plan in page_obj],
        "any_plans": every.exists(),
        "filtered": bool(filters["q"] or filters["category"]),
        "q": filters["q"],
        "category": filters["category"],
        "categories": Category.choices,
        "sort": filters["sort"],
        "may_manage": can(request.user, "plans.manage"),
        "may_see_runs": can(request.user, "bonus.view"),
        "examples": [(key, label) for key, (label, _plan) in EXAMPLES.items()],
    }
    return render_page(request, "incentives/plan_list.html", "incentives/partials/plan_results.html", ctx)


# --- one plan -----------------------------------------------------------------------------------------------------


def _version_rows(
    versions: list[PlanVersion], current: PlanVersion | None, today: dt.date
) -> list[dict[str, Any]]:
    rows = []
    for version in versions:
        if current is not None and version.pk == current.pk:
            state = "in_force"
        elif version.valid_from > today:
            state = "scheduled"
        else:
            state = "superseded"
        label, badge = VERSION_STATES[state]
        rows.append({"version": version, "state": state, "state_label": label, "badge": badge})
    return rows


@page("plans.view")
@require_safe
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A plan: whom it pays, its versions, and one version (the one in force, or ``?v=N``) read as sentences and
    tables, with what changed from the version before it and the plan as data."""
    plan = _plan(plan_id)
    today = timezone.localdate()
    versions = list(plan.versions.order_by("-number"))
    current = in_force(versions, today)
    by_number = {v.number: v for v in versions}
    try:
        asked = int(request.GET.get("v", ""))
    except ValueError:
        asked = 0
    shown = by_number.get(asked) or current or (versions[0] if versions else None)
    previous = by_number.get(shown.number - 1) if shown is not None else None
    labels = input_labels()
    changes = plan_changes(previous.definition, shown.definition) if shown and previous else []
    readable = describe(shown.definition, labels, metric_units()) if shown else None
    may_see_runs = can(request.user, "bonus.view")
    runs = BonusRun.objects.filter(plan_version__plan=plan).select_related("plan_version")
    recent = list(runs.order_by("-period", "-created_at", "-pk")[:RECENT_RUNS]) if may_see_runs else []
    ctx = {
        "plan": plan,
        "population": population(plan),
        "category_label": dict(Category.choices).get(plan.category, plan.category),
        "employment_label": dict(EmploymentType.choices).get(plan.employment_type, plan.employment_type),
        "versions": _version_rows(versions, current, today),
        "current": current,
        "shown": shown,
        "previous": previous,
        "readable": readable,
        "changes": changes,
        "changed": changed_keys(changes, "changed"),
        "added": changed_keys(changes, "added"),
        "definition_json": json.dumps(shown.definition, ensure_ascii=False, indent=2) if shown else "",
        "may_manage": can(request.user, "plans.manage"),
        "may_what_if": can(request.user, _related_action("plan_what_if")),
        "may_bases": can(request.user, _related_action("plan_bases")),
        "per_person": bool(readable and readable["per_person"])
        or (shown is not None and (shown.definition.get("base") or {}).get("kind") == "per_person"),
        "may_see_runs": may_see_runs,
        "runs": [
            {"run": run, "badge": STATUS_BADGES.get(run.status, "badge-gray"), "total": yuan(run.total)}
            for run in recent
        ],
        "run_count": runs.count() if may_see_runs else 0,
    }
    return render(request, "incentives/plan_detail.html", ctx)


# --- the editor ---------------------------------------------------------------------------------------------------


class Editor:
    """What the editor holds between requests: the mode (structured form or JSON), the form's state, the JSON
    text, and where an error points."""

    def __init__(self, state: plan_form.State, *, mode: str = "form", json_text: str = "") -> None:
        self.state = state
        self.mode = mode
        self.json_text = json_text
        self.spot: Spot | None = None
        self.json_error = ""
        self.notice = ""

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Editor:
        if plan_form.representable(definition):
            return cls(plan_form.to_state(definition))
        # The form would lose something (e.g. keys it does not know): the plan opens as JSON, untouched.
        editor = cls(plan_form.to_state(definition), mode="json", json_text=_json(definition))
        editor.notice = gettext("This plan holds parts the form cannot show, so it opens as JSON.")
        return editor

    @classmethod
    def from_post(cls, data: Mapping[str, Any]) -> Editor:
        mode = "json" if data.get("mode") == "json" else "form"
        if mode == "json":
            return cls(plan_form.blank_state(), mode="json", json_text=str(data.get("definition_json", "")))
        return cls(plan_form.from_post(data))

    def definition(self) -> dict[str, Any] | None:
        """The plan as posted; None (with ``json_error`` set) when the JSON text is not an object."""
        if self.mode == "form":
            return plan_form.to_definition(self.state)
        try:
            return parse_json_object(self.json_text)
        except forms.ValidationError as exc:
            self.json_error = " ".join(exc.messages)
            return None

    def apply(self, op: str) -> None:
        """A structural edit (add or remove a row) or a switch between the form and JSON."""
        if op == "mode:json" and self.mode == "form":
            self.json_text = _json(plan_form.to_definition(self.state))
            self.mode = "json"
        elif op == "mode:form" and self.mode == "json":
            definition = self.definition()
            if definition is None:
                return
            if not plan_form.representable(definition):
                self.json_error = gettext(
                    "The form cannot show everything in this JSON (an unknown key, or a value of the wrong "
                    "type): correct it here, or check it to see which part."
                )
                return
            self.state, self.mode = plan_form.to_state(definition), "form"
        elif self.mode == "form":
            self.state = plan_form.apply_op(self.state, op)

    def refuse(self, message: str) -> None:
        """Put a validation message where it points (or on the JSON text in JSON mode)."""
        if self.mode == "json":  # the alert above the text says it; the text has no fields to mark
            self.spot = plan_form.locate(message, None)
            return
        self.spot = plan_form.locate(message, self.state)

    def context(self) -> dict[str, Any]:
        spot = self.spot if self.mode == "form" else None
        return {
            "mode": self.mode,
            "editor": plan_form.editor_view(self.state, spot) if self.mode == "form" else None,
            "json_text": self.json_text,
            "json_error": self.json_error,
            "spot": self.spot,
            "notice": self.notice,
            "input_groups": _input_groups(self.state if self.mode == "form" else None),
            "ops": [(op, plan_form.OP_SYMBOLS[op]) for op in plan_form.OPS],
        }


def _json(definition: Any) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2)


def _first_of_next_month(today: dt.date) -> dt.date:
    return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _unit_choices() -> list[tuple[int, str]]:
    units = OrgUnit.objects.filter(closed_on__isnull=True).order_by("path")
    return [(u.pk, f"{INDENT * u.depth}{u.name} ({u.code})") for u in units]


def _meta_form(data: Any = None, initial: dict[str, Any] | None = None) -> PlanMetaForm:
    return PlanMetaForm(
        data,
        initial=initial,
        units=_unit_choices(),
        categories=list(Category.choices),
        employment_types=list(EmploymentType.choices),
    )


def _editor_response(
    request: HttpRequest, template: str, ctx: dict[str, Any], editor: Editor, status: int = 200
) -> HttpResponse:
    """The whole editor page, or (an htmx structural edit) only the part that changed."""
    full = {**ctx, **editor.context()}
    if is_htmx(request) and request.POST.get("_op"):
        return render(request, "incentives/partials/plan_editor.html", full, status=status)
    return render(request, template, full, status=status)


def _save(
    editor: Editor,
    version_form: PlanVersionForm,
    *,
    code: str,
    name: str,
    unit: OrgUnit | None,
    category: str,
    employment_type: str,
    meta_form: PlanMetaForm | None = None,
) -> PlanVersion | None:
    """Save through the action; its error goes back to the field it names, and nothing is written."""
    definition = editor.definition()
    if definition is None:
        return None
    data = version_form.cleaned_data
    try:
        return do_save_plan(
            code=code,
            name=name,
            definition=definition,
            valid_from=data["valid_from"],
            unit=unit,
            category=category,
            employment_type=employment_type,
            note=data["note"].strip(),
            actor=current_actor(),
        )
    except ValidationFailed as exc:
        if exc.field == "valid_from":
            version_form.add_error("valid_from", exc.message)
        elif exc.field == "unit_id" and meta_form is not None:
            meta_form.add_error("unit", exc.message)
        else:
            editor.refuse(exc.message)
    return None


def _check_alongside(editor: Editor) -> None:
    """When the rest of the form is refused, say what is wrong with the plan too, so one round shows all."""
    definition = editor.definition()
    if definition is None:
        return
    try:
        check_plan(definition)
    except ValidationFailed as exc:
        editor.refuse(exc.message)


@page("plans.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """A new plan: whom it pays, and its first version (blank, or started from an example)."""
    today = timezone.localdate()
    example_key = request.GET.get("example", "")
    status = 200
    if request.method == "POST":
        editor = Editor.from_post(request.POST)
        meta_form = _meta_form(request.POST)
        version_form = PlanVersionForm(request.POST)
        op = request.POST.get("_op", "")
        if op:
            editor.apply(op)
        else:
            meta_ok, version_ok = meta_form.is_valid(), version_form.is_valid()
            if meta_ok and IncentivePlan.objects.filter(code=meta_form.cleaned_data["code"]).exists():
                meta_form.add_error(
                    "code", gettext("A plan with this code exists already: add a version on its page.")
                )
                meta_ok = False
            if meta_ok and version_ok:
                data = meta_form.cleaned_data
                unit = OrgUnit.objects.filter(pk=data["unit"]).first() if data["unit"] else None
                version = _save(
                    editor,
                    version_form,
                    code=data["code"],
                    name=data["name"].strip(),
                    unit=unit,
                    category=data["category"],
                    employment_type=data["employment_type"],
                    meta_form=meta_form,
                )
                if version is not None:
                    messages.success(
                        request,
                        gettext("Plan “%(name)s” created; version 1 is in force from %(date)s.")
                        % {"name": version.plan.name, "date": version.valid_from},
                    )
                    return redirect("incentives:plan_detail", plan_id=version.plan_id)
            else:
                _check_alongside(editor)
            status = 400
    else:
        example = EXAMPLES.get(example_key)
        editor = Editor.from_definition(example[1]) if example else Editor(plan_form.blank_state())
        meta_form = _meta_form(initial={"category": example_key} if example else None)
        version_form = PlanVersionForm(initial={"valid_from": _first_of_next_month(today)})
    ctx = {
        "is_new": True,
        "meta_form": meta_form,
        "version_form": version_form,
        "form_url": reverse("incentives:plan_new"),
        "examples": [(key, label) for key, (label, _plan) in EXAMPLES.items()],
        "example": example_key,
    }
    return _editor_response(request, "incentives/plan_form.html", ctx, editor, status)


@page("plans.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A new version of a plan, prefilled with its newest version (versions are never edited)."""
    plan = _plan(plan_id)
    today = timezone.localdate()
    versions = list(plan.versions.order_by("-number"))
    latest = versions[0] if versions else None
    status = 200
    if request.method == "POST":
        editor = Editor.from_post(request.POST)
        version_form = PlanVersionForm(request.POST)
        op = request.POST.get("_op", "")
        if op:
            editor.apply(op)
        else:
            if version_form.is_valid():
                based_on = version_form.cleaned_data.get("based_on")
                if latest is not None and based_on is not None and based_on != latest.number:
                    version_form.add_error(
                        None,
                        gettext(
                            "Version %(number)s was saved by %(who)s while you were editing: open the plan again "
                            "to start from it. Nothing was saved."
                        )
                        % {"number": latest.number, "who": latest.created_by_label or "—"},
                    )
                else:
                    version = _save(
                        editor,
                        version_form,
                        code=plan.code,
                        name=plan.name,
                        unit=plan.unit,
                        category=plan.category,
                        employment_type=plan.employment_type,
                    )
                    if version is not None:
                        same = latest is not None and plan_form.canonical(
                            version.definition
                        ) == plan_form.canonical(latest.definition)
                        text = (
                            gettext(
                                "Version %(number)s saved, in force from %(date)s; the plan's rules are unchanged."
                            )
                            if same
                            else gettext("Version %(number)s saved, in force from %(date)s.")
                        )
                        messages.success(
                            request, text % {"number": version.number, "date": version.valid_from}
                        )
                        return redirect(
                            f"{reverse('incentives:plan_detail', args=[plan.pk])}?v={version.number}"
                        )
            else:
                _check_alongside(editor)
            status = 400
    else:
        editor = Editor.from_definition(latest.definition) if latest else Editor(plan_form.blank_state())
        start = _first_of_next_month(today)
        if latest is not None and latest.valid_from > start:
            start = latest.valid_from
        version_form = PlanVersionForm(
            initial={"valid_from": start, "based_on": latest.number if latest else 0}
        )
    ctx = {
        "is_new": False,
        "plan": plan,
        "population": population(plan),
        "latest": latest,
        "version_form": version_form,
        "form_url": reverse("incentives:plan_edit", args=[plan.pk]),
    }
    return _editor_response(request, "incentives/plan_form.html", ctx, editor, status)


@page("plans.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def plan_check(request: HttpRequest) -> HttpResponse:
    """Live validation of the editor (htmx): ✓ with the plan read back, or the message, the faulty part in words
    and its path (the page marks that field). A GET answers with the hint the panel starts with."""
    ctx: dict[str, Any] = {"checked": request.method == "POST", "ok": False, "mode": request.POST.get("mode")}
    if request.method == "POST":
        editor = Editor.from_post(request.POST)
        definition = editor.definition()
        if definition is None:
            ctx["spot"] = Spot("", editor.json_error)
        else:
            try:
                check_plan(definition)
            except ValidationFailed as exc:
                ctx["spot"] = plan_form.locate(exc.message, editor.state if editor.mode == "form" else None)
            else:
                ctx["ok"] = True
                ctx["readable"] = describe(definition, input_labels(), metric_units())
                ctx["changed"], ctx["added"] = set(), set()
    return render(request, "incentives/partials/plan_check.html", ctx)
