"""Bonus pages: the list of bonus runs (and running a plan for a month), a run's page with its workflow
(submit, approve, return, publish) and the people it pays, and one person's statement (计算说明).

Everyone with ``bonus.view`` reads them; the workflow buttons show only to those whose actions allow them, and
the actions keep the rules (nobody approves their own submission, a published run never changes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import polars as pl
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from perflink.accounts.access import ACTIONS, can
from perflink.core.context import current_actor
from perflink.core.errors import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from perflink.core.htmx import render_page
from perflink.engine.incentives import parse_plan
from perflink.engine.incentives.plan import FixedBase
from perflink.incentives.bonus import (
    AlreadyPublished,
    do_approve_bonus_run,
    do_discard_bonus_run,
    do_publish_bonus_run,
    do_return_bonus_run,
    do_run_bonus,
    do_submit_bonus_run,
    provisional_people,
    statement,
    statement_sources,
    stored,
    superseded_by,
)
from perflink.incentives.choices import BonusRunKind, BonusRunStatus
from perflink.incentives.forms import BonusRunFilterForm, ReasonForm, ReturnBonusRunForm, RunBonusForm
from perflink.incentives.inputs import COHORT
from perflink.incentives.models import BonusAdjustment, BonusRun, IncentivePlan
from perflink.incentives.payouts import person_totals
from perflink.metrics.models import MetricDefinition
from perflink.metrics.selectors import run_frame
from perflink.metrics.views.result_rows import fmt_number, with_unit
from perflink.metrics.views.results import may_see
from perflink.org.models import Employee, OrgUnit
from perflink.org.selectors import get_employee, visible_employees
from perflink.web.decorators import page

RUNS_PER_PAGE = 25
PEOPLE_PER_PAGE = 50
STATUS_BADGES = {
    BonusRunStatus.DRAFT: "badge-gray",
    BonusRunStatus.SUBMITTED: "badge-amber",
    BonusRunStatus.APPROVED: "badge-blue",
    BonusRunStatus.PUBLISHED: "badge-green",
    BonusRunStatus.DISCARDED: "badge-outline",
}
# What each workflow button needs: the action's permission and the states it starts from.
WORKFLOW: dict[str, tuple[str, tuple[str, ...]]] = {
    "submit": ("bonus.run", (BonusRunStatus.DRAFT,)),
    "discard": ("bonus.run", (BonusRunStatus.DRAFT,)),
    "rerun": ("bonus.run", (BonusRunStatus.DRAFT,)),
    "correct": ("bonus.run", (BonusRunStatus.PUBLISHED,)),
    "approve": ("bonus.approve", (BonusRunStatus.SUBMITTED,)),
    "return": ("bonus.approve", (BonusRunStatus.SUBMITTED, BonusRunStatus.APPROVED)),
    "publish": ("bonus.approve", (BonusRunStatus.APPROVED,)),
}
LINE_KINDS = {
    "base": pgettext_lazy("statement line", "Base"),
    "component": pgettext_lazy("statement line", "Component"),
    "subtotal": pgettext_lazy("statement line", "Subtotal"),
    "condition": pgettext_lazy("statement line", "Condition"),
    "multiplier": pgettext_lazy("statement line", "Multiplier"),
    "multipliers": pgettext_lazy("statement line", "Multipliers together"),
    "floor": pgettext_lazy("statement line", "Floor"),
    "cap": pgettext_lazy("statement line", "Cap"),
    "pool": pgettext_lazy("statement line", "Pool"),
    "amount": pgettext_lazy("statement line", "Amount"),
}
# The branch a condition took, and the plan rule it applied ("then" / "else"), or the missing-data rule.
BRANCHES = {
    "then": pgettext_lazy("statement branch", "condition met"),
    "else": pgettext_lazy("statement branch", "condition not met"),
    "missing": pgettext_lazy("statement branch", "data missing"),
}
PAYROLL_STATES = (BonusRunStatus.APPROVED, BonusRunStatus.PUBLISHED)


def yuan(amount: Decimal | None) -> str:
    """An amount as paid: "¥12,345.60", to the fen."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def _runs() -> QuerySet[BonusRun]:
    return BonusRun.objects.select_related("plan_version__plan").order_by("-period", "-created_at", "-pk")


def _visible_run(bonus_run_id: int) -> BonusRun:
    """The run (404 alike for missing and another tenant's: the default manager is the tenant's)."""
    run = _runs().filter(pk=bonus_run_id).first()
    if run is None:
        raise NotFound("bonus run not found")
    return run


def _plan_choices() -> list[tuple[int, str]]:
    return [(plan.pk, f"{plan.name} ({plan.code})") for plan in IncentivePlan.objects.order_by("code")]


