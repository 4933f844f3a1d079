"""Reads of links, within the reader's data scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from perflink.accounts.access import unit_scope_q
from perflink.core.errors import NotFound
from perflink.incentives.choices import LinkStatus
from perflink.incentives.models import Link
from perflink.org.models import OrgUnit


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
