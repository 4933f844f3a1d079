"""Column-wise INSERTs for the big demo tables (policies, claims, payments, ...).

`bulk_create` builds a model instance per row and prepares every value through the SQL compiler: about
60 s of CPU for the 300,000 records of the 5,000 x 24 demo, over the one-minute budget. Here values are
converted per column, the way Django would convert them for the connection, and sent with
`executemany` in chunks. Rows inserted this way get no primary keys back, so tables whose keys are
needed later (employees, requisitions, incidents) still use `bulk_create`, and so do encrypted fields
(their encryption lives in the field's `get_prep_value`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, models

from perflink.core.fields import EncryptedTextField
from perflink.demo.calendar import NA

CHUNK_ROWS = 5000


def insert_columns(model: type[models.Model], columns: dict[str, Sequence[Any]]) -> int:
    """INSERT one row per position of the (equally long) columns, keyed by field attname (`agent_id`).

    Values must already be in database form (see `db_dates`, `db_datetimes`, `db_money`); every concrete
    field but the primary key must be given, since defaults are not applied here."""
    fields = [model._meta.get_field(name) for name in columns]
    expected = {f.attname for f in model._meta.concrete_fields if not f.primary_key}
    given = {f.attname for f in fields}
    if given != expected:
        raise ValueError(
            f"{model.__name__}: missing {sorted(expected - given)}, unknown {sorted(given - expected)}"
        )
    if any(isinstance(f, EncryptedTextField) for f in fields):
        raise ValueError("encrypted fields must go through the model field (bulk_create)")
    qn = connection.ops.quote_name
    # Table and column names come from the model and are quoted; values travel as parameters.
    table = qn(model._meta.db_table)
    names = ", ".join(qn(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
    rows = list(zip(*columns.values(), strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK_ROWS):
            cursor.executemany(sql, rows[start : start + CHUNK_ROWS])
    return len(rows)


def _sends_iso_text() -> bool:
    """Whether the connection takes dates and UTC datetimes as ISO text (SQLite does; PostgreSQL takes
    the objects). Checked on sample values, so the fast path is only used when it matches Django exactly."""
    day = connection.ops.adapt_datefield_value(date(2000, 1, 2))
    moment = connection.ops.adapt_datetimefield_value(datetime(2000, 1, 2, 3, 4, 5, tzinfo=UTC))
    return day == "2000-01-02" and moment == "2000-01-02 03:04:05"


def db_dates(days: np.ndarray) -> list[Any]:
    """Day numbers -> the connection's date form (NA -> None)."""
    as_dates = np.maximum(days, 0).astype("datetime64[D]")
    if _sends_iso_text():
        values = np.datetime_as_string(as_dates, unit="D").tolist()
    else:
        values = [connection.ops.adapt_datefield_value(d) for d in as_dates.tolist()]
    return [None if d == NA else v for d, v in zip(days.tolist(), values, strict=True)]


def db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def db_datetimes(seconds: np.ndarray) -> list[Any]:
    """UTC epoch seconds (whole seconds) -> the connection's datetime form (NA -> None)."""
    as_seconds = np.maximum(seconds, 0).astype("datetime64[s]")
    if _sends_iso_text():
        values = np.char.replace(np.datetime_as_string(as_seconds, unit="s"), "T", " ").tolist()
    else:
        values = [db_datetime(v.replace(tzinfo=UTC)) for v in as_seconds.tolist()]
    return [None if s == NA else v for s, v in zip(seconds.tolist(), values, strict=True)]


def db_money(fen: np.ndarray) -> list[Decimal | None]:
    return [None if v == NA else Decimal(v).scaleb(-2) for v in fen.tolist()]


def db_ids(pks: np.ndarray, index: np.ndarray) -> list[int | None]:
    """Generator indices -> primary keys (NA -> None)."""
    out = np.where(index == NA, NA, pks[np.maximum(index, 0)])
    return [None if v == NA else v for v in out.tolist()]


@contextmanager
def large_write_cache() -> Iterator[None]:
    """On SQLite, give the connection a 256 MB page cache while the demo is written (the indexes of a
    300,000-row load otherwise thrash the default 2 MB cache); restore the previous size afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
