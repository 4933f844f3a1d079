"""The push API's records (a JSON list of objects) as a raw frame for the cleaning pipeline."""

from __future__ import annotations

from typing import Any

import polars as pl

from perflink.ingest.kinds import EXTERNAL_ID, KindSpec

MAX_RECORDS = 10_000


def records_frame(spec: KindSpec, records: list[dict[str, Any]]) -> tuple[pl.DataFrame, list[str]]:
    """Every known field as text (numbers and booleans as their JSON spelling), rows numbered from 0
    as the index of the record in the request. Returns the frame and the unknown field names."""
    names = [f.name for f in spec.fields] + [EXTERNAL_ID.name]
    known = set(names)
    unknown = sorted({k for r in records for k in r} - known)

    def text(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    columns = {n: pl.Series(n, [text(r.get(n)) for r in records], dtype=pl.String) for n in names}
    frame = pl.DataFrame(columns).with_columns(pl.int_range(0, len(records), dtype=pl.Int64).alias("_row"))
    present = [n for n in names if any(n in r for r in records)]
    return frame.select("_row", *present), unknown
