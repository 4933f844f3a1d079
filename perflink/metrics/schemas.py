"""API schemas for metrics, templates, targets and calculation runs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from perflink.core.schemas import name_text


class MetricOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    description: str
    description_en: str
    domain: str
    definition: dict[str, Any]
    version: int
    is_active: bool
    from_library: bool


class MetricIn(Schema):
    code: str = Field(
        ..., pattern=r"^[a-z][a-z0-9_]{1,59}$", description="snake_case code, unique in the tenant"
    )
    name: name_text(120)  # type: ignore[valid-type]
    name_en: str = Field("", max_length=160)
    description: str = Field("", max_length=2000)
    description_en: str = Field("", max_length=2000)
    domain: str = Field(..., description="sales, claims, hr, finance, it or general")
    definition: dict[str, Any] = Field(..., description="The metric as data; see docs/metrics.md")
    is_active: bool = True


class ValidateIn(Schema):
    code: str = Field("draft", pattern=r"^[a-z][a-z0-9_]{1,59}$")
    definition: dict[str, Any]


class ValidateOut(Schema):
    valid: bool
    message: str = ""
    field: str | None = None


class TemplateVersionOut(Schema):
    id: int
    number: int
    season_code: str
    valid_from: date | None
    valid_to: date | None
    items: list[dict[str, Any]]
    note: str
    created_at: datetime


class TemplateOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    level: str
    category: str
    employment_type: str
    versions: list[TemplateVersionOut]


class TemplateVersionIn(Schema):
    items: list[dict[str, Any]] = Field(
        ..., max_length=40, description='[{metric, weight, rule, target, scope, maturity?: "cohort"}]'
    )
    season_code: str = Field("", max_length=40)
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = Field("", max_length=200)


class SeasonOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    year: int
    starts_on: date
    ends_on: date


class SeasonIn(Schema):
    code: str = Field(..., pattern=r"^[a-z][a-z0-9_-]{1,39}$")
    name: name_text(60)  # type: ignore[valid-type]
    name_en: str = Field("", max_length=80)
    year: int = Field(..., ge=2000, le=2100)
    starts_on: date
    ends_on: date


class TargetOut(Schema):
    id: int
    period: str
    metric: str = Field(..., alias="metric.code")
    unit_id: int | None
    employee_id: int | None
    value: Decimal
    source: str


class TargetIn(Schema):
    period: str = Field(..., max_length=10, description="YYYY-MM, YYYY-Qn or YYYY")
    metric: str = Field(..., max_length=60, description="metric code")
    unit_id: int | None = None
    employee_id: int | None = None
    value: Decimal | None = Field(None, max_digits=18, decimal_places=4, description="null clears the target")


class RunIn(Schema):
    period: str = Field(..., max_length=10, description="YYYY-MM, YYYY-Qn or YYYY")


class RunOut(Schema):
    id: int
    period: str
    number: int
    status: str
    trigger: str
    fingerprint: str
    input_fingerprint: str
    as_of: date
    created_at: datetime
    published_at: datetime | None
    stale_since: datetime | None
    summary: dict[str, Any]
    templates: dict[str, Any] = Field(..., description="the template version applied, per template")


class ScoreOut(Schema):
    level: str
    subject_id: int
    template: str
    score: Decimal | None
    weight_scored: Decimal | None
    coverage: str
    provisional: bool
    items: list[dict[str, Any]]


class ExplainOut(Schema):
    metric: str
    level: str
    subject_id: int
    definition: dict[str, Any]
    line: dict[str, Any] | None
    value: dict[str, Any] | None
    value_from: list[Any] | None
    inputs: list[str]
    record_count: int
    records: list[dict[str, Any]]
    changed_records: list[dict[str, Any]]
