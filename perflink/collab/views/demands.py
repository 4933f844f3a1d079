"""Demand pages (协同需求): the board per unit (kanban by state, or a sortable list), raising a demand, and the
demand's page with its plan, the requester's history, live progress, the thread and the evaluation.

Everyone with ``demands.view`` reads them within their data scope; the step buttons show only to those the
actions allow (see ``page_data.allowed_steps``) and the actions decide again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from perflink.accounts.access import ACTIONS, can
from perflink.collab import page_data
from perflink.collab.actions import (
    do_accept_demand,
    do_comment_demand,
    do_decline_demand,
    do_deliver_demand,
    do_evaluate_demand,
    do_raise_demand,
    do_request_change,
    do_start_demand,
    do_withdraw_demand,
)
from perflink.collab.choices import DemandKind, DemandStatus
from perflink.collab.forms import CommentForm, DemandFilterForm, RaiseDemandForm, StepForm
from perflink.collab.models import Demand
from perflink.collab.progress import demand_progress
from perflink.collab.selectors import get_demand, overdue, search_demands
from perflink.collab.specs import default_rule
from perflink.core.context import Actor, current_actor
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.core.htmx import htmx_partial, render_page
from perflink.web.decorators import page

DEMANDS_PER_PAGE = 25
# The permission each step needs on top of the side check in its action.
STEP_ACTIONS = {
    "accept": "demands.respond",
    "decline": "demands.respond",
    "start": "demands.respond",
    "deliver": "demands.respond",
    "withdraw": "demands.raise",
    "evaluate": "demands.evaluate",
}


def _actor() -> Actor:
    actor = current_actor()
    assert actor is not None, "a logged-in request always has an actor"
    return actor


# --- the board and the list -------------------------------------------------------------------------------------


@page("demands.view")
@require_safe
def board(request: HttpRequest) -> HttpResponse:
    """The demands of a unit by state (the board) or as a sortable, paged list; a unit head opens on their own
    unit. Filters: unit, kind, raised by the unit or addressed to it."""
    user = request.user
    form = DemandFilterForm(request.GET)
    form.is_valid()
    view = form.value("view") or "board"
    if "unit" in request.GET:
        unit = page_data.find_unit(user, request.GET.get("unit"))
    else:
        unit = page_data.default_unit(user)
    kind, side, sort = form.value("kind"), form.value("side"), form.value("sort") or "-submitted_at"
    demands = page_data.by_side(search_demands(user, kind=kind, unit=unit, sort=sort), unit, side)
    today = page_data.today()
    ctx: dict[str, Any] = {
        "view": view,
        "unit": unit,
        "units": page_data.unit_choices(user),
        "kind": kind,
        "kinds": DemandKind.choices,
        "side": side,
        "sides": list(page_data.SIDES.items()),
        "sort": sort,
        "today": today,
        "may_raise": can(user, "demands.raise") and bool(page_data.requesting_units(user)),
        "any_demand": page_data.search_demands_exist(user),
    }
    if view == "list":
        page_obj = Paginator(demands, DEMANDS_PER_PAGE).get_page(request.GET.get("page"))
        ctx |= {"page_obj": page_obj, "cards": [page_data.card(d, today) for d in page_obj.object_list]}
        ctx["shown"] = page_obj.paginator.count
    else:
        ctx["columns"] = page_data.board_columns(demands, today)
        ctx["shown"] = sum(c["count"] for c in ctx["columns"])
    return render_page(request, "collab/demands.html", "collab/partials/demand_results.html", ctx)


# --- raising a demand -------------------------------------------------------------------------------------------


@page("demands.raise")
@require_http_methods(["GET", "HEAD", "POST"])
def demand_new(request: HttpRequest) -> HttpResponse:
    """A form per kind (chosen by ``?kind=``) with the kind's quantified fields; the evaluation rule is the kind's
    default, shown in words. Nothing is saved when the input is refused; the error sits at its field."""
    user = request.user
    kind = str(request.GET.get("kind") or request.POST.get("kind") or "")
    if kind not in DemandKind.values:
        kind = str(DemandKind.RECRUITMENT)
    requesting = page_data.requesting_units(user)
    serving = page_data.serving_units()
    own = page_data.default_unit(user)
    initial: dict[str, Any] = {}
    if own is not None and any(u.pk == own.pk for u in requesting):
        initial["requesting_unit"] = own.pk
    elif requesting:
        initial["requesting_unit"] = requesting[0].pk
    status = 200
    if request.method == "POST":
        form = RaiseDemandForm(request.POST, kind=kind, requesting=requesting, serving=serving)
        if form.is_valid():
            try:
                demand = do_raise_demand(
                    kind=kind,
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                    requesting_unit=form.unit("requesting_unit"),
                    serving_unit=form.unit("serving_unit"),
                    spec=form.spec(),
                    user=user,
                    actor=_actor(),
                )
            except ValidationFailed as exc:
                form.refuse(exc)
            except PermissionDeniedError as exc:
                form.add_error("requesting_unit", exc.message)
            else:
                messages.success(
                    request,
                    gettext("Demand %(number)s raised: %(unit)s has until %(due)s to accept it.")
                    % {
                        "number": demand.number,
                        "unit": demand.serving_unit.name,
                        "due": demand.acceptance_due_on,
                    },
                )
                return redirect("collab:demand", demand_id=demand.pk)
        status = 400
    else:
        form = RaiseDemandForm(initial=initial, kind=kind, requesting=requesting, serving=serving)
    spec_for_rule = form.spec() if form.is_bound and form.is_valid() else {"per_hire_target": "1"}
    ctx = {
        "form": form,
        "kind": kind,
        "kinds": DemandKind.choices,
        "rule_words": page_data.rule_in_words(kind, spec_for_rule, default_rule(kind, spec_for_rule)),
        "has_requesting": bool(requesting),
    }
    return render(request, "collab/demand_form.html", ctx, status=status)


# --- the demand page --------------------------------------------------------------------------------------------


def _demand_context(request: HttpRequest, demand: Demand) -> dict[str, Any]:
    user = request.user
    today = page_data.today()
    progress = demand_progress(demand, today)
    chart = page_data.progress_chart(demand, progress)
    evaluations = page_data.evaluations(demand)
    history_metrics = page_data.requester_metrics(demand, today)
    steps = page_data.allowed_steps(user, demand)
    return {
        "demand": demand,
        "badge": page_data.STATUS_BADGES[demand.status],
        "kind_icon": page_data.KIND_ICONS[demand.kind],
        "steps": steps,
        "step_list": " ".join(sorted(steps)),
        "no_step": page_data.waiting_for(demand, steps),
        "spec_rows": page_data.spec_rows(demand),
        "rule_words": page_data.rule_in_words(demand.kind, demand.spec, demand.rule),
        "overdue": overdue(demand, today),
        "today": today,
        "progress": progress,
        "figures": page_data.figure_rows(demand, progress),
        "chart": chart,
        "rows": page_data.drill_down_rows(demand, progress),
        "rows_total": progress.basis.get("rows_total", len(progress.rows)),
        "kind": demand.kind,
        "is_recruitment": demand.kind == DemandKind.RECRUITMENT,
        "past": page_data.past_demands(demand),
        "history_metrics": history_metrics[0] if history_metrics else None,
        "thread": page_data.thread(demand),
        "comment_form": CommentForm(),
        "evaluation": page_data.evaluation_card(demand, evaluations[0] if evaluations else None),
        "evaluation_count": len(evaluations),
        "statuses": DemandStatus,
    }


@page("demands.view")
@require_safe
def demand_page(request: HttpRequest, demand_id: int) -> HttpResponse:
    demand = get_demand(request.user, demand_id)
    return render(request, "collab/demand.html", _demand_context(request, demand))


def _run_step(request: HttpRequest, demand: Demand, form: StepForm) -> Demand:
    user, actor, data = request.user, _actor(), form.cleaned_data
    step = data["step"]
    if step == "accept":
        return do_accept_demand(
            demand, plan=data["plan"], requisition=data["requisition"], user=user, actor=actor
        )
    if step == "decline":
        return do_decline_demand(demand, reason=data["reason"], user=user, actor=actor)
    if step == "start":
        return do_start_demand(demand, note=data["note"], user=user, actor=actor)
    if step == "deliver":
        return do_deliver_demand(demand, note=data["note"], user=user, actor=actor)
    if step == "withdraw":
        return do_withdraw_demand(demand, reason=data["reason"], user=user, actor=actor)
    return do_evaluate_demand(demand, user=user, actor=actor).demand


STEP_DONE = {
    "accept": gettext_lazy("Accepted: the requester sees your plan."),
    "decline": gettext_lazy("Declined: the requester sees your reason."),
    "start": gettext_lazy("Started: progress now follows the source data."),
    "deliver": gettext_lazy(
        "Delivered: the demand is evaluated by its rule at month-end, or now by performance administration."
    ),
    "withdraw": gettext_lazy("Withdrawn: the serving unit sees it closed."),
    "evaluate": gettext_lazy("Evaluated by the rule: the points are below."),
}


@page("demands.view")
@require_POST
def demand_step(request: HttpRequest, demand_id: int) -> HttpResponse:
    """One step of the lifecycle (accept, decline, start, deliver, withdraw, evaluate). A step the user may not
    take is refused with 403; a step the state does not allow, or missing text, comes back as a message."""
    demand = get_demand(request.user, demand_id)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose a step from the demand's page and fill in its text."))
        return redirect("collab:demand", demand_id=demand.pk)
    step = form.cleaned_data["step"]
    action = STEP_ACTIONS[step]
    if not can(request.user, action):
        return render(request, "web/403.html", {"action": ACTIONS[action]}, status=403)
    try:
        demand = _run_step(request, demand, form)
    except ValidationFailed as exc:
        messages.error(request, _explain(exc.field, exc.message))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(STEP_DONE[step]))
    return redirect("collab:demand", demand_id=demand.pk)


def _explain(field: str | None, message: str) -> str:
    """A missing plan or reason, said as what to do next."""
    if field == "plan":
        return gettext("Write the plan (channels, content, timing) before accepting.")
    if field == "reason":
        return gettext("Give the reason before declining.")
    return message


@page("demands.comment")
@require_POST
def demand_comment(request: HttpRequest, demand_id: int) -> HttpResponse:
    """A comment or a change request; with htmx the thread comes back and the new entry shows without reload."""
    demand = get_demand(request.user, demand_id)
    form = CommentForm(request.POST)
    status = 200
    if form.is_valid():
        text, change = form.cleaned_data["text"], form.cleaned_data["change_request"]
        try:
            if change:
                do_request_change(demand, text=text, user=request.user, actor=_actor())
            else:
                do_comment_demand(demand, text=text, user=request.user, actor=_actor())
        except (ValidationFailed, Conflict) as exc:
            form.add_error("text", exc.message)
            status = 400
        else:
            form = CommentForm()
    else:
        status = 400
    if not htmx_partial(request):
        if status != 200:
            messages.error(request, gettext("Write the comment's text, then send it again."))
        return redirect(reverse("collab:demand", kwargs={"demand_id": demand.pk}) + "#thread")
    ctx = {
        "demand": demand,
        "thread": page_data.thread(demand),
        "comment_form": form,
        "steps": page_data.allowed_steps(request.user, demand),
    }
    return render(request, "collab/partials/demand_thread.html", ctx, status=status)


urlpatterns = [
    path("", board, name="demands"),
    path("demands/new/", demand_new, name="demand_new"),
    path("demands/<int:demand_id>/", demand_page, name="demand"),
    path("demands/<int:demand_id>/step/", demand_step, name="demand_step"),
    path("demands/<int:demand_id>/comments/", demand_comment, name="demand_comment"),
]
