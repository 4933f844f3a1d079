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


class PushOut(Schema):
    batch_id: int | None
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RecordErrorOut]
    ignored_fields: list[str]
    rules: dict[str, int]


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
