"""Writes of the weekly coordination report (协同周报): generating a week's reports (a snapshot per functional
unit and one for the company, replacing that week's earlier ones, each announced to its subscribers), and
subscribing to a unit's report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.audit.actions import record_event
from perflink.collab.models import WeeklyReport, WeeklyReportSubscription
from perflink.collab.weekly import (
    Sources,
    functional_units,
    may_view,
    subscribers,
    title_of,
    week_label,
    week_start_of,
    weekly_report,
)
from perflink.core.context import Actor
from perflink.core.errors import NotFound
from perflink.org.models import OrgUnit

# The notification kind perflink.notify routes by (perflink.notify.choices.Kind.REPORT_WEEKLY).
WEEKLY_EVENT = "report.weekly"


def report_url(week_start: dt.date, unit: OrgUnit | None) -> str:
    url = reverse("collab:weekly_report", args=[week_label(week_start)])
    return f"{url}?unit={unit.pk}" if unit is not None else url


def _counts_line(data: dict[str, Any]) -> str:
    counts = data["demands"]["counts"]
    return _(
        "Received %(received)s, accepted %(accepted)s, delivered %(delivered)s, overdue %(overdue)s; "
        "%(items)s items for the meeting."
    ) % {**counts, "items": len(data["meeting"])}


def _announce(report: WeeklyReport, *, actor: Actor) -> None:
    from perflink.notify.actions import do_publish_event

    people = subscribers(report.unit)
    if not people:
        return
    do_publish_event(
        WEEKLY_EVENT,
        title=title_of(report.data),
        body=_counts_line(report.data),
        url=report_url(report.week_start, report.unit),
        users=people,
        data={"week": report.data["week"], "unit": report.unit.code if report.unit else None},
        actor=actor,
    )


def do_generate_weekly_report(
    week_start: dt.date,
    unit: OrgUnit | None,
    *,
    today: dt.date | None = None,
    sources: Sources | None = None,
    notify: bool = True,
    actor: Actor,
) -> WeeklyReport:
    """Generate (or generate again, replacing) one report of the week, and tell its subscribers."""
    week_start = week_start_of(week_start)
    data = weekly_report(week_start, unit, today=today, sources=sources)
    with transaction.atomic():
        report, created = WeeklyReport.objects.select_for_update().update_or_create(
            week_start=week_start,
            unit=unit,
            defaults={"data": data, "generated_at": timezone.now(), "generated_by_label": actor.label[:150]},
        )
        record_event(
            "weekly_report.generate",
            report,
            after={"week": data["week"], "unit": unit.code if unit else None, "replaced": not created},
        )
        if notify:
            _announce(report, actor=actor)
    return report


def do_generate_weekly_reports(
    week_start: dt.date, *, today: dt.date | None = None, actor: Actor
) -> list[WeeklyReport]:
    """Generate the week's reports, for every open functional unit and the company, in one transaction."""
    sources = Sources()  # the runs' frames and the links, read once for all the units
    with transaction.atomic():
        return [
            do_generate_weekly_report(week_start, unit, today=today, sources=sources, actor=actor)
            for unit in [*functional_units(), None]
        ]


def do_subscribe_weekly(user: Any, unit: OrgUnit | None, *, actor: Actor) -> WeeklyReportSubscription:
    """Receive the unit's (the company's) weekly report in the inbox; subscribing twice changes nothing."""
    if not may_view(user, unit):
        raise NotFound("unit not found")
    with transaction.atomic():
        subscription, created = WeeklyReportSubscription.objects.get_or_create(user=user, unit=unit)
        if created:
            record_event(
                "weekly_report.subscribe",
                subscription,
                after={"user": user.username, "unit": unit.code if unit else None},
            )
    return subscription


def do_unsubscribe_weekly(user: Any, unit: OrgUnit | None, *, actor: Actor) -> bool:
    """Stop receiving the report; returns whether there was a subscription."""
    with transaction.atomic():
        subscription = WeeklyReportSubscription.objects.filter(user=user, unit=unit).first()
        if subscription is None:
            return False
        record_event(
            "weekly_report.unsubscribe",
            subscription,
            before={"user": user.username, "unit": unit.code if unit else None},
        )
        subscription.delete()
    return True
