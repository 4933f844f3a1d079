"""Bonus runs: a plan's inputs resolved from the period's calculation run and the confirmed links, paid by the
engine, stored with the statement.

Inputs per person (documented for users in docs/incentives.md):

* ``score``: the person's own total score in the run; without one (staff of a functional department are scored
  as a unit), their unit's total;
* ``own:<metric>``: the metric's value for the person, else for their unit, else for the nearest ancestor unit
  that has one (a branch's finance department is measured on the branch's claims);
* ``linked:<metric>``: the mean of the metric's values at the business units linked to the person's unit by a
  **confirmed** link whose business outcome is that metric; missing without a confirmed link (the plan's
  ``missing`` branch applies and the statement says so);
* ``base`` (a plan whose base is ``per_person``): the person's imported base (人员基数, ``PlanBase``) in force at
  the period's start; a run is refused, naming them, while anyone paid has none.

The stored inputs frame also says where each value came from (``<input>.from``: the employee or unit whose value
was used, or every linked business unit with its value), so a statement line leads to the records behind it.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

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
from perflink.incentives.choices import BONUS_TRANSITIONS, BonusRunStatus
from perflink.incentives.models import BonusAdjustment, BonusRun, IncentivePlan, PlanVersion
from perflink.metrics.calc import confirmed_links
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import latest_run, run_frame, run_inputs
from perflink.notify.actions import do_publish_event
from perflink.org.models import Employee, OrgUnit


def version_for(plan: IncentivePlan, period: Period) -> PlanVersion:
    """The plan version in force at the period's start."""
    version = plan.versions.filter(valid_from__lte=period.start).order_by("-valid_from", "-number").first()
    if version is None:
        raise ValidationFailed(f"plan {plan.code} has no version in force on {period.start}", field="period")
    return version


# Where an input's value came from, per person: the subjects whose values were used (one for ``score`` and
# ``own:``, each linked business unit for ``linked:``, with its value; null when nothing was found).
SOURCE_DTYPE: Final = pl.List(pl.Struct({"level": pl.String, "subject_id": pl.Int64, "value": pl.Float64}))


def source_column(name: str) -> str:
    """The stored inputs column that says where input ``name`` came from: ``linked:claim_cycle_days.from``."""
    return f"{name}.from"


def resolve_inputs(plan_version: PlanVersion, calc: CalcRun, period: Period) -> pl.DataFrame:
    """One row per person of the plan's population with every input the plan reads and where each came from
    (:func:`source_column`); for a per-person base, ``base`` (the base in force at the period's start,
    Decimal(18, 2)) and ``base.valid_from``. Raises :class:`MissingBases` when someone has no base."""
    plan = plan_version.plan
    definition = parse_plan(plan_version.definition)
    org = run_inputs(calc, ["employee", "unit"])
    frame = _population(plan, period, org["employee"], org["unit"])
    resolved = _resolve(definition.inputs(), frame, calc, org["unit"])
    out = frame.with_columns(
        *(values.alias(name) for name, (values, _sources) in resolved.items()),
        *(sources.alias(source_column(name)) for name, (_values, sources) in resolved.items()),
    ).drop("unit_id")
    if not isinstance(definition.base, FixedBase):
        out = _with_bases(plan, out, period)
    return out


def _population(
    plan: IncentivePlan, period: Period, employees: pl.DataFrame, units: pl.DataFrame
) -> pl.DataFrame:
    """``person_id, unit_id``: employees of the plan's unit subtree or unit category (and employment type),
    employed during the period, as the calculation run saw the org."""
    population = employees.join(
        units.select(pl.col("id").alias("unit_id"), pl.col("category").alias("_category")),
        on="unit_id",
        how="left",
    ).filter(
        (pl.col("hire_date") < period.end)
        & (pl.col("exit_date").is_null() | (pl.col("exit_date") >= period.start))
    )
    if plan.unit_id:
        root = OrgUnit.objects.get(pk=plan.unit_id)
        subtree = list(OrgUnit.objects.filter(path__startswith=root.path).values_list("pk", flat=True))
        population = population.filter(pl.col("unit_id").is_in(subtree))
    if plan.category:
        population = population.filter(pl.col("_category") == plan.category)
    if plan.employment_type:
        population = population.filter(pl.col("employment_type") == plan.employment_type)
    return population.select(pl.col("id").alias("person_id"), "unit_id")


