"""Link pages: the graph and list of links, proposing one, and a link's page where the business side confirms
or rejects it and where it is withdrawn.

Everyone with ``links.view`` reads them, narrowed to their data scope (a unit head sees the links touching their
subtree, and the figures of their own units only). The forms write through the actions, which hold the rules:
only the head of the business unit decides, never the functional unit's own side.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from perflink.accounts.access import can
from perflink.core.context import current_actor
from perflink.core.errors import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from perflink.core.htmx import render_page
from perflink.incentives.actions import do_decide_link, do_propose_link, do_withdraw_link, may_decide
from perflink.incentives.choices import LinkStatus
from perflink.incentives.forms import ACTIVE, ALL, STATUS_FILTERS, DecisionForm, LinkFilterForm, LinkForm
from perflink.incentives.models import Link
from perflink.incentives.selectors import get_link, latest_link_values, scope_unit_ids, visible_links
from perflink.incentives.views.graph import build_graph, unit_caption
from perflink.metrics.choices import Domain
from perflink.metrics.models import MetricDefinition
from perflink.metrics.views.result_rows import with_unit
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit
from perflink.web.decorators import page

LINKS_PER_PAGE = 25
GRAPH_MAX = 40  # links drawn in the graph; the table below pages through all of them
INDENT = "\u3000"  # an ideographic space per level in a flat <select> of units
STATUS_BADGES = {
    LinkStatus.PROPOSED: "badge-amber",
    LinkStatus.CONFIRMED: "badge-green",
    LinkStatus.REJECTED: "badge-red",
    LinkStatus.WITHDRAWN: "badge-gray",
}
STATUS_RANK = Case(
    *(When(status=status, then=Value(i)) for i, status in enumerate(LinkStatus.values)),
    default=Value(99),
    output_field=IntegerField(),
)
SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "status": ("status_rank", "-updated_at"),
    "functional": ("functional_unit__path", "functional_metric__code"),
    "business": ("business_unit__path", "business_metric__code"),
    "decided": ("decided_at",),
    "version": ("version",),
    "updated": ("updated_at",),
}
FORM_FIELDS = {  # the action's field names -> the form's
    "functional_unit_id": "functional_unit",
    "business_unit_id": "business_unit",
    "functional_metric": "functional_metric",
    "business_metric": "business_metric",
    "rationale": "rationale",
}


# --- shared reads ------------------------------------------------------------------------------------------------


def _links(who: Any) -> QuerySet[Link]:
    return visible_links(who).select_related("functional_unit__parent", "business_unit__parent")


def _ordering(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    columns = []
    for column in SORT_COLUMNS[sort.lstrip("-")]:
        flip = descending != column.startswith("-")
        field = F(column.lstrip("-"))
        columns.append(field.desc(nulls_last=True) if flip else field.asc(nulls_last=True))
    return [*columns, "pk"]


def _unit_options(links: QuerySet[Link], unit_ids: set[int] | None) -> list[OrgUnit]:
    """The units to filter by: those the links join, and the branches above them the reader may see."""
    pairs = links.order_by().values_list("functional_unit_id", "business_unit_id")
    joined = {unit for pair in pairs for unit in pair}
    if not joined:
        return []
    paths = OrgUnit.objects.filter(pk__in=joined).values_list("path", flat=True)
    # Every ancestor but the root (filtering by the root filters nothing).
    above = {int(part) for path in paths for part in path.strip("/").split("/")[1:]}
    if unit_ids is not None:
        above &= unit_ids
    return list(OrgUnit.objects.filter(pk__in=joined | above).order_by("path"))


def _option_label(unit: OrgUnit, top: int) -> str:
    """A unit in the filter's flat select, indented below the units above it."""
    return f"{INDENT * max(unit.depth - top, 0)}{unit.name} ({unit.code})"


