"""The statement (计算说明) as a long frame: one row per person and line, built column-wise from the amounts.

Each line has a ``kind`` code (base, component, subtotal, condition, multiplier, multipliers, floor, cap, pool,
amount) for a translated rendering, the numbers it shows, and a ``detail`` text written out from numbers,
symbols, the plan's labels and units, and the few words in :class:`Wording` (Chinese by default; the web layer
may pass translated ones).
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
    Fixed,
    FixedBase,
    Linear,
    Maturity,
    MissingRule,
    Multiplier,
    Plan,
    Ratio,
)
from perflink.engine.scoring import _from_micro

__all__ = ["LINE_SCHEMA", "Wording", "band_texts", "statement_lines"]

LINE_SCHEMA: Final = {
    "person_id": pl.Int64,
    "seq": pl.Int32,
    "kind": pl.String,
    "key": pl.String,
    "label": pl.String,
    "input": pl.String,
    "value": pl.Decimal(38, 6),
    "branch": pl.String,
    "band": pl.Int32,
    "factor": pl.Decimal(18, 6),
    "amount": pl.Decimal(18, 2),
    "detail": pl.String,
}


@dataclass(frozen=True, slots=True)
class Wording:
    """The words of the statement that are not numbers, symbols or the plan's own labels."""

    base: str = "奖金基数"
    fixed_base: str = "固定基数"
    per_person_base: str = "个人基数"
    subtotal: str = "小计"
    multipliers: str = "乘数合计"
    amount: str = "应发金额"
    missing: str = "缺少数据"
    met: str = "满足"
    not_met: str = "不满足"
    floor: str = "保底"
    cap: str = "封顶"
    pool: str = "奖金池"
    total: str = "合计"
    largest_remainder: str = "最大余数法"
    # Missing inputs by the plan's rule, provisional (暂估) values and cohorts (DOMAIN.md §3a).
    missing_input: str = "输入缺失"
    rule_leave_out: str = "按方案规则不计入，其余权重按比例放大"
    rule_leave_out_none: str = "按方案规则不计入；没有任何可用的输入"
    none_pays: str = "各项均按 0 计"
    rule_hold: str = "按方案规则按 100% 计"
    rule_zero: str = "按方案规则按 0 计"
    rule_not_applied: str = "按方案规则不适用"
    provisional: str = "暂估：数据满期后以调整多退少补"
    cohort: str = "满期队列"
    colon: str = "："
    comma: str = "，"
    list_separator: str = "、"
    open_paren: str = "（"
    close_paren: str = "）"

    @classmethod
    def english(cls) -> Wording:
        """The same words in English (for an English statement; Chinese stays the default)."""
        return cls(
            base="Bonus base",
            fixed_base="fixed base",
            per_person_base="own base",
            subtotal="Subtotal",
            multipliers="Multipliers",
            amount="Amount payable",
            missing="no data",
            met="met",
            not_met="not met",
            floor="floor",
            cap="cap",
            pool="Pool",
            total="total",
            largest_remainder="largest remainder",
            missing_input="input missing",
            rule_leave_out="left out by the plan's rule, the other weights scaled up",
            rule_leave_out_none="left out by the plan's rule; no input was available",
            none_pays="every component pays 0",
            rule_hold="counted as 100% by the plan's rule",
            rule_zero="counted as 0 by the plan's rule",
            rule_not_applied="not applied by the plan's rule",
            provisional="provisional: trued up by an adjustment once the data matures",
            cohort="matured cohort",
            colon=": ",
            comma=", ",
            list_separator=", ",
            open_paren=" (",
            close_paren=")",
        )


