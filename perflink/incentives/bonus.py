"""Bonus runs: a plan's inputs resolved from the period's calculation run alone (:mod:`.inputs`), paid by the
engine, stored with the statement and as payout rows (:mod:`.payouts`); the approval workflow; one payable run per
plan and period, and correction runs that post only the differences.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.accounts.models import User
from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.core.exports import safe_cell
from perflink.core.frames import from_ipc, to_ipc
from perflink.engine import run as engine_run
from perflink.engine.incentives import compute, parse_plan
from perflink.engine.incentives.plan import FixedBase
from perflink.engine.periods import Period
from perflink.incentives.bases import bases_in_force
from perflink.incentives.choices import BONUS_TRANSITIONS, PAYABLE_STATES, BonusRunKind, BonusRunStatus
from perflink.incentives.inputs import SOURCE_DTYPE as SOURCE_DTYPE  # re-exported for callers
from perflink.incentives.inputs import Resolver, population, source_column
from perflink.incentives.models import BonusAdjustment, BonusRun, IncentivePlan, PlanVersion
from perflink.incentives.payouts import (
    differences,
    paid_so_far,
    payout_frame,
    person_totals,
    write_adjustment_payout,
    write_payouts,
)
from perflink.metrics.loader import with_ancestors
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import latest_run, run_inputs
from perflink.notify.actions import do_publish_event
from perflink.org.models import Employee


def version_for(plan: IncentivePlan, period: Period) -> PlanVersion:
    """The plan version in force at the period's start."""
    version = plan.versions.filter(valid_from__lte=period.start).order_by("-valid_from", "-number").first()
    if version is None:
        raise ValidationFailed(f"plan {plan.code} has no version in force on {period.start}", field="period")
    return version


def resolve_inputs(plan_version: PlanVersion, calc: CalcRun, period: Period) -> pl.DataFrame:
    """One row per person of the plan's population with every input the plan reads, each with ``.from``,
    ``.provisional``, ``.why`` and ``.cohort`` beside it (:mod:`perflink.incentives.inputs`); for a per-person
    base, ``base`` (the base in force at the period's start, Decimal(18, 2)) and ``base.valid_from``. Raises
    :class:`MissingBases` when someone has no base. Reads the calculation run alone (its org, values and links)."""
    plan = plan_version.plan
    definition = parse_plan(plan_version.definition)
    org = run_inputs(calc, ["employee", "unit"])
    units = with_ancestors(org["unit"]) if "ancestors" not in org["unit"].columns else org["unit"]
    frame = population(plan.unit_id, plan.category, plan.employment_type, period, org["employee"], units)
    resolved = Resolver(calc, period, units).resolve(definition.inputs(), frame)
    out = frame.with_columns(
        *(
            got.get_column(column).alias(name + suffix)
            for name, got in resolved.items()
            for column, suffix in (
                ("_value", ""),
                ("_from", ".from"),
                ("_prov", ".provisional"),
                ("_why", ".why"),
                ("_cohort", ".cohort"),
            )
        )
    )
    if not isinstance(definition.base, FixedBase):
        out = _with_bases(plan, out, period)
    return out


def _with_bases(plan: IncentivePlan, frame: pl.DataFrame, period: Period) -> pl.DataFrame:
    """``frame`` with each person's base in force at the period's start; refuses when anyone has none."""
    got = frame.join(bases_in_force(plan, period.start, period.end), on="person_id", how="left")
    missing = got.filter(pl.col("base").is_null()).get_column("person_id").to_list()
    if missing:
        people = list(
            Employee.objects.filter(pk__in=missing).order_by("employee_no").values_list("employee_no", "name")
        )
        raise MissingBases(plan, period, people)
    return got


