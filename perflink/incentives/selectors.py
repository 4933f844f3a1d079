"""Reads of links, within the reader's data scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import Q, QuerySet

from perflink.accounts.access import unit_scope_q
from perflink.core.errors import NotFound
from perflink.incentives.choices import LinkStatus
from perflink.incentives.models import Link, PlanVersion
from perflink.metrics.choices import RunStatus
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import run_frame
from perflink.org.models import OrgUnit

VALUE_RUNS_SEARCHED = 12  # the most recent runs searched for a link's values


def visible_links(who: Any) -> QuerySet[Link]:
    """Links the reader may see: all, or (unit heads) those touching a unit of their subtree."""
    links = Link.objects.select_related(
        "functional_unit", "business_unit", "functional_metric", "business_metric"
    )
    q = unit_scope_q(who)
    if q is None:
        return links
    units = OrgUnit.objects.filter(q).values("pk")
    return links.filter(Q(functional_unit__in=units) | Q(business_unit__in=units))


def get_link(who: Any, link_id: int) -> Link:
    link = visible_links(who).filter(pk=link_id).first()
    if link is None:
        raise NotFound("link not found")
    return link


def confirmed_links() -> QuerySet[Link]:
    """The links that count in scores and bonuses."""
    return Link.objects.filter(status=LinkStatus.CONFIRMED)


def scope_unit_ids(who: Any) -> set[int] | None:
    """The ids of the units whose figures the reader may see (None: the whole tenant)."""
    q = unit_scope_q(who)
    return None if q is None else set(OrgUnit.objects.filter(q).values_list("pk", flat=True))


@dataclass(frozen=True)
class LinkValues:
    """A link's two metric values (each at its own unit) and the calculation run they come from."""

    functional: float | None
    business: float | None
    run: CalcRun


def latest_link_values(
    links: Sequence[Link], unit_ids: set[int] | None, *, runs_searched: int = VALUE_RUNS_SEARCHED
) -> dict[int, LinkValues]:
    """Each link's latest values: from the most recent calculation run holding a value for both sides (the
    functional metric at the functional unit, the business metric at the business unit), else from the most
    recent run holding one of them. Only units in ``unit_ids`` (the reader's scope; None = all) get a value,
    and only the last ``runs_searched`` runs are read. A link without any value is left out."""
    sides = {link.pk: _sides(link) for link in links}
    # The (metric, unit) pairs the reader may see the value of, per link.
    wanted = {pk: [s for s in pair if unit_ids is None or s[1] in unit_ids] for pk, pair in sides.items()}
    keys = {side for pairs in wanted.values() for side in pairs}
    if not keys:
        return {}
    metrics = sorted({metric for metric, _ in keys})
    units = sorted({unit for _, unit in keys})
    complete: dict[int, LinkValues] = {}
    partial: dict[int, LinkValues] = {}
    runs = CalcRun.objects.filter(status=RunStatus.DONE).order_by("-created_at", "-id")[:runs_searched]
    for run in runs:
        try:
            frame = run_frame(run, "values")
        except NotFound:
            continue
        found = frame.filter(
            (pl.col("level") == "unit")
            & pl.col("metric").is_in(metrics)
            & pl.col("subject_id").is_in(units)
            & pl.col("value").is_not_null()
            & pl.col("value").is_not_nan()
        )
        values = {(m, s): v for m, s, v in found.select("metric", "subject_id", "value").iter_rows()}
        for pk, pairs in wanted.items():
            if pk in complete or not pairs:
                continue
            functional, business = (values.get(side) if side in pairs else None for side in sides[pk])
            if all(values.get(side) is not None for side in pairs):
                complete[pk] = LinkValues(functional, business, run)
            elif (functional is not None or business is not None) and pk not in partial:
                partial[pk] = LinkValues(functional, business, run)
        if all(pk in complete or not pairs for pk, pairs in wanted.items()):
            break
    return partial | complete


def _sides(link: Link) -> tuple[tuple[str, int], tuple[str, int]]:
    """The link's (metric code, unit id) pairs: the functional side, then the business side."""
    return (
        (link.functional_metric.code, link.functional_unit_id),
        (link.business_metric.code, link.business_unit_id),
    )


def cohort_metrics_of_plans() -> set[str]:
    """The metrics any version of the tenant's plans reads as a matured cohort (a component with maturity
    ``cohort``), so that the period's calculation run computes their ``<code>@cohort`` values."""
    codes: set[str] = set()
    for definition in PlanVersion.objects.values_list("definition", flat=True):
        for component in (definition or {}).get("components", []) or []:
            if isinstance(component, dict) and component.get("maturity") == "cohort":
                codes.add(str(component.get("source", "")).partition(":")[2])
    return codes
