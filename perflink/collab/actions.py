"""Writes of demands: raise, accept or decline, start, deliver, withdraw, comment, request a change, evaluate.

One transaction each, audited, with an append-only ``DemandEvent`` per step. Who may do what:

* the **requesting side** — a unit head whose scope holds the requesting unit, or an integration token (an OA
  system raising and following demands for the business) — raises, withdraws and requests changes;
* the **serving side** — a unit head whose scope holds the serving unit — accepts, declines, starts and delivers;
* performance administrators may act for either side;
* the evaluation is by rule, run by the system (month-end) or someone holding ``demands.evaluate``, never by the
  serving side itself.

``user`` is the logged-in user or API token (None: the system, e.g. a command or a scheduled job).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.accounts.access import can
from perflink.accounts.choices import Role
from perflink.accounts.models import ApiToken, User
from perflink.audit.actions import record_event
from perflink.collab.choices import (
    DEMAND_TRANSITIONS,
    OPEN_STATUSES,
    DemandKind,
    DemandStatus,
    EvaluationState,
    EventKind,
    Side,
)
from perflink.collab.evaluation import Evaluation, evaluate
from perflink.collab.models import Demand, DemandEvent
from perflink.collab.progress import demand_progress
from perflink.collab.sla import add_working_days, calendar_deadline
from perflink.collab.specs import DEFAULT_DUE_WORKING_DAYS, check_rule, check_spec, default_rule
from perflink.core.context import Actor
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.engine.periods import Period, PeriodError
from perflink.ingest.actions import do_push_records
from perflink.metrics.calc import work_calendar
from perflink.notify.actions import do_publish_event
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit
from perflink.tenancy.models import Tenant

ACCEPT_WITHIN_WORKING_DAYS = 2  # default acceptance SLA
TEXT_MAX = 2000
REASON_MAX = 300


# --- who may ---------------------------------------------------------------------------------------------------


def _covers(user: Any, unit: OrgUnit) -> bool:
    scope = getattr(user, "scope_unit", None)
    return (
        getattr(user, "role", None) == Role.UNIT_HEAD
        and scope is not None
        and unit.path.startswith(scope.path)
    )


def _is_admin(user: Any) -> bool:
    return getattr(user, "role", None) == Role.PERFORMANCE_ADMIN


def may_request(user: Any, unit: OrgUnit) -> bool:
    """May act for the requesting side of ``unit``: raise, withdraw, request changes."""
    return user is None or _is_admin(user) or isinstance(user, ApiToken) or _covers(user, unit)


def may_serve(user: Any, demand: Demand) -> bool:
    """May act for the serving side: accept, decline, start, deliver."""
    return user is None or _is_admin(user) or _covers(user, demand.serving_unit)


def may_evaluate(user: Any, demand: Demand) -> bool:
    """The system or a holder of ``demands.evaluate``, and never the serving side of this demand."""
    if _covers(user, demand.serving_unit):
        return False
    return user is None or can(user, "demands.evaluate")


def _side(user: Any, demand: Demand, acting_as: Side) -> Side:
    if user is None:
        return Side.SYSTEM
    if isinstance(user, ApiToken):
        return Side.REQUESTER
    if getattr(user, "role", None) == Role.UNIT_HEAD:
        return acting_as
    return Side.ADMIN


def _refuse(code: str, message: str) -> PermissionDeniedError:
    return PermissionDeniedError(message, code=code)


def _require_requester(user: Any, demand: Demand) -> None:
    if not may_request(user, demand.requesting_unit):
        raise _refuse(
            "not_requesting_side",
            _("Only the requesting side (%(unit)s) can do this.") % {"unit": demand.requesting_unit.name},
        )


def _require_server(user: Any, demand: Demand) -> None:
    if not may_serve(user, demand):
        raise _refuse(
            "not_serving_side",
            _("Only the serving side (%(unit)s) can do this.") % {"unit": demand.serving_unit.name},
        )


# --- helpers ---------------------------------------------------------------------------------------------------


def _snapshot(demand: Demand) -> dict[str, Any]:
    return {
        "number": demand.number,
        "kind": demand.kind,
        "title": demand.title,
        "status": demand.status,
        "requesting_unit": demand.requesting_unit.code,
        "serving_unit": demand.serving_unit.code,
        "period": demand.period,
        "points": demand.points,
        "evaluation_state": demand.evaluation_state,
    }


def _text(value: str, field: str, *, required: bool, max_length: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(_("%(field)s must not be empty.") % {"field": field}, field=field)
    if len(text) > max_length:
        raise ValidationFailed(
            _("%(field)s must be at most %(n)s characters.") % {"field": field, "n": max_length}, field=field
        )
    return text


def _log(
    demand: Demand,
    kind: str,
    *,
    side: str,
    actor: Actor,
    at: dt.datetime,
    text: str = "",
    data: Mapping[str, Any] | None = None,
    from_status: str = "",
    to_status: str = "",
) -> DemandEvent:
    event = DemandEvent.objects.create(
        demand=demand,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        text=text,
        data=dict(data or {}),
        side=side,
        by_label=actor.label[:150],
        at=at,
    )
    _announce(demand, kind, text=text, actor=actor)
    return event


# Each logged event of a demand, as the notification event channels subscribe to.
NOTIFY_EVENTS: dict[str, str] = {
    EventKind.RAISED: "demand.raised",
    EventKind.ACCEPTED: "demand.accepted",
    EventKind.DECLINED: "demand.declined",
    EventKind.STARTED: "demand.started",
    EventKind.DELIVERED: "demand.delivered",
    EventKind.WITHDRAWN: "demand.withdrawn",
    EventKind.COMMENT: "demand.commented",
    EventKind.CHANGE_REQUEST: "demand.changed",
    EventKind.EVALUATION: "demand.evaluated",
}


def _announce(demand: Demand, kind: str, *, text: str, actor: Actor) -> None:
    """Tell both units' heads (inbox, e-mail) and the subscribed channels (robots, webhooks), inside the
    action's transaction: nothing is sent unless the change commits."""
    try:
        url = reverse("collab:demand", args=[demand.pk])
    except NoReverseMatch:  # the pages are not installed (API-only use)
        url = ""
    do_publish_event(
        NOTIFY_EVENTS[kind],
        title=f"{demand.number} {demand.title}",
        body=text,
        url=url,
        units=[demand.requesting_unit, demand.serving_unit],
        data={"demand": demand.pk, "number": demand.number, "kind": demand.kind, "status": demand.status},
        actor=actor,
    )


