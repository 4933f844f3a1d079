"""The generated records as raw deliveries (no database): text in the shapes a source system sends, which
the ingestion cleaning turns back into exactly the generated values."""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import polars as pl
import pytest

from perflink.demo.calendar import NA
from perflink.demo.deliveries import DELIVERY_ORDER, _local_times, _money, delivery
from perflink.demo.generate import DemoConfig, DemoData, generate
from perflink.ingest.cleaning import CleanResult, Refs, clean_frame
from perflink.ingest.kinds import KINDS


@cache
def demo() -> DemoData:
    return generate(DemoConfig(employees=300, months=6, seed=7, end_month=date(2026, 10, 1)))


def _keys(codes: list[str]) -> pl.DataFrame:
    """Natural key -> generator index, standing in for the database ids."""
    return pl.DataFrame(
        {"code": codes, "id": np.arange(len(codes))}, schema={"code": pl.String, "id": pl.Int64}
    )


@cache
def cleaned(kind: str) -> CleanResult:
    data = demo()
    refs = Refs(
        employees=_keys(data.wf.columns["employee_no"]),
        units=_keys([u.code for u in data.org.units]),
        requisitions=_keys(data.records["requisition"]["requisition_no"].tolist()),
    )
    return clean_frame(delivery(data, kind), KINDS[kind], refs)


def _values(series: pl.Series) -> list[object]:
    return series.to_list()


def _expected(values: np.ndarray) -> list[object]:
    return [None if v == NA else v for v in values.tolist()]


def test_text_forms_of_money_and_times() -> None:
    assert _money(np.array([123450, 5, 0, -250, NA])).to_list() == ["1234.50", "0.05", "0.00", "-2.50", None]
    # 2025-01-01 01:02:03 UTC is 09:02:03 in Beijing.
    assert _local_times(np.array([1_735_693_323, NA])).to_list() == ["2025-01-01 09:02:03", None]


@pytest.mark.parametrize("kind", DELIVERY_ORDER)
def test_every_kind_is_delivered_as_text_by_canonical_field(kind: str) -> None:
    frame = delivery(demo(), kind)
    assert frame.height == len(demo().records[kind]["external_id"]) > 0
    assert set(frame.columns) <= {*KINDS[kind].names, "external_id", "_row"}
    assert {f.name for f in KINDS[kind].fields if f.required} <= set(frame.columns)
    assert frame.schema["_row"] == pl.Int64
    assert frame["_row"].to_list() == list(range(frame.height))
    assert all(dtype == pl.String for name, dtype in frame.schema.items() if name != "_row")


@pytest.mark.parametrize("kind", DELIVERY_ORDER)
def test_cleaning_accepts_every_generated_record(kind: str) -> None:
    result = cleaned(kind)
    assert result.errors.height == 0, result.errors.head(5)
    assert result.frame.height == result.total_rows
    assert result.frame["external_id"].to_list() == demo().records[kind]["external_id"].tolist()


def test_cleaned_values_are_the_generated_ones() -> None:
    records = demo().records
    claims, claim = cleaned("claim").frame, records["claim"]
    for name in ("reported_at", "paid_at", "closed_at"):
        seconds = claims[name].dt.epoch("s")
        assert _values(seconds) == _expected(claim[name]), name
    fen = (claims["amount_paid"].cast(pl.Float64) * 100).round(0).cast(pl.Int64)
    assert _values(fen) == _expected(claim["amount_paid_fen"])
    assert _values(claims["handler_id"]) == claim["handler"].tolist()
    assert _values(claims["satisfaction"]) == _expected(claim["satisfaction"])

    policies, policy = cleaned("policy").frame, records["policy"]
    assert _values(policies["issued_on"].cast(pl.Int32)) == _expected(policy["issued_on"])
    assert _values(policies["terminated_on"].cast(pl.Int32)) == _expected(policy["terminated_on"])
    fen = (policies["first_year_premium"].cast(pl.Float64) * 100).round(0).cast(pl.Int64)
    assert _values(fen) == policy["first_year_premium_fen"].tolist()

    training, course = cleaned("training").frame, records["training"]
    tenths = (training["score"].cast(pl.Float64) * 10).round(0).cast(pl.Int64)
    assert _values(tenths) == _expected(course["score_tenths"])
    assert _values(training["passed"].cast(pl.Int64)) == _expected(course["passed"])

    hires = cleaned("hire").frame
    assert _values(hires["requisition_id"]) == _expected(records["hire"]["requisition"])
    assert _values(hires["employee_id"]) == _expected(records["hire"]["employee"])

    incidents, affected = cleaned("incident").frame, records["incident_unit"]
    units = [sorted(ids or []) for ids in incidents["affected_units_ids"].to_list()]
    expected: list[list[int]] = [[] for _ in range(incidents.height)]
    for incident, unit in zip(affected["incident"].tolist(), affected["unit"].tolist(), strict=True):
        expected[incident].append(unit)
    assert units == [sorted(u) for u in expected]
