"""The generated source records as the raw frames their source systems would deliver to ingestion.

A delivery is what `perflink.ingest.actions.do_ingest` takes from any channel: String columns named by
the kind's canonical fields (`perflink.ingest.kinds.KINDS`) plus `external_id`, and an Int64 `_row`
(here the record's index in the generated columns, so an error points back at it). People appear as
employee numbers, units as unit codes, a hire's requisition as its requisition number; dates as
`YYYY-MM-DD`, times as Beijing local time `YYYY-MM-DD HH:MM:SS`, money as yuan with two decimals.
Every column is built whole with numpy and polars, never row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from perflink.demo.calendar import CHINA_OFFSET, NA
from perflink.demo.generate import DemoData

# Requisitions come before hires: a hire names its requisition by number, resolved against the table.
DELIVERY_ORDER = ("requisition", "hire", "training", "exit", "incident", "policy", "claim", "payment")


# --- columns ---------------------------------------------------------------------------------------


def _nullable(values: np.ndarray) -> pl.Series:
    """An integer column with NA as null."""
    return pl.Series(values, dtype=pl.Int64).set(pl.Series(values == NA), None)


def _text(values: np.ndarray | list[str]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _ints(values: np.ndarray) -> pl.Series:
    return _nullable(values).cast(pl.String)


def _dates(days: np.ndarray) -> pl.Series:
    """Day numbers -> 'YYYY-MM-DD'."""
    return _nullable(days).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _local_times(seconds: np.ndarray) -> pl.Series:
    """UTC epoch seconds -> Beijing local time 'YYYY-MM-DD HH:MM:SS' (UTC+8 all year)."""
    return pl.from_epoch(_nullable(seconds) + CHINA_OFFSET, time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")


def _decimals(units: np.ndarray, places: int) -> pl.Series:
    """Integers counted in 10^-places (fen, tenths of a point) -> exact decimal text ('1234.50')."""
    value = _nullable(units)
    scale = 10**places
    sign = _text(np.where(units < 0, "-", ""))
    whole = (value.abs() // scale).cast(pl.String)
    return sign + whole + "." + (value.abs() % scale).cast(pl.String).str.zfill(places)


def _money(fen: np.ndarray) -> pl.Series:
    return _decimals(fen, 2)


def _refs(codes: pl.Series, index: np.ndarray) -> pl.Series:
    """Generator indices -> natural keys (employee numbers, unit codes, ...); NA -> null."""
    return codes.gather(_nullable(index))


def _frame(columns: dict[str, pl.Series]) -> pl.DataFrame:
    frame = pl.DataFrame([s.alias(name) for name, s in columns.items()])
    return frame.with_columns(pl.int_range(0, frame.height, dtype=pl.Int64).alias("_row"))


# --- one frame per kind ------------------------------------------------------------------------------


class _Keys:
    """The natural keys records refer to, by generator index."""

    def __init__(self, data: DemoData) -> None:
        self.employees = _text(data.wf.columns["employee_no"])
        self.units = _text([u.code for u in data.org.units])
        self.requisitions = _text(data.records["requisition"]["requisition_no"])


def _requisitions(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["requisition"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "requisition_no": _text(f["requisition_no"]),
            "requesting_unit": _refs(keys.units, f["requesting_unit"]),
            "recruiting_unit": _refs(keys.units, f["recruiting_unit"]),
            "position_title": _text(f["position_title"]),
            "positions": _ints(f["positions"]),
            "opened_on": _dates(f["opened_on"]),
            "target_date": _dates(f["target_date"]),
            "closed_on": _dates(f["closed_on"]),
        }
    )


def _hires(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["hire"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "requisition": _refs(keys.requisitions, f["requisition"]),
            "candidate_name": _text(f["candidate_name"]),
            "channel": _text(f["channel"]),
            "offer_on": _dates(f["offer_on"]),
            "arrived_on": _dates(f["arrived_on"]),
            "employee": _refs(keys.employees, f["employee"]),
        }
    )


def _training(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["training"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "employee": _refs(keys.employees, f["employee"]),
            "course": _text(f["course"]),
            "completed_on": _dates(f["completed_on"]),
            "passed": _nullable(f["passed"]).cast(pl.Boolean).cast(pl.String),
            "score": _decimals(f["score_tenths"], 1),
        }
    )


def _exits(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["exit"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "employee": _refs(keys.employees, f["employee"]),
            "exit_date": _dates(f["exit_date"]),
            "reason": _text(f["reason"]),
        }
    )


def _incidents(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f, affected = data.records["incident"], data.records["incident_unit"]
    n = len(f["external_id"])
    # The affected units of each incident as one cell of unit codes joined by ",".
    codes = (
        pl.DataFrame({"incident": affected["incident"], "code": _refs(keys.units, affected["unit"])})
        .group_by("incident", maintain_order=True)
        .agg(pl.col("code").str.join(","))
    )
    units = (
        pl.DataFrame({"incident": np.arange(n)})
        .join(codes, on="incident", how="left", maintain_order="left")
        .get_column("code")
    )
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "system": _text(f["system"]),
            "severity": _text(f["severity"]),
            "started_at": _local_times(f["started_at"]),
            "ended_at": _local_times(f["ended_at"]),
            "affected_units": units,
            "affected_transactions": _ints(f["affected_transactions"]),
        }
    )


def _policies(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["policy"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "policy_no": _text(f["external_id"]),
            "product_line": _text(f["product_line"]),
            "agent": _refs(keys.employees, f["agent"]),
            "unit": _refs(keys.units, f["unit"]),
            "applied_on": _dates(f["applied_on"]),
            "issued_on": _dates(f["issued_on"]),
            "terminated_on": _dates(f["terminated_on"]),
            "first_year_premium": _money(f["first_year_premium_fen"]),
            "annualised_premium": _money(f["annualised_premium_fen"]),
            "status": _text(f["status"]),
        }
    )


def _claims(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["claim"]
    times = ("reported_at", "registered_at", "assessed_at", "approved_at", "paid_at", "closed_at")
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "claim_no": _text(f["external_id"]),
            "line": _text(f["line"]),
            "handler": _refs(keys.employees, f["handler"]),
            "unit": _refs(keys.units, f["unit"]),
            **{name: _local_times(f[name]) for name in times},
            "amount_claimed": _money(f["amount_claimed_fen"]),
            "amount_paid": _money(f["amount_paid_fen"]),
            "satisfaction": _ints(f["satisfaction"]),
            "catastrophe_tag": _text(f["catastrophe_tag"]),
        }
    )


def _payments(data: DemoData, keys: _Keys) -> pl.DataFrame:
    f = data.records["payment"]
    return _frame(
        {
            "external_id": _text(f["external_id"]),
            "kind": _text(f["kind"]),
            "reference": _text(f["reference"]),
            "payee": _refs(keys.employees, f["payee"]),
            "unit": _refs(keys.units, f["unit"]),
            "requested_at": _local_times(f["requested_at"]),
            "approved_at": _local_times(f["approved_at"]),
            "paid_at": _local_times(f["paid_at"]),
            "amount": _money(f["amount_fen"]),
        }
    )


BUILDERS: dict[str, Callable[[DemoData, _Keys], pl.DataFrame]] = {
    "requisition": _requisitions,
    "hire": _hires,
    "training": _training,
    "exit": _exits,
    "incident": _incidents,
    "policy": _policies,
    "claim": _claims,
    "payment": _payments,
}


def delivery(data: DemoData, kind: str) -> pl.DataFrame:
    """The raw frame of one record kind, as its source system would send it."""
    return BUILDERS[kind](data, _Keys(data))
