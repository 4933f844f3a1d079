"""Load what a period's metrics read, once, straight into columnar frames.

One query per record kind, selecting only the catalogue's columns and only the rows some metric's window can
reach (the windows are OR-ed). PostgreSQL streams the rows with ``COPY ... TO STDOUT`` as CSV into polars;
SQLite returns plain tuples. Dates and datetimes travel as text in both (no per-value Python conversion) and are
parsed column-wise; datetimes become naive local wall-clock times, as the engine expects. Window bounds are local
midnights bound as instants (``core.instants``), so a period is ``[start, next start)`` on every database.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import connection

from perflink.core.instants import sql_period_bound, utc_to_wall_clock
from perflink.engine.metrics import REF_TYPES, MetricSpec, reference_paths, window_bounds
from perflink.engine.periods import Period
from perflink.engine.run import Inputs
from perflink.metrics.catalogue import LINKS, Source, sources

_TEXT_TYPES = {"str", "enum"}
_INT_TYPES = {"int", "satisfaction", "employee", "unit", "requisition"}
_FLOAT_TYPES = {"decimal", "money"}
_ALWAYS = ("employee", "unit")  # the roster is read whole: every run scores people and units


# Rows whose ``key`` is among the ``anchor_key`` values of ``table`` rows dated in ``[low, high)``:
# (key, table, anchor key, anchor date column, anchor date type, low, high).
type Semi = tuple[str, str, str, str, str, dt.date, dt.date]
# (date column or "" when placed through a reference, low, high, end column of an open_at_end / active window,
# window type, semi-join or None)
type Range = tuple[str, dt.date, dt.date, str | None, str, Semi | None]


@dataclass
class KindWindow:
    """The rows of one kind a run needs: OR of ``(date column, low, high, extra)`` ranges."""

    ranges: list[Range] = field(default_factory=list)
    whole: bool = False


def _column(kind: str, path: str) -> str:
    from perflink.metrics.catalogue import catalogue

    return catalogue()[kind][path.partition(".")[0]].column


def plan(metrics: Mapping[str, MetricSpec], period: Period) -> dict[str, KindWindow]:
    """Which rows of which kinds the metrics read for ``period``."""
    from perflink.metrics.catalogue import catalogue

    cat = catalogue()
    wanted: dict[str, KindWindow] = {kind: KindWindow(whole=True) for kind in _ALWAYS}
    for spec in metrics.values():
        if spec.is_derived or spec.kind is None or spec.date_field is None:
            continue
        window = wanted.setdefault(spec.kind, KindWindow())
        low, high = window_bounds(spec, period)
        if "." in spec.date_field:
            head, _, rest = spec.date_field.partition(".")
            target = REF_TYPES.get(cat[spec.kind][head].type)
            if target is None or spec.window.type in ("open_at_end", "active"):
                window.whole = True
            else:
                # Placed by a referenced record's date (a hire by its requisition's target date): the rows whose
                # reference is dated in the window.
                ref = sources()[target]
                ref_col = _column(target, rest)
                semi: Semi = (
                    _column(spec.kind, head),
                    ref.table,
                    "id",
                    ref_col,
                    _types(ref)[ref_col],
                    low,
                    high,
                )
                window.ranges.append(("", low, high, None, spec.window.type, semi))
        else:
            date_col = _column(spec.kind, spec.date_field)
            end_col = _column(spec.kind, spec.window.end_field) if spec.window.end_field else None
            window.ranges.append((date_col, low, high, end_col, spec.window.type, None))
        for _, outcome in spec.outcomes:
            other = wanted.setdefault(outcome.kind, KindWindow())
            reach = high + dt.timedelta(days=spec.window.days)
            theirs, ours = outcome.match[0]
            # Only the rows matching one of the period's anchors (e.g. the policies of the month's new agents).
            anchors: Semi | None = None
            if "." not in theirs and "." not in ours and "." not in spec.date_field:
                anchor = sources()[spec.kind]
                anchors = (
                    _column(outcome.kind, theirs),
                    anchor.table,
                    _column(spec.kind, ours),
                    _column(spec.kind, spec.date_field),
                    _types(anchor)[_column(spec.kind, spec.date_field)],
                    low,
                    high,
                )
            other.ranges.append((_column(outcome.kind, outcome.date_field), low, reach, None, "", anchors))
        # Kinds reached through a reference (``requisition.opened_on``) are read whole: they are small.
        reached = [(spec.kind, path) for path in reference_paths(spec)]
        for _, outcome in spec.outcomes:
            outcome_paths = [outcome.match[0][0], outcome.date_field, outcome.field or ""]
            for cond in outcome.filters:
                outcome_paths += [cond.field or "", cond.other or ""]
            reached += [(outcome.kind, path) for path in outcome_paths if "." in path]
        for kind, path in reached:
            head = path.partition(".")[0]
            target = REF_TYPES.get(cat[kind][head].type)
            if target:
                wanted.setdefault(target, KindWindow()).whole = True
    return wanted


def _bound(day: dt.date, temporal: str) -> Any:
    """A window bound as the database compares it: dates as dates, datetimes as the instant of local midnight
    (bound as Django binds it: an aware value sent raw reached SQLite as '...+08:00' text, compared as text)."""
    return sql_period_bound(day, temporal)


def _types(source: Source) -> dict[str, str]:
    return {column: type_ for _, column, type_ in source.columns}


def _where(source: Source, window: KindWindow, period: Period, tenant_id: int) -> tuple[str, list[Any]]:
    if window.whole or not window.ranges:
        return "", []
    types = _types(source)
    parts, params = [], []
    for date_col, low, high, end_col, mode, semi in dict.fromkeys(window.ranges):
        if date_col:
            temporal = types[date_col]
            part = f"({date_col} >= %s AND {date_col} < %s"
            params += [_bound(low, temporal), _bound(high, temporal)]
        else:
            part = "(1 = 1"
        if end_col:
            edge = period.end if mode == "open_at_end" else period.start
            part += f" AND ({end_col} IS NULL OR {end_col} >= %s)"
            params.append(_bound(edge, types[end_col]))
        if semi:
            key, table, anchor_key, anchor_date, anchor_type, semi_low, semi_high = semi
            # Names from the catalogue; values bound.
            part += (
                f" AND {key} IN (SELECT {anchor_key} FROM {table} WHERE tenant_id = %s"  # noqa: S608
                f" AND {anchor_date} >= %s AND {anchor_date} < %s)"
            )
            params += [tenant_id, _bound(semi_low, anchor_type), _bound(semi_high, anchor_type)]
        parts.append(part + ")")
    return " AND (" + " OR ".join(parts) + ")", params


def _select(source: Source, vendor: str) -> list[str]:
    selects = ["id"]
    if source.kind not in _ALWAYS:
        selects.append("version")
    for _, column, type_ in source.columns:
        if type_ == "datetime":
            if vendor == "postgresql":
                selects.append(
                    f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS {column}"
                )
            else:
                selects.append(f"({column} || '') AS {column}")
        elif type_ == "date":
            selects.append(
                f"({column} || '') AS {column}"
                if vendor != "postgresql"
                else f"to_char({column}, 'YYYY-MM-DD') AS {column}"
            )
        elif type_ == "bool" and vendor == "postgresql":
            selects.append(f"{column}::int AS {column}")
        else:
            selects.append(column)
    return selects


def _schema(source: Source) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"id": pl.Int64()}
    if source.kind not in _ALWAYS:
        schema["version"] = pl.Int64()
    for _, column, type_ in source.columns:
        if type_ in _INT_TYPES or type_ == "bool":
            schema[column] = pl.Int64()
        elif type_ in _FLOAT_TYPES:
            schema[column] = pl.Float64()
        else:
            schema[column] = pl.String()
    return schema


def _typed(frame: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Text dates and datetimes parsed column-wise; UTC datetimes turned into local wall-clock times."""
    exprs = []
    for _, column, type_ in source.columns:
        if type_ == "datetime":
            exprs.append(
                utc_to_wall_clock(
                    pl.col(column).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
                )
            )
        elif type_ == "date":
            exprs.append(pl.col(column).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        elif type_ == "bool":
            exprs.append(pl.col(column).cast(pl.Boolean))
    return frame.with_columns(exprs) if exprs else frame


def _read(sql: str, params: list[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Server-side COPY of the bound query: the rows arrive as one CSV stream.
            bound = (
                cursor.mogrify(sql, params)
                if hasattr(cursor, "mogrify")
                else cursor.cursor.mogrify(sql, params)
            )
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            if not buffer.getbuffer().nbytes:
                return pl.DataFrame(schema=schema)
            return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
        # SQLite builds one JSON array per column in C; polars decodes them in Rust. About 3x faster than
        # fetching rows as Python tuples. All aggregates of one query see the rows in the same order.
        arrays = ", ".join(f'json_group_array("{name}")' for name in schema)
        cursor.execute(f"SELECT {arrays} FROM ({sql})", params)  # noqa: S608 (names from the catalogue)
        row = cursor.fetchone()
    columns = [
        pl.Series(name, [text]).str.json_decode(pl.List(dtype))
        for (name, dtype), text in zip(schema.items(), row, strict=True)
    ]
    lists = pl.DataFrame(columns)
    if lists.item(0, 0) is None or len(lists.item(0, 0)) == 0:
        return pl.DataFrame(schema=schema)
    return lists.explode(list(schema))


def load(tenant_id: int, metrics: Mapping[str, MetricSpec], period: Period) -> tuple[Inputs, dict[str, int]]:
    """The run's input frames, and how many rows of each kind were read."""
    vendor = connection.vendor
    records: dict[str, pl.DataFrame] = {}
    wanted = plan(metrics, period)
    for kind, window in wanted.items():
        source = sources()[kind]
        where, params = _where(source, window, period, tenant_id)
        columns = ", ".join(_select(source, vendor))
        # Table and column names come from the code's catalogue; every value is a bound parameter.
        sql = f"SELECT {columns} FROM {source.table} WHERE tenant_id = %s{where}"  # noqa: S608
        records[kind] = _typed(_read(sql, [tenant_id, *params], _schema(source)), source)
    for (kind, name), (table, owner) in LINKS.items():
        if kind not in records:
            continue
        frame = _read(
            f"SELECT {owner} AS owner_id, unit_id FROM {table} WHERE tenant_id = %s",  # noqa: S608 (names from LINKS)
            [tenant_id],
            {"owner_id": pl.Int64(), "unit_id": pl.Int64()},
        )
        # Only the links of the loaded records.
        records[f"{kind}.{name}"] = frame.filter(
            pl.col("owner_id").is_in(records[kind].get_column("id").implode())
        )
    return inputs_from_records(records), {kind: frame.height for kind, frame in records.items()}


def inputs_from_records(records: Mapping[str, pl.DataFrame]) -> Inputs:
    """Inputs with the unit tree's ancestor lists derived from the unit frame (root → self)."""
    units = records["unit"]
    return Inputs(records=dict(records), units=with_ancestors(units), employees=records["employee"])


def with_ancestors(units: pl.DataFrame) -> pl.DataFrame:
    """Add ``ancestors`` (ids root → self) by walking parent links level by level (depth is small)."""
    frame = units.select("id", pl.col("parent_id").alias("_up")).with_columns(
        pl.concat_list(pl.col("id")).alias("ancestors")
    )
    parents = units.select(pl.col("id").alias("_up"), pl.col("parent_id").alias("_next"))
    for _ in range(32):
        if frame.get_column("_up").null_count() == frame.height:
            break
        frame = (
            frame.join(parents, on="_up", how="left")
            .with_columns(
                pl.when(pl.col("_up").is_not_null())
                .then(pl.concat_list(pl.col("_up"), pl.col("ancestors")))
                .otherwise(pl.col("ancestors"))
                .alias("ancestors")
            )
            .drop("_up")
            .rename({"_next": "_up"})
        )
    return units.join(frame.select("id", "ancestors"), on="id", how="left")
