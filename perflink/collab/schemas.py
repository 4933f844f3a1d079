"""API schemas of demands: each endpoint has its own input; demands, events and progress share their outputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from perflink.collab.choices import DemandKind, DemandStatus, EvaluationState, EventKind, Side
from perflink.collab.models import Demand, DemandEvent
from perflink.collab.progress import demand_progress
from perflink.collab.selectors import DEMAND_SORTS, overdue
from perflink.core.schemas import Id, InSchema, IsoDate, name_text

# Multi-line text (plans, comments): line breaks and tabs allowed, other control characters not.
_LINES = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def _strip(value: str) -> str:
    return value.strip()


def _long_text(max_length: int, *, required: bool) -> Any:
    pattern = rf"^{_LINES}*[^\s\x00-\x1f\x7f]{_LINES}*$" if required else rf"^{_LINES}*$"
    return Annotated[
        str,
        StringConstraints(min_length=1 if required else 0, max_length=max_length, pattern=pattern),
        AfterValidator(_strip),
    ]


Text = _long_text(2000, required=True)
OptionalText = _long_text(2000, required=False)
Reason = _long_text(300, required=True)
OptionalReason = _long_text(300, required=False)
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
RequisitionNo = Annotated[
    str, StringConstraints(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$"), AfterValidator(_strip)
]
DemandSort = Literal[tuple(DEMAND_SORTS)]  # type: ignore[valid-type]


class DemandListIn(Schema):
    status: DemandStatus | None = None
    kind: DemandKind | None = None
    unit: Id | None = Field(
        None, description="Only demands raised or served by this unit or a unit below it."
    )
    period: Month | None = Field(None, description="Only demands evaluated in this month (YYYY-MM).")
    sort: DemandSort = Field("-submitted_at", description="A field name; a leading '-' sorts descending.")


class DemandIn(InSchema):
    kind: DemandKind
    title: name_text(120)  # type: ignore[valid-type]
    description: OptionalText = ""  # type: ignore[valid-type]
    requesting_unit_id: Id = Field(description="The business unit raising the demand.")
    serving_unit_id: Id = Field(description="The functional unit asked to serve it.")
    spec: dict[str, Any] = Field(
        description="The kind's quantified fields, e.g. recruitment: positions, arrival_days, per_hire_target, "
        "attainment_days (default 90), requisition (the HR system's requisition number)."
    )
    rule: dict[str, Any] | None = Field(
        None,
        description="How it is evaluated: {components: [{measure, target?, rule}]}, each rule a scoring rule of the "
        "metrics engine (threshold, linear, bands). Default: the kind's rule (recruitment: DOMAIN.md's).",
    )
    period: Month | None = Field(
        None, description="The month it is evaluated in (default: the month it is due)."
    )
    accept_within_working_days: int = Field(2, ge=1, le=30, description="The acceptance SLA in working days.")


class AcceptIn(InSchema):
    plan: Text  # type: ignore[valid-type]
    requisition: RequisitionNo = Field(
        "", description="The HR system's requisition number, if not named yet."
    )


class DeclineIn(InSchema):
    reason: Reason  # type: ignore[valid-type]


class NoteIn(InSchema):
    note: OptionalText = ""  # type: ignore[valid-type]


class WithdrawIn(InSchema):
    reason: OptionalReason = ""  # type: ignore[valid-type]


class TextIn(InSchema):
    text: Text  # type: ignore[valid-type]


class EvaluateIn(InSchema):
    as_of: IsoDate | None = Field(None, description="Evaluate with the data as of this date (default today).")


class DemandOut(Schema):
    id: int
    number: str
    kind: DemandKind
    title: str
    description: str
    status: DemandStatus
    requesting_unit_id: int
    requesting_unit: str = Field(..., alias="requesting_unit.name")
    serving_unit_id: int
    serving_unit: str = Field(..., alias="serving_unit.name")
    spec: dict[str, Any]
    rule: dict[str, Any]
    plan: str
    decline_reason: str
    withdraw_reason: str
    period: str
    acceptance_due_on: date | None
    delivery_due_on: date | None
    due_dates_estimated: bool = Field(description="A due date falls in a year without holiday data yet.")
    overdue: Literal["", "acceptance", "delivery"] = Field(description="Which SLA clock has run out today.")
    submitted_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    started_at: datetime | None
    delivered_at: datetime | None
    evaluated_at: datetime | None
    withdrawn_at: datetime | None
    points: Decimal | None
    evaluation_state: EvaluationState
    created_by_label: str

    @staticmethod
    def resolve_overdue(obj: Demand) -> str:
        return overdue(obj, timezone.localdate())


class DemandEventOut(Schema):
    id: int
    kind: EventKind
    from_status: DemandStatus | Literal[""]
    to_status: DemandStatus | Literal[""]
    text: str
    data: dict[str, Any]
    side: Side
    by_label: str
    at: datetime


class FigureOut(Schema):
    key: str
    value: Decimal | None
    unit: str
    n: int = Field(description="How many records stand behind the figure.")
    provisional: bool
    record_kind: str
    record_ids: list[int]


class ProgressOut(Schema):
    kind: DemandKind
    as_of: date
    provisional: bool
    final_on: date | None = Field(description="From this date on no figure can change any more.")
    figures: list[FigureOut]
    basis: dict[str, Any]
    rows: list[dict[str, Any]]
    issues: list[str]


class DemandDetailOut(DemandOut):
    progress: ProgressOut = Field(description="Live progress from the ingested records, as of today.")
    events: list[DemandEventOut] = Field(
        description="The log: state changes, comments, change requests, evaluations."
    )

    @staticmethod
    def resolve_progress(obj: Demand) -> dict[str, Any]:
        return demand_progress(obj).as_data()

    @staticmethod
    def resolve_events(obj: Demand) -> list[DemandEvent]:
        return list(obj.events.order_by("at", "id"))


class ComponentOut(Schema):
    measure: str
    rule: dict[str, Any]
    value: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    points: Decimal | None
    status: str
    provisional: bool


class EvaluationOut(Schema):
    demand_id: int
    status: DemandStatus
    as_of: date
    provisional: bool
    total: Decimal | None
    components: list[ComponentOut]
    recorded: bool = Field(description="False when the result equals the last one and nothing was recorded.")