def plain(value: Decimal) -> str:
    """A constant as written by a person: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def percent(value: Decimal) -> str:
    return plain(value * 100) + "%"


def _unit(unit: str) -> str:
    return "" if not unit else unit if unit.startswith("%") else f" {unit}"


def band_texts(bands: tuple[Band, ...], unit: str = "") -> list[str]:
    """Each band's boundary rule written out, e.g. ``≤ 1 天``, ``> 1 天, ≤ 2 天``, ``> 2 天``."""
    u = _unit(unit)
    texts: list[str] = []
    for i, band in enumerate(bands):
        upper = None if band.upto is None else f"{'≤' if band.inclusive else '<'} {plain(band.upto)}{u}"
        if i == 0:
            texts.append(upper or "")
            continue
        prev = bands[i - 1]
        assert prev.upto is not None
        lower = f"{'>' if prev.inclusive else '≥'} {plain(prev.upto)}{u}"
        texts.append(lower if upper is None else f"{lower}, {upper}")
    return texts


def _cat(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts])


def _money(fen: pl.Expr) -> pl.Expr:
    return _from_micro(fen, pl.Decimal(18, 2)).cast(pl.String)


def _strip(text: pl.Expr) -> pl.Expr:
    return text.str.replace(r"(\.\d*?)0+$", "${1}").str.replace(r"\.$", "")


def _number(micro: pl.Expr) -> pl.Expr:
    return _strip(_from_micro(micro, pl.Decimal(38, 6)).cast(pl.String))


def _percent(micro: pl.Expr) -> pl.Expr:
    # Millionths of a factor are ten-thousandths of a percent.
    return _cat(_strip(_from_micro(micro, pl.Decimal(38, 4)).cast(pl.String)), "%")


def _pick(index: pl.Expr, texts: list[str]) -> pl.Expr:
    return pl.coalesce(*(pl.when(index == i).then(pl.lit(t)) for i, t in enumerate(texts)))


def _line(
    slot: int,
    kind: str,
    detail: pl.Expr,
    *,
    key: str | None = None,
    label: str = "",
    input_name: pl.Expr | str | None = None,
    value: pl.Expr | None = None,
    branch: pl.Expr | None = None,
    band: pl.Expr | None = None,
    factor: pl.Expr | None = None,
    amount: pl.Expr | None = None,
) -> list[pl.Expr]:
    def opt(expr: pl.Expr | None, dtype: pl.DataType) -> pl.Expr:
        return pl.lit(None, dtype=dtype) if expr is None else expr.cast(dtype)

    name = input_name if isinstance(input_name, pl.Expr) else pl.lit(input_name, dtype=pl.String)
    return [
        pl.col("person_id"),
        pl.lit(slot, dtype=pl.Int32).alias("seq"),
        pl.lit(kind).alias("kind"),
        pl.lit(key, dtype=pl.String).alias("key"),
        pl.lit(label).alias("label"),
        name.alias("input"),
        opt(None if value is None else _from_micro(value, pl.Decimal(38, 6)), pl.Decimal(38, 6)).alias(
            "value"
        ),
        opt(branch, pl.String()).alias("branch"),
        opt(band, pl.Int32()).alias("band"),
        opt(None if factor is None else _from_micro(factor, pl.Decimal(18, 6)), pl.Decimal(18, 6)).alias(
            "factor"
        ),
        opt(None if amount is None else _from_micro(amount, pl.Decimal(18, 2)), pl.Decimal(18, 2)).alias(
            "amount"
        ),
        detail.alias("detail"),
    ]


