"""Bulk upsert of cleaned frames into the canonical tables (PostgreSQL COPY, SQLite executemany).

Upsert by (tenant, source system, external id): a new key inserts (version 1); a known key whose
values differ updates (version + 1, the old values kept in RecordHistory for rollback); a known key
with equal values is left alone. Runs inside the caller's transaction.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models

from perflink.ingest.kinds import KindSpec

SQLITE_CHUNK = 5000


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


def model_for(spec: KindSpec) -> type[models.Model]:
    return apps.get_model(spec.model)


def value_columns(spec: KindSpec) -> list[str]:
    """The database columns a kind writes (references as *_id), excluding many-to-many lists."""
    return [f.column for f in spec.fields if f.type != "units"]


def _text_columns(model: type[models.Model], columns: list[str]) -> set[str]:
    out = set()
    for col in columns:
        field = next(f for f in model._meta.concrete_fields if f.column == col)
        if isinstance(field, models.CharField | models.TextField) and not field.null:
            out.add(col)
    return out


def _existing(
    model: type[models.Model],
    tenant_id: int,
    system_id: int,
    keys: list[str],
    columns: list[str],
    template: pl.DataFrame,
) -> pl.DataFrame:
    """The stored rows for these external ids, as a frame typed like `template` (raw SQL, no model
    instances: this runs on every delivery, so it must not convert value by value in Python)."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    names = ["id", "external_id", "version", "batch_id", *columns]
    select = ", ".join(q(c) for c in names)
    rows: list[tuple] = []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"SELECT {select} FROM {table} WHERE tenant_id = %s AND source_system_id = %s "
                "AND external_id = ANY(%s)",
                [tenant_id, system_id, keys],
            )
            rows = cur.fetchall()
        else:
            for start in range(0, len(keys), SQLITE_CHUNK):
                chunk = keys[start : start + SQLITE_CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                cur.execute(
                    f"SELECT {select} FROM {table} WHERE tenant_id = %s AND source_system_id = %s "
                    f"AND external_id IN ({marks})",
                    [tenant_id, system_id, *chunk],
                )
                rows.extend(cur.fetchall())
    schema = {"id": pl.Int64(), "external_id": pl.String(), "version": pl.Int64(), "batch_id": pl.Int64()}
    schema |= {c: template.schema[c] for c in columns}
    if not rows:
        return pl.DataFrame(schema=schema)
    raw = pl.DataFrame([pl.Series(n, [r[i] for r in rows], strict=False) for i, n in enumerate(names)])
    return raw.select([_as(raw, n, t).alias(n) for n, t in schema.items()])


def _as(raw: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """Cast a column as the database driver returned it to the cleaned frame's type. SQLite gives
    text for dates and times (UTC) and REAL for decimals; PostgreSQL gives typed values."""
    col, have = pl.col(name), raw.schema[name]
    if isinstance(dtype, pl.Datetime):
        if have == pl.String:
            parsed = col.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
            return parsed.dt.replace_time_zone("UTC")
        if have == pl.Null:
            return col.cast(dtype)
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if isinstance(dtype, pl.Date) and have == pl.String:
        return col.str.to_date("%Y-%m-%d", strict=False)
    if isinstance(dtype, pl.Decimal) and not isinstance(have, pl.Decimal) and have != pl.Null:
        scale = dtype.scale or 0
        return col.cast(pl.Float64).round(scale).cast(pl.String).cast(dtype, strict=False)
    return col.cast(dtype, strict=False)


def upsert_frame(
    spec: KindSpec,
    frame: pl.DataFrame,
    *,
    tenant_id: int,
    system_id: int,
    batch_id: int,
    received_at: datetime,
    write: bool = True,
) -> tuple[UpsertCounts, pl.DataFrame]:
    """Write one cleaned frame (or, with write=False, only work out what writing would do).

    Returns the counts and a frame of (external_id, id, action); `id` is null for created rows unless
    the kind has many-to-many lists that need it."""
    model = model_for(spec)
    columns = value_columns(spec)
    text_cols = _text_columns(model, columns)
    new = frame.select("external_id", *columns).with_columns(
        [pl.col(c).fill_null("") for c in columns if c in text_cols]
    )
    old = _existing(model, tenant_id, system_id, new["external_id"].to_list(), columns, new)
    joined = new.join(old, on="external_id", how="left", suffix="__old")
    same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}__old")) for c in columns])
    joined = joined.with_columns(
        pl.when(pl.col("id").is_null())
        .then(pl.lit("created"))
        .when(same)
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("updated"))
        .alias("action")
    )
    created = joined.filter(pl.col("action") == "created")
    updated = joined.filter(pl.col("action") == "updated")
    counts = UpsertCounts(created.height, updated.height, joined.height - created.height - updated.height)
    if not write:
        return counts, joined.select("external_id", "id", "action")
    meta = {
        "tenant_id": tenant_id,
        "source_system_id": system_id,
        "batch_id": batch_id,
        "received_at": received_at,
    }
    if created.height:
        _insert(model, created.select("external_id", *columns), meta)
    if updated.height:
        _keep_history(spec, model, updated, columns, tenant_id, batch_id)
        _update(model, updated.select("id", *columns), meta)
    written = joined.select("external_id", "id", "action")
    # New rows' ids are read back only where something hangs off them (an incident's affected units).
    if created.height and any(f.type == "units" for f in spec.fields):
        ids = _existing(model, tenant_id, system_id, created["external_id"].to_list(), [], new)
        written = written.join(
            ids.select("external_id", pl.col("id").alias("new_id")), on="external_id", how="left"
        )
        written = written.with_columns(pl.coalesce("id", "new_id").alias("id")).drop("new_id")
    return counts, written