def _resolve(
    names: Sequence[str], frame: pl.DataFrame, calc: CalcRun, units: pl.DataFrame
) -> dict[str, tuple[pl.Series, pl.Series]]:
    """Per input name: (its values, where each came from), in ``frame``'s row order (``person_id, unit_id``)."""
    values = run_frame(calc, "values")
    parents = units.select(pl.col("id").alias("unit_id"), "parent_id")
    out: dict[str, tuple[pl.Series, pl.Series]] = {}
    for name in names:
        kind, _, code = name.partition(":")
        if name == "score":
            got = _score(frame, run_frame(calc, "totals"))
        elif kind == "own":
            got = _own(frame, values, parents, code)
        elif kind == "linked":
            got = _linked(frame, values, code)
        else:
            continue
        out[name] = (got.get_column("_value"), got.get_column("_from").cast(SOURCE_DTYPE))
    return out


def _source(level: str, subject: str, value: str) -> pl.Expr:
    """A one-element source list: the subject (level, id column) whose value (column) was used."""
    return pl.concat_list(
        pl.struct(
            pl.lit(level).alias("level"),
            pl.col(subject).cast(pl.Int64).alias("subject_id"),
            pl.col(value).cast(pl.Float64).alias("value"),
        )
    )


def _score(frame: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """The person's own total score; without one (staff of a functional unit are scored as a unit), the unit's."""

    def first(level: str, key: str, alias: str) -> pl.DataFrame:
        return (
            totals.filter(pl.col("level") == level)
            .group_by("subject_id", maintain_order=True)
            .agg(pl.col("score").cast(pl.Float64).first().alias(alias))
            .rename({"subject_id": key})
        )

    got = frame.join(first("employee", "person_id", "_own"), on="person_id", how="left").join(
        first("unit", "unit_id", "_unit"), on="unit_id", how="left"
    )
    return got.select(
        pl.coalesce("_own", "_unit").alias("_value"),
        pl.when(pl.col("_own").is_not_null())
        .then(_source("employee", "person_id", "_own"))
        .when(pl.col("_unit").is_not_null())
        .then(_source("unit", "unit_id", "_unit"))
        .alias("_from"),
    )


def _own(frame: pl.DataFrame, values: pl.DataFrame, parents: pl.DataFrame, code: str) -> pl.DataFrame:
    metric = values.filter(pl.col("metric") == code)
    by_person = metric.filter(pl.col("level") == "employee").select(
        pl.col("subject_id").alias("person_id"), pl.col("value").alias("_p")
    )
    by_unit = metric.filter(pl.col("level") == "unit").select(pl.col("subject_id"), pl.col("value"))
    got = frame.join(by_person, on="person_id", how="left")
    # Walk up the tree a few levels until a unit with a value is found; remember which unit that was.
    cursor = got.select("person_id", pl.col("unit_id").alias("_at"))
    found = pl.DataFrame(schema={"person_id": pl.Int64, "_at": pl.Int64, "_u": pl.Float64})
    for _step in range(6):
        step = cursor.join(by_unit.rename({"subject_id": "_at", "value": "_u"}), on="_at", how="left")
        found = pl.concat([found, step.filter(pl.col("_u").is_not_null()).select("person_id", "_at", "_u")])
        cursor = (
            step.filter(pl.col("_u").is_null())
            .select("person_id", "_at")
            .join(parents.rename({"unit_id": "_at"}), on="_at", how="left")
            .select("person_id", pl.col("parent_id").alias("_at"))
            .filter(pl.col("_at").is_not_null())
        )
        if cursor.is_empty():
            break
    got = got.join(found, on="person_id", how="left")
    return got.select(
        pl.coalesce("_p", "_u").alias("_value"),
        pl.when(pl.col("_p").is_not_null())
        .then(_source("employee", "person_id", "_p"))
        .when(pl.col("_u").is_not_null())
        .then(_source("unit", "_at", "_u"))
        .alias("_from"),
    )


def _linked(frame: pl.DataFrame, values: pl.DataFrame, code: str) -> pl.DataFrame:
    """The mean over the business units linked to the person's unit by a confirmed link with this outcome; every
    such unit is a source, with its value (null when it has none: it does not count towards the mean)."""
    links = (
        confirmed_links()
        .filter(pl.col("metric") == code)
        .select(pl.col("functional_unit_id").alias("unit_id"), "business_unit_id")
    )
    metric = values.filter((pl.col("metric") == code) & (pl.col("level") == "unit")).select(
        pl.col("subject_id").alias("business_unit_id"), pl.col("value").cast(pl.Float64)
    )
    linked = (
        links.join(metric, on="business_unit_id", how="left")
        .group_by("unit_id", maintain_order=True)
        .agg(
            pl.col("value").mean().alias("_value"),
            pl.struct(
                pl.lit("unit").alias("level"),
                pl.col("business_unit_id").alias("subject_id"),
                pl.col("value"),
            ).alias("_from"),
        )
    )
    return frame.join(linked, on="unit_id", how="left").select("_value", "_from")


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


def do_run_bonus(
    plan: IncentivePlan, period_label: str, *, actor: Actor, timings: dict[str, float] | None = None
) -> BonusRun:
    """A draft bonus run of ``plan`` for a period, on the period's latest calculation run (never recomputed)."""
    started = time.perf_counter()
    period = Period.parse(period_label)
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
    with transaction.atomic():
        run = BonusRun.objects.create(
            plan_version=version,
            period=period.label,
            calc_run=calc,
            fingerprint=digest,
            total=result.total,
            total_before_pool=result.total_before_pool,
            people=result.amounts.height,
            amounts=to_ipc(result.amounts),
            lines=to_ipc(result.lines),
            inputs=to_ipc(frame),
            created_by_label=actor.label[:150],
        )
        record_event(
            "bonus.run",
            run,
            after={
                "plan": plan.code,
                "version": version.number,
                "period": period.label,
                "total": result.total,
            },
        )
    if timings is not None:
        timings["bonus_s"] = time.perf_counter() - started
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

    Runs stored before sources were recorded get them worked out again from the run's calculation run (and, for
    ``linked:`` inputs, today's confirmed links); ``recorded`` is then False.
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
            for name, (_values, sources) in _resolve(missing, person, run.calc_run, org["unit"]).items():
                found[name] = list(sources.to_list()[0] or [])
    return {"inputs": found, "recorded": not missing, "base_valid_from": record.get("base.valid_from")}


# --- approval and publication -------------------------------------------------------------------------------


def _move(run: BonusRun, status: str) -> None:
    if status not in BONUS_TRANSITIONS[run.status]:
        raise Conflict(
            _("A %(current)s bonus run cannot become %(new)s.")
            % {"current": BonusRunStatus(run.status).label, "new": BonusRunStatus(status).label},
            code="bonus_state",
        )
    run.status = status


def do_submit_bonus_run(run: BonusRun, *, user: Any, actor: Actor) -> BonusRun:
    with transaction.atomic():
        run = BonusRun.objects.select_for_update().get(pk=run.pk)
        _move(run, BonusRunStatus.SUBMITTED)
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
        run.published_at = timezone.now()
        run.save(update_fields=["status", "published_at"])
        record_event("bonus.publish", run, after={"status": run.status, "total": run.total})
        # Channels hear that the run is published, never the people's amounts.
        do_publish_event(
            "bonus.published",
            title=f"{run.plan_version.plan.name} · {run.period}",
            url=reverse("incentives:bonus_run", args=[run.pk]),
            data={"bonus_run": run.pk, "period": run.period, "plan": run.plan_version.plan.code},
            actor=actor,
        )
    return run


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
        record_event(
            "bonus.adjust",
            run,
            after={"employee": employee.employee_no, "amount": amount, "reason": entry.reason},
        )
    return entry


def payroll_rows(run: BonusRun) -> tuple[list[str], list[list[Any]]]:
    """Employee number, name, amount (with adjustments), and each component, for payroll."""
    if run.status not in (BonusRunStatus.APPROVED, BonusRunStatus.PUBLISHED):
        raise Conflict(_("Only an approved or published run goes to payroll."), code="bonus_state")
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
