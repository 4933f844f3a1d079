"""The push API's records (a JSON list of objects) as a raw frame for the cleaning pipeline."""

from __future__ import annotations

from typing import Any

import polars as pl

from perflink.ingest.kinds import EXTERNAL_ID, KindSpec

MAX_RECORDS = 10_000


def records_frame(spec: KindSpec, records: list[dict[str, Any]]) -> tuple[pl.DataFrame, list[str]]:
    """Every known field as text (numbers and booleans in their JSON spelling, lists of unit codes
    joined by commas), rows numbered from 0 as the record's index in the request. Returns the frame
    and the unknown field names. Polars builds the columns; only list-valued fields get a Python pass."""
    names = [f.name for f in spec.fields] + [EXTERNAL_ID.name]
    seen: set[str] = set().union(*records) if records else set()
    unknown = sorted(seen - set(names))
    present = [n for n in names if n in seen]
    list_fields = [f.name for f in spec.fields if f.type == "units" and f.name in seen]
    if list_fields:
        records = [
            {**r, **{n: ",".join(map(str, r[n])) for n in list_fields if isinstance(r.get(n), list)}}
            for r in records
        ]
    frame = (
        pl.from_dicts(records, schema=dict.fromkeys(present, pl.String), strict=False)
        if records
        else (pl.DataFrame(schema=dict.fromkeys(present, pl.String)))
    )
    frame = frame.with_columns(pl.int_range(0, frame.height, dtype=pl.Int64).alias("_row"))
    return frame.select("_row", *present), unknown
