"""A demand's progress, computed from ingested records (never keyed in): what has happened so far, as of a date.

The figures come from the metrics engine (``parse_metric`` + ``prepare``, the same code a calculation run uses),
over frames of the handful of records a demand concerns, read through the ORM. Each figure carries the ids of the
records behind it (for the drill-down) and says whether it may still change (``provisional``).

Definitions, per kind:

* **Recruitment.** The hires are the HR system's hire records attached to the demand's requisition
  (``spec.requisition``, its ``requisition_no``). The arrival clock starts on the requisition's opening date, or on
  the demand's submission date if that is earlier (opening the requisition late does not buy time); a hire
  *arrived in time* when their arrival date is on or before start + ``arrival_days`` calendar days (the
  deadline). ``arrival_rate`` = arrived in time ÷ positions requested × 100. The *attainment cohort* is the hires
  who arrived in time; a hire *reached the target* when the first-year premium of their policies issued in
  [arrival date, arrival date + ``attainment_days``) — cancellations excluded, as in the library's new-agent
  attainment metric — totals at least ``per_hire_target`` yuan. ``attainment_rate`` = reached ÷ cohort × 100. The
  arrival figures are provisional until the deadline has passed, the attainment figures until every cohort
  member's window has passed (the engine's cohort maturity) — e.g. 18 hires arriving by 12 March with 90-day
  windows are final from 10 June.
* **Training.** Training records of the audience (the requisition's hires when ``spec.requisition`` is given,
  else the people of the requesting unit and below), for the courses named in ``spec.courses``, completed from
  the demand's submission date up to the as-of date. ``pass_rate`` = passed ÷ completions with an exam result
  × 100; ``completion_rate`` = distinct trainees ÷ ``audience_size`` × 100. Provisional through the delivery due
  date.
* **Payment acceleration.** The claims in scope are those of the requesting unit and below with the catastrophe
  tag (and line and report dates, when given). Payment time is from claim approval to payment, in days
  (fractional), as the library's claim payment time. ``paid_within_target_rate`` = paid within
  ``target_payment_days`` ÷ paid × 100. Provisional while a claim in scope is neither paid nor closed.
* **IT support.** Incidents of ``spec.system`` that started from the submission date through the delivery due
  date. ``availability`` = 100 − P1/P2 outage hours ÷ hours of that window × 100 (an outage still going counts up
  to the window's end); ``fix_hours_mean`` = mean hours from start to recovery of the recovered ones. Provisional
  through the due date and while an incident is unrecovered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from django.utils import timezone

from perflink.collab.choices import DemandKind
from perflink.collab.sla import calendar_deadline
from perflink.core.instants import from_wall_clock, local_midnight, local_wall_clock
from perflink.engine.metrics import parse_metric, prepare
from perflink.engine.periods import Period
from perflink.ingest.models import (
    ClaimRecord,
    HireRecord,
    IncidentRecord,
    PolicyRecord,
    RequisitionRecord,
    TrainingRecord,
)
from perflink.metrics.catalogue import catalogue, sources
from perflink.org.models import Employee

MICRO = Decimal("0.000001")
MAX_ROWS = (
    1000  # records listed per demand (the figures always count them all; basis.rows_total says how many)
)
_EPOCH = dt.date(1900, 1, 1)  # "from the beginning": the records are already narrowed to the demand's own
_NOT_CANCELLED = {"field": "status", "op": "ne", "value": "cancelled"}


@dataclass(frozen=True)
class Figure:
    """One figure of progress: its value (6 places; None when it cannot be computed, e.g. a rate of nobody), how
    many records stand behind it, whether it may still change, and the ids of the records it counts."""

    key: str
    value: Decimal | None
    unit: str
    n: int
    provisional: bool
    record_kind: str
    record_ids: tuple[int, ...] = ()

    def as_data(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": None if self.value is None else str(self.value),
            "unit": self.unit,
            "n": self.n,
            "provisional": self.provisional,
            "record_kind": self.record_kind,
            "record_ids": list(self.record_ids),
        }


@dataclass(frozen=True)
class Progress:
    kind: str
    as_of: dt.date
    figures: tuple[Figure, ...]
    provisional: bool
    final_on: dt.date | None  # the first as-of date from which no figure can change (None: not foreseeable)
    basis: Mapping[str, Any] = field(default_factory=dict)  # what the figures were computed from
    rows: tuple[Mapping[str, Any], ...] = ()  # per record, for the drill-down and the progress chart
    issues: tuple[str, ...] = ()  # codes: requisition_missing, requisition_unset, …

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "as_of": self.as_of.isoformat(),
            "provisional": self.provisional,
            "final_on": self.final_on.isoformat() if self.final_on else None,
            "figures": [f.as_data() for f in self.figures],
            "basis": _plain(self.basis),
            "rows": [_plain(row) for row in self.rows],
            "issues": list(self.issues),
        }


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready: dates and times as ISO text (times with their offset), decimals as exact text."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dt.datetime):  # a local wall-clock time, given with its offset
            out[key] = from_wall_clock(value).isoformat()
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole × 100`` exactly, rounded half up to 6 places (the engine's scale); None for a whole of 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(MICRO, rounding=ROUND_HALF_UP)


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(round(value, 6))).quantize(MICRO, rounding=ROUND_HALF_UP)


def _count(n: int) -> Decimal:
    return Decimal(n).quantize(MICRO)


def _ids(frame: pl.DataFrame, column: str = "_rid") -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in frame.get_column(column).to_list()))


# --- reading records ---------------------------------------------------------------------------------------

_POLARS_TYPES: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "bool": pl.Boolean(),
    "money": pl.Float64(),
    "decimal": pl.Float64(),
    "str": pl.String(),
    "enum": pl.String(),
}


def records_frame(kind: str, queryset: Any) -> pl.DataFrame:
    """A kind's records as the engine reads them (the catalogue's columns; money as Float64, datetimes as naive
    local wall-clock times), from a queryset narrowed to the few rows one demand concerns."""
    return frame_from_rows(kind, list(queryset.values(*_schema(kind))))


def _schema(kind: str) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"id": pl.Int64(), "version": pl.Int64()}
    for _, column, type_ in sources()[kind].columns:
        schema[column] = _POLARS_TYPES.get(type_, pl.Int64())
    return schema


def frame_from_rows(kind: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of a kind (column -> value; a missing column is null) as a frame of the engine's types."""
    schema = _schema(kind)
    data: dict[str, list[Any]] = {name: [] for name in schema}
    for row in rows:
        for name, dtype in schema.items():
            value = row.get(name)
            if isinstance(value, dt.datetime) and timezone.is_aware(value):
                value = local_wall_clock(value)
            elif value is not None and dtype == pl.Float64:
                value = float(value)
            data[name].append(value)
    return pl.DataFrame(data, schema=schema)


