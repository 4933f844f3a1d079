"""Incentive plans: the DOMAIN.md worked examples to the fen, the statement, validation messages, and properties."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from perflink.core.money import allocate_to_fen
from perflink.engine.incentives import PlanError, Wording, allocate_pool, compute, parse_plan
from perflink.engine.incentives.statement import LINE_SCHEMA

FEN = Decimal("0.01")

# DOMAIN.md §2.6: if claims meets its cycle target (≤ 2 days), finance's multiplier follows its payment time
# (≤ 1 day → 120%, 1–2 days → 100%, > 2 days → 80%); if claims misses it, finance's bonus is cut by 10%.
CLAIMS_MULTIPLIER: dict[str, Any] = {
    "key": "claims",
    "label": "理赔周期联动",
    "when": {"input": "linked:claim_cycle_days", "op": "le", "value": "2", "unit": "天"},
    "then": {
        "input": "own:claim_payment_days",
        "unit": "天",
        "bands": [
            {"upto": "1", "inclusive": True, "factor": "1.20"},
            {"upto": "2", "inclusive": True, "factor": "1.00"},
            {"upto": None, "factor": "0.80"},
        ],
    },
    "else": {"factor": "0.90"},
    "missing": {"factor": "1.00"},
}

OWN_SCORE: dict[str, Any] = {
    "key": "own",
    "label": "本人考核",
    "weight": "100",
    "source": "score",
    "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
    "missing": {"factor": "0"},
}

# Finance: 80% own scorecard, 20% tied to the claims cycle (DOMAIN.md §2.6), and the claims multiplier.
FINANCE_PLAN: dict[str, Any] = {
    "base": {"kind": "fixed", "amount": "10000.00"},
    "components": [
        {**OWN_SCORE, "weight": "80"},
        {
            "key": "cycle",
            "label": "理赔周期",
            "weight": "20",
            "source": "linked:claim_cycle_days",
            "unit": "天",
            "factor": {
                "kind": "bands",
                "bands": [
                    {"upto": "2", "factor": "1"},
                    {"upto": "3", "factor": "0.5"},
                    {"upto": None, "factor": "0"},
                ],
            },
            "missing": {"factor": "0"},
        },
    ],
    "multipliers": [CLAIMS_MULTIPLIER],
}

# HR: 70% own scorecard, 30% tied to sales' new-agent 3-month attainment (DOMAIN.md §2.6).
HR_PLAN: dict[str, Any] = {
    "base": {"kind": "per_person"},
    "components": [
        {**OWN_SCORE, "weight": "70"},
        {
            "key": "sales",
            "label": "销售新人三个月达成",
            "weight": "30",
            "source": "linked:new_agent_attainment_3m",
            "unit": "%",
            "factor": {"kind": "linear", "per_point": "0.01", "floor": "0", "cap": "1.2"},
            "missing": {"factor": "0"},
        },
    ],
}


def dec(values: list[str]) -> list[Decimal]:
    return [Decimal(v) for v in values]


def finance_frame(cycles: list[Any], payments: list[Any], scores: list[Any] | None = None) -> pl.DataFrame:
    n = len(cycles)
    return pl.DataFrame(
        {
            "person_id": list(range(1, n + 1)),
            "score": scores if scores is not None else [100.0] * n,
            "linked:claim_cycle_days": cycles,
            "own:claim_payment_days": payments,
        },
        schema_overrides={"score": pl.Float64},
    )


# --- DOMAIN.md §2.6: the finance multiplier at and on both sides of every boundary -------------------------

MULTIPLIER_ONLY: dict[str, Any] = {
    "base": {"kind": "fixed", "amount": "8765.43"},
    "components": [OWN_SCORE],
    "multipliers": [CLAIMS_MULTIPLIER],
}


@pytest.mark.parametrize(
    ("cycle", "payment", "branch", "band", "factor", "amount"),
    [
        # base 8765.43 at 100%: × 1.20 = 10518.516 → 10518.52; × 0.80 = 7012.344 → 7012.34;
        # × 0.90 = 7888.887 → 7888.89 (each rounded half up once).
        ("1.99", "1", "then", 0, "1.20", "10518.52"),
        ("2", "0.99", "then", 0, "1.20", "10518.52"),
        ("2", "1", "then", 0, "1.20", "10518.52"),  # exactly 1 day is still ≤ 1
        ("2", "1.01", "then", 1, "1.00", "8765.43"),
        ("2", "1.99", "then", 1, "1.00", "8765.43"),
        ("2", "2", "then", 1, "1.00", "8765.43"),  # exactly 2 days is still ≤ 2
        ("2", "2.01", "then", 2, "0.80", "7012.34"),
        ("1", "30", "then", 2, "0.80", "7012.34"),
        ("2.01", "0.5", "else", None, "0.90", "7888.89"),  # claims missed: −10% whatever the payment time
        ("2.01", "2.01", "else", None, "0.90", "7888.89"),
        ("3", "1", "else", None, "0.90", "7888.89"),
    ],
)
@pytest.mark.parametrize("dtype", [pl.Float64, pl.Decimal(10, 2)])
def test_finance_multiplier_in_each_band_and_the_minus_10_percent_branch(
    cycle: str, payment: str, branch: str, band: int | None, factor: str, amount: str, dtype: pl.DataType
) -> None:
    frame = finance_frame([Decimal(cycle)], [Decimal(payment)]).with_columns(
        pl.col("linked:claim_cycle_days", "own:claim_payment_days").cast(dtype)
    )
    row = compute(parse_plan(MULTIPLIER_ONLY), frame).amounts.row(0, named=True)
    assert row["claims.branch"] == branch
    assert row["claims.band"] == band
    assert row["claims.factor"] == Decimal(factor)
    assert row["multiplier"] == Decimal(factor)
    assert row["amount"] == Decimal(amount)
    assert row["amount"] == (Decimal("8765.43") * Decimal(factor)).quantize(FEN, ROUND_HALF_UP)


def test_finance_plan_with_20_percent_tied_to_the_claims_cycle() -> None:
    # Base 10000.00, score 90: own = 10000 × 80% × 0.9 = 7200.00.
    # Cycle ≤ 2 → the cycle component pays 10000 × 20% × 1 = 2000.00; subtotal 9200.00, then the payment bands.
    # Cycle in (2, 3] → 1000.00, subtotal 8200.00 × 0.90 = 7380.00; cycle > 3 → 0, 7200.00 × 0.90 = 6480.00.
    frame = finance_frame(
        dec(["2", "2", "2", "2", "2.01", "3.01"]),
        dec(["1", "1.01", "2", "2.01", "1", "1"]),
        scores=[90.0] * 6,
    )
    amounts = compute(parse_plan(FINANCE_PLAN), frame).amounts
    assert amounts["own.amount"].to_list() == dec(["7200.00"] * 6)
    assert amounts["cycle.amount"].to_list() == dec(["2000.00"] * 4 + ["1000.00", "0.00"])
    assert amounts["subtotal"].to_list() == dec(["9200.00"] * 4 + ["8200.00", "7200.00"])
    assert amounts["amount"].to_list() == dec(
        ["11040.00", "9200.00", "9200.00", "7360.00", "7380.00", "6480.00"]
    )


def test_finance_bonus_changes_when_and_only_when_the_cycle_or_payment_time_changes() -> None:
    plan = parse_plan(FINANCE_PLAN)
    before = compute(plan, finance_frame(dec(["1.5"]), dec(["0.8"]), [90.0]))
    same = compute(plan, finance_frame(dec(["1.6"]), dec(["0.9"]), [90.0]))  # same bands: same bonus
    slower = compute(plan, finance_frame(dec(["1.5"]), dec(["1.2"]), [90.0]))
    missed = compute(plan, finance_frame(dec(["2.5"]), dec(["0.8"]), [90.0]))
    assert before.total == same.total == Decimal("11040.00")
    assert slower.total == Decimal("9200.00")
    assert missed.total == Decimal("7380.00")


def test_exclusive_band_bound_puts_the_boundary_in_the_next_band() -> None:
    plan = copy.deepcopy(MULTIPLIER_ONLY)
    plan["multipliers"][0]["then"]["bands"][0]["inclusive"] = False  # < 1 day → 120%, from 1 day → 100%
    amounts = compute(parse_plan(plan), finance_frame(dec(["2", "2"]), dec(["0.99", "1"]))).amounts
    assert amounts["claims.band"].to_list() == [0, 1]
    lines = compute(parse_plan(plan), finance_frame(dec(["2"]), dec(["1"]))).lines
    assert lines.filter(kind="multiplier")["detail"].to_list() == [
        "own:claim_payment_days = 1 天: ≥ 1 天, ≤ 2 天 → 100%"
    ]


# --- DOMAIN.md §2.6: HR's 30% weighting ------------------------------------------------------------------------


def test_hr_bonus_is_70_percent_own_score_and_30_percent_sales_new_agent_attainment() -> None:
    frame = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "base": dec(["20000.00", "20000.00", "12345.67"]),
            "score": [88.0, 95.0, 91.5],
            "linked:new_agent_attainment_3m": [66.7, 130.0, 66.7],  # 12 of 18 reached 100,000 → 66.7%
        }
    )
    amounts = compute(parse_plan(HR_PLAN), frame).amounts
    # 1: own 20000 × 70% × 0.88 = 12320.00; sales 20000 × 30% × 0.667 = 4002.00; total 16322.00.
    # 2: own 20000 × 70% × 0.95 = 13300.00; attainment 130% → 1.3, capped at 1.2 → 20000 × 30% × 1.2 = 7200.00.
    # 3: own 12345.67 × 0.6405 = 7907.401635 → 7907.40; sales 12345.67 × 0.2001 = 2470.368567 → 2470.37.
    assert amounts["own.factor"].to_list() == dec(["0.88", "0.95", "0.915"])
    assert amounts["sales.factor"].to_list() == dec(["0.667", "1.2", "0.667"])
    assert amounts["own.amount"].to_list() == dec(["12320.00", "13300.00", "7907.40"])
    assert amounts["sales.amount"].to_list() == dec(["4002.00", "7200.00", "2470.37"])
    assert amounts["amount"].to_list() == dec(["16322.00", "20500.00", "10377.77"])
    sales = compute(parse_plan(HR_PLAN), frame).lines.filter(kind="component", key="sales", person_id=2)
    assert sales["detail"].to_list() == [
        "linked:new_agent_attainment_3m = 130%: 0.01 × 130% = 1.3 → 封顶 1.2; 20000.00 × 30% × 1.2 = 7200.00"
    ]


def test_each_component_amount_is_rounded_half_up_once_and_the_subtotal_is_their_exact_sum() -> None:
    plan = copy.deepcopy(HR_PLAN)
    plan["components"][0]["weight"] = plan["components"][1]["weight"] = "50"
    frame = pl.DataFrame(
        {
            "person_id": [1],
            "base": dec(["100.01"]),
            "score": [100.0],
            "linked:new_agent_attainment_3m": [100.0],
        }
    )
    row = compute(parse_plan(plan), frame).amounts.row(0, named=True)
    # Each line is 100.01 × 50% × 1 = 50.005 → 50.01 (half up, not half even); the subtotal adds the lines.
    assert [row["own.amount"], row["sales.amount"], row["subtotal"]] == dec(["50.01", "50.01", "100.02"])


# --- the statement ---------------------------------------------------------------------------------------------


def test_statement_writes_out_every_step_of_the_finance_bonus() -> None:
    frame = finance_frame(dec(["1.5"]), dec(["0.8"]), [90.0])
    lines = compute(parse_plan({**FINANCE_PLAN, "cap": "11000"}), frame).lines
    assert lines.select("seq", "kind", "label", "branch", "band", "factor", "amount", "detail").rows() == [
        (1, "base", "奖金基数", None, None, None, Decimal("10000.00"), "固定基数 10000.00"),
        (
            2,
            "component",
            "本人考核",
            None,
            None,
            Decimal("0.9"),
            Decimal("7200.00"),
            "score = 90: 90 ÷ 100 = 0.9; 10000.00 × 80% × 0.9 = 7200.00",
        ),
        (
            3,
            "component",
            "理赔周期",
            None,
            0,
            Decimal("1"),
            Decimal("2000.00"),
            "linked:claim_cycle_days = 1.5 天: ≤ 2 天 → 1; 10000.00 × 20% × 1 = 2000.00",
        ),
        (4, "subtotal", "小计", None, None, None, Decimal("9200.00"), "7200.00 + 2000.00 = 9200.00"),
        (
            5,
            "condition",
            "理赔周期联动",
            "then",
            None,
            None,
            None,
            "linked:claim_cycle_days = 1.5 天 ≤ 2 天 (满足)",
        ),
        (
            6,
            "multiplier",
            "理赔周期联动",
            "then",
            0,
            Decimal("1.2"),
            None,
            "own:claim_payment_days = 0.8 天: ≤ 1 天 → 120%",
        ),
        (
            7,
            "multipliers",
            "乘数合计",
            None,
            None,
            Decimal("1.2"),
            Decimal("11040.00"),
            "9200.00 × 1.2 = 11040.00",
        ),
        (8, "cap", "封顶", None, None, None, Decimal("11000.00"), "11040.00 > 封顶 11000.00 → 11000.00"),
        (9, "amount", "应发金额", None, None, None, Decimal("11000.00"), "11000.00"),
    ]
    assert lines.filter(kind="multiplier")["value"].to_list() == [Decimal("0.8")]
    assert dict(lines.schema) == LINE_SCHEMA


def test_statement_writes_out_the_missed_target_and_the_middle_band() -> None:
    lines = compute(parse_plan(MULTIPLIER_ONLY), finance_frame(dec(["2.01", "2"]), dec(["0.5", "1.5"]))).lines
    conditions = lines.filter(kind="condition")["detail"].to_list()
    multipliers = lines.filter(kind="multiplier")["detail"].to_list()
    assert conditions == [
        "linked:claim_cycle_days = 2.01 天 > 2 天 (不满足)",
        "linked:claim_cycle_days = 2 天 ≤ 2 天 (满足)",
    ]
    assert multipliers == ["不满足 → 90%", "own:claim_payment_days = 1.5 天: > 1 天, ≤ 2 天 → 100%"]


SATISFACTION_MULTIPLIER: dict[str, Any] = {
    "key": "satisfaction",
    "label": "理赔满意度",
    "then": {
        "input": "linked:claimant_satisfaction",
        "unit": "分",
        "bands": [{"upto": "6", "inclusive": False, "factor": "0.9"}, {"upto": None, "factor": "1"}],
    },
    "missing": {"factor": "1"},
}


def test_multipliers_combine_into_one_exact_product_whatever_their_order() -> None:
    frame = finance_frame(dec(["2"]), dec(["1"])).with_columns(
        pl.Series("linked:claimant_satisfaction", dec(["5.9"]))
    )
    results = [
        compute(parse_plan({**MULTIPLIER_ONLY, "multipliers": order}), frame)
        for order in (
            [CLAIMS_MULTIPLIER, SATISFACTION_MULTIPLIER],
            [SATISFACTION_MULTIPLIER, CLAIMS_MULTIPLIER],
        )
    ]
    for result in results:
        row = result.amounts.row(0, named=True)
        # 1.20 × 0.9 = 1.08 exactly; 8765.43 × 1.08 = 9466.6644 → 9466.66, rounded once.
        assert (row["multiplier"], row["amount"]) == (Decimal("1.08"), Decimal("9466.66"))
    unconditional = results[0].lines.filter(kind="multiplier", key="satisfaction")
    assert unconditional["detail"].to_list() == ["linked:claimant_satisfaction = 5.9 分: < 6 分 → 90%"]
    assert (
        results[0].lines.filter(kind="condition", key="satisfaction").height == 0
    )  # no when: no condition line


# --- missing inputs take the explicit missing branch -------------------------------------------------------------


def test_missing_inputs_take_the_explicit_missing_branch_and_the_statement_says_so() -> None:
    frame = finance_frame(
        [None, Decimal("1.5"), Decimal("2.5"), Decimal("1.5")],
        [Decimal("0.5"), None, None, Decimal("0.5")],
        scores=[100.0, 100.0, 100.0, None],
    )
    result = compute(parse_plan(MULTIPLIER_ONLY), frame)
    # 1: no claims cycle → missing (×1.00) whatever the payment time; 2: cycle met but no payment time → missing;
    # 3: cycle missed, and the else branch reads no payment time → else (×0.90); 4: no score → own factor 0.
    assert result.amounts["claims.branch"].to_list() == ["missing", "missing", "else", "then"]
    assert result.amounts["amount"].to_list() == dec(["8765.43", "8765.43", "7888.89", "0.00"])
    multiplier = result.lines.filter(kind="multiplier")
    assert multiplier["input"].to_list()[:2] == ["linked:claim_cycle_days", "own:claim_payment_days"]
    assert multiplier["detail"].to_list()[:2] == [
        "linked:claim_cycle_days 缺少数据 → 100%",
        "own:claim_payment_days 缺少数据 → 100%",
    ]
    assert result.lines.filter(kind="condition", person_id=1)["detail"].to_list() == [
        "linked:claim_cycle_days 缺少数据"
    ]
    own = result.lines.filter(kind="component", person_id=4)
    assert own["branch"].to_list() == ["missing"]
    assert own["detail"].to_list() == ["score 缺少数据 → 0; 8765.43 × 100% × 0 = 0.00"]
    # The few words of the statement come from Wording, so the web layer can pass translated ones.
    english = compute(parse_plan(MULTIPLIER_ONLY), frame, wording=Wording(missing="no data")).lines
    assert english.filter(kind="multiplier", person_id=1)["detail"].to_list() == [
        "linked:claim_cycle_days no data → 100%"
    ]


# --- floor, cap, pool ---------------------------------------------------------------------------------------------


def test_floor_and_cap_hold_and_are_flagged_and_explained() -> None:
    plan = parse_plan(
        {
            "base": {"kind": "fixed", "amount": "10000.00"},
            "components": [{**OWN_SCORE, "factor": {"kind": "ratio", "per": "100"}}],
            "floor": "1000",
            "cap": "12000",
        }
    )
    frame = pl.DataFrame({"person_id": [1, 2, 3], "score": [5.0, 50.0, 130.0]})
    result = compute(plan, frame)
    assert result.amounts["after_multipliers"].to_list() == dec(["500.00", "5000.00", "13000.00"])
    assert result.amounts["amount"].to_list() == dec(["1000.00", "5000.00", "12000.00"])
    assert result.amounts["floored"].to_list() == [True, False, False]
    assert result.amounts["capped"].to_list() == [False, False, True]
    limits = result.lines.filter(pl.col("kind").is_in(["floor", "cap"]))
    assert limits.select("person_id", "detail").rows() == [
        (1, "500.00 < 保底 1000.00 → 1000.00"),
        (3, "13000.00 > 封顶 12000.00 → 12000.00"),
    ]


def test_pool_scales_down_by_largest_remainder_to_the_fen() -> None:
    plan = parse_plan({**MULTIPLIER_ONLY, "base": {"kind": "per_person"}, "pool": "100.00"})
    frame = finance_frame(dec(["3"] * 3), dec(["1"] * 3)).with_columns(
        base=pl.Series(dec(["100", "100", "100"]))
    )
    result = compute(plan, frame)
    # 3 × 90.00 = 270.00 > 100.00: each 90 × 100 / 270 = 33.333… → 33.33 + the leftover fen to person 1 (ties).
    assert result.pooled
    assert result.total_before_pool == Decimal("270.00")
    assert result.amounts["amount"].to_list() == dec(["33.34", "33.33", "33.33"])
    assert result.total == Decimal("100.00")
    assert result.amounts["pool_scale"].to_list() == [Decimal("0.370370")] * 3
    assert result.lines.filter(kind="pool", person_id=1)["detail"].to_list() == [
        "奖金池 100.00 ÷ 合计 270.00 ≈ 0.37037: 90.00 → 33.34 (最大余数法)"
    ]


def test_pool_never_scales_up() -> None:
    plan = parse_plan({**MULTIPLIER_ONLY, "pool": "1000000"})
    result = compute(plan, finance_frame(dec(["3"]), dec(["1"])))
    assert not result.pooled
    assert result.amounts["amount"].to_list() == dec(["7888.89"])
    assert result.lines.filter(kind="pool").height == 0


def test_largest_remainder_beats_bigger_floor_and_ties_go_to_the_smaller_person_id() -> None:
    amounts = pl.Series(dec(["1.00", "2.00", "2.00", "0.00"]))
    # pool 4.00 over 5.00: exact 0.8, 1.6, 1.6, 0 → floors 0.80, 1.60, 1.60, 0 = 4.00: nothing left over.
    assert allocate_pool(amounts, Decimal("4.00")).to_list() == dec(["0.80", "1.60", "1.60", "0.00"])
    # pool 0.05 over 5.00: exact 0.01, 0.02, 0.02, 0 → exact again; pool 0.04: 0.008, 0.016, 0.016 → floors
    # 0.00, 0.01, 0.01, remainders .8, .6, .6 (in fen): the 2 fen left go to rows 0 and 1 (tie 1 < 2).
    assert allocate_pool(amounts, Decimal("0.04")).to_list() == dec(["0.01", "0.02", "0.01", "0.00"])
    ties = pl.Series([9, 8, 7, 6])
    assert allocate_pool(amounts, Decimal("0.04"), ties=ties).to_list() == dec(
        ["0.01", "0.01", "0.02", "0.00"]
    )


# --- compute refuses frames it cannot pay exactly -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"person_id": [1, 1], "score": [1.0, 2.0]}), "person_id must be unique; repeated: 1"),
        (pl.DataFrame({"person_id": [1], "score": [1.0]}), "no column 'base'"),
        (pl.DataFrame({"person_id": [1], "base": [1.5], "score": [1.0]}), "not float"),
        (
            pl.DataFrame({"person_id": [1], "base": dec(["1.005"]), "score": [1.0]}),
            "not a whole number of fen",
        ),
        (
            pl.DataFrame({"person_id": [1, 2], "base": dec(["-1", "1"]), "score": [1.0, 1.0]}),
            "negative for person_id 1",
        ),
        (
            pl.DataFrame(
                {"person_id": [7], "base": [None], "score": [1.0]},
                schema_overrides={"base": pl.Decimal(10, 2)},
            ),
            "base is missing for person_id 7",
        ),
        (pl.DataFrame({"person_id": [1], "base": dec(["1"])}), "no column 'score'"),
        (pl.DataFrame({"person_id": [1], "base": dec(["1"]), "score": [1e15]}), "beyond"),
    ],
)
def test_compute_refuses_frames_it_cannot_pay_exactly(frame: pl.DataFrame, message: str) -> None:
    plan = parse_plan({"base": {"kind": "per_person"}, "components": [OWN_SCORE]})
    with pytest.raises(ValueError, match=message):
        compute(plan, frame)


# --- parse errors name the spot ---------------------------------------------------------------------------------


def edit(path: str, value: Any, plan: dict[str, Any] = FINANCE_PLAN) -> dict[str, Any]:
    """A deep copy of ``plan`` with the part at ``path`` (dots and [i]) replaced; ``...`` deletes it."""
    data = copy.deepcopy(plan)
    parts = path.replace("[", ".").replace("]", "").split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "components[1].weight",
            "10",
            "components: weights must add up to exactly 100, not 90 (own 80 + cycle 10)",
        ),
        ("components[1].weight", "0", "components[1].weight must be a percentage above 0"),
        (
            "multipliers[0].then.bands[1].upto",
            "0.5",
            "multipliers[0].then.bands[1].upto must be greater than bands[0].upto",
        ),
        (
            "multipliers[0].then.bands[1].upto",
            "1",
            "multipliers[0].then.bands[1].upto must be greater than bands[0].upto",
        ),
        (
            "multipliers[0].then.bands[0].upto",
            None,
            "multipliers[0].then.bands[0].upto must not be null: only the last",
        ),
        ("multipliers[0].then.bands[2].upto", "3", "multipliers[0].then.bands[2].upto must be null"),
        (
            "multipliers[0].then.bands[2].inclusive",
            False,
            "multipliers[0].then.bands[2].inclusive has no meaning",
        ),
        (
            "multipliers[0].then.bands",
            [{"upto": None, "factor": 1}],
            "multipliers[0].then.bands must be a list of at least two",
        ),
        (
            "multipliers[0].then.bands[1].factor",
            "-0.5",
            "multipliers[0].then.bands[1].factor must not be negative",
        ),
        (
            "multipliers[0].then.bands[1].factor",
            "1.2345678",
            "multipliers[0].then.bands[1].factor has more than 6 decimal places",
        ),
        (
            "multipliers[0].then.input",
            "team:claims",
            "multipliers[0].then.input: unknown input kind 'team:claims'",
        ),
        ("components[0].source", "scores", "components[0].source: unknown input kind 'scores'"),
        ("components[1].source", "linked:Cycle", "components[1].source: 'Cycle' is not a metric code"),
        ("multipliers[0].when.op", "eq", "multipliers[0].when.op must be one of lt, le, gt, ge"),
        ("multipliers[0].when.value", "two", "multipliers[0].when.value must be a number"),
        ("multipliers[0].else", ..., "multipliers[0].else is required with a when"),
        ("multipliers[0].missing", {}, "multipliers[0].missing needs a rule (leave_out) or a factor"),
        ("components[0].missing", {"factor": None}, "components[0].missing needs a rule (leave_out, hold"),
        (
            "components[0].missing",
            {"rule": "sometimes"},
            "components[0].missing.rule must be one of leave_out, hold, zero (or give a factor)",
        ),
        ("components[0].missing", {"rule": "factor"}, "components[0].missing.rule must be one of"),
        (
            "components[1].missing",
            {"rule": "hold", "factor": "1"},
            "components[1].missing: give either a rule or a factor, not both",
        ),
        ("multipliers[0].missing", {"rule": "hold"}, "multipliers[0].missing.rule must be one of leave_out"),
        ("components[1].maturity", "later", "components[1].maturity must be 'provisional' or 'cohort'"),
        ("components[0].maturity", "cohort", "components[0].maturity cannot be 'cohort' for the score"),
        ("multipliers[0].else.factor", "-0.9", "multipliers[0].else.factor must not be negative"),
        ("multipliers[0].then.bandz", [], "multipliers[0].then.bandz is not a known key"),
        ("multipliers[0].key", "own", "multipliers[0].key 'own' is already used by components[0]"),
        (
            "components[0].factor.kind",
            "sigmoid",
            "components[0].factor.kind must be 'ratio', 'linear' or 'bands'",
        ),
        ("components[0].factor.per", "0", "components[0].factor.per must be positive"),
        (
            "components[0].factor.floor",
            "2",
            "components[0].factor.cap must not be below components[0].factor.floor",
        ),
        ("components[0].label", " ", "components[0].label must be a non-empty text"),
        ("base.amount", "-1", "base.amount must not be negative"),
        ("base.amount", "1.005", "base.amount has more than 2 decimal places"),
        ("base.kind", "monthly", "base.kind must be 'fixed' or 'per_person'"),
        ("cap", "-5", "cap must not be negative"),
        ("pool", "-100", "pool must not be negative"),
        ("floor", "-1", "floor must not be negative"),
        ("components", [], "components must be a non-empty list"),
        ("bonus", 1, "bonus is not a known key"),
    ],
)
def test_parse_errors_name_the_faulty_part(path: str, value: Any, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(edit(path, value))
    assert str(caught.value).startswith(message), str(caught.value)


def test_cap_below_floor_and_an_unconditional_fixed_multiplier_are_refused() -> None:
    with pytest.raises(PlanError, match=r"^cap must not be below floor"):
        parse_plan({**FINANCE_PLAN, "floor": "100", "cap": "50"})
    constant = {"key": "x", "label": "x", "then": {"factor": "1.1"}, "missing": {"factor": "1"}}
    with pytest.raises(PlanError, match=r"^multipliers\[1\] reads no input"):
        parse_plan({**FINANCE_PLAN, "multipliers": [CLAIMS_MULTIPLIER, constant]})


def test_parsed_plans_are_frozen_and_list_their_inputs() -> None:
    plan = parse_plan(FINANCE_PLAN)
    assert plan.inputs() == ("score", "linked:claim_cycle_days", "own:claim_payment_days")
    with pytest.raises(AttributeError):
        plan.floor = Decimal(1)  # type: ignore[misc]


# --- properties ---------------------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
factors = st.decimals(min_value=0, max_value=2, places=2)


@st.composite
def monotone_plans(draw: st.DrawFn, *, pool: bool) -> dict[str, Any]:
    """Plans whose bonus can only rise with the score: non-negative factors, non-decreasing bands."""
    k = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=k - 1, max_size=k - 1, unique=True)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    components = []
    for i, weight in enumerate(weights):
        kind = draw(st.sampled_from(["ratio", "linear", "bands"]))
        if kind == "ratio":
            rule: dict[str, Any] = {"kind": "ratio", "per": str(draw(st.sampled_from([1, 3, 7, 100])))}
        elif kind == "linear":
            rule = {"kind": "linear", "per_point": str(draw(factors)), "intercept": str(draw(factors))}
        else:
            low, high = sorted(draw(st.lists(factors, min_size=2, max_size=2)))
            rule = {
                "kind": "bands",
                "bands": [{"upto": "60", "factor": str(low)}, {"upto": None, "factor": str(high)}],
            }
        if kind != "bands" and draw(st.booleans()):
            rule["cap"] = "1.5"
        source = "score" if i == 0 else draw(st.sampled_from(["score", "linked:outcome"]))
        component = {
            "key": f"c{i}",
            "label": f"c{i}",
            "weight": str(weight),
            "source": source,
            "factor": rule,
        }
        # Every rule for a missing input (absent: leave out and re-weight); none can make a bonus fall as a
        # present score rises, since raising a score never makes an input missing or present.
        missing = draw(st.sampled_from([None, "leave_out", "hold", "zero", "factor"]))
        if missing == "factor":
            component["missing"] = {"factor": "0"}
        elif missing is not None:
            component["missing"] = {"rule": missing}
        components.append(component)
    low, high = sorted(draw(st.lists(factors, min_size=2, max_size=2)))
    multipliers = [
        {
            "key": "link",
            "label": "link",
            "when": {
                "input": "linked:outcome",
                "op": draw(st.sampled_from(["lt", "le", "gt", "ge"])),
                "value": "50",
            },
            "then": {
                "input": "score",
                "bands": [{"upto": "80", "factor": str(low)}, {"upto": None, "factor": str(high)}],
            },
            "else": {"factor": str(draw(factors))},
            **draw(st.sampled_from([{}, {"missing": {"factor": "1"}}, {"missing": {"rule": "leave_out"}}])),
        }
    ]
    floor = draw(st.sampled_from([0, 100, 1000]))
    plan: dict[str, Any] = {
        "base": {"kind": "per_person"},
        "components": components,
        "multipliers": draw(st.sampled_from([[], multipliers])),
        "floor": str(floor),
        "cap": str(floor + draw(st.sampled_from([500, 5000, 50000]))),
    }
    if pool:
        plan["pool"] = str(draw(st.decimals(min_value=0, max_value=100000, places=2)))
    return plan


@st.composite
def people(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    return pl.DataFrame(
        {
            "person_id": ids,
            "base": draw(
                st.lists(st.decimals(min_value=0, max_value=50000, places=2), min_size=n, max_size=n)
            ),
            "score": draw(
                st.lists(
                    st.one_of(st.none(), st.floats(0, 150, allow_nan=False).map(lambda x: round(x, 2))),
                    min_size=n,
                    max_size=n,
                )
            ),
            "linked:outcome": draw(
                st.lists(
                    st.one_of(st.none(), st.floats(0, 100).map(lambda x: round(x, 2))), min_size=n, max_size=n
                )
            ),
        },
        schema_overrides={"base": pl.Decimal(18, 2), "score": pl.Float64, "linked:outcome": pl.Float64},
    )


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=True), frame=people())
def test_pool_is_met_exactly_and_limits_hold_and_runs_are_deterministic(
    plan: dict[str, Any], frame: pl.DataFrame
) -> None:
    parsed = parse_plan(plan)
    result = compute(parsed, frame)
    amounts = result.amounts
    pool, before = Decimal(plan["pool"]), sum(amounts["after_limits"].to_list(), Decimal(0))
    assert result.total_before_pool == before
    event("pooled" if before > pool else "under the pool")
    if before > pool:
        assert result.pooled and sum(amounts["amount"].to_list(), Decimal(0)) == pool
    else:
        assert not result.pooled and amounts["amount"].to_list() == amounts["after_limits"].to_list()
    # Never more than the unscaled amount; floor and cap hold before pooling.
    assert (amounts["amount"] <= amounts["after_limits"]).all()
    assert (amounts["after_limits"] >= Decimal(plan["floor"])).all()
    assert (amounts["after_limits"] <= Decimal(plan["cap"])).all()
    # Deterministic, whatever the order of the rows.
    again = compute(parsed, frame.sample(fraction=1.0, shuffle=True, seed=7))
    assert again.amounts.equals(amounts)
    assert again.lines.equals(result.lines)


@PROPERTY_SETTINGS
@given(
    plan=monotone_plans(pool=False), frame=people(), raise_by=st.floats(0.01, 50).map(lambda x: round(x, 2))
)
def test_a_higher_score_never_gives_a_lower_bonus_under_a_monotone_plan(
    plan: dict[str, Any], frame: pl.DataFrame, raise_by: float
) -> None:
    parsed = parse_plan(plan)
    before = compute(parsed, frame).amounts["amount"]
    after = compute(parsed, frame.with_columns(pl.col("score") + raise_by)).amounts["amount"]
    assert (after >= before).all()


@PROPERTY_SETTINGS
@given(
    amounts=st.lists(st.decimals(min_value=0, max_value=100000, places=2), min_size=1, max_size=30),
    pool=st.decimals(min_value=0, max_value=100000, places=2),
)
def test_vectorised_pool_allocation_matches_the_decimal_reference(
    amounts: list[Decimal], pool: Decimal
) -> None:
    out = allocate_pool(pl.Series(amounts, dtype=pl.Decimal(18, 2)), pool).to_list()
    if sum(amounts) > pool:
        assert out == allocate_to_fen(amounts, pool)
        assert sum(out) == pool
    else:
        assert out == amounts
    assert all(o <= a for o, a in zip(out, amounts, strict=True))
