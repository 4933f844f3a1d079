"""Payout rows add up to the statement to the fen, for any plan and population (Hypothesis), and a correction's
differences added to what was paid give exactly the new amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given

from perflink.engine.incentives import compute, parse_plan
from perflink.engine.tests.test_incentives import PROPERTY_SETTINGS, monotone_plans, people
from perflink.incentives.payouts import differences, payout_frame


def per_person(rows: pl.DataFrame) -> dict[int, Decimal]:
    sums: dict[int, Decimal] = {}
    for person, amount in rows.select("person_id", "amount").iter_rows():
        sums[person] = sums.get(person, Decimal(0)) + amount
    return sums


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=True), frame=people())
def test_payout_rows_add_up_to_each_statement_amount_and_to_the_run_total(
    plan: dict[str, Any], frame: pl.DataFrame
) -> None:
    parsed = parse_plan(plan)
    result = compute(parsed, frame)
    rows = payout_frame(parsed, result.amounts)
    paid = dict(zip(result.amounts["person_id"].to_list(), result.amounts["amount"].to_list(), strict=True))
    assert per_person(rows) == paid
    assert sum(rows["amount"].to_list(), Decimal(0)) == result.total
    # One row per component for everyone, whatever it pays; the steps only where they change the amount.
    components = rows.filter(pl.col("kind") == "component")
    assert components.height == len(parsed.components) * result.amounts.height
    assert (rows.filter(pl.col("kind") != "component")["amount"] != 0).all()
    # Every amount is whole fen.
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in rows["amount"].to_list())


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=False), before=people(), after=people())
def test_a_correction_posts_exactly_what_turns_the_paid_rows_into_the_new_ones(
    plan: dict[str, Any], before: pl.DataFrame, after: pl.DataFrame
) -> None:
    parsed = parse_plan(plan)
    paid = payout_frame(parsed, compute(parsed, before).amounts)
    new = payout_frame(parsed, compute(parsed, after).amounts)
    diff = differences(new, paid.drop("status"))
    assert (diff["amount"] != 0).all()
    totals = per_person(paid)
    for person, amount in per_person(diff).items():
        totals[person] = totals.get(person, Decimal(0)) + amount
    assert {p: a for p, a in totals.items() if a} == {p: a for p, a in per_person(new).items() if a}