class MissingBases(ValidationFailed):
    """Some people of a per-person-base plan have no base for the period: the run is refused, naming them.

    Refused rather than run without them: a published run cannot gain people (adjustments only correct those
    it pays), so someone left out would go unpaid without anyone deciding it; a base of 0 says so on purpose.
    """

    SHOWN = 10

    def __init__(self, plan: IncentivePlan, period: Period, people: list[tuple[str, str]]) -> None:
        names = ", ".join(f"{number} {name}" for number, name in people[: self.SHOWN])
        if len(people) > self.SHOWN:
            names += _(" and %(n)s more") % {"n": len(people) - self.SHOWN}
        super().__init__(
            _(
                "%(count)s people paid by %(plan)s have no base in force on %(date)s: %(people)s. Import their "
                "bases on the plan's Bases page first; a base of 0 pays someone nothing on purpose."
            )
            % {"count": len(people), "plan": plan.name, "date": period.start.isoformat(), "people": names},
            field="base",
            code="missing_bases",
            missing=[number for number, _name in people],
        )
        self.plan = plan
        self.people = people


def payable_run(plan: IncentivePlan, period_label: str, *, exclude: int | None = None) -> BonusRun | None:
    """The plan's regular run for the period that is submitted, approved or published, if any."""
    runs = BonusRun.objects.filter(
        plan=plan, period=period_label, kind=BonusRunKind.REGULAR, status__in=PAYABLE_STATES
    )
    if exclude is not None:
        runs = runs.exclude(pk=exclude)
    return runs.order_by("-id").first()


def _published(plan: IncentivePlan, period_label: str) -> BonusRun | None:
    return BonusRun.objects.filter(
        plan=plan, period=period_label, kind=BonusRunKind.REGULAR, status=BonusRunStatus.PUBLISHED
    ).first()


class AlreadyPublished(Conflict):
    """A regular run for a plan and period that already has a published one: only a correction run may follow."""

    def __init__(self, run: BonusRun) -> None:
        super().__init__(
            _(
                "%(plan)s already has a published bonus run for %(period)s (run %(run)s). Paying the period again "
                "would pay twice: start a correction run instead, which pays only the differences."
            )
            % {"plan": run.plan.name, "period": run.period, "run": f"#{run.pk}"},
            code="already_published",
            run=run.pk,
        )
        self.run = run


def do_run_bonus(
    plan: IncentivePlan,
    period_label: str,
    *,
    actor: Actor,
    correction: bool = False,
    reason: str = "",
    timings: dict[str, float] | None = None,
) -> BonusRun:
    """A draft bonus run of ``plan`` for a period, on the period's latest calculation run (never recomputed).

    Once the plan's period has a published run, only a correction run is accepted (``correction=True``, with a
    reason): it pays on the latest calculation and keeps, as payout rows, only the differences against what the
    published run and earlier published corrections paid; publishing it posts them as adjustment entries."""
    started = time.perf_counter()
    period = Period.parse(period_label)
    published = _published(plan, period.label)
    if correction:
        if published is None:
            raise ValidationFailed(
                _("%(plan)s has no published run for %(period)s to correct: run it as a regular run.")
                % {"plan": plan.name, "period": period.label},
                field="period",
            )
        if not reason.strip():
            raise ValidationFailed(_("Say why the published run is corrected."), field="reason")
    elif published is not None:
        raise AlreadyPublished(published)
    calc = latest_run(period.label)
    if calc is None:
        raise ValidationFailed(
            f"calculate {period.label} first: bonuses are built on its scores", field="period"
        )
    version = version_for(plan, period)
    frame = resolve_inputs(version, calc, period)
    plan_def = parse_plan(version.definition)
    result = compute(plan_def, frame)
    # The fingerprint covers what the engine reads (the sources say where it came from, not what it is).
    read = ["person_id", *plan_def.inputs(), *([] if isinstance(plan_def.base, FixedBase) else ["base"])]
    digest = hashlib.sha256(
        json.dumps([calc.fingerprint, version.pk, version.definition], sort_keys=True).encode()
        + engine_run.fingerprint({"inputs": frame.select(read)}).encode()
    ).hexdigest()
    rows = payout_frame(plan_def, result.amounts)
    if correction:
        assert published is not None
        rows = differences(rows, paid_so_far(published))
    units = _units_of(frame)
    with transaction.atomic():
        run = BonusRun.objects.create(
            plan=plan,
            plan_version=version,
            period=period.label,
            calc_run=calc,
            kind=BonusRunKind.CORRECTION if correction else BonusRunKind.REGULAR,
            corrects=published if correction else None,
            reason=reason.strip()[:300],
            difference=_sum(rows) if correction else None,
            fingerprint=digest,
            total=result.total,
            total_before_pool=result.total_before_pool,
            people=result.amounts.height,
            amounts=to_ipc(result.amounts),
            lines=to_ipc(result.lines),
            inputs=to_ipc(frame),
            created_by_label=actor.label[:150],
        )
        write_payouts(run, rows, units)
        record_event(
            "bonus.correct" if correction else "bonus.run",
            run,
            after={
                "plan": plan.code,
                "version": version.number,
                "period": period.label,
                "calc_run": calc.pk,
                "total": result.total,
                **(
                    {"corrects": published.pk, "difference": run.difference, "reason": run.reason}
                    if correction and published is not None
                    else {}
                ),
            },
        )
    if timings is not None:
        timings["bonus_s"] = time.perf_counter() - started
    return run