def _locked(demand: Demand) -> Demand:
    return (
        Demand.objects.select_for_update().select_related("requesting_unit", "serving_unit").get(pk=demand.pk)
    )


def _move(demand: Demand, status: str) -> str:
    """Move the (locked) demand to ``status`` along the allowed transitions; returns the status it left."""
    if status not in DEMAND_TRANSITIONS[demand.status]:
        raise Conflict(
            _("A demand that is %(current)s cannot become %(new)s.")
            % {"current": DemandStatus(demand.status).label, "new": DemandStatus(status).label},
            code="demand_state",
        )
    before, demand.status = demand.status, status
    return before


def _transition(
    demand: Demand,
    status: str,
    *,
    event: str,
    audit: str,
    side: Side,
    actor: Actor,
    text: str = "",
    changes: Mapping[str, Any] | None = None,
    stamp: str,
) -> Demand:
    """The common shape of a state change: lock, move, set fields and the state's timestamp, log, audit."""
    now = timezone.now()
    with transaction.atomic():
        demand = _locked(demand)
        before = _snapshot(demand)
        from_status = _move(demand, status)
        for name, value in (changes or {}).items():
            setattr(demand, name, value)
        setattr(demand, stamp, now)
        demand.save()
        _log(
            demand,
            event,
            side=side,
            actor=actor,
            at=now,
            text=text,
            from_status=from_status,
            to_status=status,
        )
        record_event(audit, demand, before=before, after={**_snapshot(demand), "text": text})
    return demand


# --- raising ---------------------------------------------------------------------------------------------------


def _number(tenant_id: int, submitted_on: dt.date) -> str:
    """The tenant's next number for the month, XQ-202603-0001 (callers hold the tenant row's lock)."""
    prefix = f"XQ-{submitted_on:%Y%m}-"
    return f"{prefix}{Demand.objects.filter(number__startswith=prefix).count() + 1:04d}"


def _period(value: str | None, default: dt.date, submitted_on: dt.date) -> str:
    if not value:
        return f"{default:%Y-%m}"
    try:
        period = Period.parse(value)
    except PeriodError:
        period = None
    if period is None or period.months != 1:
        raise ValidationFailed(_("The period must be a month, YYYY-MM."), field="period")
    if period.end <= submitted_on.replace(day=1):
        raise ValidationFailed(_("The period cannot end before the demand is raised."), field="period")
    return period.label


