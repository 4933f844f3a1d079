"""API schemas for ingestion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class PushIn(Schema):
    records: list[dict[str, Any]] = Field(
        ...,
        max_length=10_000,
        description="Up to 10,000 records of the kind, each an object of field -> value.",
    )
    source: str | None = Field(
        None, max_length=40, description="Source system code (default: the kind's system)."
    )
    partial: bool = Field(
        False, description="Write the valid records and reject the others (default: all-or-nothing)."
    )


class RecordErrorOut(Schema):
    index: int = Field(..., description="Position of the record in `records` (from 0).")
    field: str
    value: str | None
    reason: str


class RecordWarningOut(Schema):
    index: int = Field(..., description="Position of the record in `records` (from 0).")
    field: str
    value: str | None
    reason: str
    rule: str = Field(..., description="The plausibility rule's code, e.g. `claim.paid_at.not_future`.")


class FindingOut(Schema):
    severity: str = Field(..., description="`error` (the record is rejected) or `warning` (it is written).")
    cells: int


class PushOut(Schema):
    batch_id: int | None
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RecordErrorOut]
    ignored_fields: list[str]
    rules: dict[str, int] = Field(..., description="Cleaning rule -> cells it changed.")
    warning_count: int = Field(
        0, description="Plausibility warnings on accepted records (the records are written)."
    )
    warnings: list[RecordWarningOut] = Field(default_factory=list, description="The first 1,000 warnings.")
    findings: dict[str, FindingOut] = Field(
        default_factory=dict,
        description="Plausibility rule code -> its severity in this delivery and the cells it flagged.",
    )
    rounded: dict[str, int] = Field(
        default_factory=dict, description="Money field -> amounts rounded half-up to the fen."
    )


class RejectedOut(Schema):
    """422: either records were rejected (`code` records_rejected, with the full `report`) or the
    request itself was invalid (`code` validation_error, with `errors`)."""

    code: str = "records_rejected"
    message: str
    field: str | None = None
    report: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


class BatchOut(Schema):
    id: int
    kind: str
    channel: str
    status: str
    source: str = Field(..., alias="source_system.code")
    file_name: str
    created_by: str = Field(..., alias="created_by_label")
    received_at: datetime
    rows: int = Field(..., alias="n_rows")
    created: int = Field(..., alias="n_created")
    updated: int = Field(..., alias="n_updated")
    unchanged: int = Field(..., alias="n_unchanged")
    rejected: int = Field(..., alias="n_rejected")
    rolled_back_at: datetime | None


class RollbackOut(Schema):
    deleted: int
    restored: int


class FieldSpecOut(Schema):
    name: str
    type: str
    label: str
    required: bool
    synonyms: list[str]
    choices: list[str]


class KindOut(Schema):
    kind: str
    label: str
    key: str
    fields: list[FieldSpecOut]


class PlausibilityRuleOut(Schema):
    code: str = Field(..., description="Stable code, e.g. `claim.paid_at.order.approved_at`.")
    kind: str
    type: str = Field(..., description="`minimum`, `order`, `not_future` or `outlier`.")
    field: str = Field(..., description="The field a finding is reported on.")
    other: str = Field("", description="`order`: the field that must not be later than `field`.")
    default_severity: str
    severity: str = Field(..., description="For this tenant: `error`, `warning` or `off`.")


class ConnectorIn(Schema):
    """A pull connector's settings. `source` is a source system code; `auth_header_value` is stored
    encrypted and never returned."""

    model_config = {"extra": "forbid"}

    name: str = Field(..., min_length=1, max_length=80)
    source: str = Field(..., min_length=1, max_length=40)
    kind: str = Field(..., max_length=20)
    url: str = Field(..., max_length=500)
    auth_header_name: str = Field("Authorization", max_length=60)
    auth_header_value: str = Field("", max_length=2000)
    pagination: str = Field("page", max_length=10)
    page_param: str = Field("page", max_length=60)
    first_page: int = Field(1, ge=0, le=1_000_000)
    size_param: str = Field("page_size", max_length=60)
    page_size: int = Field(500, ge=1, le=10_000)
    records_path: str = Field("", max_length=120)
    next_cursor_path: str = Field("", max_length=120)
    cursor_field: str = Field("", max_length=80)
    cursor_param: str = Field("", max_length=60)
    cursor_sorted: bool = True
    field_map: dict[str, str] = Field(default_factory=dict)
    interval_minutes: int = Field(60, ge=0, le=525_600)
    enabled: bool = True
    max_retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(2.0, ge=0, le=600)
    timeout_seconds: float = Field(30.0, gt=0, le=600)


class ConnectorPatchIn(Schema):
    model_config = {"extra": "forbid"}

    name: str | None = Field(None, min_length=1, max_length=80)
    url: str | None = Field(None, max_length=500)
    auth_header_name: str | None = Field(None, max_length=60)
    auth_header_value: str | None = Field(None, max_length=2000)
    page_size: int | None = Field(None, ge=1, le=10_000)
    records_path: str | None = Field(None, max_length=120)
    cursor_field: str | None = Field(None, max_length=80)
    cursor_param: str | None = Field(None, max_length=60)
    cursor_value: str | None = Field(
        None, max_length=200, description='"" makes the next run fetch everything'
    )
    field_map: dict[str, str] | None = None
    interval_minutes: int | None = Field(None, ge=0, le=525_600)
    enabled: bool | None = None
    max_retries: int | None = Field(None, ge=0, le=10)


class ConnectorOut(Schema):
    id: int
    config: dict[str, Any]
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_status: str
    last_error: str


class PullRunOut(Schema):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    triggered_by: str
    pages: int
    records: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    cursor_before: str
    cursor_after: str
    error: str
    notes: list[Any]
