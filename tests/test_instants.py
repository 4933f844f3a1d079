"""core.instants: local days as instants, and raw-SQL parameters that compare as instants on every database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from django.db import connection

from perflink.core.instants import (
    local_date,
    local_midnight,
    local_wall_clock,
    sql_instant,
    sql_period_bound,
    utc_to_wall_clock,
    wall_clock_to_utc,
)
from perflink.ingest.models import ClaimRecord

UTC = dt.UTC


def test_given_1_march_when_its_local_midnight_is_taken_then_it_is_16_00_utc_the_day_before():
    assert local_midnight(dt.date(2026, 3, 1)) == dt.datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert local_midnight(dt.date(2028, 2, 29)) == dt.datetime(2028, 2, 28, 16, tzinfo=UTC)


def test_given_a_utc_instant_at_16_30_when_read_locally_then_it_is_00_30_on_the_next_day():
    paid = dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC)
    assert local_wall_clock(paid) == dt.datetime(2026, 3, 1, 0, 30)
    assert local_date(paid) == dt.date(2026, 3, 1)


def test_given_a_naive_datetime_when_bound_or_read_as_an_instant_then_it_is_refused():
    with pytest.raises(ValueError, match="naive"):
        sql_instant(dt.datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="naive"):
        local_wall_clock(dt.datetime(2026, 3, 1))


@pytest.mark.django_db
def test_given_a_stored_claim_when_compared_with_a_bound_in_raw_sql_then_it_compares_as_an_instant(world):
    from perflink.core.context import SYSTEM, tenant_context
    from tests.factories import push

    with tenant_context(world.tenant, SYSTEM):
        push(
            "claim",
            [
                {
                    "claim_no": "SQL-1",
                    "line": "auto",
                    "handler": world.staff.employee_no,
                    "unit": world.sales_team.code,
                    "reported_at": "2026-03-01T07:59:59+08:00",
                    "amount_claimed": "1200.00",
                }
            ],
        )
        pk = ClaimRecord.objects.get(external_id="SQL-1").pk
    table = ClaimRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE id = %s AND reported_at >= %s AND reported_at < %s",  # noqa: S608
            [
                pk,
                sql_period_bound(dt.date(2026, 3, 1), "datetime"),
                sql_period_bound(dt.date(2026, 4, 1), "datetime"),
            ],
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE id = %s AND reported_at < %s",  # noqa: S608
            [pk, sql_period_bound(dt.date(2026, 3, 1), "datetime")],
        )
        assert cursor.fetchone()[0] == 0


def test_given_utc_instants_when_converted_column_wise_then_wall_clock_and_back_round_trip():
    utc = pl.Series("at", [dt.datetime(2026, 2, 28, 16), dt.datetime(2026, 3, 1, 0)])
    frame = pl.DataFrame([utc]).with_columns(utc_to_wall_clock(pl.col("at")).alias("local"))
    assert frame.get_column("local").to_list() == [dt.datetime(2026, 3, 1, 0), dt.datetime(2026, 3, 1, 8)]
    back = frame.select(wall_clock_to_utc(pl.col("local"))).to_series().to_list()
    assert back == [
        dt.datetime(2026, 2, 28, 16, tzinfo=ZoneInfo("UTC")),
        dt.datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")),
    ]


def test_given_a_local_wall_clock_time_when_given_out_then_it_carries_its_offset():
    from perflink.core.instants import from_wall_clock

    assert from_wall_clock(dt.datetime(2026, 3, 1, 0, 30)).isoformat() == "2026-03-01T00:30:00+08:00"
    aware = dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC)
    assert from_wall_clock(aware) is aware
