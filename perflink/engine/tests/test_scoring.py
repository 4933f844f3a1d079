"""Scoring rules as data: hand-checked numbers from the domain brief, validation messages, and properties."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.engine.scoring import (
    BandRule,
    Direction,
    LinearRule,
    RuleError,
    ThresholdRule,
    parse_rule,
    score,
    score_survey,
)

ENGINE = Path(__file__).resolve().parents[1]
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

FINANCE_BANDS = {
    "kind": "bands",
    "direction": "lower",
    "bands": [
        {"upto": 1, "inclusive": True, "points": 120},
        {"upto": 2, "inclusive": True, "points": 100},
        {"upto": None, "points": 80},
    ],
}


def points_of(rule: object, frame: pl.DataFrame) -> list[Decimal | None]:
    return score(rule, frame)["points"].to_list()  # type: ignore[arg-type]


# --- the engine stays pure ------------------------------------------------------------------------------------


def test_engine_modules_do_not_import_django() -> None:
    for path in ENGINE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "django" or n.startswith("django.") for n in names), (
                f"{path.name} imports django"
            )


def test_scoring_imports_with_django_unavailable() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "import perflink.engine.scoring as s\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules if sys.modules[m] is not None)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- hand-checked numbers from the domain brief ---------------------------------------------------------------


def test_given_18_of_20_arrived_against_a_90_percent_target_when_scored_then_hr_gets_20_points() -> None:
    rule = parse_rule({"kind": "threshold", "points_met": 20})
    frame = pl.DataFrame(
        {"value": [Decimal("0.9"), Decimal("0.89"), Decimal("0.95")], "target": [Decimal("0.9")] * 3}
    )
    out = score(rule, frame)
    assert out["points"].to_list() == [Decimal("20.00"), Decimal("0.00"), Decimal("20.00")]
    assert out["status"].to_list() == ["scored"] * 3
    assert out.schema["points"] == pl.Decimal(38, 2)


def test_given_arrivals_counted_as_integers_when_threshold_scored_then_18_of_20_meets_90_percent() -> None:
    rule = parse_rule({"kind": "threshold", "points_met": 20})
    frame = pl.DataFrame({"value": [18 * 100 // 20, 17 * 100 // 20], "target": [90, 90]})
    assert points_of(rule, frame) == [Decimal("20.00"), Decimal("0.00")]
    # Float rates are read as the nearest 6-place decimal, so 18/20 meets 0.9 exactly.
    floats = pl.DataFrame({"value": [18 / 20, 17 / 20], "target": [0.9, 0.9]})
    assert points_of(rule, floats) == [Decimal("20.00"), Decimal("0.00")]


def test_given_12_of_18_new_hires_reached_target_when_linear_scored_then_hr_gets_66_67_points() -> None:
    rule = parse_rule({"kind": "linear", "per_point": 1})
    out = score(rule, pl.DataFrame({"value": [12], "target": [18]}))
    assert out["attainment"].to_list() == [Decimal("66.666667")]
    assert out["points"].to_list() == [Decimal("66.67")]


@pytest.mark.parametrize(
    ("days", "points"),
    [
        ("0", "120"),
        ("0.99", "120"),
        ("1", "120"),
        ("1.01", "100"),
        ("1.99", "100"),
        ("2", "100"),
        ("2.01", "80"),
        ("30", "80"),
    ],
)
def test_finance_payment_time_bands_at_and_around_each_boundary(days: str, points: str) -> None:
    out = score(parse_rule(FINANCE_BANDS), pl.DataFrame({"value": [Decimal(days)]}))
    assert out["points"].to_list() == [Decimal(points).quantize(CENT)]
    assert out["status"].to_list() == ["scored"]


def test_exclusive_band_bounds_put_the_boundary_in_the_next_band() -> None:
    rule = parse_rule(
        {
            "kind": "bands",
            "bands": [
                {"upto": 80, "inclusive": False, "points": 0},
                {"upto": 100, "inclusive": False, "points": 5},
                {"upto": None, "points": 10},
            ],
            "basis": "attainment",
        }
    )
    frame = pl.DataFrame({"value": [79, 80, 99, 100], "target": [100] * 4})
    assert points_of(rule, frame) == [Decimal("0.00"), Decimal("5.00"), Decimal("5.00"), Decimal("10.00")]


def test_given_a_linear_rule_with_floor_and_cap_then_points_are_clamped() -> None:
    rule = parse_rule({"kind": "linear", "base": 20, "per_point": "0.5", "floor": 40, "cap": 80})
    # attainment 50% → 45; 30% → 35 → floor 40; 150% → 95 → cap 80; 2/3 → 20 + 33.3333335 → 53.33
    frame = pl.DataFrame({"value": [50, 30, 150, 2], "target": [100, 100, 100, 3]})
    assert points_of(rule, frame) == [Decimal("45.00"), Decimal("40.00"), Decimal("80.00"), Decimal("53.33")]


def test_points_round_half_up_not_half_even() -> None:
    rule = parse_rule({"kind": "linear", "per_point": "0.01"})
    # attainment 0.5, 2.5, -0.5 → exact points 0.005, 0.025, -0.005; half-even would give 0.00, 0.02, 0.00.
    frame = pl.DataFrame({"value": [5, 25, -5], "target": [1000, 1000, 1000]})
    assert points_of(rule, frame) == [Decimal("0.01"), Decimal("0.03"), Decimal("-0.01")]


def test_lower_is_better_linear_attainment_ratio_and_deviation() -> None:
    frame = pl.DataFrame(
        {"value": [Decimal("0.5"), Decimal("1"), Decimal("1.5"), Decimal("0")], "target": [Decimal(1)] * 4}
    )
    ratio = score(parse_rule({"kind": "linear", "per_point": 1, "direction": "lower"}), frame)
    assert ratio["attainment"].to_list()[:3] == [
        Decimal("200.000000"),
        Decimal("100.000000"),
        Decimal("66.666667"),
    ]
    assert (
        ratio["status"].to_list()[3] == "undefined_attainment"
    )  # zero days has no ratio: never a silent number
    deviation = score(
        parse_rule({"kind": "linear", "per_point": 1, "direction": "lower", "lower_attainment": "deviation"}),
        frame,
    )
    assert deviation["points"].to_list() == [
        Decimal("150.00"),
        Decimal("100.00"),
        Decimal("50.00"),
        Decimal("200.00"),
    ]


def test_default_survey_mapping_gives_the_mean_per_subject_exactly() -> None:
    responses = pl.DataFrame(
        {
            "subject": ["finance", "finance", "finance", "hr", "hr", "it"],
            "answer": ["满意", "一般", "一般", "满意", "不满意", None],
        }
    )
    out = score_survey(parse_rule({"kind": "survey"}), responses)  # type: ignore[arg-type]
    assert out.rows() == [
        ("finance", 3, Decimal("6.67"), "scored"),  # (10 + 5 + 5) / 3 = 6.666… → 6.67
        ("hr", 2, Decimal("5.00"), "scored"),
        ("it", 0, None, "insufficient_data"),  # no answers is not zero satisfaction
    ]


def test_configured_survey_mapping_and_minimum_answers() -> None:
    rule = parse_rule({"kind": "survey", "answers": {"好": 100, "中": "62.5", "差": 0}, "min_count": 2})
    responses = pl.DataFrame({"subject": ["a", "a", "b"], "answer": ["好", "中", "好"]})
    out = score_survey(rule, responses)  # type: ignore[arg-type]
    assert out.rows() == [("a", 2, Decimal("81.25"), "scored"), ("b", 1, None, "insufficient_data")]


def test_unknown_survey_answer_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="很满意"):
        score_survey(parse_rule({"kind": "survey"}), pl.DataFrame({"subject": ["a"], "answer": ["很满意"]}))  # type: ignore[arg-type]


def test_subjects_below_the_minimum_sample_get_insufficient_data_and_null_points() -> None:
    rule = parse_rule({"kind": "linear", "per_point": 1, "min_count": 5})
    frame = pl.DataFrame({"value": [0, 0, 3], "target": [10, 10, 10], "n": [5, 4, None]})
    out = score(rule, frame)
    assert out["status"].to_list() == ["scored", "insufficient_data", "insufficient_data"]
    assert out["points"].to_list() == [Decimal("0.00"), None, None]


def test_missing_value_and_target_are_reported_not_scored() -> None:
    out = score(
        parse_rule({"kind": "linear", "per_point": 1}),
        pl.DataFrame({"value": [None, 1], "target": [1, None]}),
    )
    assert out["status"].to_list() == ["missing_value", "undefined_attainment"]
    assert out["points"].to_list() == [None, None]


def test_a_min_count_without_a_count_column_is_refused() -> None:
    with pytest.raises(ValueError, match="'n'"):
        score(
            parse_rule({"kind": "threshold", "points_met": 1, "min_count": 3}),
            pl.DataFrame({"value": [1], "target": [1]}),
        )


def test_decimal_inputs_with_more_than_six_places_are_refused_not_rounded() -> None:
    frame = pl.DataFrame({"value": [Decimal("1.0000001")], "target": [Decimal(1)]})
    with pytest.raises(ValueError, match="decimal places"):
        score(parse_rule({"kind": "linear", "per_point": 1}), frame)


# --- parsing: rules are data, errors point at the spot ----------------------------------------------------------


def test_parse_builds_frozen_rules() -> None:
    rule = parse_rule(FINANCE_BANDS)
    assert isinstance(rule, BandRule)
    assert rule.direction is Direction.LOWER
    assert [b.points for b in rule.bands] == [Decimal(120), Decimal(100), Decimal(80)]
    assert parse_rule({"kind": "linear", "per_point": 0.9}) == LinearRule(per_point=Decimal("0.9"))
    with pytest.raises(AttributeError):
        rule.direction = Direction.HIGHER  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "formula"}, "kind must be one of"),
        ({"kind": "threshold"}, "points_met is required"),
        ({"kind": "threshold", "points_met": "lots"}, "points_met must be a number"),
        ({"kind": "threshold", "points_met": 5, "bonus": 1}, "unknown key 'bonus'"),
        (
            {"kind": "threshold", "points_met": 5, "points_missed": 6},
            "points_missed must not exceed points_met",
        ),
        ({"kind": "threshold", "points_met": 5, "direction": "down"}, "direction must be"),
        ({"kind": "threshold", "points_met": 5, "min_count": 0}, "min_count must be"),
        ({"kind": "linear", "per_point": -1}, "per_point must not be negative"),
        ({"kind": "linear", "per_point": 1, "floor": 10, "cap": 5}, "floor must not exceed cap"),
        ({"kind": "linear", "per_point": "0.0000001"}, "per_point has more than 6 decimal places"),
        ({"kind": "linear", "per_point": True}, "per_point must be a number"),
        ({"kind": "linear", "per_point": "NaN"}, "per_point must be a finite number"),
        ({"kind": "bands", "bands": []}, "bands must be a non-empty list"),
        (
            {
                "kind": "bands",
                "bands": [
                    {"upto": 1, "points": 0},
                    {"upto": 2, "points": 1},
                    {"upto": 2, "points": 2},
                    {"upto": None, "points": 3},
                ],
            },
            r"bands\[2\]\.upto must be greater than bands\[1\]\.upto",
        ),
        (
            {
                "kind": "bands",
                "bands": [{"upto": 5, "points": 0}, {"upto": 3, "points": 1}, {"upto": None, "points": 3}],
            },
            r"bands\[1\]\.upto must be greater than bands\[0\]\.upto",
        ),
        (
            {"kind": "bands", "bands": [{"upto": 1, "points": 0}, {"upto": 2, "points": 1}]},
            r"bands\[1\]\.upto must be null",
        ),
        (
            {"kind": "bands", "bands": [{"upto": None, "points": 0}, {"upto": None, "points": 1}]},
            r"bands\[0\]\.upto must not be null",
        ),
        (
            {"kind": "bands", "bands": [{"upto": 1, "points": 5}, {"upto": None, "points": 1}]},
            r"bands\[1\]\.points must not be below",
        ),
        (
            {
                "kind": "bands",
                "direction": "lower",
                "bands": [{"upto": 1, "points": 1}, {"upto": None, "points": 5}],
            },
            r"bands\[1\]\.points must not exceed",
        ),
        (
            {
                "kind": "bands",
                "bands": [{"upto": 1, "points": 1, "inclusive": "yes"}, {"upto": None, "points": 5}],
            },
            r"bands\[0\]\.inclusive",
        ),
        (
            {"kind": "bands", "bands": [{"upto": 1, "pts": 1}, {"upto": None, "points": 5}]},
            r"bands\[0\]\.unknown key 'pts'",
        ),
        ({"kind": "survey", "answers": {}}, "answers must be a non-empty object"),
        ({"kind": "survey", "answers": {"满意": "ten"}}, r"answers\['满意'\] must be a number"),
    ],
)
def test_parse_rejects_faulty_rules_naming_the_faulty_part(data: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(data)


def test_an_equal_bound_may_split_below_from_at() -> None:
    rule = parse_rule(
        {
            "kind": "bands",
            "bands": [
                {"upto": 1, "inclusive": False, "points": 0},
                {"upto": 1, "points": 5},
                {"upto": None, "points": 10},
            ],
        }
    )
    frame = pl.DataFrame({"value": [Decimal("0.999999"), Decimal(1), Decimal("1.000001")]})
    assert points_of(rule, frame) == [Decimal("0.00"), Decimal("5.00"), Decimal("10.00")]


# --- properties -------------------------------------------------------------------------------------------------


def reference_attainment(rule: LinearRule, value: Decimal, target: Decimal) -> Decimal | None:
    with localcontext() as ctx:
        ctx.prec = 60
        if rule.direction is Direction.HIGHER:
            num, den = value * 100, target
        elif rule.lower_attainment == "deviation":
            num, den = (2 * target - value) * 100, target
        else:
            num, den = target * 100, value
        return None if den == 0 else (num / den).quantize(MICRO, rounding=ROUND_HALF_UP)


def reference_points(rule: LinearRule, value: Decimal, target: Decimal) -> Decimal | None:
    attainment = reference_attainment(rule, value, target)
    if attainment is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        points = rule.base + rule.per_point * attainment
        if rule.floor is not None:
            points = max(points, rule.floor)
        if rule.cap is not None:
            points = min(points, rule.cap)
        return points.quantize(CENT, rounding=ROUND_HALF_UP)


amounts = st.decimals(
    min_value=Decimal(-10_000), max_value=Decimal(10_000), places=6, allow_nan=False, allow_infinity=False
)
positive = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10_000), places=6)
constants = st.decimals(min_value=Decimal(-100), max_value=Decimal(100), places=6)


@st.composite
def linear_rules(draw: st.DrawFn) -> LinearRule:
    bounds = sorted(draw(st.lists(constants, min_size=2, max_size=2)))
    return LinearRule(
        per_point=draw(st.decimals(min_value=Decimal(0), max_value=Decimal(10), places=6)),
        base=draw(constants),
        floor=draw(st.sampled_from([None, bounds[0]])),
        cap=draw(st.sampled_from([None, bounds[1]])),
        direction=draw(st.sampled_from(list(Direction))),
        lower_attainment=draw(st.sampled_from(["ratio", "deviation"])),
    )


def frame_of(values: list[Decimal], targets: list[Decimal]) -> pl.DataFrame:
    return pl.DataFrame(
        {"value": values, "target": targets}, schema={"value": pl.Decimal(38, 6), "target": pl.Decimal(38, 6)}
    )


@settings(max_examples=150, deadline=None)
@given(rule=linear_rules(), rows=st.lists(st.tuples(amounts, positive), min_size=1, max_size=30))
def test_linear_points_equal_the_decimal_reference_and_stay_within_floor_and_cap(
    rule: LinearRule, rows: list[tuple[Decimal, Decimal]]
) -> None:
    values, targets = [v for v, _ in rows], [t for _, t in rows]
    out = score(rule, frame_of(values, targets))
    expected = [reference_points(rule, v, t) for v, t in rows]
    assert out["points"].to_list() == expected
    assert out["attainment"].to_list() == [reference_attainment(rule, v, t) for v, t in rows]
    for points in out["points"].drop_nulls().to_list():
        assert rule.floor is None or points >= rule.floor.quantize(CENT, rounding=ROUND_HALF_UP)
        assert rule.cap is None or points <= rule.cap.quantize(CENT, rounding=ROUND_HALF_UP)
    # Deterministic: the same input gives the same frame.
    assert score(rule, frame_of(values, targets)).equals(out)


@settings(max_examples=100, deadline=None)
@given(rule=linear_rules(), target=positive, values=st.lists(positive, min_size=2, max_size=30))
def test_linear_points_move_monotonically_with_value_in_the_rules_direction(
    rule: LinearRule, target: Decimal, values: list[Decimal]
) -> None:
    ordered = sorted(values)
    out = score(rule, frame_of(ordered, [target] * len(ordered)))
    points = out["points"].to_list()
    attainment = out["attainment"].to_list()
    if rule.direction is Direction.LOWER:
        points, attainment = points[::-1], attainment[::-1]
    assert attainment == sorted(attainment)
    assert points == sorted(points)


@st.composite
def band_rules(draw: st.DrawFn) -> BandRule:
    bounds = sorted(set(draw(st.lists(st.integers(-50, 50), min_size=1, max_size=5))))
    points = sorted(draw(st.lists(st.integers(0, 200), min_size=len(bounds) + 1, max_size=len(bounds) + 1)))
    direction = draw(st.sampled_from(list(Direction)))
    if direction is Direction.LOWER:
        points.reverse()
    bands: list[dict[str, object]] = [
        {"upto": b, "inclusive": draw(st.booleans()), "points": p}
        for b, p in zip(bounds, points, strict=False)
    ]
    bands.append({"upto": None, "points": points[-1]})
    rule = parse_rule({"kind": "bands", "direction": direction.value, "bands": bands})
    assert isinstance(rule, BandRule)
    return rule


def reference_band_points(rule: BandRule, value: Decimal) -> Decimal:
    for band in rule.bands:
        if band.upto is None or value < band.upto or (band.inclusive and value == band.upto):
            return band.points.quantize(CENT, rounding=ROUND_HALF_UP)
    raise AssertionError("the last band is open")


@settings(max_examples=100, deadline=None)
@given(
    rule=band_rules(),
    values=st.lists(st.decimals(min_value=-60, max_value=60, places=2), min_size=1, max_size=30),
)
def test_band_points_match_the_reference_and_move_in_the_rules_direction(
    rule: BandRule, values: list[Decimal]
) -> None:
    ordered = sorted(values)
    points = score(rule, frame_of(ordered, [Decimal(1)] * len(ordered)))["points"].to_list()
    assert points == [reference_band_points(rule, v) for v in ordered]
    if rule.direction is Direction.LOWER:
        points.reverse()
    assert points == sorted(points)


@settings(max_examples=100, deadline=None)
@given(
    direction=st.sampled_from(list(Direction)),
    rows=st.lists(st.tuples(amounts, amounts), min_size=1, max_size=30),
)
def test_threshold_met_means_points_met(direction: Direction, rows: list[tuple[Decimal, Decimal]]) -> None:
    rule = ThresholdRule(points_met=Decimal(20), points_missed=Decimal("-2.5"), direction=direction)
    out = score(rule, frame_of([v for v, _ in rows], [t for _, t in rows]))
    met = [(v >= t) if direction is Direction.HIGHER else (v <= t) for v, t in rows]
    assert out["points"].to_list() == [Decimal("20.00") if m else Decimal("-2.50") for m in met]
