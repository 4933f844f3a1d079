"""Bonus amounts for a whole population at once: integer arithmetic on Int128 columns, rounded half up on purpose.

Units: money in fen, factors and input values in millionths (see the package docstring for where rounding
happens). Every step is one polars expression over the whole frame; nothing loops over people.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import polars as pl

from perflink.engine.incentives.plan import (
    Band,
    Bands,
    BandTable,
    Component,
    Condition,
    FixedBase,
    Linear,
    MissingRule,
    Multiplier,
    Op,
    Outcome,
    Plan,
    Ratio,
)
from perflink.engine.incentives.statement import Wording, statement_lines
from perflink.engine.scoring import _div_half_up, _from_micro, _micro_col

__all__ = ["FACTOR_DTYPE", "MONEY_DTYPE", "VALUE_DTYPE", "BonusResult", "allocate_pool", "compute"]

MICRO: Final = 10**6
FEN_PER_MICRO: Final = 10**4  # a fen is 10**4 millionths of a yuan
MAX_FEN: Final = 10**16  # exclusive: Decimal(18, 2)
MAX_INPUT: Final = 10**12  # an input value's size
MAX_FACTOR: Final = 10**6  # a component factor's size, so base × weight × factor fits Int128

MONEY_DTYPE: Final = pl.Decimal(18, 2)
FACTOR_DTYPE: Final = pl.Decimal(18, 6)
VALUE_DTYPE: Final = pl.Decimal(38, 6)


@dataclass(frozen=True, slots=True)
class BonusResult:
    """``amounts``: one row per person (see :func:`compute`); ``lines``: the statement, line by line."""

    amounts: pl.DataFrame
    lines: pl.DataFrame
    total_before_pool: Decimal
    total: Decimal
    pooled: bool


def _int(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.Int128)


def _micro(value: Decimal) -> int:
    return int(value.scaleb(6))


def _fen(value: Decimal) -> int:
    return int(value.scaleb(2))


def compute(
    plan: Plan, frame: pl.DataFrame, *, wording: Wording | None = None, lines: bool = True
) -> BonusResult:
    """Every person's bonus under ``plan``, with the statement that explains it (``lines=False``: amounts only,
    ``lines`` empty: what-if compares amounts and never shows the statements it would write).

    ``frame``: one row per person, ``person_id`` (integer, unique), ``base`` for a per-person base (Decimal to
    the fen, or whole yuan), and one column per input the plan reads (:meth:`Plan.inputs`; Float64, integer
    or Decimal with at most 6 places; null = missing). Optional, per input name ``N``: ``N.provisional``
    (Boolean: the value is not yet mature, 暂估), ``N.why`` (String: why the value is missing, e.g. "等待
    理赔部负责人 确认") and ``N.cohort`` (String: the cohort read, e.g. "2026-07 到岗"); absent or null means no
    information. Other columns are ignored. Rows come back sorted by ``person_id``.

    ``amounts`` columns: ``person_id, base``; per component ``<key>.factor`` (null when left out),
    ``<key>.amount``, ``<key>.weight`` (the effective weight after leaving out missing inputs),
    ``<key>.missing`` (the rule applied when the input was missing: "leave_out" / "hold" / "zero" / "factor",
    else null) and ``<key>.provisional``; per multiplier ``<key>.branch`` ("then" / "else" / "missing"),
    ``<key>.band`` (0-based index in the branch's bands, null for a fixed factor), ``<key>.factor``,
    ``<key>.missing`` and ``<key>.provisional``; then ``subtotal, multiplier, after_multipliers, floored,
    capped, after_limits, pool_scale, amount, provisional`` (any input read was provisional). Money is
    Decimal(18, 2), factors and weights Decimal(18, 6).
    """
    wide = _evaluate(plan, _read(plan, frame))
    limited_total = int(wide["_limited"].sum())
    pooled = plan.pool is not None and limited_total > _fen(plan.pool)
    if pooled:
        assert plan.pool is not None
        wide = wide.with_columns(_pooled(pl.col("_limited"), _fen(plan.pool), limited_total))
    else:
        wide = wide.with_columns(pl.col("_limited").alias("_final"), _int(MICRO).alias("_scale"))
    statement = (
        statement_lines(plan, wide, wording or Wording(), pooled=pooled, total_fen=limited_total)
        if lines
        else pl.DataFrame()
    )
    return BonusResult(
        amounts=_amounts(plan, wide),
        lines=statement,
        total_before_pool=Decimal(limited_total).scaleb(-2),
        total=Decimal(int(wide["_final"].sum())).scaleb(-2),
        pooled=pooled,
    )


# --------------------------------------------------------------------------------------------------------------
# Step 1: read the frame into Int128 fen (base) and millionths (inputs), refusing what cannot be exact.
# --------------------------------------------------------------------------------------------------------------


def _read(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    schema = frame.collect_schema()
    if "person_id" not in schema or not schema["person_id"].is_integer():
        raise ValueError("the frame needs an integer person_id column")
    ids = frame["person_id"]
    if ids.null_count():
        raise ValueError("person_id must not be null")
    if ids.is_duplicated().any():
        raise ValueError(f"person_id must be unique; repeated: {_some(ids.filter(ids.is_duplicated()))}")
    for name in plan.inputs():
        if name not in schema:
            raise ValueError(f"the frame has no column {name!r}, which the plan reads")
    if isinstance(plan.base, FixedBase):
        base = _int(_fen(plan.base.amount))
    else:
        if "base" not in schema:
            raise ValueError("the plan takes a per-person base, but the frame has no column 'base'")
        if schema["base"].is_float():
            raise ValueError(
                "column 'base' is money: give it as Decimal (to the fen) or whole yuan, not float"
            )
        base = _micro_col(schema, "base")
    read = frame.select(
        pl.col("person_id").cast(pl.Int64),
        base.alias("_base"),
        *(_micro_col(schema, name).alias(f"in:{name}") for name in plan.inputs()),
        *(expr for name in plan.inputs() for expr in _marks(schema, name)),
    ).sort("person_id")
    if not isinstance(plan.base, FixedBase):
        _check_base(read)
        read = read.with_columns(pl.col("_base") // FEN_PER_MICRO)
    for name in plan.inputs():
        out_of_range = read.filter(pl.col(f"in:{name}").abs() > MAX_INPUT * MICRO)["person_id"]
        if out_of_range.len():
            raise ValueError(f"column {name!r} is beyond ±{MAX_INPUT:,} for person_id {_some(out_of_range)}")
    return read


def _marks(schema: pl.Schema, name: str) -> list[pl.Expr]:
    """The optional columns about input ``name``: provisional (暂估), why it is missing, the cohort read."""
    exprs: list[pl.Expr] = []
    for suffix, dtype, prefix in (
        ("provisional", pl.Boolean, "pv"),
        ("why", pl.String, "why"),
        ("cohort", pl.String, "co"),
    ):
        column = f"{name}.{suffix}"
        if column not in schema:
            exprs.append(pl.lit(None, dtype=dtype).alias(f"{prefix}:{name}"))
            continue
        if schema[column] not in (dtype, pl.Null):
            raise ValueError(f"column {column!r} must be {dtype}, not {schema[column]}")
        exprs.append(pl.col(column).cast(dtype).alias(f"{prefix}:{name}"))
    # Provisional is a flag: no information means not provisional.
    exprs[0] = exprs[0].fill_null(False)
    return exprs


def _check_base(read: pl.DataFrame) -> None:
    base = pl.col("_base")
    problems = [
        (base.is_null(), "base is missing"),
        (base < 0, "base is negative"),
        (base % FEN_PER_MICRO != 0, "base is not a whole number of fen"),
        (base >= MAX_FEN * FEN_PER_MICRO, "base is too large"),
    ]
    for failed, message in problems:
        ids = read.filter(failed)["person_id"]
        if ids.len():
            raise ValueError(f"{message} for person_id {_some(ids)}")


def _some(ids: pl.Series) -> str:
    shown = ", ".join(str(i) for i in ids.head(5).to_list())
    return shown + (f" and {ids.len() - 5} more" if ids.len() > 5 else "")


# --------------------------------------------------------------------------------------------------------------
# Steps 2-4: components, multipliers, floor and cap, all as columns.
# --------------------------------------------------------------------------------------------------------------


def _evaluate(plan: Plan, read: pl.DataFrame) -> pl.DataFrame:
    lazy = read.lazy()
    # Step 2a: each component's factor (millionths); a missing input follows the component's rule: a fixed
    # factor (hold 1, zero 0, or the plan's), or left out (no factor: the component drops out).
    for c in plan.components:
        value = pl.col(f"in:{c.input}")
        raw, band = _factor(c, value)
        missing_factor = (
            pl.lit(None, dtype=pl.Int128) if c.missing_factor is None else _int(_micro(c.missing_factor))
        )
        factor = pl.when(value.is_null()).then(missing_factor).otherwise(_clamp(c, raw))
        kept = value.is_not_null() if c.missing is MissingRule.LEAVE_OUT else pl.lit(True)
        lazy = lazy.with_columns(
            raw.alias(f"_r:{c.key}"),
            band.alias(f"_b:{c.key}"),
            factor.alias(f"_f:{c.key}"),
            kept.alias(f"_k:{c.key}"),
            pl.when(value.is_null()).then(pl.lit(c.missing.value)).alias(f"_mr:{c.key}"),
            pl.col(f"pv:{c.input}").alias(f"_pv:{c.key}"),
        )
    # Step 2b: effective weights. The components kept share 100%: weight × 100 ÷ Σ kept weights, rounded half
    # up to 6 places (a weight, not money). Nothing left out: Σ is 100 and every weight stays exactly as is.
    kept_total = pl.sum_horizontal(
        *(
            pl.when(pl.col(f"_k:{c.key}")).then(_int(_micro(c.weight))).otherwise(_int(0))
            for c in plan.components
        )
    )
    if any(c.missing is MissingRule.LEAVE_OUT for c in plan.components):
        lazy = lazy.with_columns(kept_total.alias("_kept_weight")).with_columns(
            pl.when(pl.col(f"_k:{c.key}") & (pl.col("_kept_weight") > 0))
            .then(_div_half_up(_int(_micro(c.weight) * 100 * MICRO), pl.col("_kept_weight")))
            .otherwise(_int(0))
            .alias(f"_w:{c.key}")
            for c in plan.components
        )
    else:  # nothing can be left out: the same weights, without dividing every row by 100
        lazy = lazy.with_columns(
            _int(100 * MICRO).alias("_kept_weight"),
            *(_int(_micro(c.weight)).alias(f"_w:{c.key}") for c in plan.components),
        )
    # Step 2c: each amount = base × effective weight% × factor, rounded half up to the fen once; 0 when left out.
    lazy = lazy.with_columns(
        pl.when(pl.col(f"_k:{c.key}"))
        .then(
            _div_half_up(pl.col("_base") * pl.col(f"_w:{c.key}") * pl.col(f"_f:{c.key}"), 100 * MICRO * MICRO)
        )
        .otherwise(_int(0))
        .alias(f"_a:{c.key}")
        for c in plan.components
    )
    # The subtotal is the exact sum of the rounded component amounts, as the statement shows them.
    lazy = lazy.with_columns(
        pl.sum_horizontal(*(pl.col(f"_a:{c.key}") for c in plan.components)).alias("_subtotal")
    )

    # Step 3: each multiplier's branch, band and factor; their exact product, rounded to 6 places only if it
    # carries more; the subtotal times that product, rounded half up to the fen once.
    product: pl.Expr = _int(1)
    places = 0
    for m in plan.multipliers:
        lazy = lazy.with_columns(*_multiplier(m)).with_columns(_multiplier_marks(m))
        product = product * (pl.col(f"_m:{m.key}") // 10 ** (6 - m.places()))
        places += m.places()
    combined = product * 10 ** (6 - places) if places <= 6 else _div_half_up(product, 10 ** (places - 6))
    provisional = [pl.col(f"_pv:{c.key}") for c in plan.components]
    provisional += [pl.col(f"_mp:{m.key}") for m in plan.multipliers]
    lazy = lazy.with_columns(
        combined.alias("_combined"), pl.any_horizontal(*provisional).alias("_provisional")
    ).with_columns(_div_half_up(pl.col("_subtotal") * pl.col("_combined"), MICRO).alias("_after"))

    # Step 4: floor and cap (exact: both are whole fen).
    after = pl.col("_after")
    floor = _int(_fen(plan.floor))
    cap = _int(_fen(plan.cap)) if plan.cap is not None else None
    limited = pl.max_horizontal(after, floor)
    if cap is not None:
        limited = pl.min_horizontal(limited, cap)
    wide = lazy.with_columns(
        (after < floor).alias("_floored"),
        (after > cap if cap is not None else pl.lit(False)).alias("_capped"),
        limited.alias("_limited"),
    ).collect()
    _check_range(plan, wide)
    return wide


def _factor(c: Component, value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The factor before clamping (millionths) and, for bands, the band index."""
    rule = c.factor
    no_band = pl.lit(None, dtype=pl.Int32)
    if isinstance(rule, Ratio):
        return _div_half_up(value * MICRO, _micro(rule.per)), no_band
    if isinstance(rule, Linear):
        return _int(_micro(rule.intercept)) + _div_half_up(value * _micro(rule.per_point), MICRO), no_band
    assert isinstance(rule, Bands)
    return _band_lookup(value, rule.bands)


def _clamp(c: Component, raw: pl.Expr) -> pl.Expr:
    rule = c.factor
    if isinstance(rule, Bands):
        return raw
    if rule.floor is not None:
        raw = pl.max_horizontal(raw, _int(_micro(rule.floor)))
    if rule.cap is not None:
        raw = pl.min_horizontal(raw, _int(_micro(rule.cap)))
    return raw


def _band_lookup(value: pl.Expr, bands: tuple[Band, ...]) -> tuple[pl.Expr, pl.Expr]:
    """(factor in millionths, band index): the first band whose bound admits the value; null without one."""
    index: list[pl.Expr] = []
    factor: list[pl.Expr] = []
    for i, band in enumerate(bands[:-1]):
        assert band.upto is not None  # guaranteed by parse_plan: only the last band is open-ended
        bound = _int(_micro(band.upto))
        admitted = value <= bound if band.inclusive else value < bound
        index.append(pl.when(admitted).then(pl.lit(i, dtype=pl.Int32)))
        factor.append(pl.when(admitted).then(_int(_micro(band.factor))))
    index.append(pl.lit(len(bands) - 1, dtype=pl.Int32))
    factor.append(_int(_micro(bands[-1].factor)))
    present = value.is_not_null()
    return pl.when(present).then(pl.coalesce(*factor)), pl.when(present).then(pl.coalesce(*index))


def _outcome(outcome: Outcome) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(factor in millionths, band index, whether its input is missing) of a then/else outcome."""
    if isinstance(outcome, BandTable):
        value = pl.col(f"in:{outcome.input}")
        factor, band = _band_lookup(value, outcome.bands)
        return factor, band, value.is_null()
    return _int(_micro(outcome.factor)), pl.lit(None, dtype=pl.Int32), pl.lit(False)


def _holds(when: Condition) -> pl.Expr:
    value, bound = pl.col(f"in:{when.input}"), _int(_micro(when.value))
    return {Op.LT: value < bound, Op.LE: value <= bound, Op.GT: value > bound, Op.GE: value >= bound}[when.op]


def _multiplier(m: Multiplier) -> list[pl.Expr]:
    then_factor, then_band, then_missing = _outcome(m.then)
    if m.when is None:
        condition = pl.lit(None, dtype=pl.String)
        chosen = pl.when(then_missing).then(pl.lit("missing")).otherwise(pl.lit("then"))
        else_factor, else_band = _int(0), pl.lit(None, dtype=pl.Int32)
    else:
        assert m.otherwise is not None
        else_factor, else_band, else_missing = _outcome(m.otherwise)
        # The condition's own outcome (for its statement line), then the branch taken: a missing input on the
        # chosen path sends it to the explicit missing factor, never to a silent default.
        condition = (
            pl.when(pl.col(f"in:{m.when.input}").is_null())
            .then(pl.lit("missing"))
            .when(_holds(m.when))
            .then(pl.lit("then"))
            .otherwise(pl.lit("else"))
        )
        chosen = (
            pl.when(condition == "missing")
            .then(pl.lit("missing"))
            .when(condition == "then")
            .then(pl.when(then_missing).then(pl.lit("missing")).otherwise(pl.lit("then")))
            .otherwise(pl.when(else_missing).then(pl.lit("missing")).otherwise(pl.lit("else")))
        )
    band = pl.when(chosen == "then").then(then_band).when(chosen == "else").then(else_band)
    factor = (
        pl.when(chosen == "then")
        .then(then_factor)
        .when(chosen == "else")
        .then(else_factor)
        .otherwise(_int(_micro(m.missing_factor)))
    )
    return [
        condition.alias(f"_mc:{m.key}"),
        chosen.alias(f"_mb:{m.key}"),
        band.cast(pl.Int32).alias(f"_mi:{m.key}"),
        factor.alias(f"_m:{m.key}"),
    ]


def _multiplier_marks(m: Multiplier) -> list[pl.Expr]:
    """The rule applied when the multiplier took its missing branch, and whether an input it read on the path
    taken (its condition's, then the chosen branch's band input) was provisional."""
    condition = pl.col(f"_mc:{m.key}") if m.when is not None else pl.lit("then")
    read: list[pl.Expr] = []
    if m.when is not None:
        read.append(pl.col(f"pv:{m.when.input}"))
    for outcome, side in ((m.then, "then"), (m.otherwise, "else")):
        if isinstance(outcome, BandTable):
            read.append((condition == side) & pl.col(f"pv:{outcome.input}"))
    return [
        pl.when(pl.col(f"_mb:{m.key}") == "missing").then(pl.lit(m.missing.value)).alias(f"_mm:{m.key}"),
        pl.any_horizontal(*read).alias(f"_mp:{m.key}") if read else pl.lit(False).alias(f"_mp:{m.key}"),
    ]


def _check_range(plan: Plan, wide: pl.DataFrame) -> None:
    """Refuse results that do not fit the money type (and so could have overflowed on the way)."""
    checks = [
        (f"_f:{c.key}", MAX_FACTOR * MICRO, f"{c.key}: the factor is beyond ±{MAX_FACTOR:,}")
        for c in plan.components
    ]
    checks += [(f"_a:{c.key}", MAX_FEN - 1, f"{c.key}: the amount is too large") for c in plan.components]
    checks += [
        ("_subtotal", MAX_FEN - 1, "the subtotal is too large"),
        ("_after", MAX_FEN - 1, "the amount after multipliers is too large"),
    ]
    for column, bound, message in checks:
        ids = wide.filter(pl.col(column).abs() > bound)["person_id"]
        if ids.len():
            raise ValueError(f"{message} for person_id {_some(ids)}")


# --------------------------------------------------------------------------------------------------------------
# Step 5: the pool, by largest remainder, vectorised.
# --------------------------------------------------------------------------------------------------------------


def _pool_fen(amount: pl.Expr, pool_fen: int, tie: pl.Expr) -> pl.Expr:
    """``amount × pool / Σ amount`` in whole fen summing to ``pool`` exactly (amounts ≥ 0, Σ > pool).

    Each share is rounded down; the fen left over go one each to the largest remainders, ties to the smaller
    ``tie`` (the person_id). A share never exceeds its amount: only a positive remainder earns a fen.
    """
    total = amount.sum()
    scaled = amount * pool_fen
    share = scaled // total
    remainder = scaled - share * total
    leftover = _int(pool_fen) - share.sum()
    # The rank of each row when ordered by remainder (largest first), then by tie: argsort of the argsort.
    rank = pl.arg_sort_by([remainder, tie], descending=[True, False]).arg_sort()
    return share + (rank.cast(pl.Int128) < leftover).cast(pl.Int128)


def _pooled(amount: pl.Expr, pool_fen: int, total_fen: int) -> list[pl.Expr]:
    return [
        _pool_fen(amount, pool_fen, pl.col("person_id")).alias("_final"),
        # Shown on the statement only (rounded half up to 6 places): the amounts come from _pool_fen.
        _int(_div_half_up_int(pool_fen * MICRO, total_fen)).alias("_scale"),
    ]


def _div_half_up_int(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def allocate_pool(amounts: pl.Series, pool: Decimal, *, ties: pl.Series | None = None) -> pl.Series:
    """Scale non-negative fen amounts down to ``pool`` when they exceed it, by largest remainder; else as is.

    ``ties`` orders equal remainders (smallest first; default: the row order). Returns Decimal(18, 2).
    """
    if amounts.null_count():
        raise ValueError("amounts must not be null")
    frame = pl.DataFrame(
        {"_a": amounts, "_t": ties if ties is not None else pl.int_range(amounts.len(), eager=True)}
    )
    fen = frame.select(_micro_col(frame.schema, "_a").alias("_micro"), pl.col("_t"))
    if fen.filter(pl.col("_micro") % FEN_PER_MICRO != 0).height or fen.filter(pl.col("_micro") < 0).height:
        raise ValueError("amounts must be non-negative whole fen")
    fen = fen.with_columns(pl.col("_micro") // FEN_PER_MICRO)
    total, pool_fen = int(fen["_micro"].sum()), int(pool.scaleb(2))
    if total > pool_fen:
        fen = fen.with_columns(_pool_fen(pl.col("_micro"), pool_fen, pl.col("_t")).alias("_micro"))
    return fen.select(_from_micro(pl.col("_micro"), MONEY_DTYPE).alias(amounts.name)).to_series()


# --------------------------------------------------------------------------------------------------------------
# Output: the per-person frame, as Decimals.
# --------------------------------------------------------------------------------------------------------------


def _amounts(plan: Plan, wide: pl.DataFrame) -> pl.DataFrame:
    def money(name: str) -> pl.Expr:
        return _from_micro(pl.col(name), MONEY_DTYPE)

    def factor(name: str) -> pl.Expr:
        return _from_micro(pl.col(name), FACTOR_DTYPE)

    columns: list[pl.Expr] = [pl.col("person_id"), money("_base").alias("base")]
    for c in plan.components:
        columns += [
            factor(f"_f:{c.key}").alias(f"{c.key}.factor"),
            money(f"_a:{c.key}").alias(f"{c.key}.amount"),
            factor(f"_w:{c.key}").alias(f"{c.key}.weight"),
            pl.col(f"_mr:{c.key}").cast(pl.String).alias(f"{c.key}.missing"),
            pl.col(f"_pv:{c.key}").alias(f"{c.key}.provisional"),
        ]
    for m in plan.multipliers:
        columns += [
            pl.col(f"_mb:{m.key}").alias(f"{m.key}.branch"),
            pl.col(f"_mi:{m.key}").alias(f"{m.key}.band"),
            factor(f"_m:{m.key}").alias(f"{m.key}.factor"),
            pl.col(f"_mm:{m.key}").cast(pl.String).alias(f"{m.key}.missing"),
            pl.col(f"_mp:{m.key}").alias(f"{m.key}.provisional"),
        ]
    columns += [
        money("_subtotal").alias("subtotal"),
        factor("_combined").alias("multiplier"),
        money("_after").alias("after_multipliers"),
        pl.col("_floored").alias("floored"),
        pl.col("_capped").alias("capped"),
        money("_limited").alias("after_limits"),
        factor("_scale").alias("pool_scale"),
        money("_final").alias("amount"),
        pl.col("_provisional").alias("provisional"),
    ]
    return wide.select(columns)