def statement_lines(
    plan: Plan, wide: pl.DataFrame, words: Wording, *, pooled: bool, total_fen: int
) -> pl.DataFrame:
    """The statement of every person in ``wide`` (the engine's Int128 working frame), sorted by person and seq."""
    lazy = wide.lazy()
    parts: list[pl.LazyFrame] = []

    def add(line: list[pl.Expr], mask: pl.Expr | None = None) -> None:
        part = lazy if mask is None else lazy.filter(mask)
        parts.append(part.select(line))

    base_word = words.fixed_base if isinstance(plan.base, FixedBase) else words.per_person_base
    add(
        _line(
            0, "base", _cat(base_word, " ", _money(pl.col("_base"))), label=words.base, amount=pl.col("_base")
        )
    )
    slot = 1
    for c in plan.components:
        add(_component_line(slot, c, plan, words))
        slot += 1
    add(
        _line(
            slot,
            "subtotal",
            _cat(
                pl.concat_str([_money(pl.col(f"_a:{c.key}")) for c in plan.components], separator=" + "),
                " = ",
                _money(pl.col("_subtotal")),
            ),
            label=words.subtotal,
            amount=pl.col("_subtotal"),
        )
    )
    slot += 1
    for m in plan.multipliers:
        if m.when is not None:
            add(_condition_line(slot, m, words))
        add(_multiplier_line(slot + 1, m, words))
        slot += 2
    if plan.multipliers:
        detail = _cat(
            _money(pl.col("_subtotal")), " × ", _number(pl.col("_combined")), " = ", _money(pl.col("_after"))
        )
        add(
            _line(
                slot,
                "multipliers",
                detail,
                label=words.multipliers,
                factor=pl.col("_combined"),
                amount=pl.col("_after"),
            )
        )
    add(
        _line(
            slot + 1,
            "floor",
            _cat(
                _money(pl.col("_after")), f" < {words.floor} {plan.floor:.2f} → ", _money(pl.col("_limited"))
            ),
            label=words.floor,
            amount=pl.col("_limited"),
        ),
        pl.col("_floored"),
    )
    if plan.cap is not None:
        add(
            _line(
                slot + 2,
                "cap",
                _cat(
                    _money(pl.col("_after")), f" > {words.cap} {plan.cap:.2f} → ", _money(pl.col("_limited"))
                ),
                label=words.cap,
                amount=pl.col("_limited"),
            ),
            pl.col("_capped"),
        )
    if pooled:
        assert plan.pool is not None
        head = f"{words.pool} {plan.pool:.2f} ÷ {words.total} {Decimal(total_fen).scaleb(-2):.2f} ≈ "
        detail = _cat(
            head,
            _number(pl.col("_scale")),
            ": ",
            _money(pl.col("_limited")),
            " → ",
            _money(pl.col("_final")),
            f" ({words.largest_remainder})",
        )
        add(
            _line(
                slot + 3, "pool", detail, label=words.pool, factor=pl.col("_scale"), amount=pl.col("_final")
            )
        )
    add(_line(slot + 4, "amount", _money(pl.col("_final")), label=words.amount, amount=pl.col("_final")))
    return (
        pl.concat(parts)
        .sort("person_id", "seq")
        # Renumber 1, 2, … per person, so lines that did not apply leave no gaps.
        .with_columns((pl.int_range(pl.len()).over("person_id") + 1).cast(pl.Int32).alias("seq"))
        .collect()
    )


def _weight(micro: pl.Expr) -> pl.Expr:
    """A weight in millionths of a percentage point, as a percentage: ``71.428571%``."""
    return _cat(_number(micro), "%")


