"""Lookup frames for references (employee numbers, unit codes, requisition numbers) of one tenant."""

from __future__ import annotations

import polars as pl

from perflink.ingest.cleaning import Refs
from perflink.ingest.kinds import KindSpec

CHUNK = 5000


def _frame(pairs: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"code": [p[0] for p in pairs], "id": [p[1] for p in pairs]},
        schema={"code": pl.String, "id": pl.Int64},
    )


def _codes(raw: pl.DataFrame, spec: KindSpec, types: set[str]) -> list[str]:
    names = [f.name for f in spec.fields if f.type in types and f.name in raw.columns]
    if not names:
        return []
    values = pl.concat([raw[n].cast(pl.String).str.strip_chars() for n in names]).drop_nulls().unique()
    return values.to_list()


def load_refs(raw: pl.DataFrame, spec: KindSpec) -> Refs:
    """Only the references this chunk mentions are fetched (so a push of 10,000 records stays cheap)."""
    from perflink.ingest.cleaning import fold_width
    from perflink.ingest.models import RequisitionRecord
    from perflink.org.models import Employee, OrgUnit

    refs = Refs()
    emp_codes = [fold_width(c) for c in _codes(raw, spec, {"employee"})]
    if emp_codes:
        pairs: list[tuple[str, int]] = []
        for i in range(0, len(emp_codes), CHUNK):
            pairs += list(
                Employee.objects.filter(employee_no__in=emp_codes[i : i + CHUNK]).values_list(
                    "employee_no", "id"
                )
            )
        refs.employees = _frame(pairs)
    if any(f.type in {"unit", "units"} for f in spec.fields):
        refs.units = _frame(list(OrgUnit.objects.values_list("code", "id")))
    req_codes = [fold_width(c) for c in _codes(raw, spec, {"requisition"})]
    if req_codes:
        pairs = []
        for i in range(0, len(req_codes), CHUNK):
            pairs += list(
                RequisitionRecord.objects.filter(requisition_no__in=req_codes[i : i + CHUNK]).values_list(
                    "requisition_no", "id"
                )
            )
        refs.requisitions = _frame(pairs)
    return refs
