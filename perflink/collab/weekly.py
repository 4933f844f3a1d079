"""The weekly coordination report (协同周报): a week of a functional unit's demands, or the whole company's.

A week is an ISO week, Monday to Sunday, in the tenant's time zone. :func:`weekly_report` assembles, from the
demands, the calculation runs, the confirmed links and the surveys (reads only):

* **demands**: how many were received (submitted), accepted, delivered and declined in the week, and how many
  were overdue at its end (an SLA clock had run out: acceptance, else delivery, as
  :func:`perflink.collab.selectors.overdue` says), with their lists; a functional unit's report counts the
  demands addressed to it and to the units below it, the company's every demand;
* **open**: the demands still open at the end of the week, with their key figure of progress as of then;
* **metrics**: the unit's metric values of the last six months with a calculation run (the company's: the top
  unit's), and **links**: the linked business units' values of the linked business metric (confirmed links);
  a value not final at its run's data date (a 90-day window still open: :mod:`perflink.analytics.maturity`) is
  stored with ``provisional`` true, takes no part in "latest" or "getting worse", and is shown only on request,
  marked 暂估 (:func:`present`);
* **surveys**: the latest support surveys rating the unit, through
  :func:`perflink.collab.surveys.unit_results` as a reader who does not manage surveys, so a unit below the
  anonymity threshold shows neither figures nor comments, whoever reads the report;
* **meeting**: items for the coordination meeting, derived from the above (overdue demands, open change
  requests, declined demands, low satisfaction, falling metrics), each a code with its data.

The result is JSON (numbers as exact text, dates as ISO text), so the same dict is stored as the week's snapshot
(:class:`perflink.collab.models.WeeklyReport`) and rendered as the page, the PDF and the XLSX.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.accounts.access import can, unit_scope_q
from perflink.analytics.maturity import are_latest, immature_metrics, left_out_note
from perflink.collab.choices import DemandKind, DemandStatus, EventKind
from perflink.collab.models import (
    Demand,
    DemandEvent,
    Survey,
    SurveyStatus,
    WeeklyReport,
    WeeklyReportSubscription,
)
from perflink.collab.page_data import KEY_FIGURES, key_figure
from perflink.collab.progress import demand_progress, local_midnight
from perflink.collab.surveys import unit_results
from perflink.core.errors import NotFound, ValidationFailed
from perflink.metrics.calc import confirmed_links
from perflink.metrics.models import MetricDefinition
from perflink.metrics.selectors import latest_run, run_frame
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit

TREND_PERIODS = 6
LIST_MAX = 50  # rows per list kept in a report (the counts are always complete)
METRICS_MAX = 12
SURVEYS_MAX = 2
# A rated unit's support is "low" when its average is below this share of the scale's top points (6 of 10).
LOW_SATISFACTION = Decimal("0.6")
SCHEMA = 1


# --- weeks ------------------------------------------------------------------------------------------------------


def week_start_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def week_label(week_start: dt.date) -> str:
    """``2026-W10``: the ISO year and week number."""
    year, week, _day = week_start.isocalendar()
    return f"{year:04d}-W{week:02d}"


def parse_week(text: str) -> dt.date:
    """The Monday of ``2026-W10`` (or of the week holding an ISO date); ValidationFailed otherwise."""
    text = (text or "").strip()
    try:
        if "-W" in text:
            year, week = text.split("-W", 1)
            return dt.date.fromisocalendar(int(year), int(week), 1)
        return week_start_of(dt.date.fromisoformat(text))
    except ValueError:
        raise ValidationFailed(_("A week is written like 2026-W10."), field="week") from None


def previous_week(today: dt.date) -> dt.date:
    return week_start_of(today) - dt.timedelta(days=7)


def functional_units() -> QuerySet[OrgUnit]:
    """The open functional units: each gets its own report every week."""
    return OrgUnit.objects.filter(unit_type=UnitType.FUNCTIONAL, closed_on__isnull=True).order_by("path")


def company_unit() -> OrgUnit | None:
    """The top of the tree, whose metric values stand for the company."""
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


# --- helpers ----------------------------------------------------------------------------------------------------


def _text(value: Decimal | float | None, places: int = 2) -> str | None:
    if value is None:
        return None
    quantized = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(quantized, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _months(last: dt.date, n: int) -> list[str]:
    """The ``n`` months up to and including ``last``'s, oldest first."""
    year, month, out = last.year, last.month, []
    for _i in range(n):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