def _sum(rows: pl.DataFrame) -> Decimal:
    return Decimal(str(rows.get_column("amount").sum())) if rows.height else Decimal("0.00")


def _units_of(inputs: pl.DataFrame) -> dict[int, int | None]:
    """Each person's unit as the calculation run saw the org, from a run's resolved inputs (``unit_id``)."""
    if "unit_id" not in inputs.columns:  # runs stored before the unit was kept with the inputs
        return {}
    return dict(
        zip(inputs.get_column("person_id").to_list(), inputs.get_column("unit_id").to_list(), strict=True)
    )


def superseded_by(run: BonusRun) -> CalcRun | None:
    """The newer calculation run of the period, when the bonus run's own was superseded by newer data."""
    latest = latest_run(run.period)
    return latest if latest is not None and latest.pk != run.calc_run_id else None


def provisional_people(run: BonusRun) -> int:
    """How many people the run pays provisionally (暂估) on at least one line."""
    amounts = stored(run, "amounts")
    return int(amounts.get_column("provisional").sum()) if "provisional" in amounts.columns else 0


def do_discard_bonus_run(run: BonusRun, *, reason: str, actor: Actor) -> BonusRun:
    """Discard a draft: it stays on record with its reason but can never be submitted or paid."""
    if not reason.strip():
        raise ValidationFailed(_("Say why the draft is discarded."), field="reason")
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        _move(run, BonusRunStatus.DISCARDED)
        run.status_note = reason.strip()[:300]
        run.save(update_fields=["status", "status_note"])
        record_event("bonus.discard", run, after={"status": run.status, "reason": run.status_note})
    return run


def stored(run: BonusRun, name: str) -> pl.DataFrame:
    return from_ipc(getattr(run, name))


def statement(run: BonusRun, person_id: int) -> dict[str, Any]:
    """One person's statement: their amounts row and the lines explaining it."""
    amounts = stored(run, "amounts").filter(pl.col("person_id") == person_id)
    lines = stored(run, "lines").filter(pl.col("person_id") == person_id).sort("seq")
    return {
        "amounts": amounts.row(0, named=True) if amounts.height else None,
        "lines": lines.to_dicts(),
    }


