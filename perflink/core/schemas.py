"""Schema pieces every API module shares: the error body and the text types inputs are built from.

Text inputs are checked against the same pattern the OpenAPI schema publishes (no control
characters, at least one visible character), then trimmed, so what a client reads in the schema is
exactly what the server accepts.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints

# No control characters (NUL breaks PostgreSQL text columns; the rest have no place in names).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# …and at least one character that is not a space.
_VISIBLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def _strip(value: str) -> str:
    return value.strip()


def name_text(max_length: int) -> Any:
    """A required human-readable name: visible characters, trimmed."""
    return Annotated[
        str, StringConstraints(min_length=1, max_length=max_length, pattern=_VISIBLE), AfterValidator(_strip)
    ]


def free_text(max_length: int) -> Any:
    """Optional free text (may be empty), trimmed."""
    return Annotated[
        str, StringConstraints(max_length=max_length, pattern=_PRINTABLE), AfterValidator(_strip)
    ]


# Codes and numbers are identifiers: letters, digits and . _ - only, no spaces.
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
SearchText = Annotated[str, StringConstraints(max_length=100, pattern=_PRINTABLE), AfterValidator(_strip)]
# Database ids: positive and within a signed 64-bit column.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


def _iso_date(value: Any) -> Any:
    # Pydantic would also take a number (seconds since 1970) or a datetime; the schema says
    # "YYYY-MM-DD", so that is what is accepted.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.fullmatch(value)):
        return value
    raise ValueError("expected a date-time as YYYY-MM-DDTHH:MM:SS+08:00")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional_field(**kwargs: Any) -> Any:
    """A PATCH field that may be left out but not sent as null: the default None is never
    validated, an explicit null is refused, and the schema does not advertise null."""
    return Field(default=None, json_schema_extra=_drop_default, **kwargs)


class InSchema(Schema):
    """A request body: unknown fields are refused (422 naming the field) rather than silently
    ignored, so a client that misspells a field, or tries one it may not change, finds out."""

    model_config = ConfigDict(extra="forbid")


class FieldErrorOut(Schema):
    field: str | None
    message: str


class ErrorOut(Schema):
    """Every error: a stable machine-readable `code`, a human `message`, and the input `field` at fault."""

    code: str = Field(examples=["not_found"])
    message: str
    field: str | None = None
    errors: list[FieldErrorOut] | None = Field(default=None, description="All validation errors (422 only).")
