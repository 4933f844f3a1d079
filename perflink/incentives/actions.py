"""Writes of links: propose, confirm or reject, withdraw. One transaction each, audited, versioned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.accounts.choices import Role
from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.engine.incentives import PlanError, parse_plan
from perflink.incentives.bases import BaseRow, BasesRejected, RowError, check_rows, plan_start
from perflink.incentives.choices import LINK_TRANSITIONS, LinkStatus
from perflink.incentives.models import IncentivePlan, Link, LinkVersion, PlanBase, PlanVersion
from perflink.metrics.models import MetricDefinition
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit


def _covers(user: Any, unit: OrgUnit) -> bool:
    scope = getattr(user, "scope_unit", None)
    return scope is not None and unit.path.startswith(scope.path)


def may_decide(user: Any, link: Link) -> bool:
    """Only the business side decides: a unit head whose scope holds the business unit, and not the functional
    unit (a head over both, e.g. a branch head, is the functional unit's own side too)."""
    return (
        getattr(user, "role", None) == Role.UNIT_HEAD
        and _covers(user, link.business_unit)
        and not _covers(user, link.functional_unit)
    )


def _snapshot(link: Link) -> dict[str, Any]:
    return {
        "functional_unit": link.functional_unit.code,
        "functional_metric": link.functional_metric.code,
        "business_unit": link.business_unit.code,
        "business_metric": link.business_metric.code,
        "rationale": link.rationale,
        "status": link.status,
        "version": link.version,
    }


def _move(link: Link, status: str, *, actor: Actor, note: str = "") -> None:
    if status not in LINK_TRANSITIONS[link.status]:
        raise Conflict(
            _("A %(current)s link cannot become %(new)s.")
            % {"current": LinkStatus(link.status).label, "new": LinkStatus(status).label},
            code="link_state",
        )
    link.status = status
    link.version += 1


def do_propose_link(
    *,
    functional_unit: OrgUnit,
    functional_metric: MetricDefinition,
    business_unit: OrgUnit,
    business_metric: MetricDefinition,
    rationale: str,
    actor: Actor,
) -> Link:
    """Propose a link (or propose again a rejected, withdrawn or confirmed one with a new rationale)."""
    if functional_unit.unit_type != UnitType.FUNCTIONAL:
        raise ValidationFailed(
            _("%(unit)s is not a functional unit.") % {"unit": functional_unit.name},
            field="functional_unit_id",
        )
    if business_unit.unit_type != UnitType.BUSINESS:
        raise ValidationFailed(
            _("%(unit)s is not a business unit.") % {"unit": business_unit.name}, field="business_unit_id"
        )
    if not rationale.strip():
        raise ValidationFailed(_("Say why the two are linked."), field="rationale")
    with transaction.atomic():
        link = (
            Link.objects.select_for_update()
            .filter(
                functional_unit=functional_unit,
                functional_metric=functional_metric,
                business_unit=business_unit,
                business_metric=business_metric,
            )
            .first()
        )
        before = None
        if link is None:
            link = Link(
                functional_unit=functional_unit,
                functional_metric=functional_metric,
                business_unit=business_unit,
                business_metric=business_metric,
                status=LinkStatus.PROPOSED,
                version=1,
            )
        else:
            if link.status == LinkStatus.PROPOSED:
                raise Conflict(
                    _("This link is already proposed and waiting for the business side."), code="link_state"
                )
            before = _snapshot(link)
            _move(link, LinkStatus.PROPOSED, actor=actor)
            link.decided_by_label, link.decided_at, link.decision_note = "", None, ""
        link.rationale = rationale.strip()
        link.proposed_by_label = actor.label[:150]
        link.save()
        LinkVersion.objects.create(
            link=link,
            number=link.version,
            status=link.status,
            rationale=link.rationale,
            by_label=actor.label[:150],
        )
        record_event("link.propose", link, before=before, after=_snapshot(link))
    return link


def do_decide_link(link: Link, *, confirm: bool, note: str = "", user: Any, actor: Actor) -> Link:
    """Confirm or reject a proposed link: only the business side may (see :func:`may_decide`)."""
    if not may_decide(user, link):
        raise PermissionDeniedError(
            _("Only the head of %(unit)s (the business side) can confirm or reject this link.")
            % {"unit": link.business_unit.name},
            code="not_business_side",
        )
    if not confirm and not note.strip():
        raise ValidationFailed(_("Say why the link is rejected."), field="note")
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link.pk)
        before = _snapshot(link)
        _move(link, LinkStatus.CONFIRMED if confirm else LinkStatus.REJECTED, actor=actor)
        link.decided_by_label = actor.label[:150]
        link.decided_at = timezone.now()
        link.decision_note = note.strip()[:300]
        link.save()
        LinkVersion.objects.create(
            link=link,
            number=link.version,
            status=link.status,
            rationale=link.rationale,
            note=link.decision_note,
            by_label=actor.label[:150],
        )
        record_event("link.confirm" if confirm else "link.reject", link, before=before, after=_snapshot(link))
    return link


