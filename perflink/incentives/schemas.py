"""API schemas for links."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema


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


class BonusRunIn(Schema):
    plan_id: int
    period: str = Field(..., max_length=10)


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


class WhatIfIn(Schema):
    definition: dict[str, Any] = Field(..., description="the changed plan")
    periods: list[str] = Field(..., min_length=1, max_length=36, description='e.g. ["2026-01", "2026-02"]')
