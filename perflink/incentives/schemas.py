"""API schemas for links."""

from __future__ import annotations

from datetime import datetime

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