def statement_sources(run: BonusRun, person_id: int) -> dict[str, Any]:
    """Where each input of one person's statement came from: ``inputs`` maps an input name to its sources (dicts
    of ``level, subject_id, value``: the employee or unit whose value was used, or every linked business unit);
    ``base_valid_from`` is the date the person's base took effect (per-person bases only).

    ``why`` says why a missing input is missing, ``provisional`` lists the inputs read before they matured and
    ``cohorts`` the cohort a ``@cohort`` input read. Runs stored before sources were recorded get them worked out
    again from the run's calculation run (the links it stored); ``recorded`` is then False.
    """
    names = parse_plan(run.plan_version.definition).inputs()
    row = stored(run, "inputs").filter(pl.col("person_id") == person_id)
    record = row.row(0, named=True) if row.height else {}
    found = {name: list(record[source_column(name)] or []) for name in names if source_column(name) in record}
    missing = [name for name in names if name not in found]
    if missing:
        org = run_inputs(run.calc_run, ["employee", "unit"])
        person = (
            org["employee"]
            .filter(pl.col("id") == person_id)
            .select(pl.col("id").alias("person_id"), "unit_id")
        )
        if person.height:
            resolver = Resolver(run.calc_run, Period.parse(run.period), org["unit"])
            for name, got in resolver.resolve(missing, person).items():
                found[name] = list(got.get_column("_from").to_list()[0] or [])
    why = {name: record.get(f"{name}.why") for name in names if record.get(f"{name}.why")}
    provisional = [name for name in names if record.get(f"{name}.provisional")]
    cohorts = {name: record.get(f"{name}.cohort") for name in names if record.get(f"{name}.cohort")}
    return {
        "inputs": found,
        "recorded": not missing,
        "base_valid_from": record.get("base.valid_from"),
        "why": why,
        "provisional": provisional,
        "cohorts": cohorts,
    }


# --- approval and publication -------------------------------------------------------------------------------


def _move(run: BonusRun, status: str) -> None:
    if status not in BONUS_TRANSITIONS[run.status]:
        raise Conflict(
            _("A %(current)s bonus run cannot become %(new)s.")
            % {"current": BonusRunStatus(run.status).label, "new": BonusRunStatus(status).label},
            code="bonus_state",
        )
    run.status = status


def _check_payable(run: BonusRun) -> None:
    """One regular run per plan and period on its way to payment; a correction must still match what was paid."""
    if run.kind == BonusRunKind.REGULAR:
        other = payable_run(run.plan, run.period, exclude=run.pk)
        if other is not None and other.status == BonusRunStatus.PUBLISHED:
            raise AlreadyPublished(other)
        if other is not None:
            raise Conflict(
                _(
                    "Run %(run)s of %(plan)s for %(period)s is already %(status)s: only one run per plan and "
                    "period can be on its way to payment. Send it back to draft first, or discard this one."
                )
                % {
                    "run": f"#{other.pk}",
                    "plan": run.plan.name,
                    "period": run.period,
                    "status": BonusRunStatus(other.status).label,
                },
                code="payable_run_exists",
                run=other.pk,
            )
        return
    assert run.corrects is not None
    expected = differences(
        payout_frame(parse_plan(run.plan_version.definition), stored(run, "amounts")),
        paid_so_far(run.corrects),
    )
    mine = pl.DataFrame(
        list(
            run.payouts.filter(adjustment__isnull=True).values_list(
                "employee_id", "kind", "component", "amount"
            )
        ),
        schema={
            "person_id": pl.Int64,
            "kind": pl.String,
            "component": pl.String,
            "amount": pl.Decimal(18, 2),
        },
        orient="row",
    ).sort("person_id", "kind", "component")
    if not expected.select(mine.columns).equals(mine):
        raise Conflict(
            _(
                "Another correction of %(plan)s for %(period)s was published after this one was made, so its "
                "differences are out of date. Discard it and start a new correction run."
            )
            % {"plan": run.plan.name, "period": run.period},
            code="correction_outdated",
        )


