"""Missing inputs by the plan's rule (leave out and re-weight, hold, zero, a fixed factor) and maturity marks
(暂估, matured cohorts): DOMAIN.md §3a "Missing is not zero" and "Maturity", issue 13 findings 2 and 3."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from perflink.engine.incentives import PlanError, Wording, compute, parse_plan
from perflink.engine.incentives.plan import Maturity, MissingRule
from perflink.engine.incentives.statement import LINE_SCHEMA
from perflink.engine.tests.test_incentives import (
    FINANCE_PLAN,
    PROPERTY_SETTINGS,
    monotone_plans,
    people,
)

FEN = Decimal("0.01")
ATTAINMENT = "linked:new_agent_attainment_3m"
DEMAND = "linked:demand_points"

# HR as a customer wrote it: half own appraisal, 30% on sales' new agents (a forward-looking 3-month window,
# read from the cohort that matured), 20% on collaboration demand points; no `missing` anywhere, so a missing
# input is left out and the other weights scale up, as on scorecards.
HR_PLAN: dict[str, Any] = {
    "base": {"kind": "per_person"},
    "components": [
        {
            "key": "own",
            "label": "本人考核",
            "weight": "50",
            "source": "score",
            "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
        },
        {
            "key": "sales",
            "label": "销售新人三个月达成",
            "weight": "30",
            "source": ATTAINMENT,
            "unit": "%",
            "factor": {"kind": "linear", "per_point": "0.01", "floor": "0", "cap": "1.2"},
        },
        {
            "key": "demand",
            "label": "协同需求积分",
            "weight": "20",
            "source": DEMAND,
            "unit": "分",
            "factor": {"kind": "ratio", "per": "40", "cap": "1.5"},
        },
    ],
}


def dec(values: list[str]) -> list[Decimal]:
    return [Decimal(v) for v in values]


def with_missing(plan: dict[str, Any], key: str, missing: dict[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(plan)
    for component in data["components"]:
        if component["key"] == key:
            component.pop("missing", None)
            if missing is not None:
                component["missing"] = missing
    return data


def hr_frame(**columns: Any) -> pl.DataFrame:
    """Three HR staff of a branch, bases imported per person, October 2026."""
    data: dict[str, Any] = {
        "person_id": [3101, 3102, 3107],
        "base": dec(["18000.00", "15500.00", "21250.50"]),
        "score": [92.5, 88.0, 101.0],
        ATTAINMENT: [72.3, 72.3, 72.3],
        DEMAND: [36.0, 44.0, 40.0],
    }
    data.update(columns)
    return pl.DataFrame(
        data, schema_overrides={"score": pl.Float64, ATTAINMENT: pl.Float64, DEMAND: pl.Float64}
    )


# --- parsing ------------------------------------------------------------------------------------------------------


def test_given_no_missing_key_when_parsed_then_components_leave_out_and_multipliers_do_not_apply() -> None:
    multiplier = copy.deepcopy(FINANCE_PLAN["multipliers"][0])
    del multiplier["missing"]
    plan = parse_plan({**HR_PLAN, "multipliers": [multiplier]})
    assert [c.missing for c in plan.components] == [MissingRule.LEAVE_OUT] * 3
    assert [c.missing_factor for c in plan.components] == [None] * 3
    assert (plan.multipliers[0].missing, plan.multipliers[0].missing_factor) == (MissingRule.LEAVE_OUT, 1)


@pytest.mark.parametrize(
    ("missing", "rule", "factor"),
    [
        ({"rule": "leave_out"}, MissingRule.LEAVE_OUT, None),
        ({"rule": "hold"}, MissingRule.HOLD, Decimal(1)),
        ({"rule": "zero"}, MissingRule.ZERO, Decimal(0)),
        ({"factor": "0.6"}, MissingRule.FACTOR, Decimal("0.6")),
    ],
)
def test_given_each_missing_form_when_parsed_then_rule_and_factor_follow(
    missing: dict[str, Any], rule: MissingRule, factor: Decimal | None
) -> None:
    component = parse_plan(with_missing(HR_PLAN, "sales", missing)).components[1]
    assert (component.missing, component.missing_factor) == (rule, factor)


def test_given_a_cohort_component_when_listing_inputs_then_it_reads_the_cohort_column() -> None:
    plan = copy.deepcopy(HR_PLAN)
    plan["components"][1]["maturity"] = "cohort"
    parsed = parse_plan(plan)
    assert parsed.components[1].maturity is Maturity.COHORT
    assert parsed.components[2].maturity is Maturity.PROVISIONAL
    assert parsed.inputs() == ("score", f"{ATTAINMENT}@cohort", DEMAND)
    assert parsed.sources() == ("score", ATTAINMENT, DEMAND)  # the metrics, as the plan names them


def test_given_a_multiplier_with_zero_rule_when_parsed_then_the_message_names_the_path() -> None:
    multiplier = {**FINANCE_PLAN["multipliers"][0], "missing": {"rule": "zero"}}
    with pytest.raises(PlanError, match=r"^multipliers\[0\]\.missing\.rule must be one of leave_out"):
        parse_plan({**HR_PLAN, "multipliers": [multiplier]})


# --- leave out and re-weight --------------------------------------------------------------------------------------


def test_given_sales_attainment_missing_when_paid_then_it_is_left_out_and_the_other_weights_scale_up() -> (
    None
):
    frame = hr_frame(
        **{
            ATTAINMENT: [None, 72.3, None],
            f"{ATTAINMENT}.why": ["等待 个险业务部负责人 确认", None, None],
        }
    )
    result = compute(parse_plan(HR_PLAN), frame)
    amounts = result.amounts
    # 3101: 50 + 20 = 70 present → own 50 × 100 / 70 = 71.428571%, demand 20 × 100 / 70 = 28.571429%.
    # own 18000 × 71.428571% × 0.925 = 11892.857… → 11892.86; demand 18000 × 28.571429% × 0.9 = 4628.571… →
    # 4628.57; 3107: 21250.50 × 71.428571% × 1.01 = 15330.717… → 15330.72, 21250.50 × 28.571429% = 6071.571….
    assert amounts["own.weight"].to_list() == dec(["71.428571", "50", "71.428571"])
    assert amounts["sales.weight"].to_list() == dec(["0", "30", "0"])
    assert amounts["demand.weight"].to_list() == dec(["28.571429", "20", "28.571429"])
    assert amounts["sales.missing"].to_list() == ["leave_out", None, "leave_out"]
    assert amounts["sales.factor"].to_list() == [None, Decimal("0.723"), None]
    assert amounts["sales.amount"].to_list() == dec(["0.00", "3361.95", "0.00"])
    assert amounts["own.amount"].to_list() == dec(["11892.86", "6820.00", "15330.72"])
    assert amounts["demand.amount"].to_list() == dec(["4628.57", "3410.00", "6071.57"])
    assert amounts["amount"].to_list() == dec(["16521.43", "13591.95", "21402.29"])
    line = result.lines.filter(kind="component", key="sales", person_id=3101)
    assert line["detail"].to_list() == [
        "销售新人三个月达成：输入缺失（等待 个险业务部负责人 确认），按方案规则不计入，其余权重按比例放大"
        "（本人考核 50% → 71.428571%、协同需求积分 20% → 28.571429%）"
    ]
    assert (line["branch"].item(), line["factor"].item(), line["amount"].item()) == ("missing", None, 0)
    # Without a reason, the statement names the input that is missing.
    assert (
        result.lines.filter(kind="component", key="sales", person_id=3107)["detail"]
        .item()
        .startswith(f"销售新人三个月达成：输入缺失（{ATTAINMENT}），按方案规则不计入")
    )
    own = result.lines.filter(kind="component", key="own", person_id=3101)["detail"].item()
    assert own == "score = 92.5: 92.5 ÷ 100 = 0.925; 18000.00 × 71.428571% × 0.925 = 11892.86"


def test_given_nothing_missing_when_the_rule_is_leave_out_then_pay_matches_the_fixed_factor_rule_to_the_fen() -> (
    None
):
    frame = hr_frame()
    old = {key: {"factor": "0"} for key in ("own", "sales", "demand")}
    explicit = copy.deepcopy(HR_PLAN)
    for component in explicit["components"]:
        component["missing"] = old[component["key"]]
    left_out = compute(parse_plan(HR_PLAN), frame)
    fixed = compute(parse_plan(explicit), frame)
    assert left_out.amounts.equals(fixed.amounts)
    assert left_out.lines.equals(fixed.lines)
    assert left_out.amounts["own.weight"].to_list() == dec(["50"] * 3)


def test_given_every_input_missing_when_all_are_left_out_then_nothing_is_paid_and_the_inputs_are_named() -> (
    None
):
    frame = hr_frame(score=[None, 90.0, 90.0], **{ATTAINMENT: [None] * 3, DEMAND: [None, None, 12.0]})
    result = compute(parse_plan(HR_PLAN), frame)
    first = result.amounts.row(0, named=True)
    assert [first[f"{k}.weight"] for k in ("own", "sales", "demand")] == [0, 0, 0]
    assert [first[f"{k}.amount"] for k in ("own", "sales", "demand")] == [0, 0, 0]
    assert first["amount"] == 0
    details = result.lines.filter(kind="component", person_id=3101)["detail"].to_list()
    assert details[0] == (
        "本人考核：输入缺失（score），按方案规则不计入；没有任何可用的输入"
        f"（score、{ATTAINMENT}、{DEMAND}），各项均按 0 计"
    )
    assert all("没有任何可用的输入" in d for d in details)
    # 3102 has only a score: own takes the whole base × factor.
    assert result.amounts.filter(person_id=3102)["own.weight"].to_list() == dec(["100"])
    assert result.amounts.filter(person_id=3102)["own.amount"].to_list() == dec(["13950.00"])


# --- hold, zero, a fixed factor -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "same_as", "amount", "words"),
    [
        # 15500 × 30% × 1 = 4650.00; own 15500 × 50% × 0.88 = 6820.00; demand 15500 × 20% × 1.1 = 3410.00.
        ({"rule": "hold"}, {"factor": "1"}, "4650.00", "按方案规则按 100% 计; 15500.00 × 30% × 1 = 4650.00"),
        ({"rule": "zero"}, {"factor": "0"}, "0.00", "按方案规则按 0 计; 15500.00 × 30% × 0 = 0.00"),
    ],
)
def test_given_hold_or_zero_when_the_input_is_missing_then_it_pays_like_factor_one_or_zero(
    missing: dict[str, Any], same_as: dict[str, Any], amount: str, words: str
) -> None:
    frame = hr_frame(
        **{ATTAINMENT: [72.3, None, 72.3], f"{ATTAINMENT}.why": [None, "等待 个险业务部负责人 确认", None]}
    )
    ruled = compute(parse_plan(with_missing(HR_PLAN, "sales", missing)), frame)
    factor = compute(parse_plan(with_missing(HR_PLAN, "sales", same_as)), frame)
    assert ruled.amounts["sales.amount"].to_list()[1] == Decimal(amount)
    assert ruled.amounts.drop("sales.missing").equals(factor.amounts.drop("sales.missing"))
    assert ruled.amounts["sales.missing"].to_list() == [None, missing["rule"], None]
    assert factor.amounts["sales.missing"].to_list() == [None, "factor", None]
    assert ruled.amounts["sales.weight"].to_list() == dec(["30"] * 3)  # nothing scales up
    line = ruled.lines.filter(kind="component", key="sales", person_id=3102)["detail"].item()
    assert line == f"销售新人三个月达成：输入缺失（等待 个险业务部负责人 确认），{words}"


def test_given_a_fixed_missing_factor_when_a_reason_is_known_then_the_old_wording_carries_it() -> None:
    plan = with_missing(HR_PLAN, "demand", {"factor": "0.5"})
    frame = hr_frame(**{DEMAND: [None, 44.0, 40.0], f"{DEMAND}.why": ["等待 协同部负责人 确认", None, None]})
    line = compute(parse_plan(plan), frame).lines.filter(kind="component", key="demand", person_id=3101)
    assert (
        line["detail"].item()
        == f"{DEMAND} 缺少数据（等待 协同部负责人 确认） → 0.5; 18000.00 × 20% × 0.5 = 1800.00"
    )


def test_given_a_multiplier_left_out_when_its_input_is_missing_then_it_does_not_apply() -> None:
    multiplier = copy.deepcopy(FINANCE_PLAN["multipliers"][0])
    del multiplier["missing"]
    plan = parse_plan({**HR_PLAN, "multipliers": [multiplier]})
    frame = hr_frame(
        **{
            "linked:claim_cycle_days": [None, 2.0, 2.5],
            "linked:claim_cycle_days.why": ["计算批次 2026-10 #3 没有理赔周期", None, None],
            "own:claim_payment_days": [0.5, 3.0, 1.0],
        }
    )
    amounts = compute(plan, frame).amounts
    assert amounts["claims.branch"].to_list() == ["missing", "then", "else"]
    assert amounts["claims.factor"].to_list() == dec(["1", "0.8", "0.9"])
    assert amounts["claims.missing"].to_list() == ["leave_out", None, None]
    assert amounts["amount"].to_list() == amounts["subtotal"].to_list()[:1] + [
        (s * f).quantize(FEN, ROUND_HALF_UP)
        for s, f in zip(amounts["subtotal"][1:], dec(["0.8", "0.9"]), strict=True)
    ]
    line = compute(plan, frame).lines.filter(kind="multiplier", person_id=3101)["detail"].item()
    assert (
        line
        == "linked:claim_cycle_days 缺少数据（计算批次 2026-10 #3 没有理赔周期），按方案规则不适用 → 100%"
    )


# --- maturity: provisional (暂估) and cohorts ---------------------------------------------------------------------


def test_given_an_immature_attainment_when_paid_provisionally_then_the_line_and_row_are_marked() -> None:
    frame = hr_frame(**{f"{ATTAINMENT}.provisional": [True, None, False]})
    result = compute(parse_plan(HR_PLAN), frame)
    assert result.amounts["sales.provisional"].to_list() == [True, False, False]
    assert result.amounts["own.provisional"].to_list() == [False, False, False]
    assert result.amounts["provisional"].to_list() == [True, False, False]
    sales = result.lines.filter(kind="component", key="sales")["detail"].to_list()
    assert sales[0].endswith("18000.00 × 30% × 0.723 = 3904.20（暂估：数据满期后以调整多退少补）")
    assert not sales[1].endswith("）")
    # The mark changes no amount.
    assert result.amounts.drop(pl.selectors.ends_with("provisional")).equals(
        compute(parse_plan(HR_PLAN), hr_frame()).amounts.drop(pl.selectors.ends_with("provisional"))
    )


def test_given_a_cohort_component_when_paid_then_it_reads_the_matured_cohort_and_names_it() -> None:
    plan = copy.deepcopy(HR_PLAN)
    plan["components"][1]["maturity"] = "cohort"
    column = f"{ATTAINMENT}@cohort"
    # October's own new agents started days ago (0% so far, not a result); the July cohort's window closed.
    frame = hr_frame(
        **{
            ATTAINMENT: [0.0, 0.0, 0.0],
            column: [66.7, 66.7, None],
            f"{column}.cohort": ["2026-07 到岗", "2026-07 到岗", None],
            f"{column}.why": [None, None, "计算批次 2026-10 #3 没有满期队列值"],
            f"{ATTAINMENT}.from": [["unit 12"], ["unit 12"], []],  # the lead's own columns are ignored
        }
    )
    result = compute(parse_plan(plan), frame)
    assert result.amounts["sales.factor"].to_list() == [Decimal("0.667"), Decimal("0.667"), None]
    sales = result.lines.filter(kind="component", key="sales")
    assert sales["input"].to_list() == [column] * 3
    assert sales["detail"].to_list()[0] == (
        f"{ATTAINMENT} = 66.7%: 0.01 × 66.7% = 0.667; 18000.00 × 30% × 0.667 = 3601.80（满期队列：2026-07 到岗）"
    )
    assert (
        sales["detail"]
        .to_list()[2]
        .startswith("销售新人三个月达成：输入缺失（计算批次 2026-10 #3 没有满期队列值），")
    )
    with pytest.raises(ValueError, match="which the plan reads"):
        compute(parse_plan(plan), hr_frame())


def test_given_a_provisional_condition_when_the_multiplier_reads_it_then_the_multiplier_is_marked() -> None:
    plan = parse_plan({**HR_PLAN, "multipliers": [FINANCE_PLAN["multipliers"][0]]})
    frame = hr_frame(
        **{
            "linked:claim_cycle_days": [1.5, 2.5, 1.5],
            "own:claim_payment_days": [0.5, 0.5, 0.5],
            "own:claim_payment_days.provisional": [True, True, False],
        }
    )
    amounts = compute(plan, frame).amounts
    # 3102 missed the cycle: the else branch reads no payment time, so its provisional value does not matter.
    assert amounts["claims.provisional"].to_list() == [True, False, False]
    assert amounts["provisional"].to_list() == [True, False, False]


def test_given_flag_columns_of_the_wrong_type_when_paid_then_the_frame_is_refused() -> None:
    frame = hr_frame(**{f"{ATTAINMENT}.provisional": ["yes", "no", "no"]})
    with pytest.raises(ValueError, match=r"'linked:new_agent_attainment_3m.provisional' must be Boolean"):
        compute(parse_plan(HR_PLAN), frame)


def test_given_english_wording_when_an_input_is_left_out_then_the_statement_reads_in_english() -> None:
    frame = hr_frame(
        **{
            ATTAINMENT: [None, 72.3, 72.3],
            f"{ATTAINMENT}.why": ["waiting for the head of agency sales to confirm", None, None],
            f"{ATTAINMENT}.provisional": [False, True, False],
        }
    )
    lines = compute(parse_plan(HR_PLAN), frame, wording=Wording.english()).lines
    sales = lines.filter(kind="component", key="sales")["detail"].to_list()
    assert sales[0] == (
        "销售新人三个月达成: input missing (waiting for the head of agency sales to confirm), left out by the "
        "plan's rule, the other weights scaled up (本人考核 50% → 71.428571%, 协同需求积分 20% → 28.571429%)"
    )
    assert sales[1].endswith(" (provisional: trued up by an adjustment once the data matures)")
    assert dict(lines.schema) == LINE_SCHEMA


# --- properties ---------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=False), frame=people())
def test_effective_weights_of_present_components_add_to_100_and_money_is_rounded_once(
    plan: dict[str, Any], frame: pl.DataFrame
) -> None:
    parsed = parse_plan(plan)
    amounts = compute(parsed, frame).amounts
    keys = [c.key for c in parsed.components]
    for row in amounts.iter_rows(named=True):
        weights = [row[f"{k}.weight"] for k in keys]
        if any(weights):
            event("some component kept")
            assert abs(sum(weights) - 100) <= Decimal("0.000001") * len(keys)
        else:
            event("every component left out")
            assert all(row[f"{k}.amount"] == 0 for k in keys)
        # Each money figure: once, half up, from the figures shown before it.
        for k in keys:
            factor = row[f"{k}.factor"]
            shown = Decimal(0) if factor is None else row["base"] * row[f"{k}.weight"] / 100 * factor
            assert row[f"{k}.amount"] == shown.quantize(FEN, ROUND_HALF_UP)
        assert row["subtotal"] == sum((row[f"{k}.amount"] for k in keys), Decimal(0))
        assert row["after_multipliers"] == (row["subtotal"] * row["multiplier"]).quantize(FEN, ROUND_HALF_UP)


def _spelled(plan: dict[str, Any], missing: dict[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(plan)
    for component in data["components"]:
        component.pop("missing", None)
        if missing is not None:
            component["missing"] = missing
    return data


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=True), frame=people())
def test_leave_out_with_nothing_missing_pays_exactly_as_before(
    plan: dict[str, Any], frame: pl.DataFrame
) -> None:
    complete = frame.with_columns(pl.col("score").fill_null(77.7), pl.col("linked:outcome").fill_null(12.5))
    left_out = compute(parse_plan(_spelled(plan, None)), complete)
    fixed = compute(parse_plan(_spelled(plan, {"factor": "0"})), complete)
    assert left_out.amounts.equals(fixed.amounts)
    assert left_out.lines.equals(fixed.lines)
    assert left_out.total == fixed.total


@PROPERTY_SETTINGS
@given(plan=monotone_plans(pool=True), frame=people())
def test_hold_pays_exactly_as_a_factor_of_one(plan: dict[str, Any], frame: pl.DataFrame) -> None:
    held = compute(parse_plan(_spelled(plan, {"rule": "hold"})), frame)
    one = compute(parse_plan(_spelled(plan, {"factor": "1"})), frame)
    rules = pl.selectors.ends_with(".missing")
    assert held.amounts.drop(rules).equals(one.amounts.drop(rules))
    assert held.total == one.total


@PROPERTY_SETTINGS
@given(
    plan=monotone_plans(pool=True),
    frame=people(),
    provisional=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_pools_conserve_exactly_whatever_is_missing_or_provisional(
    plan: dict[str, Any], frame: pl.DataFrame, provisional: list[bool]
) -> None:
    marked = frame.with_columns(pl.Series("linked:outcome.provisional", provisional[: frame.height]))
    result = compute(parse_plan(plan), marked)
    pool = Decimal(plan["pool"])
    assert result.total == min(pool, result.total_before_pool)
    assert sum(result.amounts["amount"].to_list(), Decimal(0)) == result.total