# --- the list of runs ---------------------------------------------------------------------------------------------


@page("bonus.view")
@require_http_methods(["GET", "HEAD", "POST"])
def bonus_runs(request: HttpRequest) -> HttpResponse:
    """The runs, newest month first, filtered by month and status; a POST runs a plan for a month."""
    may_run = can(request.user, "bonus.run")
    plans = _plan_choices() if may_run else []
    run_form = RunBonusForm(plans=plans)
    published_run: BonusRun | None = None
    status = 200
    if request.method == "POST":
        if not may_run:
            return render(request, "web/403.html", {"action": ACTIONS["bonus.run"]}, status=403)
        run_form = RunBonusForm(request.POST, plans=plans)
        if run_form.is_valid():
            plan = IncentivePlan.objects.get(pk=run_form.cleaned_data["plan"])
            try:
                run = do_run_bonus(plan, run_form.cleaned_data["period"], actor=current_actor())
            except AlreadyPublished as exc:
                run_form.add_error(None, exc.message)
                published_run = exc.run
            except ValidationFailed as exc:
                run_form.add_error("period" if exc.field == "period" else None, exc.message)
            else:
                messages.success(
                    request,
                    gettext("%(plan)s run for %(period)s: check it, then submit it for approval.")
                    % {"plan": plan.name, "period": run.period},
                )
                return redirect("incentives:bonus_run", bonus_run_id=run.pk)
        status = 400

    form = BonusRunFilterForm(request.GET or None)
    filters = form.filters()
    every = _runs()
    shown = every
    if filters["period"]:
        shown = shown.filter(period=filters["period"])
    if filters["status"]:
        shown = shown.filter(status=filters["status"])
    page_obj = Paginator(shown, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    ctx = {
        "page_obj": page_obj,
        "rows": [
            {"run": run, "badge": STATUS_BADGES.get(run.status, "badge-gray"), "total": yuan(run.total)}
            for run in page_obj
        ],
        "any_runs": every.exists(),
        "filtered": bool(filters["period"] or filters["status"]),
        "period": filters["period"],
        "status": filters["status"],
        "statuses": BonusRunStatus.choices,
        "may_run": may_run,
        "run_form": run_form,
        "published_run": published_run,
        "has_plans": bool(plans),
    }
    return render_page(
        request, "incentives/bonus_runs.html", "incentives/partials/bonus_run_results.html", ctx, status
    )


# --- one run ------------------------------------------------------------------------------------------------------


def allowed_steps(user: Any, run: BonusRun) -> set[str]:
    """The workflow buttons this user may press on this run, as far as the page can tell."""
    steps = {
        step for step, (action, states) in WORKFLOW.items() if run.status in states and can(user, action)
    }
    if "approve" in steps and run.submitted_by_id is not None and run.submitted_by_id == user.pk:
        steps.discard("approve")  # the action refuses it anyway; the page says why instead
    if run.kind == BonusRunKind.CORRECTION:
        steps.discard("correct")  # a correction is corrected by a new correction of the published run
    return steps


def _people(request: HttpRequest, run: BonusRun) -> dict[str, Any]:
    """The people the run pays, searched by name or number, paged, with their amount and adjustments."""
    if run.is_correction:
        # A correction pays its differences only: the people whose amount changed, by how much.
        paid = person_totals(run)
    else:
        amounts = stored(run, "amounts")
        paid = dict(
            zip(
                amounts.get_column("person_id").to_list(), amounts.get_column("amount").to_list(), strict=True
            )
        )
    q = request.GET.get("q", "").strip()
    people = visible_employees(request.user).filter(pk__in=list(paid)).select_related("unit__parent")
    if q:
        people = people.filter(Q(name__icontains=q) | Q(employee_no__icontains=q))
    page_obj = Paginator(people.order_by("employee_no", "pk"), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    on_page = [person.pk for person in page_obj]
    adjusted = dict(
        BonusAdjustment.objects.filter(run=run, employee_id__in=on_page)
        .values_list("employee_id")
        .annotate(total=Sum("amount"))
        .values_list("employee_id", "total")
    )
    rows = [
        {
            "person": person,
            "amount": yuan(paid[person.pk]),
            "adjustments": yuan(adjusted[person.pk]) if person.pk in adjusted else "",
        }
        for person in page_obj
    ]
    return {"people_page": page_obj, "people": rows, "q": q, "page_obj": page_obj}


def _run_page(
    request: HttpRequest,
    run: BonusRun,
    *,
    status: int = 200,
    return_form: ReturnBonusRunForm | None = None,
    reason_form: ReasonForm | None = None,
) -> HttpResponse:
    user = request.user
    steps = allowed_steps(user, run)
    plan = run.plan_version.plan
    ctx = {
        "run": run,
        "plan": plan,
        "badge": STATUS_BADGES.get(run.status, "badge-gray"),
        "total": yuan(run.total),
        "total_before_pool": yuan(run.total_before_pool),
        "pooled": run.total != run.total_before_pool,
        "steps": steps,
        "own_submission": (
            run.status == BonusRunStatus.SUBMITTED
            and can(user, "bonus.approve")
            and run.submitted_by_id is not None
            and run.submitted_by_id == user.pk
        ),
        "return_form": return_form or ReturnBonusRunForm(),
        "reason_form": reason_form or ReasonForm(),
        "may_export": run.status in PAYROLL_STATES and can(user, "bonus.export"),
        "adjustment_count": run.adjustments.count(),
        "superseded_by": superseded_by(run) if run.status != BonusRunStatus.DISCARDED else None,
        "provisional_people": provisional_people(run),
        "corrections": list(run.corrections.order_by("-id")) if not run.is_correction else [],
        "difference": yuan(run.difference) if run.is_correction else None,
        "corrected_total": yuan(run.total - run.difference)
        if run.is_correction and run.difference is not None
        else None,
        **_people(request, run),
    }
    return render_page(
        request, "incentives/bonus_run.html", "incentives/partials/bonus_people.html", ctx, status=status
    )


SUCCESS = {
    "submit": pgettext_lazy(
        "bonus run", "Submitted for approval: another person with approval rights approves it."
    ),
    "approve": pgettext_lazy("bonus run", "Approved: it can now be published and sent to payroll."),
    "return": pgettext_lazy("bonus run", "Sent back to draft."),
    "publish": pgettext_lazy(
        "bonus run", "Published: the run is locked; corrections are adjustment entries."
    ),
    "discard": pgettext_lazy("bonus run", "Draft discarded: it stays on record and is never paid."),
    "rerun": pgettext_lazy(
        "bonus run", "A new draft on the latest calculation run; the old draft was discarded."
    ),
    "correct": pgettext_lazy(
        "bonus run",
        "Correction run made: it pays only the differences, posted as adjustments on the published run once it is "
        "approved and published.",
    ),
}


@page("bonus.view")
@require_http_methods(["GET", "HEAD", "POST"])
def bonus_run(request: HttpRequest, bonus_run_id: int) -> HttpResponse:
    """A run's page; a POST presses one workflow button (``step``), through its action."""
    run = _visible_run(bonus_run_id)
    if request.method != "POST":
        return _run_page(request, run)
    step = request.POST.get("step", "")
    if step not in WORKFLOW:
        messages.error(request, gettext("Choose what to do with the run."))
        return redirect("incentives:bonus_run", bonus_run_id=run.pk)
    action = WORKFLOW[step][0]
    if not can(request.user, action):
        return render(request, "web/403.html", {"action": ACTIONS[action]}, status=403)
    user, actor = request.user, current_actor()
    return_form = None
    reason_form = None
    target = run
    try:
        if step in ("discard", "rerun", "correct"):
            reason_form = ReasonForm(request.POST)
            if step == "rerun":
                reason_form = ReasonForm({"reason": gettext("Run again on the latest calculation run")})
            if not reason_form.is_valid():
                return _run_page(request, run, status=400, reason_form=reason_form)
            reason = reason_form.cleaned_data["reason"]
            if step == "correct":
                target = do_run_bonus(run.plan, run.period, actor=actor, correction=True, reason=reason)
            else:
                do_discard_bonus_run(run, reason=reason, actor=actor)
                if step == "rerun":
                    target = do_run_bonus(run.plan, run.period, actor=actor)
        elif step == "submit":
            do_submit_bonus_run(run, user=user, actor=actor)
        elif step == "approve":
            do_approve_bonus_run(run, user=user, actor=actor)
        elif step == "return":
            return_form = ReturnBonusRunForm(request.POST)
            if not return_form.is_valid():
                return _run_page(request, run, status=400, return_form=return_form)
            do_return_bonus_run(run, reason=return_form.cleaned_data["reason"], actor=actor)
        else:
            do_publish_bonus_run(run, actor=actor)
    except PermissionDeniedError as exc:
        messages.error(request, exc.message)
        return _run_page(request, _visible_run(run.pk), status=403)
    except ValidationFailed as exc:
        if reason_form is not None:
            reason_form.add_error("reason" if exc.field == "reason" else None, exc.message)
            return _run_page(request, run, status=400, reason_form=reason_form)
        form = return_form or ReturnBonusRunForm(request.POST)
        form.add_error("reason" if exc.field == "reason" else None, exc.message)
        return _run_page(request, run, status=400, return_form=form)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("incentives:bonus_run", bonus_run_id=run.pk)
    messages.success(request, SUCCESS[step])
    return redirect("incentives:bonus_run", bonus_run_id=target.pk)


# --- one person's statement ---------------------------------------------------------------------------------------


def input_names() -> dict[str, str]:
    """Input codes as people read them: ``linked:claim_cycle_days`` -> ``理赔周期（联动业务部门）``."""
    names = dict(MetricDefinition.objects.values_list("code", "name"))
    shown = {"score": str(gettext("own score"))}
    for code, name in names.items():
        shown[f"linked:{code}"] = str(gettext("%(metric)s (linked business units)") % {"metric": name})
        shown[f"own:{code}"] = str(gettext("%(metric)s (own)") % {"metric": name})
        for kind in ("linked", "own"):
            shown[f"{kind}:{code}@cohort"] = str(
                gettext("%(input)s, matured cohort") % {"input": shown[f"{kind}:{code}"]}
            )
    return shown


def _readable(text: Any, names: dict[str, str]) -> Any:
    if not isinstance(text, str):
        return text
    # Longest codes first, so own:claim_payment_days is not half-replaced by a shorter code.
    for code in sorted((c for c in names if c in text), key=len, reverse=True):
        text = text.replace(code, names[code])
    return text


def _line(line: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    line = {**line, "input_code": line.get("input") or ""}
    if names:
        line = {
            **line,
            "detail": _readable(line.get("detail"), names),
            "input": _readable(line.get("input"), names),
        }
    return {
        **line,
        "kind_label": LINE_KINDS.get(line["kind"], line["kind"]),
        "money": yuan(line["amount"]) if line["amount"] is not None else "",
        "branch_label": BRANCHES.get(line["branch"], line["branch"]) if line["branch"] else "",
        "band_no": line["band"] + 1 if line["band"] is not None else None,  # stored 0-based
        "total": line["kind"] == "amount",
    }


# --- where an input came from -------------------------------------------------------------------------------------


def _unit_names(unit_ids: set[int]) -> dict[int, str]:
    """Unit names as a reader tells them apart: under a branch, the branch's name first (分公司A 理赔部)."""
    names = {}
    for unit in OrgUnit.objects.filter(pk__in=unit_ids).select_related("parent"):
        parent = unit.parent
        qualified = parent is not None and parent.parent_id is not None
        names[unit.pk] = f"{parent.name} {unit.name}" if qualified and parent else unit.name
    return names


def _explain_url(calc_run_id: int, level: str, subject_id: int, metric: str) -> str:
    query = urlencode({"level": level, "subject_id": subject_id, "metric": metric})
    return f"{reverse('metrics:explain', kwargs={'run_id': calc_run_id})}?{query}"


def _explained_at(
    lines: pl.DataFrame, supplier: tuple[str, int], near: list[tuple[str, int]]
) -> tuple[str, int]:
    """The subject whose scorecard explains the supplier's value of a metric: the supplier's own line; else the
    line of the person or their unit that reads the supplier's value (a finance department scored on its branch's
    claims); else the supplier (its page then shows its scorecard without that line)."""
    scored = {(row["level"], row["subject_id"]): row for row in lines.iter_rows(named=True)}
    if supplier in scored:
        return supplier
    for subject in near:
        row = scored.get(subject)
        if row is not None and (row["value_level"], row["value_subject_id"]) == supplier:
            return subject
    return supplier


def input_sources(principal: Any, run: BonusRun, person: Employee) -> dict[str, Any]:
    """Per input of the person's statement, where its value came from, as the statement shows it: the subjects
    (their names, values and a link to the explanation of the number, or to the scorecard for ``score``)."""
    found = statement_sources(run, person.pk)
    calc_id = run.calc_run_id
    may_explain = can(principal, "calc.view")
    visible = may_see(principal) if may_explain else (lambda level, subject_id: False)
    every = [source for sources in found["inputs"].values() for source in sources]
    units = _unit_names({s["subject_id"] for s in every if s["level"] == "unit"} | {person.unit_id})
    people = dict(
        Employee.objects.filter(
            pk__in={s["subject_id"] for s in every if s["level"] == "employee"}
        ).values_list("pk", "name")
    )
    codes = {name.partition(":")[2] for name in found["inputs"] if ":" in name}
    bases = {code.removesuffix(COHORT) for code in codes}
    metrics = {m.code: m for m in MetricDefinition.objects.filter(code__in=bases)}
    results = pl.DataFrame()
    if may_explain and codes:
        results = run_frame(run.calc_run, "results").filter(pl.col("metric").is_in(list(codes)))
    near = [("employee", person.pk), ("unit", person.unit_id)]
    shown: dict[str, Any] = {}
    for name, sources in found["inputs"].items():
        kind, _, code = name.partition(":")
        metric = metrics.get(code.removesuffix(COHORT))
        unit = str((metric.definition or {}).get("unit", "")) if metric else ""
        shown_name = metric.name if metric else code
        if code.endswith(COHORT):
            shown_name = gettext("%(metric)s, matured cohort %(cohort)s") % {
                "metric": shown_name,
                "cohort": found["cohorts"].get(name, ""),
            }
        items = []
        for source in sources:
            level, subject_id = source["level"], source["subject_id"]
            label = units.get(subject_id, "") if level == "unit" else people.get(subject_id, "")
            url = ""
            if kind == "score" or not code:
                if visible(level, subject_id):
                    view = "metrics:employee_scorecard" if level == "employee" else "metrics:unit_scorecard"
                    key = "employee_id" if level == "employee" else "unit_id"
                    url = reverse(view, kwargs={"run_id": calc_id, key: subject_id})
            else:
                at = _explained_at(
                    results.filter(pl.col("metric") == code) if results.height else results,
                    (level, subject_id),
                    near,
                )
                if visible(*at):
                    url = _explain_url(calc_id, at[0], at[1], code)
            items.append(
                {
                    "level": level,
                    "subject_id": subject_id,
                    "name": label or f"#{subject_id}",
                    "value": fmt_number(source["value"]),
                    "missing": source["value"] is None,
                    "url": url,
                    "own_unit": level == "unit" and subject_id == person.unit_id,
                    "self": level == "employee" and subject_id == person.pk,
                }
            )
        shown[name] = {
            "kind": "score" if name == "score" else kind,
            "metric": shown_name,
            "unit": unit,
            "items": items,
            "unit_name": units.get(person.unit_id, ""),
        }
    return {
        "inputs": shown,
        "recorded": found["recorded"],
        "base_valid_from": found["base_valid_from"],
    }


def _with_source(line: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The line with where its input came from (``source``), and the input's value as the metric shows it."""
    source = sources.get(line.get("input") or "")
    if source is None:
        return line
    unit = source["unit"]
    return {
        **line,
        "source": source,
        "value_text": with_unit(line["value"], unit) if unit else fmt_number(line["value"]),
    }


# --- the statement, page and PDF ---------------------------------------------------------------------------------------


def statement_context(principal: Any, run: BonusRun, person: Employee) -> dict[str, Any]:
    """What the statement shows, on the page and in the PDF alike."""
    explained = statement(run, person.pk)
    names = input_names()
    row = explained["amounts"]
    adjustments = list(BonusAdjustment.objects.filter(run=run, employee=person).order_by("at", "pk"))
    adjusted = sum((entry.amount for entry in adjustments), Decimal(0))
    sources = input_sources(principal, run, person) if row is not None else {"inputs": {}, "recorded": True}
    lines = [_line(_with_source(line, sources["inputs"]), names) for line in explained["lines"]]
    plan = run.plan_version.plan
    per_person_base = not isinstance(parse_plan(run.plan_version.definition).base, FixedBase)
    return {
        "run": run,
        "plan": plan,
        "badge": STATUS_BADGES.get(run.status, "badge-gray"),
        "person": person,
        "paid": row is not None,
        "amount": yuan(row["amount"]) if row else "",
        "lines": lines,
        "sources_recorded": sources["recorded"],
        "base_valid_from": sources.get("base_valid_from"),
        "per_person_base": per_person_base,
        "bases_url": reverse("incentives:plan_bases", kwargs={"plan_id": plan.pk})
        if per_person_base and can(principal, "plans.view")
        else "",
        "adjustments": [{"entry": entry, "amount": yuan(entry.amount)} for entry in adjustments],
        "final": yuan(row["amount"] + adjusted) if row and adjustments else "",
        "provisional": bool(row and row.get("provisional")),
    }


@page("bonus.view")
@require_safe
def bonus_statement(request: HttpRequest, bonus_run_id: int, employee_id: int) -> HttpResponse:
    """What one person gets from a run and why, line by line, each input leading to the records behind it, with
    any adjustments after publication."""
    run = _visible_run(bonus_run_id)
    person = get_employee(request.user, employee_id)
    return render(request, "incentives/statement.html", statement_context(request.user, run, person))
