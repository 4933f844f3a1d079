"""API schemas for links."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from perflink.core.schemas import Code, InSchema, IsoDate, free_text


class LinkVersionOut(Schema):
    number: int
    status: str
    rationale: str
    note: str
    by_label: str
    at: datetime


class LinkOut(Schema):
    id: int
    functional_unit_id: int
    functional_unit: str = Field(..., alias="functional_unit.name")
    functional_metric: str = Field(..., alias="functional_metric.code")
    business_unit_id: int
    business_unit: str = Field(..., alias="business_unit.name")
    business_metric: str = Field(..., alias="business_metric.code")
    rationale: str
    status: str
    version: int
    proposed_by_label: str
    decided_by_label: str
    decided_at: datetime | None
    decision_note: str


class LinkDetailOut(LinkOut):
    versions: list[LinkVersionOut]


class LinkIn(Schema):
    functional_unit_id: int
    functional_metric: str = Field(..., max_length=60, description="metric code")
    business_unit_id: int
    business_metric: str = Field(..., max_length=60, description="metric code")
    rationale: str = Field(..., min_length=1, max_length=2000)


class DecisionIn(Schema):
    note: str = Field("", max_length=300)


class PlanVersionOut(Schema):
    number: int
    valid_from: date
    definition: dict[str, Any]
    note: str
    created_by_label: str
    created_at: datetime


class PlanOut(Schema):
    id: int
    code: str
    name: str
    unit_id: int | None
    category: str
    employment_type: str
    versions: list[PlanVersionOut]


class PlanIn(Schema):
    code: str = Field(..., pattern=r"^[a-z][a-z0-9_-]{1,59}$")
    name: str = Field(..., min_length=1, max_length=120)
    unit_id: int | None = None
    category: str = Field("", max_length=20)
    employment_type: str = Field("", max_length=10)
    valid_from: date
    definition: dict[str, Any] = Field(..., description="the plan as data; see perflink/engine/incentives")
    note: str = Field("", max_length=200)


class PlanCheckIn(Schema):
    definition: dict[str, Any]


class PlanCheckOut(Schema):
    valid: bool
    message: str = ""


class BonusRunOut(Schema):
    id: int
    period: str
    plan: str = Field(..., alias="plan_version.plan.code")
    plan_version: int = Field(..., alias="plan_version.number")
    calc_run_id: int
    status: str
    fingerprint: str
    total: Decimal
    total_before_pool: Decimal
    people: int
    submitted_by_label: str
    approved_by_label: str
    published_at: datetime | None
    created_at: datetime
    kind: str = Field(
        ..., description="regular, or correction (pays only the differences to a published run)"
    )
    corrects_id: int | None = Field(None, description="the published run a correction corrects")
    reason: str = Field("", description="why a correction was made")
    difference: Decimal | None = Field(None, description="a correction's total difference to what was paid")
    status_note: str = Field("", description="why a draft was discarded")
    provisional_people: int = Field(
        0, description="people paid provisionally (暂估) on at least one line, trued up by a correction later"
    )
    superseded_by_calc_run_id: int | None = Field(
        None, description="the period's newer calculation run, when this run's was superseded by newer data"
    )

    @staticmethod
    def resolve_provisional_people(obj: Any) -> int:
        from perflink.incentives.bonus import provisional_people

        return provisional_people(obj)

    @staticmethod
    def resolve_superseded_by_calc_run_id(obj: Any) -> int | None:
        from perflink.incentives.bonus import superseded_by

        newer = superseded_by(obj)
        return newer.pk if newer is not None else None


class BonusRunIn(Schema):
    plan_id: int
    period: str = Field(..., max_length=10)
    correction: bool = Field(
        False,
        description="a correction run for a period whose run is published: pays only the differences, posted as "
        "adjustment entries on the published run when this one is published",
    )
    reason: str = Field("", max_length=300, description="why (required for a correction)")


class PayoutOut(Schema):
    """One payout row: what a person is paid on one component (or one step to the amount), as stored in SQL."""

    id: int
    run_id: int
    period: str
    employee_id: int
    employee_no: str = Field(..., alias="employee.employee_no")
    unit_id: int | None
    kind: str = Field(..., description="component, multipliers, limits, pool or adjustment")
    component: str
    label: str
    amount: Decimal
    status: str = Field(..., description="final, or provisional (暂估: trued up by a correction run)")


class DiscardIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class ReturnIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class AdjustmentIn(Schema):
    employee_id: int
    amount: Decimal = Field(..., max_digits=18, decimal_places=2)
    reason: str = Field(..., min_length=1, max_length=300)


class StatementOut(Schema):
    person_id: int
    amounts: dict[str, Any] | None
    lines: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]


class WhatIfIn(InSchema):
    definition: dict[str, Any] = Field(..., description="the changed plan")
    periods: list[str] = Field(
        ...,
        min_length=1,
        max_length=60,
        description="months, quarters or years, or month ranges with both ends included, at most 60 periods in "
        'all: ["2026-01", "2026-02"], ["2025-01..2026-10"]',
    )


class WhatIfUnitOut(Schema):
    """A unit's sum: its people in that period (over a range, in any of its periods)."""

    unit_id: int | None
    unit: str
    unit_parent: str = Field(
        ..., description="the parent unit's name, to tell apart e.g. two branches' 财务部"
    )
    people: int
    real: Decimal
    tried: Decimal
    delta: Decimal
    delta_pct: Decimal | None = Field(..., description="delta as a percentage of real; null when real is 0")


