"""Time, one way (docs/time.md): instants are stored in UTC and compared as instants on every database; days,
months and periods belong to the tenant's time zone, a period being ``[00:00 on its first day, 00:00 on the day
after its last)`` there.

Every conversion between the two goes through this module or Django's ``timezone`` helpers, and both read the zone
from one place: Django's current time zone, which is ``settings.TIME_ZONE`` (Asia/Shanghai) for every tenant
today. A per-tenant zone is one change: activate the tenant's zone where the tenant is entered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

__all__ = [
    "from_wall_clock",
    "local_date",
    "local_midnight",
    "local_wall_clock",
    "local_zone",
    "local_zone_name",
    "sql_date",
    "sql_instant",
    "sql_period_bound",
    "utc_to_wall_clock",
    "wall_clock_to_utc",
]


def local_zone() -> dt.tzinfo:
    """The zone whose days and months periods are made of: Django's current time zone (``settings.TIME_ZONE``
    unless a tenant's zone is activated), the same one ``timezone.localdate()``, templates and ``__date``
    lookups use."""
    return timezone.get_current_timezone()


def local_zone_name() -> str:
    """The IANA name of :func:`local_zone`, for polars and SQL."""
    return timezone.get_current_timezone_name()


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant a local day starts: the bound of every period and window that starts or ends on ``day``."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=local_zone())


def local_wall_clock(instant: dt.datetime) -> dt.datetime:
    """The naive local wall-clock time of an aware instant, as the engine and explanations show it."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant!r} is naive: an instant needs its offset")
    return instant.astimezone(local_zone()).replace(tzinfo=None)


def from_wall_clock(wall_clock: dt.datetime) -> dt.datetime:
    """A naive local wall-clock time (as the engine's frames hold them) as an aware instant, so that output carries
    its offset: ``2026-03-01T00:30:00+08:00``, never a bare ``2026-03-01T00:30:00`` a reader may take for UTC."""
    if wall_clock.tzinfo is not None:
        return wall_clock
    return wall_clock.replace(tzinfo=local_zone())


def local_date(instant: dt.datetime) -> dt.date:
    """The local day an aware instant falls on (a claim paid at 00:30 on 1 March, Beijing time: 1 March)."""
    return local_wall_clock(instant).date()


def sql_instant(instant: dt.datetime, connection: BaseDatabaseWrapper | None = None) -> Any:
    """An aware instant as a raw-SQL parameter that the database compares with a ``DateTimeField`` column as an
    instant: what Django itself binds (naive UTC text on SQLite, ``timestamptz`` on PostgreSQL). A naive datetime
    is refused: it names no instant."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant!r} is naive: compare instants, e.g. local_midnight(day)")
    return (connection or default_connection).ops.adapt_datetimefield_value(instant)


def sql_date(day: dt.date, connection: BaseDatabaseWrapper | None = None) -> Any:
    """A calendar day as a raw-SQL parameter compared with a ``DateField`` column."""
    if isinstance(day, dt.datetime):
        raise ValueError(f"{day!r} is a datetime: a DateField compares with a date")
    return (connection or default_connection).ops.adapt_datefield_value(day)


def sql_period_bound(day: dt.date, temporal: str, connection: BaseDatabaseWrapper | None = None) -> Any:
    """A period or window bound (a local day) as a raw-SQL parameter for a column of type ``temporal``
    (``"datetime"`` or ``"date"``): the local midnight as an instant, or the day itself."""
    if temporal == "datetime":
        return sql_instant(local_midnight(day), connection)
    return sql_date(day, connection)


def utc_to_wall_clock(column: pl.Expr) -> pl.Expr:
    """UTC instants (naive UTC or UTC-aware) as naive local wall-clock times, column-wise."""
    return (
        column.dt.replace_time_zone("UTC").dt.convert_time_zone(local_zone_name()).dt.replace_time_zone(None)
    )


def wall_clock_to_utc(column: pl.Expr) -> pl.Expr:
    """Naive local wall-clock times (an import without an offset) as UTC instants, column-wise. A time the
    zone skipped (a daylight-saving gap; Beijing had some until 1991) becomes null rather than a guess."""
    return column.dt.replace_time_zone(
        local_zone_name(), ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