def do_raise_demand(
    *,
    kind: str,
    title: str,
    requesting_unit: OrgUnit,
    serving_unit: OrgUnit,
    spec: Mapping[str, Any],
    description: str = "",
    rule: Mapping[str, Any] | None = None,
    period: str | None = None,
    accept_within_working_days: int = ACCEPT_WITHIN_WORKING_DAYS,
    user: Any,
    actor: Actor,
    at: dt.datetime | None = None,
) -> Demand:
    """Raise a demand from a business unit to a functional unit. ``at`` is the submission time (default now).

    The acceptance SLA is ``accept_within_working_days`` working days after the submission date; delivery is due by
    the arrival deadline (recruitment: ``arrival_days`` calendar days) or ``spec.due_working_days`` working days.
    The period it is evaluated in defaults to the month delivery is due."""
    if kind not in DemandKind.values:
        raise ValidationFailed(_("Unknown kind of demand."), field="kind")
    if requesting_unit.unit_type != UnitType.BUSINESS:
        raise ValidationFailed(
            _("%(unit)s is not a business unit.") % {"unit": requesting_unit.name}, field="requesting_unit_id"
        )
    if serving_unit.unit_type != UnitType.FUNCTIONAL:
        raise ValidationFailed(
            _("%(unit)s is not a functional unit.") % {"unit": serving_unit.name}, field="serving_unit_id"
        )
    if not may_request(user, requesting_unit):
        raise _refuse(
            "not_requesting_side",
            _("Only the head of %(unit)s can raise its demands.") % {"unit": requesting_unit.name},
        )
    title = _text(title, "title", required=True, max_length=120)
    description = _text(description, "description", required=False)
    if not 1 <= accept_within_working_days <= 30:
        raise ValidationFailed(
            _("The acceptance time must be 1 to 30 working days."), field="accept_within_working_days"
        )
    checked_spec = check_spec(kind, spec)
    checked_rule = (
        check_rule(kind, checked_spec, rule) if rule is not None else default_rule(kind, checked_spec)
    )

    at = at or timezone.now()
    submitted_on = timezone.localdate(at)
    calendar = work_calendar()
    acceptance_due, estimated = add_working_days(calendar, submitted_on, accept_within_working_days)
    if kind == DemandKind.RECRUITMENT:
        delivery_due = calendar_deadline(submitted_on, checked_spec["arrival_days"])
    else:
        days = checked_spec.get("due_working_days") or DEFAULT_DUE_WORKING_DAYS[kind]
        delivery_due, late_estimate = add_working_days(calendar, submitted_on, days)
        estimated = estimated or late_estimate
    evaluated_in = _period(period, delivery_due, submitted_on)

    with transaction.atomic():
        # Numbers are per tenant and month: lock the tenant row so two raises never take the same one.
        tenant = Tenant.objects.select_for_update().get(pk=requesting_unit.tenant_id)
        demand = Demand.objects.create(
            number=_number(tenant.pk, submitted_on),
            kind=kind,
            title=title,
            description=description,
            requesting_unit=requesting_unit,
            serving_unit=serving_unit,
            spec=checked_spec,
            rule=checked_rule,
            period=evaluated_in,
            acceptance_due_on=acceptance_due,
            delivery_due_on=delivery_due,
            due_dates_estimated=estimated,
            submitted_at=at,
            created_by=user if isinstance(user, User) else None,
            created_by_label=actor.label[:150],
        )
        _log(
            demand,
            EventKind.RAISED,
            side=_side(user, demand, Side.REQUESTER),
            actor=actor,
            at=at,
            text=description,
            data={"spec": checked_spec, "rule": checked_rule},
            to_status=DemandStatus.SUBMITTED,
        )
        record_event(
            "demand.raise", demand, after={**_snapshot(demand), "spec": checked_spec, "rule": checked_rule}
        )
    return demand


# --- the serving side ----------------------------------------------------------------------------------------


def do_accept_demand(demand: Demand, *, plan: str, requisition: str = "", user: Any, actor: Actor) -> Demand:
    """Accept with a plan (channels, content, timing). A recruitment demand may name the HR system's requisition
    here, if the requester did not: progress then follows that requisition's hires."""
    _require_server(user, demand)
    plan = _text(plan, "plan", required=True)
    changes: dict[str, Any] = {"plan": plan}
    requisition = _text(requisition, "requisition", required=False, max_length=40)
    if requisition:
        if demand.kind not in (DemandKind.RECRUITMENT, DemandKind.TRAINING):
            raise ValidationFailed(
                _("Only recruitment and training demands follow a requisition."), field="requisition"
            )
        changes["spec"] = {**demand.spec, "requisition": requisition}
    return _transition(
        demand,
        DemandStatus.ACCEPTED,
        event=EventKind.ACCEPTED,
        audit="demand.accept",
        side=_side(user, demand, Side.SERVER),
        actor=actor,
        text=plan,
        changes=changes,
        stamp="accepted_at",
    )