class WhatIfPersonOut(Schema):
    person_id: int
    employee_no: str
    name: str
    unit_id: int | None = Field(..., description="the unit in the (latest) period")
    unit: str
    unit_parent: str
    real: Decimal
    tried: Decimal
    delta: Decimal
    delta_pct: Decimal | None
    period: str = Field(
        ..., description="the period; over a range, that of the statement linked, else the person's latest"
    )
    bonus_run_id: int | None = Field(
        ..., description="the real bonus run holding the person's statement for that period, if there is one"
    )


class WhatIfAmountBinOut(Schema):
    low: Decimal = Field(..., description="bins are [low, high)")
    high: Decimal
    real: int
    tried: int


class WhatIfDeltaBinOut(Schema):
    low: Decimal
    high: Decimal
    count: int


class WhatIfDistributionOut(Schema):
    amounts: list[WhatIfAmountBinOut] = Field(..., description="person-periods by amount, on shared bins")
    deltas: list[WhatIfDeltaBinOut] = Field(..., description="person-periods whose amount changed, by delta")
    zero_deltas: int = Field(..., description="person-periods whose amount did not change")


class WhatIfPeriodOut(Schema):
    period: str
    skipped: str | None = Field(None, description='why the period was not tried, e.g. "no calculation run"')
    plan_version: int | None = None
    calc_run_id: int | None = None
    bonus_run_id: int | None = None
    bonus_run_status: str | None = None
    people: int | None = None
    total_real: Decimal | None = None
    total_tried: Decimal | None = None
    delta: Decimal | None = None
    delta_pct: Decimal | None = None
    gained: int | None = None
    lost: int | None = None
    unchanged: int | None = None
    units: list[WhatIfUnitOut] = []
    gainers: list[WhatIfPersonOut] = []
    losers: list[WhatIfPersonOut] = []
    distribution: WhatIfDistributionOut | None = None


class WhatIfSummaryOut(Schema):
    periods_tried: int
    periods_skipped: int
    people: int
    total_real: Decimal
    total_tried: Decimal
    delta: Decimal
    delta_pct: Decimal | None
    gained: int = Field(..., description="people whose summed delta over the range is positive")
    lost: int
    unchanged: int


class WhatIfSeriesOut(Schema):
    period: str
    people: int
    real: Decimal
    tried: Decimal
    delta: Decimal
    delta_pct: Decimal | None


class WhatIfOut(Schema):
    plan: str
    plan_id: int
    plan_name: str
    periods: list[WhatIfPeriodOut] = Field(..., description="in the order asked, tried or skipped")
    summary: WhatIfSummaryOut
    series: list[WhatIfSeriesOut] = Field(..., description="the tried periods, oldest first")
    units: list[WhatIfUnitOut]
    gainers: list[WhatIfPersonOut] = Field(..., description="the 10 who gain most over the range")
    losers: list[WhatIfPersonOut] = Field(..., description="the 10 who lose most over the range")
    distribution: WhatIfDistributionOut


# --- per-person bonus bases (人员基数) ---------------------------------------------------------------------------


class PlanBaseRecordIn(InSchema):
    employee_no: Code = Field(..., description="the employee number (工号)")
    base: Decimal = Field(
        ..., ge=0, max_digits=18, decimal_places=2, description="the base in yuan, to the fen"
    )
    valid_from: IsoDate | None = Field(
        None,
        description="from when the base is in force; default: the body's valid_from, else the plan's start",
    )
    note: free_text(200) = ""  # type: ignore[valid-type]


class PlanBasesIn(InSchema):
    records: list[PlanBaseRecordIn] = Field(..., min_length=1, max_length=20_000)
    valid_from: IsoDate | None = Field(None, description="for records without their own valid_from")


class PlanBasesImportOut(Schema):
    rows: int
    created: int
    updated: int
    valid_from: list[date]


class PlanBaseOut(Schema):
    id: int
    employee_id: int
    employee_no: str = Field(..., alias="employee.employee_no")
    name: str = Field(..., alias="employee.name")
    amount: Decimal
    valid_from: date
    note: str
    created_by_label: str
    updated_at: datetime