def _component_line(slot: int, c: Component, plan: Plan, words: Wording) -> list[pl.Expr]:
    value, raw, factor = pl.col(f"in:{c.input}"), pl.col(f"_r:{c.key}"), pl.col(f"_f:{c.key}")
    u = _unit(c.unit)
    rule = c.factor
    if isinstance(rule, Bands):
        how = _cat(_pick(pl.col(f"_b:{c.key}"), band_texts(rule.bands, c.unit)), " → ", _number(factor))
    else:
        if isinstance(rule, Ratio):
            how = _cat(_number(value), u, f" ÷ {plain(rule.per)} = ", _number(raw))
        else:
            assert isinstance(rule, Linear)
            start = "" if rule.intercept == 0 else f"{plain(rule.intercept)} + "
            how = _cat(start, f"{plain(rule.per_point)} × ", _number(value), u, " = ", _number(raw))
        clamp = pl.lit("")
        if rule.cap is not None:
            clamp = pl.when(factor < raw).then(pl.lit(f" → {words.cap} {plain(rule.cap)}")).otherwise(clamp)
        if rule.floor is not None:
            clamp = (
                pl.when(factor > raw).then(pl.lit(f" → {words.floor} {plain(rule.floor)}")).otherwise(clamp)
            )
        how = _cat(how, clamp)
    # The money, with the effective weight (the plan's own unless a left-out component scaled it up).
    money = _cat(
        _money(pl.col("_base")),
        " × ",
        _weight(pl.col(f"_w:{c.key}")),
        " × ",
        _number(factor),
        " = ",
        _money(pl.col(f"_a:{c.key}")),
    )
    why = pl.col(f"why:{c.input}")
    detail = _cat(
        pl.when(value.is_null())
        .then(_missing_text(c, plan, words, why))
        .otherwise(_cat(f"{c.source} = ", _number(value), u, ": ", how)),
        pl.when(value.is_null() & pl.lit(c.missing is MissingRule.LEAVE_OUT))
        .then(pl.lit(""))
        .otherwise(_cat("; ", money)),
    )
    if c.maturity is Maturity.COHORT:
        cohort = pl.col(f"co:{c.input}")
        label = pl.when(cohort.is_not_null()).then(_cat(words.colon, cohort)).otherwise(pl.lit(""))
        detail = _cat(detail, words.open_paren, words.cohort, label, words.close_paren)
    provisional = f"{words.open_paren}{words.provisional}{words.close_paren}"
    detail = _cat(detail, pl.when(pl.col(f"_pv:{c.key}")).then(pl.lit(provisional)).otherwise(pl.lit("")))
    return _line(
        slot,
        "component",
        detail,
        key=c.key,
        label=c.label,
        input_name=c.input,
        value=value,
        branch=pl.when(value.is_null()).then(pl.lit("missing")),
        band=pl.col(f"_b:{c.key}"),
        factor=factor,
        amount=pl.col(f"_a:{c.key}"),
    )


def _missing_text(c: Component, plan: Plan, words: Wording, why: pl.Expr) -> pl.Expr:
    """What the statement says when the component's input is missing: the rule applied, and why (who must
    act) when the frame says so."""
    if c.missing is MissingRule.FACTOR:
        # The plan's fixed factor: the wording stored plans have always had, with the reason when known.
        assert c.missing_factor is not None
        reason = pl.when(why.is_not_null()).then(_cat(words.open_paren, why, words.close_paren))
        return _cat(
            f"{c.source} {words.missing}", reason.otherwise(pl.lit("")), f" → {plain(c.missing_factor)}"
        )
    head = _cat(
        f"{c.label}{words.colon}{words.missing_input}{words.open_paren}",
        why.fill_null(c.source),
        f"{words.close_paren}{words.comma}",
    )
    if c.missing is MissingRule.HOLD:
        return _cat(head, words.rule_hold)
    if c.missing is MissingRule.ZERO:
        return _cat(head, words.rule_zero)
    others = [
        pl.when(pl.col(f"_k:{o.key}")).then(
            _cat(f"{o.label} {plain(o.weight)}% → ", _weight(pl.col(f"_w:{o.key}")))
        )
        for o in plan.components
        if o.key != c.key
    ]
    scaled = (
        _cat(
            words.rule_leave_out,
            words.open_paren,
            pl.concat_str(others, separator=words.list_separator, ignore_nulls=True),
            words.close_paren,
        )
        if others
        else pl.lit(words.rule_leave_out)
    )
    inputs = words.list_separator.join(dict.fromkeys(o.source for o in plan.components))
    nothing = f"{words.rule_leave_out_none}{words.open_paren}{inputs}{words.close_paren}{words.comma}{words.none_pays}"
    return _cat(head, pl.when(pl.col("_kept_weight") == 0).then(pl.lit(nothing)).otherwise(scaled))


def _condition_line(slot: int, m: Multiplier, words: Wording) -> list[pl.Expr]:
    assert m.when is not None
    when, outcome = m.when, pl.col(f"_mc:{m.key}")
    value, u = pl.col(f"in:{when.input}"), _unit(when.unit)
    bound = f"{plain(when.value)}{u}"
    detail = (
        pl.when(outcome == "missing")
        .then(pl.lit(f"{when.input} {words.missing}"))
        .when(outcome == "then")
        .then(_cat(f"{when.input} = ", _number(value), f"{u} {when.op.symbol} {bound} ({words.met})"))
        .otherwise(
            _cat(
                f"{when.input} = ", _number(value), f"{u} {when.op.negated_symbol} {bound} ({words.not_met})"
            )
        )
    )
    return _line(
        slot,
        "condition",
        detail,
        key=m.key,
        label=m.label,
        input_name=when.input,
        value=value,
        branch=outcome,
    )