@dataclass
class Sources:
    """What every report of one generation shares: the runs' value frames per period and the confirmed links
    (read once however many units get a report)."""

    values: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    runs: dict[str, int | None] = field(default_factory=dict)
    # Per period, the metrics whose value was not final at the run's data date.
    immature: dict[str, frozenset[str]] = field(default_factory=dict)
    links: pl.DataFrame | None = None
    definitions: dict[str, MetricDefinition] = field(default_factory=dict)

    def frame(self, period: str) -> pl.DataFrame | None:
        if period not in self.values:
            run = latest_run(period)
            frame = None
            if run is not None:
                try:
                    frame = run_frame(run, "values").filter(pl.col("level") == "unit")
                except NotFound:  # a run without stored values: the month shows as missing
                    frame = None
            self.values[period] = frame
            self.runs[period] = run.pk if run is not None else None
            self.immature[period] = immature_metrics(run) if run is not None else frozenset()
        return self.values[period]

    def link_frame(self) -> pl.DataFrame:
        if self.links is None:
            self.links = confirmed_links()
        return self.links

    def definition(self, code: str) -> MetricDefinition | None:
        if not self.definitions:  # every definition at once: a report reads a dozen, a generation hundreds
            self.definitions = {m.code: m for m in MetricDefinition.objects.all()}
        return self.definitions.get(code)


# --- demands ----------------------------------------------------------------------------------------------------


def _by(moment: dt.datetime | None, end: dt.datetime) -> bool:
    return moment is not None and moment < end