def do_submit_bonus_run(run: BonusRun, *, user: Any, actor: Actor) -> BonusRun:
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        _move(run, BonusRunStatus.SUBMITTED)
        _check_payable(run)
        run.submitted_by = user if getattr(user, "pk", None) and isinstance(user, User) else None
        run.submitted_by_label = actor.label[:150]
        run.save(update_fields=["status", "submitted_by", "submitted_by_label"])
        record_event("bonus.submit", run, after={"status": run.status})
    return run


def do_approve_bonus_run(run: BonusRun, *, user: Any, actor: Actor) -> BonusRun:
    """Approve a submitted run: the approver must be a different person from the submitter."""
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        if run.status == BonusRunStatus.SUBMITTED and (
            (run.submitted_by_id is not None and run.submitted_by_id == getattr(user, "pk", None))
            or run.submitted_by_label == actor.label
        ):
            raise PermissionDeniedError(
                _("The person who submitted a bonus run cannot approve it."), code="self_approval"
            )
        _move(run, BonusRunStatus.APPROVED)
        run.approved_by_label = actor.label[:150]
        run.save(update_fields=["status", "approved_by_label"])
        record_event("bonus.approve", run, after={"status": run.status})
    return run


def do_return_bonus_run(run: BonusRun, *, reason: str, actor: Actor) -> BonusRun:
    if not reason.strip():
        raise ValidationFailed(_("Say why the run goes back to draft."), field="reason")
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        _move(run, BonusRunStatus.DRAFT)
        run.save(update_fields=["status"])
        record_event("bonus.return", run, after={"status": run.status, "reason": reason.strip()})
    return run


def do_publish_bonus_run(run: BonusRun, *, actor: Actor) -> BonusRun:
    """Publish an approved run: from now on it is locked; corrections are adjustment entries."""
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        _move(run, BonusRunStatus.PUBLISHED)
        _check_payable(run)
        run.published_at = timezone.now()
        run.save(update_fields=["status", "published_at"])
        record_event("bonus.publish", run, after={"status": run.status, "total": run.total})
        if run.kind == BonusRunKind.CORRECTION:
            _post_corrections(run, actor)
        # Channels hear that the run is published, never the people's amounts.
        do_publish_event(
            "bonus.published",
            title=f"{run.plan_version.plan.name} · {run.period}",
            url=reverse("incentives:bonus_run", args=[run.pk]),
            data={"bonus_run": run.pk, "period": run.period, "plan": run.plan_version.plan.code},
            actor=actor,
        )
    return run


def _post_corrections(run: BonusRun, actor: Actor) -> None:
    """A published correction's differences, per person, as adjustment entries on the run it corrects (its
    payout rows carry the detail per component)."""
    assert run.corrects is not None
    per_person = person_totals(run)
    BonusAdjustment.objects.bulk_create(
        [
            BonusAdjustment(
                tenant_id=run.tenant_id,
                run=run.corrects,
                employee_id=employee_id,
                amount=amount,
                reason=f"更正批次 #{run.pk}：{run.reason}"[:300],
                by_label=actor.label[:150],
                correction=run,
            )
            for employee_id, amount in sorted(per_person.items())
            if amount != 0
        ]
    )
    record_event(
        "bonus.adjust",
        run.corrects,
        after={
            "correction": run.pk,
            "people": sum(1 for a in per_person.values() if a),
            "amount": run.difference,
        },
    )