def do_withdraw_link(link: Link, *, note: str = "", user: Any, actor: Actor) -> Link:
    """Withdraw a link: a proposal by whoever may propose; a confirmed link only by the business side."""
    if link.status == LinkStatus.CONFIRMED and not may_decide(user, link):
        raise PermissionDeniedError(
            _("Only the head of %(unit)s (the business side) can withdraw a confirmed link.")
            % {"unit": link.business_unit.name},
            code="not_business_side",
        )
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link.pk)
        before = _snapshot(link)
        _move(link, LinkStatus.WITHDRAWN, actor=actor)
        link.decision_note = note.strip()[:300]
        link.save()
        LinkVersion.objects.create(
            link=link,
            number=link.version,
            status=link.status,
            rationale=link.rationale,
            note=link.decision_note,
            by_label=actor.label[:150],
        )
        record_event("link.withdraw", link, before=before, after=_snapshot(link))
    return link


# --- incentive plans --------------------------------------------------------------------------------------------


def check_plan(definition: Mapping[str, Any]) -> None:
    """Validate a plan with the engine; the message names the faulty part (``components[1].weight ...``)."""
    try:
        plan = parse_plan(definition)
    except PlanError as exc:
        raise ValidationFailed(str(exc), field="definition") from None
    known = set(MetricDefinition.objects.filter(is_active=True).values_list("code", flat=True))
    for name in plan.sources():  # a cohort component reads its metric's matured cohort: the same metric
        code = name.partition(":")[2]
        if code and code not in known:
            raise ValidationFailed(
                _("The plan reads %(input)s, but there is no active metric %(code)s.")
                % {"input": name, "code": code},
                field="definition",
            )


def do_save_plan(
    *,
    code: str,
    name: str,
    definition: Mapping[str, Any],
    valid_from: dt.date,
    unit: OrgUnit | None = None,
    category: str = "",
    employment_type: str = "",
    note: str = "",
    actor: Actor,
) -> PlanVersion:
    """Create a plan or add a version to it (validated first; nothing is written when the plan is invalid)."""
    check_plan(definition)
    if unit is None and not category:
        raise ValidationFailed(_("Say whom the plan pays: a unit or a unit category."), field="unit_id")
    with transaction.atomic():
        plan = IncentivePlan.objects.select_for_update().filter(code=code).first()
        if plan is None:
            plan = IncentivePlan(code=code)
        plan.name, plan.unit, plan.category, plan.employment_type = name, unit, category, employment_type
        plan.save()
        last = plan.versions.order_by("-number").first()
        if last is not None and valid_from < last.valid_from:
            raise ValidationFailed(
                _("A new version cannot start before the current one (%(date)s).")
                % {"date": last.valid_from},
                field="valid_from",
            )
        version = PlanVersion.objects.create(
            plan=plan,
            number=(last.number if last else 0) + 1,
            valid_from=valid_from,
            definition=dict(definition),
            note=note[:200],
            created_by_label=actor.label[:150],
        )
        record_event(
            "plan.version",
            version,
            after={
                "plan": plan.code,
                "number": version.number,
                "valid_from": valid_from,
                "definition": dict(definition),
            },
        )
    return version


# --- per-person bonus bases (人员基数) --------------------------------------------------------------------------


@dataclass
class BasesImported:
    rows: int = 0
    created: int = 0
    updated: int = 0
    valid_from: list[dt.date] = field(default_factory=list)


def do_import_plan_bases(
    plan: IncentivePlan,
    rows: Sequence[BaseRow],
    *,
    file_name: str = "",
    default_from: dt.date | None = None,
    actor: Actor,
) -> BasesImported:
    """Write every row's base (a person's base from a date: created, or replaced when that date has one already),
    or, if any row has a problem, nothing at all (``BasesRejected`` lists every problem). A row without a date
    takes ``default_from``, else the plan's start. One audit event ``plan.bases.import``; the amounts are
    salaries' kin and stay out of the audit trail, which names the file and the counts."""
    if not rows:
        raise BasesRejected([RowError(file_name, 0, "", "", "empty")])
    clean, errors = check_rows(rows, file_name=file_name, default_from=default_from or plan_start(plan))
    if errors:
        raise BasesRejected(errors)
    result = BasesImported(rows=len(clean), valid_from=sorted({row["valid_from"] for row in clean}))
    with transaction.atomic():
        existing = {
            (base.employee_id, base.valid_from): base
            for base in PlanBase.objects.select_for_update().filter(
                plan=plan, employee__in=[row["employee"].pk for row in clean]
            )
        }
        to_create: list[PlanBase] = []
        to_update: list[PlanBase] = []
        label = actor.label[:150]
        for row in clean:
            current = existing.get((row["employee"].pk, row["valid_from"]))
            if current is None:
                to_create.append(
                    PlanBase(
                        plan=plan,
                        employee=row["employee"],
                        amount=row["amount"],
                        valid_from=row["valid_from"],
                        note=row["note"][:200],
                        created_by_label=label,
                        tenant_id=plan.tenant_id,
                    )
                )
            else:
                current.amount, current.note, current.created_by_label = (
                    row["amount"],
                    row["note"][:200],
                    label,
                )
                current.updated_at = timezone.now()  # bulk_update skips auto_now
                to_update.append(current)
        PlanBase.objects.bulk_create(to_create)
        PlanBase.objects.bulk_update(to_update, ["amount", "note", "created_by_label", "updated_at"])
        result.created, result.updated = len(to_create), len(to_update)
        record_event(
            "plan.bases.import",
            plan,
            after={
                "plan": plan.code,
                "file": file_name,
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "valid_from": result.valid_from,
            },
        )
    return result