def _in(moment: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def overdue_at(demand: Demand, end: dt.datetime, as_of: dt.date) -> str:
    """Which SLA clock had run out at the end of the week, from the demand's timestamps (so a past week reads the
    same later): "acceptance", "delivery" or ""."""
    if not _by(demand.submitted_at, end) or _by(demand.declined_at, end) or _by(demand.withdrawn_at, end):
        return ""
    if not _by(demand.accepted_at, end) and demand.acceptance_due_on and as_of > demand.acceptance_due_on:
        return "acceptance"
    if not _by(demand.delivered_at, end) and demand.delivery_due_on and as_of > demand.delivery_due_on:
        return "delivery"
    return ""


def open_at(demand: Demand, end: dt.datetime) -> bool:
    return _by(demand.submitted_at, end) and not any(
        _by(moment, end) for moment in (demand.delivered_at, demand.declined_at, demand.withdrawn_at)
    )


def _demand_row(demand: Demand, **extra: Any) -> dict[str, Any]:
    return {
        "id": demand.pk,
        "number": demand.number,
        "title": demand.title,
        "kind": demand.kind,
        "status": demand.status,
        "requesting_unit": demand.requesting_unit.name,
        "serving_unit": demand.serving_unit.name,
        "submitted_on": timezone.localdate(demand.submitted_at).isoformat(),
        "acceptance_due_on": demand.acceptance_due_on.isoformat() if demand.acceptance_due_on else None,
        "delivery_due_on": demand.delivery_due_on.isoformat() if demand.delivery_due_on else None,
        **extra,
    }


def _progress_row(demand: Demand, as_of: dt.date, overdue: str) -> dict[str, Any]:
    figure = None
    if demand.kind in KEY_FIGURES:
        figure = key_figure(demand, demand_progress(demand, as_of))
    return _demand_row(
        demand,
        overdue=overdue,
        figure=figure.text if figure else None,
        figure_label=figure.label if figure else None,
        provisional=bool(figure and figure.provisional),
    )


def demands_section(
    demands: QuerySet[Demand], start: dt.datetime, end: dt.datetime, as_of: dt.date
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The week's counts and lists, the demands open at its end with progress, and its open change requests.
    ``as_of`` is the week's last day, or today while the week runs."""
    closed_before = Q(delivered_at__lt=start) | Q(declined_at__lt=start) | Q(withdrawn_at__lt=start)
    rows = list(
        demands.filter(submitted_at__lt=end)
        .exclude(closed_before)
        .select_related("requesting_unit", "serving_unit")
        .order_by("submitted_at", "id")
    )
    lists: dict[str, list[dict[str, Any]]] = {
        "received": [],
        "accepted": [],
        "delivered": [],
        "declined": [],
        "overdue": [],
    }
    open_rows: list[dict[str, Any]] = []
    open_ids: list[int] = []
    for demand in rows:
        late = overdue_at(demand, end, as_of)
        if _in(demand.submitted_at, start, end):
            lists["received"].append(_demand_row(demand))
        if _in(demand.accepted_at, start, end):
            lists["accepted"].append(_demand_row(demand))
        if _in(demand.delivered_at, start, end):
            lists["delivered"].append(_demand_row(demand))
        if _in(demand.declined_at, start, end):
            lists["declined"].append(_demand_row(demand, reason=demand.decline_reason))
        if late:
            lists["overdue"].append(_demand_row(demand, overdue=late))
        if open_at(demand, end):
            open_ids.append(demand.pk)
            if len(open_rows) < LIST_MAX:
                open_rows.append(_progress_row(demand, as_of, late))
    changes = [
        {
            "demand_id": event.demand_id,
            "number": event.demand.number,
            "title": event.demand.title,
            "text": event.text[:300],
            "on": timezone.localdate(event.at).isoformat(),
        }
        for event in DemandEvent.objects.filter(
            kind=EventKind.CHANGE_REQUEST, demand_id__in=open_ids, at__gte=start, at__lt=end
        )
        .select_related("demand")
        .order_by("at", "id")
    ]
    section = {
        "counts": {key: len(value) for key, value in lists.items()} | {"open": len(open_ids)},
        **{key: value[:LIST_MAX] for key, value in lists.items()},
    }
    return section, open_rows, changes


# --- metrics and links ------------------------------------------------------------------------------------------


def _trend(
    sources: Sources, periods: list[str], unit_id: int, codes: Iterable[str] | None
) -> dict[str, list]:
    """Per metric code, the unit's value per period (None where there is no run or no value), ``provisional``
    where the value was not final at the run's data date."""
    out: dict[str, list[dict[str, Any]]] = {}
    wanted = None if codes is None else set(codes)
    for i, period in enumerate(periods):
        frame = sources.frame(period)
        if frame is None or not frame.height:
            continue
        found = frame.filter(pl.col("subject_id") == unit_id)
        if wanted is not None:
            found = found.filter(pl.col("metric").is_in(list(wanted)))
        for row in found.iter_rows(named=True):
            series = out.setdefault(
                row["metric"], [{"period": p, "value": None, "provisional": False} for p in periods]
            )
            series[i] = {
                "period": period,
                "value": _text(row["value"]) if row["value"] is not None else None,
                "provisional": bool(row.get("provisional"))
                or row["metric"] in sources.immature.get(period, ()),
            }
    return out


def _falling(series: list[dict[str, Any]], direction: str) -> tuple[str, str, str] | None:
    """(from, to, period) when the latest final value is worse than the one before it: lower, or higher for a
    metric where lower is better (a fix time). Provisional values are not compared: an unfinished window is
    not a trend."""
    known = [p for p in series if p["value"] is not None and not p.get("provisional")]
    if len(known) < 2:
        return None
    before, last = Decimal(known[-2]["value"]), Decimal(known[-1]["value"])
    worse = last > before if direction == "lower" else last < before
    return (known[-2]["value"], known[-1]["value"], known[-1]["period"]) if worse else None


def _metric_row(sources: Sources, code: str, series: list[dict[str, Any]]) -> dict[str, Any]:
    definition = sources.definition(code)
    direction = definition.direction if definition else "higher"
    falling = _falling(series, direction)
    return {
        "code": code,
        "name": definition.name if definition else code,
        "unit": definition.unit if definition else "",
        "direction": direction,
        "values": series,
        "latest": next(
            (p["value"] for p in reversed(series) if p["value"] is not None and not p.get("provisional")),
            None,
        ),
        "falling": list(falling) if falling else None,
    }


def metrics_section(sources: Sources, periods: list[str], subject: OrgUnit | None) -> list[dict[str, Any]]:
    if subject is None:
        return []
    trend = _trend(sources, periods, subject.pk, None)
    rows = [_metric_row(sources, code, series) for code, series in sorted(trend.items())]
    return rows[:METRICS_MAX]


def links_section(sources: Sources, periods: list[str], unit: OrgUnit | None) -> list[dict[str, Any]]:
    """The confirmed links from the unit (every link for the company) with the business unit's values of the
    linked business metric."""
    links = sources.link_frame()
    if unit is not None:
        links = links.filter(pl.col("functional_unit_id") == unit.pk)
    if not links.height:
        return []
    ids = set(links["functional_unit_id"].to_list()) | set(links["business_unit_id"].to_list())
    names = dict(OrgUnit.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for link in links.iter_rows(named=True):
        code = link["metric"]
        series = _trend(sources, periods, link["business_unit_id"], [code]).get(code) or [
            {"period": p, "value": None, "provisional": False} for p in periods
        ]
        rows.append(
            {
                "functional_unit": names.get(link["functional_unit_id"], ""),
                "business_unit": names.get(link["business_unit_id"], ""),
                **_metric_row(sources, code, series),
            }
        )
    return rows[:LIST_MAX]


# --- surveys ----------------------------------------------------------------------------------------------------


def _max_points(survey: Survey) -> Decimal:
    return max((Decimal(o["points"]) for o in survey.scale), default=Decimal(0))


def surveys_section(week_end: dt.date, unit: OrgUnit | None) -> list[dict[str, Any]]:
    """The latest surveys opened by the week's end that rate the unit (any unit, for the company), read as a
    reader who does not manage surveys: results below the anonymity threshold stay hidden, comments too."""
    surveys = Survey.objects.exclude(status=SurveyStatus.SCHEDULED).filter(opens_on__lte=week_end)
    if unit is not None:
        surveys = surveys.filter(rated_units=unit)
    out = []
    reader = AnonymousUser()  # never a survey manager: the report is shared, the threshold always applies
    for survey in surveys.order_by("-period", "-opens_on", "-id")[:SURVEYS_MAX]:
        top = _max_points(survey)
        units = []
        for result in unit_results(survey, reader):
            if unit is not None and result.unit.pk != unit.pk:
                continue
            if result.hidden:
                units.append({"unit": result.unit.name, "unit_id": result.unit.pk, "hidden": True})
                continue
            low = bool(result.average is not None and top and result.average < top * LOW_SATISFACTION)
            units.append(
                {
                    "unit": result.unit.name,
                    "unit_id": result.unit.pk,
                    "hidden": False,
                    "respondents": result.respondents,
                    "invited": result.invited,
                    "response_rate": _text(result.response_rate, 1),
                    "average": _text(result.average),
                    "max_points": _text(top),
                    "low": low,
                    "distribution": [
                        {"label": d["label"], "points": d["points"], "count": d["count"]}
                        for d in result.distribution
                    ],
                    "comments": list(result.comments),
                }
            )
        out.append(
            {
                "id": survey.pk,
                "title": survey.title,
                "period": survey.period,
                "status": survey.status,
                "threshold": survey.threshold,
                "closes_on": survey.closes_on.isoformat(),
                "units": units,
            }
        )
    return out


# --- meeting items ----------------------------------------------------------------------------------------------


def meeting_items(
    demands: Mapping[str, Any],
    changes: list[dict[str, Any]],
    surveys: list[dict[str, Any]],
    metrics: list[dict[str, Any]],
    metric_unit: str,
) -> list[dict[str, Any]]:
    """What the coordination meeting should take up, most pressing first; each a code with its data."""
    items: list[dict[str, Any]] = []
    for row in demands["overdue"]:
        items.append(
            {"code": "overdue", "number": row["number"], "title": row["title"], "clock": row["overdue"]}
        )
    for change in changes:
        items.append(
            {
                "code": "change_request",
                "number": change["number"],
                "title": change["title"],
                "text": change["text"],
            }
        )
    for row in demands["declined"]:
        items.append(
            {
                "code": "declined",
                "number": row["number"],
                "title": row["title"],
                "reason": row.get("reason", ""),
            }
        )
    for survey in surveys:
        for unit in survey["units"]:
            if not unit["hidden"] and unit["low"]:
                items.append(
                    {
                        "code": "low_satisfaction",
                        "unit": unit["unit"],
                        "survey": survey["title"],
                        "average": unit["average"],
                        "max_points": unit["max_points"],
                    }
                )
    for metric in metrics:
        if metric["falling"]:
            before, after, period = metric["falling"]
            items.append(
                {
                    "code": "metric_falling",
                    "metric": metric["name"],
                    "unit": metric.get("business_unit") or metric_unit,
                    "from": before,
                    "to": after,
                    "period": period,
                }
            )
    return items


# --- the report -------------------------------------------------------------------------------------------------


def weekly_report(
    week_start: dt.date,
    unit: OrgUnit | None,
    *,
    today: dt.date | None = None,
    sources: Sources | None = None,
) -> dict[str, Any]:
    """The report of the ISO week starting ``week_start`` (a Monday) for a functional unit, or the company when
    ``unit`` is None, read within the current tenant. JSON-ready."""
    week_start = week_start_of(week_start)
    week_end = week_start + dt.timedelta(days=6)
    today = today or timezone.localdate()
    sources = sources or Sources()
    start, end = local_midnight(week_start), local_midnight(week_end + dt.timedelta(days=1))
    demands = Demand.objects.all()
    if unit is not None:
        demands = demands.filter(serving_unit__path__startswith=unit.path)
    section, open_rows, changes = demands_section(demands, start, end, min(week_end, today))
    periods = _months(week_end, TREND_PERIODS)
    subject = unit if unit is not None else company_unit()
    metrics = metrics_section(sources, periods, subject)
    links = links_section(sources, periods, unit)
    surveys = surveys_section(week_end, unit)
    return {
        "schema": SCHEMA,
        "week": week_label(week_start),
        "week_start": week_start.isoformat(),
        "week_end": week_end.isoformat(),
        "unit": None if unit is None else {"id": unit.pk, "code": unit.code, "name": unit.name},
        "complete": today > week_end,  # False: the week is not over, its figures will still move
        "demands": section,
        "open": open_rows,
        "change_requests": changes,
        "periods": periods,
        "metrics_subject": subject.name if subject else "",
        "metrics": metrics,
        "links": links,
        "surveys": surveys,
        "meeting": meeting_items(
            section, changes, surveys, [*metrics, *links], subject.name if subject else ""
        ),
    }


# --- reading a report back, for people -------------------------------------------------------------------------


def clock_label(clock: str) -> str:
    if clock == "acceptance":
        return _("Acceptance overdue")
    if clock == "delivery":
        return _("Delivery overdue")
    return ""


def meeting_text(item: Mapping[str, Any]) -> str:
    """One meeting item in the reader's language."""
    code = item.get("code")
    if code == "overdue":
        return _("%(number)s %(title)s: %(clock)s") % {
            "number": item["number"],
            "title": item["title"],
            "clock": clock_label(item["clock"]),
        }
    if code == "change_request":
        return _("%(number)s %(title)s: change requested, %(text)s") % item
    if code == "declined":
        return _("%(number)s %(title)s was declined: %(reason)s") % {
            **item,
            "reason": item.get("reason") or "—",
        }
    if code == "low_satisfaction":
        return _("Low satisfaction with %(unit)s in %(survey)s: %(average)s of %(max_points)s") % item
    if code == "metric_falling":
        return _("%(metric)s of %(unit)s got worse, from %(from)s to %(to)s in %(period)s") % item
    return str(code)


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _held_back(rows: list[dict[str, Any]], provisional: bool) -> tuple[list[dict[str, Any]], set[str]]:
    """Metric rows with their values not yet final hidden (``held``), or kept and marked when ``provisional``;
    and the months concerned."""
    months: set[str] = set()
    out = []
    for row in rows:
        values = []
        for point in row.get("values", []):
            unfinished = bool(point.get("provisional")) and point.get("value") is not None
            if unfinished:
                months.add(point["period"])
            if unfinished and not provisional:
                point = {**point, "value": None, "held": True}
            values.append(point)
        out.append({**row, "values": values})
    return out, months


def present(data: Mapping[str, Any], *, provisional: bool = False) -> dict[str, Any]:
    """The stored report with the labels of its codes in the reader's language (never stored: a snapshot reads
    in whichever language it is opened). Values not yet final are left out and the months named, unless
    ``provisional``: then they are shown, marked 暂估."""
    out = dict(data)
    metrics, months = _held_back(list(data.get("metrics", [])), provisional)
    links, link_months = _held_back(list(data.get("links", [])), provisional)
    out["metrics"], out["links"] = metrics, links
    unfinished = sorted(months | link_months)
    out["show_provisional"] = provisional
    out["unfinished_months"] = unfinished
    valued = [  # the months with any value: the current month, not yet calculated, is not "the latest"
        period
        for period in data.get("periods", [])
        if any(
            point["period"] == period and point.get("value") is not None
            for row in [*data.get("metrics", []), *data.get("links", [])]
            for point in row.get("values", [])
        )
    ]
    out["maturity_note"] = left_out_note(
        unfinished, latest=are_latest(unfinished, valued), included=provisional
    )

    def labelled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                **row,
                "kind_label": _label(DemandKind, row.get("kind", "")),
                "status_label": _label(DemandStatus, row.get("status", "")),
                "overdue_label": clock_label(row.get("overdue", "")),
            }
            for row in rows
        ]

    demands = dict(data["demands"])
    for key in ("received", "accepted", "delivered", "declined", "overdue"):
        demands[key] = labelled(demands.get(key, []))
    out["demands"] = demands
    out["demand_lists"] = [
        ("received", _("Received this week"), demands["received"]),
        ("accepted", _("Accepted this week"), demands["accepted"]),
        ("delivered", _("Delivered this week"), demands["delivered"]),
        ("declined", _("Declined this week"), demands["declined"]),
        ("overdue", _("Overdue at the end of the week"), demands["overdue"]),
    ]
    out["open"] = labelled(data.get("open", []))
    out["meeting"] = [{**item, "text": meeting_text(item)} for item in data.get("meeting", [])]
    out["title"] = title_of(data)
    return out


def title_of(data: Mapping[str, Any]) -> str:
    unit = data.get("unit")
    name = unit["name"] if unit else _("Whole company")
    return _("Weekly coordination report %(week)s · %(unit)s") % {"week": data["week"], "unit": name}


# --- who reads which report -------------------------------------------------------------------------------------


def may_view(user: Any, unit: OrgUnit | None) -> bool:
    """Readers of demands see the reports of the functional units in their data scope; the company's report is
    for those who see the whole tenant."""
    if not can(user, "demands.view"):
        return False
    scope = unit_scope_q(user)
    if scope is None:
        return True
    return unit is not None and OrgUnit.objects.filter(scope).filter(pk=unit.pk).exists()


def may_generate(user: Any) -> bool:
    return can(user, "demands.evaluate")


def report_units(user: Any) -> list[OrgUnit]:
    """The functional units whose reports the user may read."""
    if not can(user, "demands.view"):
        return []
    units = functional_units()
    scope = unit_scope_q(user)
    return list(units if scope is None else units.filter(scope))


def find_report_unit(user: Any, unit_id: Any) -> OrgUnit | None:
    """The functional unit of that id the user may read (NotFound for one missing, another tenant's or out of
    scope, alike); None for "no unit given" (the company)."""
    if unit_id in (None, ""):
        return None
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        raise NotFound("unit not found") from None
    unit = next((u for u in report_units(user) if u.pk == pk), None)
    if unit is None:
        raise NotFound("unit not found")
    return unit


def stored_report(week_start: dt.date, unit: OrgUnit | None) -> WeeklyReport | None:
    return WeeklyReport.objects.filter(week_start=week_start, unit=unit).select_related("unit").first()


def visible_reports(user: Any) -> QuerySet[WeeklyReport]:
    reports = WeeklyReport.objects.select_related("unit")
    if not can(user, "demands.view"):
        return reports.none()
    scope = unit_scope_q(user, "unit")
    return reports if scope is None else reports.filter(unit__isnull=False).filter(scope)


def is_subscribed(user: Any, unit: OrgUnit | None) -> bool:
    return WeeklyReportSubscription.objects.filter(user_id=getattr(user, "pk", None), unit=unit).exists()


def subscribers(unit: OrgUnit | None) -> list[Any]:
    """The active subscribers of a unit's (the company's) report who may still read it."""
    subs = WeeklyReportSubscription.objects.filter(unit=unit, user__is_active=True).select_related(
        "user", "user__scope_unit"
    )
    return [s.user for s in subs.order_by("user_id") if may_view(s.user, unit)]
