"""What the demand pages show, read from the demands backend and the metrics engine (reads only, no writes).

The board's cards with their key figure, the buttons a user may press on a demand (mirroring the actions' side
checks, which still decide), the requester's history for planning, progress figures with their chart, and the
evaluation with its rule in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from perflink.accounts.access import can
from perflink.accounts.choices import Role
from perflink.analytics.maturity import immature_metrics
from perflink.collab.actions import may_evaluate, may_request, may_serve
from perflink.collab.choices import (
    DEMAND_TRANSITIONS,
    OPEN_STATUSES,
    DemandKind,
    DemandStatus,
    EvaluationState,
    EventKind,
)
from perflink.collab.models import Demand, DemandEvent
from perflink.collab.progress import Progress, demand_progress
from perflink.collab.selectors import overdue, visible_demands
from perflink.collab.specs import MEASURES, component_target
from perflink.core.errors import NotFound
from perflink.metrics.models import MetricDefinition
from perflink.metrics.selectors import latest_run, run_frame
from perflink.org.choices import UnitType
from perflink.org.models import Employee, OrgUnit
from perflink.org.selectors import visible_units

# The board's columns, in the order work moves; declined and withdrawn go to a collapsed lane.
BOARD_COLUMNS = (
    DemandStatus.SUBMITTED,
    DemandStatus.ACCEPTED,
    DemandStatus.IN_PROGRESS,
    DemandStatus.DELIVERED,
    DemandStatus.EVALUATED,
)
CLOSED_LANE = (DemandStatus.DECLINED, DemandStatus.WITHDRAWN)
CARDS_PER_COLUMN = 30
STATUS_BADGES = {
    DemandStatus.SUBMITTED: "badge-amber",
    DemandStatus.ACCEPTED: "badge-blue",
    DemandStatus.IN_PROGRESS: "badge-teal",
    DemandStatus.DELIVERED: "badge-violet",
    DemandStatus.EVALUATED: "badge-green",
    DemandStatus.DECLINED: "badge-red",
    DemandStatus.WITHDRAWN: "badge-gray",
}
KIND_ICONS = {
    DemandKind.RECRUITMENT: "people",
    DemandKind.TRAINING: "book",
    DemandKind.PAYMENT: "coins",
    DemandKind.IT_SUPPORT: "tools",
    DemandKind.OTHER: "compass",
}
SIDES = {
    "raised": pgettext_lazy("demand filter", "Raised by us"),
    "addressed": pgettext_lazy("demand filter", "Addressed to us"),
}
# The figure a card shows per kind: (measure key, the key of its target or None).
KEY_FIGURES = {
    DemandKind.RECRUITMENT: "arrived_in_time",
    DemandKind.TRAINING: "pass_rate",
    DemandKind.PAYMENT: "payment_days_mean",
    DemandKind.IT_SUPPORT: "availability",
}
FIGURE_LABELS = {
    "hires": gettext_lazy("Hires on the requisition"),
    "completions": gettext_lazy("Completions"),
    "passed": gettext_lazy("Passed"),
    "claims": gettext_lazy("Claims in scope"),
    "awaiting_payment": gettext_lazy("Awaiting payment"),
    "resolved": gettext_lazy("Recovered"),
    "outage_hours": gettext_lazy("Outage hours"),
}
# The requester's recent figures from the metrics engine, per kind of demand.
HISTORY_METRICS = {
    DemandKind.RECRUITMENT: ("new_agent_retention_3m", "new_agent_attainment_3m"),
    DemandKind.TRAINING: ("new_agent_retention_3m", "new_agent_attainment_3m"),
    DemandKind.PAYMENT: ("claim_payment_days",),
}
HISTORY_MONTHS = 3
HISTORY_DEMANDS = 10


# --- units and filters -------------------------------------------------------------------------------------------


def search_demands_exist(user: Any) -> bool:
    """Whether the user can see any demand at all (the board's empty state says how to start)."""
    return visible_demands(user).exists()


def default_unit(user: Any) -> OrgUnit | None:
    """A unit head's board opens on their own unit; everyone else sees the whole tenant."""
    if getattr(user, "role", None) == Role.UNIT_HEAD:
        return getattr(user, "scope_unit", None)
    return None


def unit_choices(user: Any) -> list[OrgUnit]:
    """The business and functional units the user may filter by (their data scope)."""
    return list(
        visible_units(user)
        .filter(unit_type__in=(UnitType.BUSINESS, UnitType.FUNCTIONAL), closed_on__isnull=True)
        .order_by("path")
    )


def find_unit(user: Any, unit_id: Any) -> OrgUnit | None:
    """The visible unit of that id, or None (missing, another tenant's or outside the scope look alike)."""
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        return None
    return visible_units(user).filter(pk=pk).first()


def requesting_units(user: Any) -> list[OrgUnit]:
    """Business units the user may raise demands for."""
    units = OrgUnit.objects.filter(unit_type=UnitType.BUSINESS, closed_on__isnull=True).order_by("path")
    return [u for u in units if may_request(user, u)]


def serving_units() -> list[OrgUnit]:
    """Every open functional unit of the tenant: a demand may be addressed to any of them."""
    return list(
        OrgUnit.objects.filter(unit_type=UnitType.FUNCTIONAL, closed_on__isnull=True).order_by("path")
    )


def by_side(demands: QuerySet[Demand], unit: OrgUnit | None, side: str) -> QuerySet[Demand]:
    """Narrow to the demands ``unit`` (or a unit below it) raised, or those addressed to it."""
    if unit is None or side not in SIDES:
        return demands
    if side == "raised":
        return demands.filter(requesting_unit__path__startswith=unit.path)
    return demands.filter(serving_unit__path__startswith=unit.path)


# --- cards ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigure:
    text: str  # "18/20"
    label: str  # "arrived in time"
    provisional: bool


def _num(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    quantized = value.quantize(Decimal(1).scaleb(-places))
    text = format(quantized, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def shown_target(demand: Demand, key: str) -> Decimal | None:
    """The target a progress figure is shown against: the one the demand's evaluation rule scores that measure
    against (an arrival rate judged at 85%), else the measure's own from the spec (100% of the positions)."""
    for component in (demand.rule or {}).get("components", []):
        if component.get("measure") == key:
            return component_target(demand.kind, demand.spec, component)
    measure = MEASURES.get(demand.kind, {}).get(key)
    return measure.target(demand.spec) if measure else None


def key_figure(demand: Demand, progress: Progress | None) -> KeyFigure | None:
    """The one figure a card shows: arrivals against positions, pass rate, payment time, availability."""
    key = KEY_FIGURES.get(demand.kind)
    if key is None or progress is None:
        return None
    figure = progress.figure(key)
    if figure is None:
        return None
    if demand.kind == DemandKind.RECRUITMENT:
        text = f"{_num(figure.value, 0)}/{demand.spec.get('positions')}"
        return KeyFigure(text, _("arrived in time"), figure.provisional)
    measure = MEASURES[demand.kind][key]
    target = shown_target(demand, key)
    shown = "—" if figure.value is None else f"{_num(figure.value)}{measure.unit}"
    if target is not None:
        shown += f" / {_num(target)}{measure.unit}"
    return KeyFigure(shown, str(measure.label), figure.provisional)


def stored_progress(demand: Demand) -> Progress | None:
    """The progress a card shows: live for open and delivered demands; none for closed ones (nothing to follow)."""
    if demand.status in CLOSED_LANE or demand.kind not in KEY_FIGURES:
        return None
    return demand_progress(demand)


def card(demand: Demand, today: dt.date) -> dict[str, Any]:
    progress = stored_progress(demand)
    return {
        "demand": demand,
        "badge": STATUS_BADGES[demand.status],
        "kind_icon": KIND_ICONS[demand.kind],
        "figure": key_figure(demand, progress),
        "overdue": overdue(demand, today),
        "due_on": demand.acceptance_due_on
        if demand.status == DemandStatus.SUBMITTED
        else demand.delivery_due_on
        if demand.status in OPEN_STATUSES
        else None,
    }


def board_columns(demands: QuerySet[Demand], today: dt.date) -> list[dict[str, Any]]:
    """Per board column (and the closed lane last), its demands' cards, the count, and whether more exist."""
    columns = []
    for statuses, closed in [((s,), False) for s in BOARD_COLUMNS] + [(CLOSED_LANE, True)]:
        shown = demands.filter(status__in=statuses)
        total = shown.count()
        columns.append(
            {
                "status": "closed" if closed else statuses[0],
                "label": _("Declined or withdrawn") if closed else DemandStatus(statuses[0]).label,
                "closed": closed,
                "count": total,
                "more": max(total - CARDS_PER_COLUMN, 0),
                "cards": [card(d, today) for d in shown[:CARDS_PER_COLUMN]],
            }
        )
    return columns


# --- who may press which button ------------------------------------------------------------------------------


def allowed_steps(user: Any, demand: Demand) -> set[str]:
    """The buttons to show: the state allows the step and the user is on the side the action requires (the
    action checks again)."""
    nexts = DEMAND_TRANSITIONS[demand.status]
    steps: set[str] = set()
    if can(user, "demands.respond") and may_serve(user, demand):
        if DemandStatus.ACCEPTED in nexts:
            steps |= {"accept", "decline"}
        if DemandStatus.IN_PROGRESS in nexts:
            steps.add("start")
        if DemandStatus.DELIVERED in nexts:
            steps.add("deliver")
    if can(user, "demands.raise") and may_request(user, demand.requesting_unit):
        if DemandStatus.WITHDRAWN in nexts:
            steps.add("withdraw")
        if demand.status in OPEN_STATUSES:
            steps.add("request_change")
    if can(user, "demands.comment") and (
        may_request(user, demand.requesting_unit) or may_serve(user, demand)
    ):
        steps.add("comment")
    evaluable = demand.status == DemandStatus.DELIVERED or (
        demand.status == DemandStatus.EVALUATED and demand.evaluation_state != EvaluationState.FINAL
    )
    if evaluable and can(user, "demands.evaluate") and may_evaluate(user, demand):
        steps.add("evaluate")
    return steps


LIFECYCLE_STEPS = frozenset({"accept", "decline", "start", "deliver", "withdraw", "evaluate"})


def waiting_for(demand: Demand, steps: set[str]) -> str:
    """When the user has no step to take: who acts next, in words."""
    if steps & LIFECYCLE_STEPS:
        return ""
    unit = demand.serving_unit.name
    if demand.status == DemandStatus.SUBMITTED:
        return _("Waiting for %(unit)s to accept it with a plan or decline it.") % {"unit": unit}
    if demand.status == DemandStatus.ACCEPTED:
        return _("Waiting for %(unit)s to start the work.") % {"unit": unit}
    if demand.status == DemandStatus.IN_PROGRESS:
        return _("Waiting for %(unit)s to deliver.") % {"unit": unit}
    if demand.status == DemandStatus.DELIVERED:
        return _("Waiting for the evaluation by the rule: at month-end, or by performance administration.")
    if demand.status == DemandStatus.EVALUATED:
        if demand.evaluation_state == EvaluationState.PROVISIONAL:
            return _("Evaluated provisionally: the month-end job evaluates it again as the data mature.")
        return _("Evaluated: the result is final.")
    return _("Closed: nothing more to do.")


# --- history for planning ------------------------------------------------------------------------------------


def past_demands(demand: Demand) -> list[Demand]:
    """The requesting unit's earlier demands of the same kind, newest first, with their outcomes."""
    return list(
        Demand.objects.select_related("serving_unit")
        .filter(
            requesting_unit=demand.requesting_unit, kind=demand.kind, submitted_at__lt=demand.submitted_at
        )
        .exclude(pk=demand.pk)
        .order_by("-submitted_at", "-id")[:HISTORY_DEMANDS]
    )


def _months_back(today: dt.date, n: int) -> list[str]:
    months, year, month = [], today.year, today.month
    for _i in range(n):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(f"{year:04d}-{month:02d}")
    return months


def requester_metrics(demand: Demand, today: dt.date) -> list[dict[str, Any]]:
    """The requesting unit's recent values of the kind's history metrics, from the months' latest calculation
    runs (newest month first); a month without a run or a value shows as missing, never as 0."""
    codes = HISTORY_METRICS.get(demand.kind, ())
    if not codes:
        return []
    names = dict(MetricDefinition.objects.filter(code__in=codes).values_list("code", "name"))
    units = dict(MetricDefinition.objects.filter(code__in=codes).values_list("code", "definition"))
    rows = []
    for period in _months_back(today, HISTORY_MONTHS + 1):
        run = latest_run(period)
        values: dict[str, Mapping[str, Any]] = {}
        # A value whose window has not closed by the run's data date is marked 暂估, like the engine's own flag.
        unfinished = immature_metrics(run) if run is not None else frozenset()
        if run is not None:
            try:
                frame = run_frame(run, "values")
            except NotFound:  # a run without stored values: show the month as missing
                frame = pl.DataFrame()
            if frame.height and {"level", "subject_id", "metric", "value"} <= set(frame.columns):
                found = frame.filter(
                    (pl.col("level") == "unit")
                    & (pl.col("subject_id") == demand.requesting_unit_id)
                    & pl.col("metric").is_in(list(codes))
                )
                values = {r["metric"]: r for r in found.iter_rows(named=True)}
        rows.append(
            {
                "period": period,
                "run": run,
                "values": [
                    {
                        "code": code,
                        "value": _metric_value(values.get(code)),
                        "provisional": bool((values.get(code) or {}).get("provisional"))
                        or (code in unfinished and values.get(code) is not None),
                    }
                    for code in codes
                ],
            }
        )
    rows = [r for r in rows if r["run"] is not None][:HISTORY_MONTHS]
    return [
        {
            "codes": [{"code": c, "name": names.get(c, c), "unit": _unit(units.get(c))} for c in codes],
            "months": rows,
        }
    ]


def _unit(definition: Any) -> str:
    return str(definition.get("unit", "")) if isinstance(definition, Mapping) else ""


def _metric_value(row: Mapping[str, Any] | None) -> str | None:
    if row is None or row.get("value") is None:
        return None
    return _num(Decimal(str(row["value"])))


# --- progress ------------------------------------------------------------------------------------------------


def figure_rows(demand: Demand, progress: Progress) -> list[dict[str, Any]]:
    """The progress figures with their label, unit, target (when the kind has one) and provisional flag."""
    measures = MEASURES.get(demand.kind, {})
    rows = []
    for figure in progress.figures:
        measure = measures.get(figure.key)
        target = shown_target(demand, figure.key) if measure else None
        unit = figure.unit if figure.unit != "%" else "%"
        rows.append(
            {
                "key": figure.key,
                "label": measure.label if measure else FIGURE_LABELS.get(figure.key, figure.key),
                "value": _num(figure.value),
                "missing": figure.value is None,
                "unit": unit,
                "target": None if target is None else _num(target),
                "n": figure.n,
                "provisional": figure.provisional,
                "record_kind": figure.record_kind,
                "records": len(figure.record_ids),
            }
        )
    return rows


def arrivals_chart(demand: Demand, progress: Progress) -> dict[str, Any] | None:
    """Recruitment: cumulative arrivals per day against the positions asked for and the deadline."""
    if demand.kind != DemandKind.RECRUITMENT:
        return None
    days = sorted(row["arrived_on"] for row in progress.rows if row.get("arrived_on"))
    if not days:
        return None
    deadline = progress.basis.get("arrival_deadline")
    start = min(days[0], deadline) if isinstance(deadline, dt.date) else days[0]
    end = max(days[-1], deadline) if isinstance(deadline, dt.date) else days[-1]
    labels, cumulative, count, i = [], [], 0, 0
    day = start
    while day <= end:
        while i < len(days) and days[i] <= day:
            count, i = count + 1, i + 1
        labels.append(day.isoformat())
        cumulative.append(count)
        day += dt.timedelta(days=1)
    positions = int(demand.spec.get("positions", 0))
    series: list[dict[str, Any]] = [
        {
            "name": _("Arrived"),
            "type": "line",
            "step": "end",
            "data": cumulative,
            "areaStyle": {"opacity": 0.12},
        },
        {
            "name": _("Positions"),
            "type": "line",
            "data": [positions] * len(labels),
            "symbol": "none",
            "lineStyle": {"type": "dashed", "color": "var(--amber)"},
            "itemStyle": {"color": "var(--amber)"},
        },
    ]
    if isinstance(deadline, dt.date):
        series[0]["markLine"] = {
            "symbol": "none",
            "data": [{"xAxis": deadline.isoformat(), "name": _("Arrival deadline")}],
            "label": {"formatter": _("Deadline")},
            "lineStyle": {"color": "var(--red)"},
        }
    return {
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 16, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": series,
        "perflink": {"format": "number"},
    }


def _day(value: Any) -> str:
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def _days_between(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _line_chart(labels: list[str], series: list[dict[str, Any]], fmt: str = "number") -> dict[str, Any]:
    return {
        "legend": {"top": 0},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 44, "right": 44, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": [{"type": "value", "minInterval": 1}, {"type": "value", "splitLine": {"show": False}}],
        "series": series,
        "perflink": {"format": fmt},
    }


def training_chart(progress: Progress) -> dict[str, Any] | None:
    """Training: completions and passes accumulated day by day since the demand was raised."""
    rows = [r for r in progress.rows if r.get("completed_on")]
    if not rows:
        return None
    days = sorted({r["completed_on"] for r in rows})
    labels = _days_between(days[0], days[-1])
    done = dict.fromkeys(labels, 0)
    passed = dict.fromkeys(labels, 0)
    for r in rows:
        done[_day(r["completed_on"])] += 1
        passed[_day(r["completed_on"])] += 1 if r.get("passed") else 0
    total_done, total_passed, cum_done, cum_passed = 0, 0, [], []
    for label in labels:
        total_done += done[label]
        total_passed += passed[label]
        cum_done.append(total_done)
        cum_passed.append(total_passed)
    return _line_chart(
        labels,
        [
            {
                "name": _("Completions"),
                "type": "line",
                "step": "end",
                "data": cum_done,
                "areaStyle": {"opacity": 0.12},
            },
            {"name": _("Passed"), "type": "line", "step": "end", "data": cum_passed},
        ],
    )


def payment_chart(progress: Progress) -> dict[str, Any] | None:
    """Payment acceleration: claims paid per day (bars) and their mean payment days against the target (line)."""
    rows = [r for r in progress.rows if r.get("paid_at")]
    if not rows:
        return None
    by_day: dict[str, list[Decimal]] = {}
    for r in rows:
        by_day.setdefault(_day(r["paid_at"]), [])
        if r.get("payment_days") is not None:
            by_day[_day(r["paid_at"])].append(Decimal(str(r["payment_days"])))
    first = dt.date.fromisoformat(min(by_day))
    labels = _days_between(first, dt.date.fromisoformat(max(by_day)))
    paid = [sum(1 for r in rows if _day(r["paid_at"]) == label) for label in labels]
    mean = [
        float(round(sum(by_day[label]) / len(by_day[label]), 2)) if by_day.get(label) else None
        for label in labels
    ]
    target = float(Decimal(str(progress.basis.get("target_payment_days", 0))))
    chart = _line_chart(
        labels,
        [
            {"name": _("Claims paid"), "type": "bar", "data": paid, "barMaxWidth": 18},
            {
                "name": _("Mean payment days"),
                "type": "line",
                "yAxisIndex": 1,
                "data": mean,
                "connectNulls": True,
                "markLine": {
                    "symbol": "none",
                    "data": [{"yAxis": target, "name": _("Target")}],
                    "label": {"formatter": _("Target")},
                    "lineStyle": {"color": "var(--red)"},
                },
            },
        ],
    )
    chart["yAxis"][1]["name"] = _("days")
    return chart


def it_chart(progress: Progress) -> dict[str, Any] | None:
    """IT support: hours of each day's incidents, outages (P1/P2) apart from the rest."""
    rows = [r for r in progress.rows if r.get("started_at")]
    if not rows:
        return None
    first, last = progress.basis.get("from"), progress.basis.get("to")
    start = dt.date.fromisoformat(str(first)) if first else min(r["started_at"].date() for r in rows)
    end = dt.date.fromisoformat(str(last)) if last else max(r["started_at"].date() for r in rows)
    labels = _days_between(start, max(end, start))
    outage = dict.fromkeys(labels, 0.0)
    other = dict.fromkeys(labels, 0.0)
    for r in rows:
        bucket = outage if r.get("outage") else other
        day = _day(r["started_at"])
        if day in bucket:
            bucket[day] += float(r.get("hours") or 0)
    return {
        **_line_chart(
            labels,
            [
                {
                    "name": _("Outage hours (P1/P2)"),
                    "type": "bar",
                    "stack": "h",
                    "data": [round(outage[d], 2) for d in labels],
                },
                {
                    "name": _("Other incident hours"),
                    "type": "bar",
                    "stack": "h",
                    "data": [round(other[d], 2) for d in labels],
                },
            ],
        ),
        "yAxis": {"type": "value", "name": _("hours")},
    }


def progress_chart(demand: Demand, progress: Progress) -> dict[str, Any] | None:
    """The demand page's progress chart for its kind (None: nothing to draw yet)."""
    if demand.kind == DemandKind.RECRUITMENT:
        return arrivals_chart(demand, progress)
    if demand.kind == DemandKind.TRAINING:
        return training_chart(progress)
    if demand.kind == DemandKind.PAYMENT:
        return payment_chart(progress)
    if demand.kind == DemandKind.IT_SUPPORT:
        return it_chart(progress)
    return None


def drill_down_rows(demand: Demand, progress: Progress) -> list[Mapping[str, Any]]:
    """The records behind the figures, as listed under them (training rows get the trainee's name)."""
    if demand.kind != DemandKind.TRAINING:
        return list(progress.rows)
    ids = {r["employee_id"] for r in progress.rows if r.get("employee_id")}
    names = dict(Employee.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return [{**r, "trainee": names.get(r["employee_id"])} for r in progress.rows]


# --- evaluation ----------------------------------------------------------------------------------------------


def rule_in_words(kind: str, spec: Mapping[str, Any], rule: Mapping[str, Any]) -> list[str]:
    """Each component of the evaluation rule as a sentence, e.g. "Arrival rate ≥ 90%: 20 points, else 0"."""
    sentences = []
    for component in rule.get("components", []):
        measure = MEASURES[kind].get(component.get("measure", ""))
        if measure is None:
            continue
        sentences.append(component_in_words(kind, spec, component))
    if not sentences:
        sentences.append(
            _("Nothing is measured from data: the demand is judged against its target in words.")
        )
    return sentences


def component_in_words(kind: str, spec: Mapping[str, Any], component: Mapping[str, Any]) -> str:
    measure = MEASURES[kind][component["measure"]]
    target = component_target(kind, spec, component)
    data = component.get("rule", {})
    lower = data.get("direction", measure.direction) == "lower"
    target_text = _("the target") if target is None else f"{_num(target)}{measure.unit}"
    if data.get("kind") == "threshold":
        return _("%(measure)s %(op)s %(target)s: %(met)s points, else %(missed)s") % {
            "measure": measure.label,
            "op": "≤" if lower else "≥",
            "target": target_text,
            "met": _num(Decimal(str(data.get("points_met", "0")))),
            "missed": _num(Decimal(str(data.get("points_missed", "0")))),
        }
    if data.get("kind") == "linear":
        sentence = _("%(measure)s against %(target)s: points = %(per)s × attainment in percent") % {
            "measure": measure.label,
            "target": target_text,
            "per": _num(Decimal(str(data.get("per_point", "1")))),
        }
        if data.get("cap") is not None:
            sentence += _(", at most %(cap)s") % {"cap": _num(Decimal(str(data["cap"])))}
        return sentence
    if data.get("kind") == "bands":
        return _("%(measure)s scored by bands (%(n)s bands)") % {
            "measure": measure.label,
            "n": len(data.get("bands", [])),
        }
    return str(measure.label)


def evaluations(demand: Demand) -> list[DemandEvent]:
    return list(demand.events.filter(kind=EventKind.EVALUATION).order_by("-at", "-id"))


def evaluation_card(demand: Demand, event: DemandEvent | None) -> dict[str, Any] | None:
    """The latest evaluation's components with their value, rule in words, points, provisional or final."""
    if event is None:
        return None
    data = event.data.get("evaluation", {})
    rule = {c["measure"]: c for c in demand.rule.get("components", [])}
    components = []
    for item in data.get("components", []):
        measure = MEASURES[demand.kind].get(item["measure"])
        component = rule.get(item["measure"], {"measure": item["measure"], "rule": item.get("rule", {})})
        components.append(
            {
                "measure": item["measure"],
                "label": measure.label if measure else item["measure"],
                "unit": measure.unit if measure else "",
                "value": None if item.get("value") is None else _num(Decimal(item["value"])),
                "target": None if item.get("target") is None else _num(Decimal(item["target"])),
                "points": None if item.get("points") is None else _num(Decimal(item["points"])),
                "status": item.get("status", ""),
                "provisional": bool(item.get("provisional")),
                "words": component_in_words(demand.kind, demand.spec, component) if measure else "",
            }
        )
    return {
        "as_of": data.get("as_of"),
        "total": data.get("total"),
        "provisional": bool(data.get("provisional")),
        "components": components,
        "event": event,
    }


def spec_rows(demand: Demand) -> list[tuple[str, Any]]:
    """The quantified request as label/value pairs, in the kind's field order."""
    from perflink.collab.forms import SPEC_LABELS  # the labels live with the form that asks for them

    rows = []
    for name, value in demand.spec.items():
        shown = "、".join(value) if isinstance(value, list) else value
        rows.append((SPEC_LABELS.get(name, name), shown))
    return rows


def thread(demand: Demand) -> list[DemandEvent]:
    """The whole log, oldest first: moves, comments, change requests and evaluations."""
    return list(demand.events.order_by("at", "id"))


def today() -> dt.date:
    return timezone.localdate()