def _status_counts(links: QuerySet[Link]) -> list[dict[str, Any]]:
    counts = dict(links.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return [
        {"status": value, "label": label, "n": counts.get(value, 0), "badge": STATUS_BADGES[value]}
        for value, label in LinkStatus.choices
    ]


def _visible_link(request: HttpRequest, link_id: int) -> Link:
    """The link if the reader may see it (404 alike for missing and not theirs), its units' parents loaded."""
    link = _links(request.user).filter(pk=link_id).first()
    if link is None:
        raise NotFound("link not found")
    return link


def _detail_url(link: Link) -> str:
    return reverse("incentives:link_detail", kwargs={"link_id": link.pk})


def _row(link: Link, unit_ids: set[int] | None) -> dict[str, Any]:
    return {
        "link": link,
        "badge": STATUS_BADGES.get(link.status, "badge-gray"),
        "functional_caption": unit_caption(link.functional_unit, unit_ids),
        "business_caption": unit_caption(link.business_unit, unit_ids),
    }


# --- the graph and the list -----------------------------------------------------------------------------------


@page("links.view")
@require_safe
def links(request: HttpRequest) -> HttpResponse:
    """The link graph and the table of links, filtered by status and unit, sorted and paged."""
    unit_ids = scope_unit_ids(request.user)
    every = _links(request.user)
    options = _unit_options(every, unit_ids)
    top = min((unit.depth for unit in options), default=0)
    form = LinkFilterForm(request.GET or None, units=[(u.pk, _option_label(u, top)) for u in options])
    filters = form.filters()
    in_unit = every
    chosen = next((u for u in options if u.pk == filters["unit"]), None)
    if chosen is not None:
        in_unit = every.filter(
            Q(functional_unit__path__startswith=chosen.path) | Q(business_unit__path__startswith=chosen.path)
        )
    shown = in_unit
    if filters["status"] == ACTIVE:
        shown = in_unit.filter(status__in=[LinkStatus.PROPOSED, LinkStatus.CONFIRMED])
    elif filters["status"] != ALL:
        shown = in_unit.filter(status=filters["status"])
    shown = shown.annotate(status_rank=STATUS_RANK)

    drawn = list(shown.order_by("status_rank", "-updated_at", "pk")[:GRAPH_MAX])
    graph = build_graph(drawn, latest_link_values(drawn, unit_ids), unit_ids, _detail_url)
    page_obj = Paginator(shown.order_by(*_ordering(filters["sort"])), LINKS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    counts = _status_counts(in_unit)
    ctx = {
        "form": form,
        "status": filters["status"],
        "status_filters": STATUS_FILTERS,
        "unit": chosen,
        "unit_options": [(u.pk, _option_label(u, top)) for u in options],
        "sort": filters["sort"],
        "filtered": filters["status"] != ACTIVE or chosen is not None,
        "counts": counts,
        "total": sum(c["n"] for c in counts),
        "graph": graph,
        "graph_cut": page_obj.paginator.count > len(drawn),
        "graph_max": GRAPH_MAX,
        "page_obj": page_obj,
        "rows": [_row(link, unit_ids) for link in page_obj],
        "may_propose": can(request.user, "links.propose"),
    }
    return render_page(request, "incentives/links.html", "incentives/partials/link_results.html", ctx)


# --- proposing a link ----------------------------------------------------------------------------------------------


def _unit_groups(unit_type: str) -> tuple[list[tuple[str, list[tuple[int, str]]]], dict[int, OrgUnit]]:
    """Open units of a type for a select, grouped under their parent: (groups, units by id)."""
    units = OrgUnit.objects.filter(unit_type=unit_type, closed_on__isnull=True).select_related("parent")
    groups: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    parents: dict[int | None, str] = {}
    by_id = {}
    for unit in units.order_by("path"):
        groups[unit.parent_id].append((unit.pk, f"{unit.name} ({unit.code})"))
        parents[unit.parent_id] = unit.parent.name if unit.parent else "—"
        by_id[unit.pk] = unit
    return [(parents[parent], options) for parent, options in groups.items()], by_id


def _metric_groups() -> tuple[list[tuple[str, list[tuple[str, str]]]], dict[str, MetricDefinition]]:
    """Active metrics for a select, grouped by domain in the product's order: (groups, metrics by code)."""
    by_domain: dict[str, list[MetricDefinition]] = defaultdict(list)
    for metric in MetricDefinition.objects.filter(is_active=True).order_by("code"):
        by_domain[metric.domain].append(metric)
    groups = [
        (str(label), [(m.code, f"{m.name} ({m.code})") for m in by_domain[value]])
        for value, label in Domain.choices
        if by_domain.get(value)
    ]
    return groups, {m.code: m for metrics in by_domain.values() for m in metrics}


def _initial(request: HttpRequest) -> dict[str, Any]:
    """A rejected, withdrawn or confirmed link proposed again (?link=<id>) starts from what it said; a suggestion
    of the analytics (?functional_metric=<code>&business_metric=<code>) starts from its two metrics."""
    try:
        link = get_link(request.user, int(request.GET.get("link", "")))
    except (ValueError, NotFound):
        codes = set(MetricDefinition.objects.filter(is_active=True).values_list("code", flat=True))
        return {
            name: request.GET[name]
            for name in ("functional_metric", "business_metric")
            if request.GET.get(name) in codes
        }
    return {
        "functional_unit": link.functional_unit_id,
        "functional_metric": link.functional_metric.code,
        "business_unit": link.business_unit_id,
        "business_metric": link.business_metric.code,
        "rationale": link.rationale,
    }


@page("links.propose")
@require_http_methods(["GET", "HEAD", "POST"])
def link_new(request: HttpRequest) -> HttpResponse:
    functional_groups, functional_units = _unit_groups(UnitType.FUNCTIONAL)
    business_groups, business_units = _unit_groups(UnitType.BUSINESS)
    metric_groups, metrics = _metric_groups()
    choices = {
        "functional_units": functional_groups,
        "business_units": business_groups,
        "metrics": metric_groups,
    }
    status = 200
    if request.method == "POST":
        form = LinkForm(request.POST, **choices)
        if form.is_valid():
            data = form.cleaned_data
            functional_unit = functional_units[data["functional_unit"]]
            business_unit = business_units[data["business_unit"]]
            unit_ids = scope_unit_ids(request.user)
            if unit_ids is not None and not {functional_unit.pk, business_unit.pk} & unit_ids:
                # Otherwise the proposer could not even see the link they made.
                form.add_error(
                    None, gettext("One of the two units must be yours: a unit of your data scope.")
                )
            else:
                try:
                    link = do_propose_link(
                        functional_unit=functional_unit,
                        functional_metric=metrics[data["functional_metric"]],
                        business_unit=business_unit,
                        business_metric=metrics[data["business_metric"]],
                        rationale=data["rationale"],
                        actor=current_actor(),
                    )
                except ValidationFailed as exc:
                    form.add_error(FORM_FIELDS.get(exc.field or ""), exc.message)
                except Conflict as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(
                        request,
                        gettext("Link proposed: the head of %(unit)s confirms or rejects it.")
                        % {"unit": business_unit.name},
                    )
                    return redirect("incentives:link_detail", link_id=link.pk)
        status = 400
    else:
        form = LinkForm(initial=_initial(request), **choices)
    return render(request, "incentives/link_form.html", {"form": form, **choices}, status=status)


# --- one link ----------------------------------------------------------------------------------------------------


def may_withdraw(user: Any, link: Link) -> bool:
    """The action's rule: a proposal by whoever may propose, a confirmed link only by the business side."""
    if link.status == LinkStatus.PROPOSED:
        return can(user, "links.propose")
    return link.status == LinkStatus.CONFIRMED and may_decide(user, link)


def _history(link: Link) -> list[dict[str, Any]]:
    """The link's versions, newest first; the rationale is shown where it changed."""
    versions = list(link.versions.all())
    rows = []
    for i, version in enumerate(versions):
        changed = i == 0 or version.rationale != versions[i - 1].rationale
        rows.append(
            {
                "version": version,
                "badge": STATUS_BADGES.get(version.status, "badge-gray"),
                "rationale": version.rationale if changed else "",
            }
        )
    return rows[::-1]


def _detail(
    request: HttpRequest, link: Link, *, status: int = 200, errors: dict[str, str] | None = None
) -> HttpResponse:
    user = request.user
    unit_ids = scope_unit_ids(user)
    values = latest_link_values([link], unit_ids)
    latest = values.get(link.pk)
    deciding = link.status == LinkStatus.PROPOSED and may_decide(user, link)
    ctx = {
        "link": link,
        "badge": STATUS_BADGES.get(link.status, "badge-gray"),
        "functional_value": with_unit(latest.functional if latest else None, link.functional_metric.unit),
        "business_value": with_unit(latest.business if latest else None, link.business_metric.unit),
        "values_period": f"{latest.run.period} #{latest.run.number}" if latest else "",
        "functional_hidden": unit_ids is not None and link.functional_unit_id not in unit_ids,
        "business_hidden": unit_ids is not None and link.business_unit_id not in unit_ids,
        "functional_caption": unit_caption(link.functional_unit, unit_ids),
        "business_caption": unit_caption(link.business_unit, unit_ids),
        "history": _history(link),
        "may_decide": deciding,
        "may_withdraw": may_withdraw(user, link),
        "may_propose_again": link.status != LinkStatus.PROPOSED and can(user, "links.propose"),
        "may_see_metrics": can(user, "metrics.view"),
        "errors": errors or {},
        "note": request.POST.get("note", "") if request.method == "POST" else "",
    }
    return render(request, "incentives/link_detail.html", ctx, status=status)


@page("links.view")
@require_safe
def link_detail(request: HttpRequest, link_id: int) -> HttpResponse:
    return _detail(request, _visible_link(request, link_id))


@page("links.decide")
@require_POST
def link_decide(request: HttpRequest, link_id: int) -> HttpResponse:
    """Confirm or reject (with a reason): only the head of the business unit; anyone else is refused (403)."""
    link = _visible_link(request, link_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose to confirm or to reject the link."))
        return redirect("incentives:link_detail", link_id=link.pk)
    confirm = form.cleaned_data["decision"] == "confirm"
    try:
        decided = do_decide_link(
            link, confirm=confirm, note=form.cleaned_data["note"], user=request.user, actor=current_actor()
        )
    except PermissionDeniedError as exc:
        messages.error(request, exc.message)
        return _detail(request, link, status=403)
    except ValidationFailed as exc:
        return _detail(request, link, status=400, errors={"reject": exc.message})
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("incentives:link_detail", link_id=link.pk)
    if confirm:
        text = gettext("Link confirmed: it now counts in the scores and bonuses of %(unit)s.")
    else:
        text = gettext("Link rejected. %(unit)s can propose it again with a new rationale.")
    messages.success(request, text % {"unit": decided.functional_unit.name})
    return redirect("incentives:link_detail", link_id=link.pk)


@page("links.propose")
@require_POST
def link_withdraw(request: HttpRequest, link_id: int) -> HttpResponse:
    link = _visible_link(request, link_id)
    try:
        do_withdraw_link(link, note=request.POST.get("note", ""), user=request.user, actor=current_actor())
    except PermissionDeniedError as exc:
        messages.error(request, exc.message)
        return _detail(request, link, status=403)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Link withdrawn: it no longer counts."))
    return redirect("incentives:link_detail", link_id=link.pk)
