"""Money helpers: ROUND_HALF_UP to the fen, pools conserved exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from perflink.core.exports import csv_bytes, safe_cell
from perflink.core.money import allocate_to_fen, to_fen


def test_half_up_to_the_fen() -> None:
    assert to_fen(Decimal("2.345")) == Decimal("2.35")
    assert to_fen(Decimal("2.344")) == Decimal("2.34")
    assert to_fen(Decimal("-2.345")) == Decimal("-2.35")


weights = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2), min_size=1, max_size=40
)
pools = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000000"), places=2)


@given(weights, pools)
def test_allocation_sums_to_the_pool_exactly(ws: list[Decimal], pool: Decimal) -> None:
    parts = allocate_to_fen(ws, pool)
    assert sum(parts, Decimal(0)) == pool
    assert all(p == p.quantize(Decimal("0.01")) and p >= 0 for p in parts)


@given(weights, pools)
def test_allocation_is_within_a_fen_of_the_exact_share(ws: list[Decimal], pool: Decimal) -> None:
    total = sum(ws, Decimal(0))
    for w, part in zip(ws, allocate_to_fen(ws, pool), strict=True):
        assert abs(part - pool * w / total) < Decimal("0.01")


def test_allocation_ties_go_to_the_earlier_part() -> None:
    assert allocate_to_fen([Decimal(1)] * 3, Decimal("0.02")) == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.00"),
    ]


def test_exports_neutralise_formulas() -> None:
    for bad in ("=1+1", "+SUM(A1)", "-2", "@cmd", "\tx"):
        assert safe_cell(bad).startswith("'")
    assert safe_cell("张三") == "张三" and safe_cell(5) == 5
    body = csv_bytes(["a"], [["=HYPERLINK(1)"]]).decode("utf-8")
    assert body.startswith("\ufeff") and "'=HYPERLINK(1)" in body