def do_decline_demand(demand: Demand, *, reason: str, user: Any, actor: Actor) -> Demand:
    _require_server(user, demand)
    reason = _text(reason, "reason", required=True, max_length=REASON_MAX)
    return _transition(
        demand,
        DemandStatus.DECLINED,
        event=EventKind.DECLINED,
        audit="demand.decline",
        side=_side(user, demand, Side.SERVER),
        actor=actor,
        text=reason,
        changes={"decline_reason": reason},
        stamp="declined_at",
    )


def do_start_demand(demand: Demand, *, note: str = "", user: Any, actor: Actor) -> Demand:
    _require_server(user, demand)
    return _transition(
        demand,
        DemandStatus.IN_PROGRESS,
        event=EventKind.STARTED,
        audit="demand.start",
        side=_side(user, demand, Side.SERVER),
        actor=actor,
        text=_text(note, "note", required=False),
        stamp="started_at",
    )


def do_deliver_demand(demand: Demand, *, note: str = "", user: Any, actor: Actor) -> Demand:
    _require_server(user, demand)
    return _transition(
        demand,
        DemandStatus.DELIVERED,
        event=EventKind.DELIVERED,
        audit="demand.deliver",
        side=_side(user, demand, Side.SERVER),
        actor=actor,
        text=_text(note, "note", required=False),
        stamp="delivered_at",
    )


# --- the requesting side -------------------------------------------------------------------------------------


def do_withdraw_demand(demand: Demand, *, reason: str = "", user: Any, actor: Actor) -> Demand:
    _require_requester(user, demand)
    reason = _text(reason, "reason", required=False, max_length=REASON_MAX)
    return _transition(
        demand,
        DemandStatus.WITHDRAWN,
        event=EventKind.WITHDRAWN,
        audit="demand.withdraw",
        side=_side(user, demand, Side.REQUESTER),
        actor=actor,
        text=reason,
        changes={"withdraw_reason": reason},
        stamp="withdrawn_at",
    )


def do_request_change(demand: Demand, *, text: str, user: Any, actor: Actor) -> DemandEvent:
    """The requester asks for a change while the work is open ("add product knowledge to the training")."""
    _require_requester(user, demand)
    text = _text(text, "text", required=True)
    now = timezone.now()
    with transaction.atomic():
        demand = _locked(demand)
        if demand.status not in OPEN_STATUSES:
            raise Conflict(
                _("Changes can be requested only while the demand is open, not when it is %(status)s.")
                % {"status": DemandStatus(demand.status).label},
                code="demand_state",
            )
        event = _log(
            demand,
            EventKind.CHANGE_REQUEST,
            side=_side(user, demand, Side.REQUESTER),
            actor=actor,
            at=now,
            text=text,
        )
        record_event("demand.change_request", demand, after={"number": demand.number, "text": text})
    return event


# --- either side -------------------------------------------------------------------------------------------------


def do_comment_demand(demand: Demand, *, text: str, user: Any, actor: Actor) -> DemandEvent:
    """A comment by either side (or an administrator), in any state."""
    requester = may_request(user, demand.requesting_unit)
    if not (requester or may_serve(user, demand)):
        raise _refuse("not_a_party", _("Only the two units of the demand can comment on it."))
    text = _text(text, "text", required=True)
    now = timezone.now()
    with transaction.atomic():
        event = _log(
            demand,
            EventKind.COMMENT,
            side=_side(user, demand, Side.REQUESTER if requester else Side.SERVER),
            actor=actor,
            at=now,
            text=text,
        )
        record_event("demand.comment", demand, after={"number": demand.number, "text": text})
    return event


# --- evaluation ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    demand: Demand
    evaluation: Evaluation
    event: DemandEvent | None  # None: the batch found nothing new to record


def _last_evaluation(demand: Demand) -> DemandEvent | None:
    return demand.events.filter(kind=EventKind.EVALUATION).order_by("-at", "-id").first()


