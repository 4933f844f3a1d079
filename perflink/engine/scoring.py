"""Scoring rules as data: parse plain dicts into frozen rules, then score whole columns at once.

Rules come from JSON (never ``eval``): ``parse_rule`` validates a dict and names the faulty part in its
``RuleError``. ``score`` turns a frame of per-subject values and targets into ``attainment``, ``points`` and
``status`` columns; ``score_survey`` turns survey answers into mean points per subject.

Exact arithmetic. Polars' Decimal rounding is half-to-even and its division rounding is not documented, so
the engine computes on scaled integers instead: every input and rule constant is read as an ``Int128``
count of millionths (``SCALE`` = 6 decimal places), and every division is an explicit integer division with
ROUND_HALF_UP. Attainment is a percentage kept at 6 places (rounded half up); points are computed exactly
from that attainment and rounded half up once, at the end, to 2 places. So the result equals this Decimal
reference, digit for digit::

    attainment = (value * 100 / target).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    points = clamp(base + k * attainment, floor, cap).quantize(Decimal("0.01"), ROUND_HALF_UP)

Inputs: Decimal columns may carry at most 6 places (more is refused rather than silently rounded);
integer columns are exact; float columns are converted to the nearest 6-place decimal.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import polars as pl

__all__ = [
    "DEFAULT_SURVEY_POINTS",
    "Band",
    "BandRule",
    "Direction",
    "LinearRule",
    "Rule",
    "RuleError",
    "Status",
    "SurveyRule",
    "ThresholdRule",
    "parse_rule",
    "score",
    "score_survey",
]

SCALE: Final = 6
_MICRO: Final = 10**SCALE
_QUANTUM: Final = Decimal(1).scaleb(-SCALE)

ATTAINMENT_DTYPE: Final = pl.Decimal(38, SCALE)
POINTS_DTYPE: Final = pl.Decimal(38, 2)

DEFAULT_SURVEY_POINTS: Final[Mapping[str, Decimal]] = {
    "满意": Decimal(10),
    "一般": Decimal(5),
    "不满意": Decimal(0),
}


class RuleError(ValueError):
    """A scoring rule (as data) is malformed; the message names the faulty part."""


class Direction(enum.StrEnum):
    HIGHER = "higher"  # higher values are better (premium, pass rate)
    LOWER = "lower"  # lower values are better (payment days, outage minutes)


class Status(enum.StrEnum):
    SCORED = "scored"
    INSUFFICIENT_DATA = "insufficient_data"  # fewer records than min_count: null points, never 0
    MISSING_VALUE = "missing_value"
    UNDEFINED_ATTAINMENT = "undefined_attainment"  # target missing, or a zero denominator


LowerAttainment = Literal["ratio", "deviation"]
BandBasis = Literal["value", "attainment"]


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Met (value ≥ target, or ≤ when lower is better) → ``points_met``, else ``points_missed``."""

    points_met: Decimal
    points_missed: Decimal = Decimal(0)
    direction: Direction = Direction.HIGHER
    min_count: int | None = None


@dataclass(frozen=True, slots=True)
class LinearRule:
    """``base + per_point`` points per percentage point of attainment, clamped to ``[floor, cap]``.

    Lower-is-better attainment is ``target / value * 100`` ("ratio", the default) or
    ``(2 * target - value) / target * 100`` ("deviation": each percent under target adds a point, and a
    value of zero is well defined).
    """

    per_point: Decimal
    base: Decimal = Decimal(0)
    floor: Decimal | None = None
    cap: Decimal | None = None
    direction: Direction = Direction.HIGHER
    lower_attainment: LowerAttainment = "ratio"
    min_count: int | None = None


@dataclass(frozen=True, slots=True)
class Band:
    """Values up to ``upto`` (inclusive or not) and above the previous band; ``upto=None`` is open-ended."""

    upto: Decimal | None
    points: Decimal
    inclusive: bool = True


@dataclass(frozen=True, slots=True)
class BandRule:
    """Ordered bands over the value (or the attainment); the first band reaches down without limit."""

    bands: tuple[Band, ...]
    direction: Direction = Direction.HIGHER
    basis: BandBasis = "value"
    min_count: int | None = None