def _rows(
    definition: Mapping[str, Any],
    records: Mapping[str, pl.DataFrame],
    start: dt.date,
    end: dt.date,
    *,
    label: str,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """The records a metric definition counts in ``[start, end)``, one row each (the engine's ``prepare``)."""
    spec = parse_metric(f"demand:{label}", definition, catalogue())
    frame, _ = prepare(spec, records, catalogue(), Period(label, start, end), as_of=as_of)
    return frame


# --- recruitment --------------------------------------------------------------------------------------------


def find_requisition(requisition_no: str) -> RequisitionRecord | None:
    """The requisition record with this number (the latest received, should two source systems send one)."""
    if not requisition_no:
        return None
    return (
        RequisitionRecord.objects.filter(requisition_no=requisition_no)
        .order_by("-received_at", "-id")
        .first()
    )


def arrival_start(requisition_opened_on: dt.date | None, submitted_on: dt.date) -> dt.date:
    """Where the arrival clock starts: the requisition's opening, or the demand's submission if earlier."""
    if requisition_opened_on is None:
        return submitted_on
    return min(requisition_opened_on, submitted_on)


def recruitment_progress(
    spec: Mapping[str, Any],
    *,
    label: str,
    start: dt.date,
    as_of: dt.date,
    hires: pl.DataFrame,
    policies: pl.DataFrame,
    basis: Mapping[str, Any] | None = None,
    issues: Sequence[str] = (),
) -> Progress:
    """Recruitment figures from the requisition's hire records and their policies (pure: frames in, figures out)."""
    positions = int(spec["positions"])
    days = int(spec.get("attainment_days") or 90)
    deadline = calendar_deadline(start, int(spec["arrival_days"]))
    end = as_of + dt.timedelta(days=1)
    # As of a date: policies issued after it do not count yet (their windows are still open then).
    records = {"hire": hires, "policy": policies.filter(pl.col("issued_on") <= as_of)}
    in_time = {"field": "arrived_on", "op": "le", "value": deadline.isoformat()}

    # Step 1: every hire who arrived by the as-of date, and whether by the deadline.
    arrived = _rows(
        {
            "kind": "hire",
            "date_field": "arrived_on",
            "measure": {"agg": "share", "where": [in_time]},
            "subject": {"employee": "employee"},
        },
        records,
        _EPOCH,
        end,
        label=label,
    )
    on_time = arrived.filter(pl.col("_hit"))
    arrival_open = as_of <= deadline
    figures = [
        Figure("hires", _count(hires.height), "人", hires.height, arrival_open, "hire", _ids(hires, "id")),
        Figure("arrived", _count(arrived.height), "人", arrived.height, arrival_open, "hire", _ids(arrived)),
        Figure(
            "arrived_in_time",
            _count(on_time.height),
            "人",
            on_time.height,
            arrival_open,
            "hire",
            _ids(on_time),
        ),
        Figure(
            "arrival_rate",
            rate(on_time.height, positions),
            "%",
            positions,
            arrival_open,
            "hire",
            _ids(on_time),
        ),
    ]
    final_on = deadline + dt.timedelta(days=1)
    outcome: dict[int, tuple[float, bool]] = {}
    target = spec.get("per_hire_target")
    if target is not None:
        # Step 2: per in-time hire, the first-year premium of their policies within their first N days (a cohort
        # with an outcome, as the library's new-agent attainment); immature windows are provisional.
        cohort = _rows(
            {
                "kind": "hire",
                "date_field": "arrived_on",
                "window": {"type": "cohort", "days": days},
                "filters": [in_time],
                "outcomes": {
                    "premium": {
                        "kind": "policy",
                        "match": {"agent": "employee"},
                        "date_field": "issued_on",
                        "agg": "sum",
                        "field": "first_year_premium",
                        "filters": [_NOT_CANCELLED],
                    }
                },
                "measure": {"agg": "sum", "field": "premium"},
                "subject": {"employee": "employee"},
            },
            records,
            _EPOCH,
            end,
            label=label,
            as_of=as_of,
        ).with_columns(
            # Sums of money compared to the fen, so 33,333.33 × 2 + 33,333.34 is 100,000 exactly.
            (pl.col("_x").round(2) >= float(Decimal(str(target)))).alias("_reached")
        )
        reached = cohort.filter(pl.col("_reached"))
        maturing = bool(cohort.get_column("_provisional").any()) or arrival_open
        outcome = {
            int(rid): (float(x), bool(ok))
            for rid, x, ok in cohort.select("_rid", "_x", "_reached").iter_rows()
        }
        figures += [
            Figure("attained", _count(reached.height), "人", cohort.height, maturing, "hire", _ids(reached)),
            Figure(
                "attainment_rate",
                rate(reached.height, cohort.height),
                "%",
                cohort.height,
                maturing,
                "hire",
                _ids(reached),
            ),
        ]
        if cohort.height:
            last = cohort.get_column("_date").max()
            assert isinstance(last, dt.date)
            final_on = max(final_on, last + dt.timedelta(days=days))
    provisional = any(f.provisional for f in figures)
    return Progress(
        kind=DemandKind.RECRUITMENT,
        as_of=as_of,
        figures=tuple(figures),
        provisional=provisional,
        final_on=final_on,
        basis={
            **(basis or {}),
            "positions": positions,
            "arrival_start": start,
            "arrival_deadline": deadline,
            "attainment_days": days,
            "per_hire_target": target,
        },
        rows=tuple(_hire_rows(hires, deadline, days, outcome, as_of)),
        issues=tuple(issues),
    )


def _hire_rows(
    hires: pl.DataFrame,
    deadline: dt.date,
    days: int,
    outcome: Mapping[int, tuple[float, bool]],
    as_of: dt.date,
) -> list[dict[str, Any]]:
    rows = []
    for hire in hires.sort("arrived_on", "id", nulls_last=True).iter_rows(named=True):
        arrived_on = hire["arrived_on"]
        arrived = arrived_on is not None and arrived_on <= as_of
        premium, reached = outcome.get(hire["id"], (None, None))
        rows.append(
            {
                "hire_id": hire["id"],
                "candidate_name": hire["candidate_name"],
                "employee_id": hire["employee_id"],
                "offer_on": hire["offer_on"],
                "arrived_on": arrived_on if arrived else None,
                "in_time": arrived and arrived_on <= deadline,
                "premium": None if premium is None else str(Decimal(repr(premium)).quantize(Decimal("0.01"))),
                "reached": reached,
                "window_ends_on": arrived_on + dt.timedelta(days=days)
                if arrived and premium is not None
                else None,
            }
        )
    return rows


def _load_recruitment(demand: Any, as_of: dt.date) -> Progress:
    spec = demand.spec
    submitted_on = timezone.localdate(demand.submitted_at)
    issues: list[str] = []
    requisition = find_requisition(spec.get("requisition", ""))
    if not spec.get("requisition"):
        issues.append("requisition_unset")
    elif requisition is None:
        issues.append("requisition_missing")
    hire_qs = HireRecord.objects.filter(requisition=requisition) if requisition else HireRecord.objects.none()
    hires = records_frame("hire", hire_qs)
    employees = hires.get_column("employee_id").drop_nulls().to_list()
    arrivals = hires.get_column("arrived_on").drop_nulls()
    policy_qs = PolicyRecord.objects.none()
    if employees and arrivals.len():
        low, high = arrivals.min(), arrivals.max()
        assert isinstance(low, dt.date) and isinstance(high, dt.date)
        policy_qs = PolicyRecord.objects.filter(
            agent_id__in=employees,
            issued_on__gte=low,
            issued_on__lt=high + dt.timedelta(days=int(spec.get("attainment_days") or 90)),
        )
    basis: dict[str, Any] = {"requisition": spec.get("requisition", "")}
    if requisition is not None:
        basis |= {
            "requisition_id": requisition.pk,
            "requisition_opened_on": requisition.opened_on,
            "requisition_positions": requisition.positions,
        }
    return recruitment_progress(
        spec,
        label=demand.number,
        start=arrival_start(requisition.opened_on if requisition else None, submitted_on),
        as_of=as_of,
        hires=hires,
        policies=records_frame("policy", policy_qs),
        basis=basis,
        issues=issues,
    )


# --- training -----------------------------------------------------------------------------------------------


def training_progress(
    spec: Mapping[str, Any],
    *,
    label: str,
    start: dt.date,
    due: dt.date | None,
    as_of: dt.date,
    trainings: pl.DataFrame,
    audience_size: int | None,
    basis: Mapping[str, Any] | None = None,
    issues: Sequence[str] = (),
) -> Progress:
    """Training figures from the audience's training records for the requested courses (pure)."""
    end = as_of + dt.timedelta(days=1)
    records = {"training": trainings}
    completed = _rows(
        {
            "kind": "training",
            "date_field": "completed_on",
            "measure": {"agg": "count"},
            "subject": {"employee": "employee"},
        },
        records,
        start,
        end,
        label=label,
    )
    examined = _rows(
        {
            "kind": "training",
            "date_field": "completed_on",
            "filters": [{"field": "passed", "op": "not_null"}],
            "measure": {"agg": "share", "where": [{"field": "passed", "op": "eq", "value": True}]},
            "subject": {"employee": "employee"},
        },
        records,
        start,
        end,
        label=label,
    )
    passed = examined.filter(pl.col("_hit"))
    trainees = completed.unique("_emp", keep="first", maintain_order=True)
    open_ = due is None or as_of <= due
    figures = (
        Figure(
            "completions",
            _count(completed.height),
            "人次",
            completed.height,
            open_,
            "training",
            _ids(completed),
        ),
        Figure("trainees", _count(trainees.height), "人", trainees.height, open_, "training", _ids(trainees)),
        Figure("passed", _count(passed.height), "人次", examined.height, open_, "training", _ids(passed)),
        Figure(
            "pass_rate",
            rate(passed.height, examined.height),
            "%",
            examined.height,
            open_,
            "training",
            _ids(passed),
        ),
        Figure(
            "completion_rate",
            rate(trainees.height, audience_size) if audience_size else None,
            "%",
            audience_size or 0,
            open_,
            "training",
            _ids(trainees),
        ),
    )
    counted = set(_ids(completed))
    rows = [
        {
            "record_id": r["id"],
            "employee_id": r["employee_id"],
            "course": r["course"],
            "completed_on": r["completed_on"],
            "passed": r["passed"],
        }
        for r in trainings.filter(pl.col("id").is_in(list(counted)))
        .sort("completed_on", "id")
        .head(MAX_ROWS)
        .iter_rows(named=True)
    ]
    return Progress(
        kind=DemandKind.TRAINING,
        as_of=as_of,
        figures=figures,
        provisional=open_,
        final_on=due + dt.timedelta(days=1) if due else None,
        basis={
            **(basis or {}),
            "from": start,
            "courses": list(spec["courses"]),
            "audience_size": audience_size,
            "rows_total": len(counted),
        },
        rows=tuple(rows),
        issues=tuple(issues),
    )


def _load_training(demand: Any, as_of: dt.date) -> Progress:
    spec = demand.spec
    issues: list[str] = []
    if spec.get("requisition"):
        requisition = find_requisition(spec["requisition"])
        if requisition is None:
            issues.append("requisition_missing")
        audience = (
            list(
                HireRecord.objects.filter(requisition=requisition, employee__isnull=False)
                .values_list("employee_id", flat=True)
                .distinct()
            )
            if requisition
            else []
        )
        audience_size = spec.get("audience_size") or len(audience) or None
        people = TrainingRecord.objects.filter(employee_id__in=audience)
    else:
        audience_size = spec.get("audience_size")
        people = TrainingRecord.objects.filter(
            employee__in=Employee.objects.filter(unit__path__startswith=demand.requesting_unit.path)
        )
    start = timezone.localdate(demand.submitted_at)
    trainings = people.filter(course__in=spec["courses"], completed_on__gte=start, completed_on__lte=as_of)
    return training_progress(
        spec,
        label=demand.number,
        start=start,
        due=demand.delivery_due_on,
        as_of=as_of,
        trainings=records_frame("training", trainings),
        audience_size=audience_size,
        basis={"requisition": spec.get("requisition", "")},
        issues=issues,
    )


# --- payment acceleration -----------------------------------------------------------------------------------


def payment_progress(
    spec: Mapping[str, Any],
    *,
    label: str,
    as_of: dt.date,
    claims: pl.DataFrame,
    basis: Mapping[str, Any] | None = None,
) -> Progress:
    """Payment figures over the claims in scope (pure): payment time from approval to payment, in days."""
    target = float(Decimal(str(spec["target_payment_days"])))
    end = as_of + dt.timedelta(days=1)
    records = {"claim": claims}
    payment_days = {"start": "approved_at", "end": "paid_at", "unit": "days"}
    paid = _rows(
        {"kind": "claim", "date_field": "paid_at", "measure": {"agg": "count"}, "subject": {"unit": "unit"}},
        records,
        _EPOCH,
        end,
        label=label,
    )
    timed = _rows(
        {
            "kind": "claim",
            "date_field": "paid_at",
            "filters": [{"field": "approved_at", "op": "not_null"}],
            "measure": {"agg": "mean", "duration": payment_days},
            "subject": {"unit": "unit"},
        },
        records,
        _EPOCH,
        end,
        label=label,
    )
    within = _rows(
        {
            "kind": "claim",
            "date_field": "paid_at",
            "filters": [{"field": "approved_at", "op": "not_null"}],
            "measure": {"agg": "share", "where": [{"duration": payment_days, "op": "le", "value": target}]},
            "subject": {"unit": "unit"},
        },
        records,
        _EPOCH,
        end,
        label=label,
    ).filter(pl.col("_hit"))
    cutoff = dt.datetime(end.year, end.month, end.day)  # noqa: DTZ001 - record datetimes are naive local
    waiting = claims.filter(
        (pl.col("paid_at").is_null() | (pl.col("paid_at") >= cutoff))
        & (pl.col("closed_at").is_null() | (pl.col("closed_at") >= cutoff))
    )
    open_ = waiting.height > 0
    mean = timed.get_column("_x").mean()
    figures = (
        Figure("claims", _count(claims.height), "件", claims.height, open_, "claim", _ids(claims, "id")),
        Figure("paid", _count(paid.height), "件", paid.height, open_, "claim", _ids(paid)),
        Figure(
            "awaiting_payment",
            _count(waiting.height),
            "件",
            waiting.height,
            open_,
            "claim",
            _ids(waiting, "id"),
        ),
        Figure(
            "payment_days_mean",
            _decimal(mean if isinstance(mean, float) else None),
            "天",
            timed.height,
            open_,
            "claim",
            _ids(timed),
        ),
        Figure(
            "paid_within_target_rate",
            rate(within.height, timed.height),
            "%",
            timed.height,
            open_,
            "claim",
            _ids(within),
        ),
    )
    days_expr = (pl.col("paid_at") - pl.col("approved_at")).dt.total_seconds() / 86400
    shown = claims.with_columns(
        pl.when(pl.col("paid_at") < cutoff).then(days_expr).alias("_days"),
        (pl.col("paid_at") < cutoff).fill_null(False).alias("_paid"),
    ).sort("reported_at", "id")
    rows = [
        {
            "record_id": r["id"],
            "claim_no": r.get("claim_no"),
            "reported_at": r["reported_at"],
            "approved_at": r["approved_at"],
            "paid_at": r["paid_at"] if r["_paid"] else None,
            "payment_days": None if r["_days"] is None else _decimal(r["_days"]),
            "within_target": None if r["_days"] is None else r["_days"] <= target,
        }
        for r in shown.head(MAX_ROWS).iter_rows(named=True)
    ]
    return Progress(
        kind=DemandKind.PAYMENT,
        as_of=as_of,
        figures=figures,
        provisional=open_,
        final_on=None,
        basis={
            **(basis or {}),
            "target_payment_days": spec["target_payment_days"],
            "rows_total": claims.height,
        },
        rows=tuple(rows),
        issues=(),
    )


def _load_payment(demand: Any, as_of: dt.date) -> Progress:
    spec = demand.spec
    claims = ClaimRecord.objects.filter(
        catastrophe_tag=spec["catastrophe_tag"],
        unit__path__startswith=demand.requesting_unit.path,
        reported_at__lt=local_midnight(as_of + dt.timedelta(days=1)),
    )
    if spec.get("line"):
        claims = claims.filter(line=spec["line"])
    if spec.get("reported_from"):
        claims = claims.filter(reported_at__gte=local_midnight(dt.date.fromisoformat(spec["reported_from"])))
    if spec.get("reported_to"):
        last = dt.date.fromisoformat(spec["reported_to"]) + dt.timedelta(days=1)
        claims = claims.filter(reported_at__lt=local_midnight(last))
    return payment_progress(
        spec,
        label=demand.number,
        as_of=as_of,
        claims=records_frame("claim", claims),
        basis={"catastrophe_tag": spec["catastrophe_tag"], "unit_id": demand.requesting_unit_id},
    )


# --- IT support -----------------------------------------------------------------------------------------------


def it_progress(
    spec: Mapping[str, Any], *, start: dt.date, due: dt.date | None, as_of: dt.date, incidents: pl.DataFrame
) -> Progress:
    """IT figures over the system's incidents in the demand's window (pure polars: an incident counts once here,
    while the engine's incident metrics count it for each affected unit)."""
    last = min(as_of, due) if due else as_of
    window_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    hours = Decimal((last + dt.timedelta(days=1) - start).days * 24)
    resolved = incidents.filter(pl.col("ended_at").is_not_null() & (pl.col("ended_at") < window_end))
    fix_hours = resolved.select(
        ((pl.col("ended_at") - pl.col("started_at")).dt.total_seconds() / 3600).mean()
    ).item()
    outages = incidents.filter(pl.col("severity").is_in(["P1", "P2"]))
    # Step: P1/P2 outage hours inside the window; one still going counts up to the window's end.
    outage_hours = outages.select(
        (
            (
                pl.min_horizontal(pl.col("ended_at").fill_null(window_end), pl.lit(window_end))
                - pl.col("started_at")
            )
            .dt.total_seconds()
            .clip(lower_bound=0)
            / 3600
        ).sum()
    ).item()
    availability = None
    if hours > 0:
        outage = Decimal(repr(round(float(outage_hours or 0.0), 6)))
        availability = (Decimal(100) - outage * 100 / hours).quantize(MICRO, rounding=ROUND_HALF_UP)
    unresolved = incidents.height - resolved.height
    open_ = (due is None or as_of <= due) or unresolved > 0
    figures = (
        Figure(
            "incidents",
            _count(incidents.height),
            "件",
            incidents.height,
            open_,
            "incident",
            _ids(incidents, "id"),
        ),
        Figure(
            "resolved",
            _count(resolved.height),
            "件",
            resolved.height,
            open_,
            "incident",
            _ids(resolved, "id"),
        ),
        Figure(
            "fix_hours_mean",
            _decimal(fix_hours if isinstance(fix_hours, float) else None),
            "小时",
            resolved.height,
            open_,
            "incident",
            _ids(resolved, "id"),
        ),
        Figure(
            "outage_hours",
            _decimal(float(outage_hours or 0.0)),
            "小时",
            outages.height,
            open_,
            "incident",
            _ids(outages, "id"),
        ),
        Figure("availability", availability, "%", outages.height, open_, "incident", _ids(outages, "id")),
    )
    rows = [
        {
            "record_id": r["id"],
            "severity": r["severity"],
            "started_at": r["started_at"],
            "ended_at": r["ended_at"] if r["ended_at"] is not None and r["ended_at"] < window_end else None,
            "hours": _decimal(r["_hours"]),
            "outage": r["severity"] in ("P1", "P2"),
        }
        for r in incidents.with_columns(
            (
                (
                    pl.min_horizontal(pl.col("ended_at").fill_null(window_end), pl.lit(window_end))
                    - pl.col("started_at")
                )
                .dt.total_seconds()
                .clip(lower_bound=0)
                / 3600
            ).alias("_hours")
        )
        .sort("started_at", "id")
        .head(MAX_ROWS)
        .iter_rows(named=True)
    ]
    return Progress(
        kind=DemandKind.IT_SUPPORT,
        as_of=as_of,
        figures=figures,
        provisional=open_,
        final_on=due + dt.timedelta(days=1) if due else None,
        basis={
            "system": spec["system"],
            "from": start,
            "to": last,
            "window_hours": int(hours),
            "rows_total": incidents.height,
        },
        rows=tuple(rows),
    )


def _load_it(demand: Any, as_of: dt.date) -> Progress:
    start = timezone.localdate(demand.submitted_at)
    due = demand.delivery_due_on
    last = min(as_of, due) if due else as_of
    incidents = IncidentRecord.objects.filter(
        system=demand.spec["system"],
        started_at__gte=local_midnight(start),
        started_at__lt=local_midnight(last + dt.timedelta(days=1)),
    )
    return it_progress(
        demand.spec, start=start, due=due, as_of=as_of, incidents=records_frame("incident", incidents)
    )


# --- entry point ----------------------------------------------------------------------------------------------


def demand_progress(demand: Any, as_of: dt.date | None = None) -> Progress:
    """The demand's progress as of a date (default: today), from the records ingested so far."""
    as_of = as_of or timezone.localdate()
    if demand.kind == DemandKind.RECRUITMENT:
        return _load_recruitment(demand, as_of)
    if demand.kind == DemandKind.TRAINING:
        return _load_training(demand, as_of)
    if demand.kind == DemandKind.PAYMENT:
        return _load_payment(demand, as_of)
    if demand.kind == DemandKind.IT_SUPPORT:
        return _load_it(demand, as_of)
    # "Other" demands state their target in words: nothing to measure from data.
    return Progress(
        kind=demand.kind, as_of=as_of, figures=(), provisional=False, final_on=None, issues=("not_measured",)
    )