# --- writing -------------------------------------------------------------------------------------


def _sql_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _sqlite_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as Django's SQLite backend stores them, converted column-wise by polars (not value by
    value in Python): times as naive UTC text, dates and decimals as text, booleans as 0/1."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            utc = col.dt.convert_time_zone("UTC")
            # As Django writes them (str(datetime)): microseconds only when there are some.
            text = (
                pl.when(utc.dt.microsecond() == 0)
                .then(utc.dt.strftime("%Y-%m-%d %H:%M:%S"))
                .otherwise(utc.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
            )
            out.append(text.alias(name))
        elif isinstance(dtype, pl.Date):
            out.append(col.dt.strftime("%Y-%m-%d").alias(name))
        elif isinstance(dtype, pl.Decimal):
            out.append(col.cast(pl.String).alias(name))
        elif dtype == pl.Boolean:
            out.append(col.cast(pl.Int8).alias(name))
        else:
            out.append(col)
    return frame.select(out)


def _with_defaults(model: type[models.Model], frame: pl.DataFrame) -> pl.DataFrame:
    """An optional field left out (null) stored as its column's default where the column takes no null (an
    incident without affected_transactions is stored with 0, as the model says), instead of a database error."""
    fills = []
    for name in frame.columns:
        try:
            field = model._meta.get_field(name.removesuffix("_id"))
        except FieldDoesNotExist:
            continue
        if field.null or not field.has_default() or callable(field.default) or field.default is None:
            continue
        fills.append(pl.col(name).fill_null(pl.lit(field.default).cast(frame.schema[name])))
    return frame.with_columns(fills) if fills else frame


def _insert(model: type[models.Model], frame: pl.DataFrame, meta: dict[str, Any]) -> None:
    frame = _with_defaults(model, frame)
    cols = [*meta.keys(), "version", *frame.columns]
    frame = frame.with_columns(
        *[pl.lit(v).alias(k) for k, v in meta.items()], pl.lit(1, dtype=pl.Int64).alias("version")
    ).select(cols)
    table = connection.ops.quote_name(model._meta.db_table)
    col_sql = ", ".join(connection.ops.quote_name(c) for c in cols)
    if connection.vendor == "postgresql":
        _copy(f"COPY {table} ({col_sql}) FROM STDIN WITH (FORMAT csv)", frame)
        return
    marks = ", ".join(["%s"] * len(cols))
    with connection.cursor() as cur:
        for chunk in frame.iter_slices(SQLITE_CHUNK):
            cur.executemany(
                f"INSERT INTO {table} ({col_sql}) VALUES ({marks})",
                _sqlite_ready(chunk).rows(),
            )


def _copy(statement: str, frame: pl.DataFrame) -> None:
    """Stream a frame into PostgreSQL as CSV: the whole write in one vectorised pass."""
    buf = io.BytesIO()
    frame.write_csv(
        buf, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z", quote_style="necessary"
    )
    buf.seek(0)
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        while block := buf.read(1 << 20):
            copy.write(block)


def _update(model: type[models.Model], frame: pl.DataFrame, meta: dict[str, Any]) -> None:
    frame = _with_defaults(model, frame)
    table = connection.ops.quote_name(model._meta.db_table)
    cols = [c for c in frame.columns if c != "id"]
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cols_sql = ", ".join(q(c) for c in cols)
            cur.execute(
                f"CREATE TEMP TABLE perflink_upd ON COMMIT DROP AS SELECT id, {cols_sql} FROM {table} WITH NO DATA"
            )
        _copy(
            f"COPY perflink_upd (id, {', '.join(q(c) for c in cols)}) FROM STDIN WITH (FORMAT csv)",
            frame.select("id", *cols),
        )
        sets = ", ".join(f"{q(c)} = u.{q(c)}" for c in cols)
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table} AS t SET {sets}, version = t.version + 1, batch_id = %s, received_at = %s "
                f"FROM perflink_upd AS u WHERE t.id = u.id",
                [meta["batch_id"], meta["received_at"]],
            )
            cur.execute("DROP TABLE perflink_upd")
        return
    sets = ", ".join(f"{q(c)} = %s" for c in cols)
    sql = f"UPDATE {table} SET {sets}, version = version + 1, batch_id = %s, received_at = %s WHERE id = %s"
    tail = (meta["batch_id"], _sql_value(meta["received_at"]))
    with connection.cursor() as cur:
        for chunk in frame.iter_slices(SQLITE_CHUNK):
            cur.executemany(sql, [(*row[1:], *tail, row[0]) for row in _sqlite_ready(chunk).rows()])


def _keep_history(
    spec: KindSpec,
    model: type[models.Model],
    updated: pl.DataFrame,
    columns: list[str],
    tenant_id: int,
    batch_id: int,
) -> None:
    """Save the replaced values (with their batch and version) as JSON, one history row per record."""
    history_model = apps.get_model("ingest.RecordHistory")
    old = updated.select(
        pl.col("id").alias("record_id"),
        pl.col("batch_id").alias("previous_batch_id"),
        pl.struct([pl.col(f"{c}__old").alias(c) for c in columns] + [pl.col("version")])
        .struct.json_encode()
        .alias("data"),
    )
    rows = [
        history_model(
            tenant_id=tenant_id,
            kind=spec.kind,
            record_id=r[0],
            batch_id=batch_id,
            previous_batch_id=r[1],
            data=_loads(r[2]),
        )
        for r in old.iter_rows()
    ]
    history_model.objects.bulk_create(rows, batch_size=2000)


def _loads(text: str) -> Any:
    import json

    return json.loads(text)