@dataclass(frozen=True, slots=True)
class SurveyRule:
    """Answer label → points; a subject scores the mean over its answers."""

    answers: tuple[tuple[str, Decimal], ...]
    min_count: int | None = None

    def points_for(self) -> dict[str, Decimal]:
        return dict(self.answers)


Rule = ThresholdRule | LinearRule | BandRule | SurveyRule


# --------------------------------------------------------------------------------------------------------------
# Parsing: plain data → frozen rules, with messages that point at the spot.
# --------------------------------------------------------------------------------------------------------------


def _decimal(data: Mapping[str, Any], key: str, where: str, *, default: Decimal | None = None) -> Decimal:
    raw = data.get(key)
    if raw is None:
        if default is None:
            raise RuleError(f"{where}{key} is required")
        return default
    return _to_decimal(raw, f"{where}{key}")


def _optional_decimal(data: Mapping[str, Any], key: str, where: str = "") -> Decimal | None:
    raw = data.get(key)
    return None if raw is None else _to_decimal(raw, f"{where}{key}")


def _to_decimal(raw: object, name: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise RuleError(f"{name} must be a number, not {raw!r}")
    try:
        # A JSON float goes through its shortest repr, so 0.9 means Decimal("0.9"), not the binary expansion.
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    except InvalidOperation:
        raise RuleError(f"{name} must be a number, not {raw!r}") from None
    if not value.is_finite():
        raise RuleError(f"{name} must be a finite number, not {raw!r}")
    if value != value.quantize(_QUANTUM, rounding="ROUND_HALF_UP"):
        raise RuleError(f"{name} has more than {SCALE} decimal places")
    return value


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str = "") -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RuleError(f"{where}unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _direction(data: Mapping[str, Any]) -> Direction:
    raw = data.get("direction", "higher")
    try:
        return Direction(raw)
    except ValueError:
        raise RuleError(f"direction must be 'higher' or 'lower', not {raw!r}") from None


def _min_count(data: Mapping[str, Any]) -> int | None:
    raw = data.get("min_count")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise RuleError(f"min_count must be a whole number of at least 1, not {raw!r}")
    return raw


_COMMON = {"kind", "min_count"}


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """Validate a rule given as plain data (e.g. loaded from JSON) and return its frozen form."""
    if not isinstance(data, Mapping):
        raise RuleError(f"a rule must be an object, not {type(data).__name__}")
    kind = data.get("kind")
    if kind == "threshold":
        return _parse_threshold(data)
    if kind == "linear":
        return _parse_linear(data)
    if kind == "bands":
        return _parse_bands(data)
    if kind == "survey":
        return _parse_survey(data)
    raise RuleError(f"kind must be one of 'threshold', 'linear', 'bands', 'survey', not {kind!r}")


def _parse_threshold(data: Mapping[str, Any]) -> ThresholdRule:
    _check_keys(data, _COMMON | {"direction", "points_met", "points_missed"})
    rule = ThresholdRule(
        points_met=_decimal(data, "points_met", ""),
        points_missed=_decimal(data, "points_missed", "", default=Decimal(0)),
        direction=_direction(data),
        min_count=_min_count(data),
    )
    if rule.points_missed > rule.points_met:
        raise RuleError("points_missed must not exceed points_met")
    return rule


def _parse_linear(data: Mapping[str, Any]) -> LinearRule:
    _check_keys(data, _COMMON | {"direction", "base", "per_point", "floor", "cap", "lower_attainment"})
    lower_attainment = data.get("lower_attainment", "ratio")
    if lower_attainment not in ("ratio", "deviation"):
        raise RuleError(f"lower_attainment must be 'ratio' or 'deviation', not {lower_attainment!r}")
    rule = LinearRule(
        per_point=_decimal(data, "per_point", ""),
        base=_decimal(data, "base", "", default=Decimal(0)),
        floor=_optional_decimal(data, "floor"),
        cap=_optional_decimal(data, "cap"),
        direction=_direction(data),
        lower_attainment=lower_attainment,
        min_count=_min_count(data),
    )
    if rule.per_point < 0:
        raise RuleError("per_point must not be negative (for lower-is-better metrics set direction: 'lower')")
    if rule.floor is not None and rule.cap is not None and rule.floor > rule.cap:
        raise RuleError("floor must not exceed cap")
    return rule


def _parse_bands(data: Mapping[str, Any]) -> BandRule:
    _check_keys(data, _COMMON | {"direction", "basis", "bands"})
    basis = data.get("basis", "value")
    if basis not in ("value", "attainment"):
        raise RuleError(f"basis must be 'value' or 'attainment', not {basis!r}")
    raw_bands = data.get("bands")
    if not isinstance(raw_bands, list | tuple) or not raw_bands:
        raise RuleError("bands must be a non-empty list")
    direction = _direction(data)
    bands: list[Band] = []
    for i, raw in enumerate(raw_bands):
        where = f"bands[{i}]."
        if not isinstance(raw, Mapping):
            raise RuleError(f"bands[{i}] must be an object")
        _check_keys(raw, {"upto", "inclusive", "points"}, where)
        inclusive = raw.get("inclusive", True)
        if not isinstance(inclusive, bool):
            raise RuleError(f"{where}inclusive must be true or false, not {inclusive!r}")
        band = Band(
            upto=_optional_decimal(raw, "upto", where),
            points=_decimal(raw, "points", where),
            inclusive=inclusive,
        )
        if bands:
            _check_band_order(
                bands[-1], band, i, rising=basis == "attainment" or direction is Direction.HIGHER
            )
        bands.append(band)
    if bands[-1].upto is not None:
        raise RuleError(
            f"bands[{len(bands) - 1}].upto must be null: the last band must be open-ended, or values above it have no points"
        )
    return BandRule(bands=tuple(bands), direction=direction, basis=basis, min_count=_min_count(data))


def _check_band_order(prev: Band, band: Band, i: int, *, rising: bool) -> None:
    if prev.upto is None:
        raise RuleError(f"bands[{i - 1}].upto must not be null: only the last band may be open-ended")
    # An equal bound is allowed only to split "< x" from "= x"; anything else is empty or overlapping.
    if band.upto is not None and (
        band.upto < prev.upto or (band.upto == prev.upto and (prev.inclusive or not band.inclusive))
    ):
        raise RuleError(f"bands[{i}].upto must be greater than bands[{i - 1}].upto")
    if rising and band.points < prev.points:
        raise RuleError(f"bands[{i}].points must not be below bands[{i - 1}].points: higher is better")
    if not rising and band.points > prev.points:
        raise RuleError(f"bands[{i}].points must not exceed bands[{i - 1}].points: lower is better")


def _parse_survey(data: Mapping[str, Any]) -> SurveyRule:
    _check_keys(data, _COMMON | {"answers"})
    raw = data.get("answers")
    if raw is None:
        answers = tuple(DEFAULT_SURVEY_POINTS.items())
    elif isinstance(raw, Mapping) and raw:
        items: list[tuple[str, Decimal]] = []
        for label, points in raw.items():
            if not isinstance(label, str) or not label.strip():
                raise RuleError(f"answers has an empty or non-text label {label!r}")
            items.append((label, _to_decimal(points, f"answers[{label!r}]")))
        answers = tuple(items)
    else:
        raise RuleError("answers must be a non-empty object of label → points")
    return SurveyRule(answers=answers, min_count=_min_count(data))


# --------------------------------------------------------------------------------------------------------------
# Scoring: whole columns of Int128 millionths, rounded half up by explicit integer division.
# --------------------------------------------------------------------------------------------------------------


def _micro(value: Decimal) -> int:
    """A validated rule constant as an integer count of millionths."""
    return int(value.scaleb(SCALE))


def _micro_col(schema: pl.Schema, name: str) -> pl.Expr:
    """A numeric column as Int128 millionths (see the module docstring for the input contract)."""
    if name not in schema:
        raise ValueError(f"the frame has no column {name!r}")
    dtype = schema[name]
    col = pl.col(name)
    if isinstance(dtype, pl.Decimal):
        if dtype.scale > SCALE:
            raise ValueError(f"column {name!r} has {dtype.scale} decimal places; at most {SCALE} are read")
        return _rescaled(col, dtype.scale or 0)
    if dtype.is_integer():
        return col.cast(pl.Int128) * _MICRO
    if dtype.is_float():
        return _rescaled(col.cast(pl.Decimal(38, SCALE)), SCALE)
    if dtype == pl.Null:
        return col.cast(pl.Int128)
    raise ValueError(f"column {name!r} must be numeric, not {dtype}")


def _rescaled(col: pl.Expr, scale: int) -> pl.Expr:
    # Multiplying by 10**scale makes the decimal whole, so the cast to Int128 is exact; then scale up to 6.
    whole = (col * pl.lit(Decimal(10**scale), dtype=pl.Decimal(38, 0))).cast(pl.Int128)
    return whole * int(10 ** (SCALE - scale))


def _div_half_up(num: pl.Expr, den: pl.Expr | int) -> pl.Expr:
    """``num / den`` rounded half away from zero (Decimal's ROUND_HALF_UP); null where ``den`` is 0."""
    den_expr = den if isinstance(den, pl.Expr) else pl.lit(den, dtype=pl.Int128)
    quotient = (num.abs() * 2 + den_expr.abs()) // (den_expr.abs() * 2)
    negative = (num < 0) != (den_expr < 0)
    return pl.when(den_expr == 0).then(None).when(negative).then(quotient * -1).otherwise(quotient)


def _from_micro(micro: pl.Expr, dtype: pl.Decimal) -> pl.Expr:
    """Int128 units of ``10**-dtype.scale`` as a Decimal column (multiplication of decimals is exact)."""
    unit = pl.lit(Decimal(1).scaleb(-(dtype.scale or 0)), dtype=dtype)
    return (micro.cast(pl.Decimal(38, 0)) * unit).cast(dtype)


def _attainment(rule: ThresholdRule | LinearRule | BandRule, value: pl.Expr, target: pl.Expr) -> pl.Expr:
    """Attainment in millionths of a percentage point, direction-adjusted (higher is always better)."""
    hundred = 100 * _MICRO
    if rule.direction is Direction.HIGHER:
        return _div_half_up(value * hundred, target)
    if isinstance(rule, LinearRule) and rule.lower_attainment == "deviation":
        return _div_half_up((target * 2 - value) * hundred, target)
    return _div_half_up(target * hundred, value)


def score[F: (pl.DataFrame, pl.LazyFrame)](
    rule: Rule,
    frame: F,
    value_col: str = "value",
    target_col: str = "target",
    count_col: str = "n",
) -> F:
    """Add ``attainment`` (percent, 6 places), ``points`` (2 places) and ``status`` to every row of ``frame``.

    A row whose count is below the rule's ``min_count`` (or null) gets status ``insufficient_data`` and null
    points. A row without a value, or whose attainment the rule needs but cannot be computed (no target, a
    zero denominator), gets null points and a status saying which.
    """
    if isinstance(rule, SurveyRule):
        raise TypeError("survey rules score answers, not values: use score_survey")
    schema = frame.collect_schema()
    value = _micro_col(schema, value_col)
    has_target = target_col in schema
    target = _micro_col(schema, target_col) if has_target else pl.lit(None, dtype=pl.Int128)
    if rule.min_count is not None and count_col not in schema:
        raise ValueError(
            f"the rule needs at least {rule.min_count} records, but the frame has no column {count_col!r}"
        )

    # Step 1: attainment in millionths of a percent (null without a target or with a zero denominator).
    attainment = _attainment(rule, value, target)
    # Step 2: points in millionths, exact; then once rounded half up to hundredths.
    points_cent = _points_cent(rule, value, target, attainment)
    # Step 3: the status decides whether the points stand: thin samples and gaps never turn into zeros.
    needs_attainment = not (
        isinstance(rule, ThresholdRule) or (isinstance(rule, BandRule) and rule.basis == "value")
    )
    # The first failing check names the status (coalesce keeps the first non-null), else "scored".
    checks: list[tuple[pl.Expr, Status]] = []
    if rule.min_count is not None:
        checks.append((pl.col(count_col).fill_null(0) < rule.min_count, Status.INSUFFICIENT_DATA))
    checks.append((value.is_null(), Status.MISSING_VALUE))
    if needs_attainment:
        checks.append((attainment.is_null(), Status.UNDEFINED_ATTAINMENT))
    elif isinstance(rule, ThresholdRule):
        checks.append((target.is_null(), Status.UNDEFINED_ATTAINMENT))
    status = pl.coalesce(
        *(pl.when(failed).then(pl.lit(label.value)) for failed, label in checks), pl.lit(Status.SCORED.value)
    )

    return (
        frame.with_columns(
            _from_micro(attainment, ATTAINMENT_DTYPE).alias("attainment"),
            _from_micro(points_cent, POINTS_DTYPE).alias("points"),
            status.alias("status"),
        )
        # Points stand only for scored rows.
        .with_columns(pl.when(pl.col("status") == Status.SCORED.value).then(pl.col("points")).alias("points"))
    )


def _points_cent(
    rule: ThresholdRule | LinearRule | BandRule, value: pl.Expr, target: pl.Expr, attainment: pl.Expr
) -> pl.Expr:
    """Points in hundredths (Int128), rounded half up from the exact figure."""
    to_cent = _MICRO // 100
    if isinstance(rule, ThresholdRule):
        met = value >= target if rule.direction is Direction.HIGHER else value <= target
        micro = (
            pl.when(met)
            .then(pl.lit(_micro(rule.points_met), dtype=pl.Int128))
            .otherwise(pl.lit(_micro(rule.points_missed), dtype=pl.Int128))
        )
        return _div_half_up(micro, to_cent)
    if isinstance(rule, LinearRule):
        # base and per_point are millionths, attainment is millionths: the product is at 10**-12.
        exact = attainment * _micro(rule.per_point) + _micro(rule.base) * _MICRO
        if rule.floor is not None:
            exact = pl.max_horizontal(exact, pl.lit(_micro(rule.floor) * _MICRO, dtype=pl.Int128))
        if rule.cap is not None:
            exact = pl.min_horizontal(exact, pl.lit(_micro(rule.cap) * _MICRO, dtype=pl.Int128))
        return pl.when(attainment.is_not_null()).then(_div_half_up(exact, _MICRO * to_cent))
    # Bands: the first band whose upper bound admits the basis wins; the last band is open-ended.
    basis = value if rule.basis == "value" else attainment
    matches: list[pl.Expr] = []
    for band in rule.bands[:-1]:
        assert band.upto is not None  # guaranteed by parse_rule
        bound = pl.lit(_micro(band.upto), dtype=pl.Int128)
        admitted = basis <= bound if band.inclusive else basis < bound
        matches.append(pl.when(admitted).then(pl.lit(_micro(band.points), dtype=pl.Int128)))
    micro = pl.coalesce(*matches, pl.lit(_micro(rule.bands[-1].points), dtype=pl.Int128))
    return pl.when(basis.is_not_null()).then(_div_half_up(micro, to_cent))


def score_survey(
    rule: SurveyRule,
    responses: pl.DataFrame,
    subject_col: str = "subject",
    answer_col: str = "answer",
) -> pl.DataFrame:
    """Mean points per subject over its answers, one row per subject: ``subject, n, points, status``.

    Null answers do not count. An answer label the rule does not know is an error, never a silent zero.
    Subjects with fewer answers than ``min_count`` (at least 1) get ``insufficient_data`` and null points.
    """
    for name in (subject_col, answer_col):
        if name not in responses.columns:
            raise ValueError(f"the frame has no column {name!r}")
    mapping = rule.points_for()
    answers = responses.get_column(answer_col)
    unknown = answers.filter(answers.is_not_null() & ~answers.is_in(list(mapping))).unique(
        maintain_order=True
    )
    if unknown.len():
        raise ValueError(
            f"unknown survey answers in {answer_col!r}: {', '.join(map(str, unknown.to_list()))}"
        )
    min_count = max(rule.min_count or 1, 1)
    points_micro = pl.col(answer_col).replace_strict(
        list(mapping), [_micro(p) for p in mapping.values()], default=None, return_dtype=pl.Int128
    )
    return (
        responses.group_by(subject_col, maintain_order=True)
        # Step 1: per subject, how many answers and the exact sum of their points (millionths).
        .agg(pl.col(answer_col).count().alias("n"), points_micro.sum().alias("_sum"))
        # Step 2: the mean, rounded half up to hundredths once; thin samples get no points at all.
        .with_columns(
            pl.when(pl.col("n") >= min_count)
            .then(
                _from_micro(
                    _div_half_up(pl.col("_sum"), pl.col("n").cast(pl.Int128) * (_MICRO // 100)), POINTS_DTYPE
                )
            )
            .alias("points"),
            pl.when(pl.col("n") >= min_count)
            .then(pl.lit(Status.SCORED.value))
            .otherwise(pl.lit(Status.INSUFFICIENT_DATA.value))
            .alias("status"),
        )
        .drop("_sum")
    )