def _outcome_parts(
    outcome: Fixed | BandTable, band: pl.Expr, factor: pl.Expr, word: str
) -> tuple[pl.Expr, pl.Expr | None, pl.Expr | None]:
    """(detail, input name, input value) of a then/else line."""
    if isinstance(outcome, Fixed):
        return _cat(f"{word} → ", _percent(factor)), None, None
    value, u = pl.col(f"in:{outcome.input}"), _unit(outcome.unit)
    rule = _pick(band, band_texts(outcome.bands, outcome.unit))
    detail = _cat(f"{outcome.input} = ", _number(value), f"{u}: ", rule, " → ", _percent(factor))
    return detail, pl.lit(outcome.input), value


def _multiplier_line(slot: int, m: Multiplier, words: Wording) -> list[pl.Expr]:
    branch, band, factor = pl.col(f"_mb:{m.key}"), pl.col(f"_mi:{m.key}"), pl.col(f"_m:{m.key}")
    # Missing: name the input that was missing (the condition's first, else the chosen branch's), why when the
    # frame says so, and the rule (left out: the multiplier does not apply, ×1).
    missing_input, why = _missing_input(m)
    reason = (
        pl.when(why.is_not_null()).then(_cat(words.open_paren, why, words.close_paren)).otherwise(pl.lit(""))
    )
    rule = f"{words.comma}{words.rule_not_applied}" if m.missing is MissingRule.LEAVE_OUT else ""
    detail = _cat(missing_input, f" {words.missing}", reason, f"{rule} → {percent(m.missing_factor)}")
    name, value = missing_input, pl.lit(None, dtype=pl.Int128)
    sides = [("then", m.then, words.met)]
    if m.otherwise is not None:
        sides.append(("else", m.otherwise, words.not_met))
    for side, outcome, word in reversed(sides):
        side_detail, side_input, side_value = _outcome_parts(outcome, band, factor, word)
        taken = branch == side
        detail = pl.when(taken).then(side_detail).otherwise(detail)
        name = (
            pl.when(taken)
            .then(side_input if side_input is not None else pl.lit(None, pl.String))
            .otherwise(name)
        )
        value = (
            pl.when(taken)
            .then(side_value if side_value is not None else pl.lit(None, pl.Int128))
            .otherwise(value)
        )
    provisional = f"{words.open_paren}{words.provisional}{words.close_paren}"
    detail = _cat(detail, pl.when(pl.col(f"_mp:{m.key}")).then(pl.lit(provisional)).otherwise(pl.lit("")))
    return _line(
        slot,
        "multiplier",
        detail,
        key=m.key,
        label=m.label,
        input_name=name,
        value=value,
        branch=branch,
        band=band,
        factor=factor,
    )


def _missing_input(m: Multiplier) -> tuple[pl.Expr, pl.Expr]:
    """(name, why) of the input that sent the multiplier to its missing branch."""
    names: list[tuple[pl.Expr, str]] = []
    if m.when is not None:
        names.append((pl.col(f"in:{m.when.input}").is_null(), m.when.input))
        condition = pl.col(f"_mc:{m.key}")
        for outcome, side in ((m.then, "then"), (m.otherwise, "else")):
            if isinstance(outcome, BandTable):
                names.append((condition == side, outcome.input))
    elif isinstance(m.then, BandTable):
        names.append((pl.lit(True), m.then.input))
    name = pl.coalesce(*(pl.when(cond).then(pl.lit(name)) for cond, name in names))
    why: pl.Expr = pl.lit(None, dtype=pl.String)
    for cond, input_name in reversed(names):
        why = pl.when(cond).then(pl.col(f"why:{input_name}")).otherwise(why)
    return name, why