def do_evaluate_demand(
    demand: Demand, *, as_of: dt.date | None = None, user: Any, actor: Actor, only_if_changed: bool = False
) -> Evaluated:
    """Evaluate a delivered demand by its rule over its progress as of a date (default today), or evaluate an
    evaluated one again while its evaluation is provisional; each evaluation is kept as an event with its figures.
    ``only_if_changed`` (the month-end job): record nothing when the result is the same as the last one."""
    if not may_evaluate(user, demand):
        raise _refuse(
            "serving_side" if _covers(user, demand.serving_unit) else "permission_denied",
            _(
                "A demand is evaluated by its rule, by the system or performance administration, not by the serving unit."
            ),
        )
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(_("A demand cannot be evaluated as of a future date."), field="as_of")
    if demand.status == DemandStatus.EVALUATED and demand.evaluation_state == EvaluationState.FINAL:
        raise Conflict(_("This demand's evaluation is final."), code="evaluation_final")
    if demand.status not in (DemandStatus.DELIVERED, DemandStatus.EVALUATED):
        raise Conflict(
            _("Only a delivered demand can be evaluated; this one is %(status)s.")
            % {"status": DemandStatus(demand.status).label},
            code="demand_state",
        )
    last = _last_evaluation(demand)
    if last is not None and as_of < dt.date.fromisoformat(last.data["evaluation"]["as_of"]):
        raise ValidationFailed(_("The demand was last evaluated as of a later date."), field="as_of")

    progress = demand_progress(demand, as_of)
    evaluation = evaluate(demand.kind, demand.spec, demand.rule, progress)
    if only_if_changed and last is not None and _same(last.data["evaluation"], evaluation.as_data()):
        return Evaluated(demand, evaluation, None)
    now = timezone.now()
    state = EvaluationState.PROVISIONAL if evaluation.provisional else EvaluationState.FINAL
    with transaction.atomic():
        demand = _locked(demand)
        if demand.evaluation_state == EvaluationState.FINAL:
            raise Conflict(_("This demand's evaluation is final."), code="evaluation_final")
        before = _snapshot(demand)
        from_status = demand.status
        if demand.status == DemandStatus.DELIVERED:
            _move(demand, DemandStatus.EVALUATED)
        demand.points, demand.evaluation_state, demand.evaluated_at = evaluation.total, state, now
        demand.save()
        event = _log(
            demand,
            EventKind.EVALUATION,
            side=_side(user, demand, Side.ADMIN),
            actor=actor,
            at=now,
            data={"evaluation": evaluation.as_data(), "progress": progress.as_data()},
            from_status=from_status,
            to_status=demand.status,
        )
        record_event(
            "demand.evaluate",
            demand,
            before=before,
            after={**_snapshot(demand), "as_of": as_of, "provisional": evaluation.provisional},
        )
        # The points reach the serving unit's scorecard as a record the metrics read (demand_points).
        do_push_records("demand_evaluation", [evaluation_record(demand, now)], actor=actor)
    return Evaluated(demand, evaluation, event)


def evaluation_record(demand: Demand, at: dt.datetime) -> dict[str, Any]:
    """The demand's latest evaluation as a ``demand_evaluation`` record; its external id is the demand's number,
    so a later evaluation (provisional → final) is a new version of the same record."""
    return {
        "external_id": demand.number,
        "demand": demand.number,
        "demand_kind": demand.kind,
        "serving_unit": demand.serving_unit.code,
        "requesting_unit": demand.requesting_unit.code,
        "points": None if demand.points is None else str(demand.points),
        "provisional": demand.evaluation_state == EvaluationState.PROVISIONAL,
        "period_on": Period.parse(demand.period).start.isoformat(),
        "evaluated_at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"),
    }


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    keep = ("total", "provisional", "components")
    return {k: old.get(k) for k in keep} == {k: new.get(k) for k in keep}


def do_evaluate_due_demands(*, as_of: dt.date | None = None, actor: Actor) -> list[Evaluated]:
    """The month-end job: evaluate every delivered demand whose period has ended by ``as_of``, and evaluate again
    the provisional ones, recording a new evaluation only when its result changed (e.g. the data matured)."""
    as_of = as_of or timezone.localdate()
    done: list[Evaluated] = []
    due = (
        Demand.objects.select_related("requesting_unit", "serving_unit")
        .filter(status__in=(DemandStatus.DELIVERED, DemandStatus.EVALUATED))
        .exclude(evaluation_state=EvaluationState.FINAL)
    )
    for demand in due.order_by("period", "number"):
        if demand.status == DemandStatus.DELIVERED and Period.parse(demand.period).end > as_of:
            continue
        done.append(do_evaluate_demand(demand, as_of=as_of, user=None, actor=actor, only_if_changed=True))
    return done