def do_adjust_bonus(
    run: BonusRun, *, employee: Employee, amount: Decimal, reason: str, actor: Actor
) -> BonusAdjustment:
    """An adjustment entry on a published run (the run itself never changes)."""
    if run.status != BonusRunStatus.PUBLISHED:
        raise Conflict(
            _("Only a published run takes adjustments; change a draft by running it again."),
            code="bonus_state",
        )
    if not reason.strip():
        raise ValidationFailed(_("An adjustment needs a reason."), field="reason")
    if amount.as_tuple().exponent < -2 or amount == 0:  # type: ignore[operator]
        raise ValidationFailed(_("An adjustment is a non-zero amount to the fen."), field="amount")
    if not stored(run, "amounts").filter(pl.col("person_id") == employee.pk).height:
        raise ValidationFailed(
            _("%(name)s is not paid by this run.") % {"name": employee.name}, field="employee_id"
        )
    with transaction.atomic():
        entry = BonusAdjustment.objects.create(
            run=run, employee=employee, amount=amount, reason=reason.strip()[:300], by_label=actor.label[:150]
        )
        unit_id = _units_of(stored(run, "inputs").filter(pl.col("person_id") == employee.pk)).get(employee.pk)
        write_adjustment_payout(entry, unit_id if unit_id is not None else employee.unit_id)
        record_event(
            "bonus.adjust",
            run,
            after={"employee": employee.employee_no, "amount": amount, "reason": entry.reason},
        )
    return entry


def payroll_rows(run: BonusRun) -> tuple[list[str], list[list[Any]]]:
    """Employee number, name, amount (with adjustments), and each component, for payroll. A correction run's
    rows are its differences only: what payroll pays (or recovers) on top of the published run."""
    if run.status not in (BonusRunStatus.APPROVED, BonusRunStatus.PUBLISHED):
        raise Conflict(_("Only an approved or published run goes to payroll."), code="bonus_state")
    if run.kind == BonusRunKind.CORRECTION:
        return _correction_payroll_rows(run)
    amounts = stored(run, "amounts")
    plan = parse_plan(run.plan_version.definition)
    keys = [component.key for component in plan.components]
    adjustments: dict[int, Decimal] = {}
    for employee_id, amount in BonusAdjustment.objects.filter(run=run).values_list("employee_id", "amount"):
        adjustments[employee_id] = adjustments.get(employee_id, Decimal(0)) + amount
    people = {e.pk: e for e in Employee.objects.filter(pk__in=amounts.get_column("person_id").to_list())}
    header = ["工号 employee no", "姓名 name", "奖金 amount", "调整 adjustments", "应发 total"] + [
        f"{component.label} ({component.key})" for component in plan.components
    ]
    rows = []
    for row in amounts.iter_rows(named=True):
        person = people.get(row["person_id"])
        extra = adjustments.get(row["person_id"], Decimal(0))
        rows.append(
            [
                person.employee_no if person else row["person_id"],
                person.name if person else "",
                row["amount"],
                extra,
                row["amount"] + extra,
                *(row[f"{key}.amount"] for key in keys),
            ]
        )
    return header, rows


def _correction_payroll_rows(run: BonusRun) -> tuple[list[str], list[list[Any]]]:
    rows = list(
        run.payouts.filter(adjustment__isnull=True)
        .select_related("employee")
        .order_by("employee__employee_no", "id")
        .values_list("employee_id", "employee__employee_no", "employee__name", "component", "amount")
    )
    components: list[str] = list(dict.fromkeys(component for *_, component, _amount in rows))
    header = ["工号 employee no", "姓名 name", "差额 difference"] + [
        f"{component} 差额" for component in components
    ]
    people: dict[int, list[Any]] = {}
    for employee_id, number, name, component, amount in rows:
        line = people.setdefault(
            employee_id, [number, name, Decimal("0.00")] + [Decimal("0.00")] * len(components)
        )
        line[2] += amount
        line[3 + components.index(component)] += amount
    return header, list(people.values())


def payroll_xlsx(run: BonusRun) -> bytes:
    """The payroll rows as an XLSX workbook; text cells are written as text, never as formulas."""
    import xlsxwriter

    header, rows = payroll_rows(run)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(run.period)
    money = book.add_format({"num_format": "#,##0.00"})
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if isinstance(value, Decimal):
                sheet.write_number(i, j, float(value), money)
            else:
                sheet.write_string(i, j, safe_cell("" if value is None else str(value)))
    sheet.set_column(0, len(header) - 1, 16)
    book.close()
    return buffer.getvalue()
