"""Incentive plans as data: ``parse_plan`` validates a plain dict and returns a frozen :class:`Plan`.

Every :class:`PlanError` message starts with the path of the faulty part, e.g.
``multipliers[0].then.bands[1].upto must be greater than bands[0].upto``. The accepted format is described in
the package docstring (:mod:`perflink.engine.incentives`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "Band",
    "BandTable",
    "Bands",
    "Component",
    "Condition",
    "FactorRule",
    "Fixed",
    "FixedBase",
    "Linear",
    "Maturity",
    "MissingRule",
    "Multiplier",
    "Op",
    "Outcome",
    "PerPersonBase",
    "Plan",
    "PlanError",
    "Ratio",
    "parse_plan",
]

FACTOR_PLACES: Final = 6  # factors, weights and input values are exact to the millionth
MONEY_PLACES: Final = 2  # money is exact to the fen
MAX_NUMBER: Final = (
    Decimal(10) ** 9
)  # bound on every non-money constant, so the integer arithmetic cannot overflow
MAX_MONEY: Final = Decimal(10) ** 14  # yuan; Decimal(18, 2) holds less than 10**16 fen
MAX_MULTIPLIER: Final = Decimal(1000)  # one multiplier's factor
MAX_COMBINED: Final = Decimal(10) ** 6  # the product of every multiplier's largest factor
MAX_COMBINED_PLACES: Final = 24  # decimal places of that product, kept exact before its one rounding
_CODE: Final = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_METRIC: Final = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
INPUT_KINDS: Final = ("score", "linked:<metric>", "own:<metric>")
COHORT_SUFFIX: Final = "@cohort"  # the frame column of a cohort component: ``<source>@cohort``


class PlanError(ValueError):
    """An incentive plan (as data) is malformed; the message starts with the path of the faulty part."""


class Op(enum.StrEnum):
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"

    @property
    def symbol(self) -> str:
        return {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}[self.value]

    @property
    def negated_symbol(self) -> str:
        return {"lt": "≥", "le": ">", "gt": "≤", "ge": "<"}[self.value]


class MissingRule(enum.StrEnum):
    """What a component (or multiplier) does when its input is missing (DOMAIN.md §3a "Missing is not zero")."""

    LEAVE_OUT = "leave_out"  # drop out; the present components' weights scale up to 100 (multiplier: ×1)
    HOLD = "hold"  # factor 1 (100%)
    ZERO = "zero"  # factor 0
    FACTOR = "factor"  # the plan's own fixed factor


class Maturity(enum.StrEnum):
    """How a component reads a value that looks forward over a window (DOMAIN.md §3a "Maturity")."""

    PROVISIONAL = "provisional"  # the period's own value, marked 暂估 while immature, trued up later
    COHORT = "cohort"  # the cohort whose window closed in the period (column ``<source>@cohort``)


@dataclass(frozen=True, slots=True)
class FixedBase:
    """The same bonus base for everyone, in yuan to the fen."""

    amount: Decimal


@dataclass(frozen=True, slots=True)
class PerPersonBase:
    """Each person's base comes from the input frame's ``base`` column (imported per employee)."""


Base = FixedBase | PerPersonBase


@dataclass(frozen=True, slots=True)
class Band:
    """Values up to ``upto`` (``≤`` when inclusive, else ``<``) and above the previous band; ``None`` is open."""

    upto: Decimal | None
    factor: Decimal
    inclusive: bool = True


@dataclass(frozen=True, slots=True)
class Ratio:
    """``factor = value / per``, rounded half up to 6 places, then clamped to ``[floor, cap]``."""

    per: Decimal
    floor: Decimal | None = None
    cap: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Linear:
    """``factor = intercept + per_point × value``, rounded half up to 6 places, then clamped."""

    per_point: Decimal
    intercept: Decimal = Decimal(0)
    floor: Decimal | None = None
    cap: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Bands:
    """The factor of the band the value falls in (exact)."""

    bands: tuple[Band, ...]


FactorRule = Ratio | Linear | Bands


@dataclass(frozen=True, slots=True)
class Component:
    """``weight`` percent of the base, times a factor read from ``source``. Without data, ``missing`` says what
    happens: left out (``missing_factor`` None, the other weights scale up), or ``missing_factor`` applies
    (hold: 1, zero: 0, factor: the plan's). ``maturity`` cohort reads the column ``<source>@cohort``."""

    key: str
    label: str
    weight: Decimal
    source: str
    factor: FactorRule
    missing_factor: Decimal | None
    unit: str = ""
    missing: MissingRule = MissingRule.FACTOR
    maturity: Maturity = Maturity.PROVISIONAL

    @property
    def input(self) -> str:
        """The frame column this component reads: ``source``, or ``source@cohort`` for a cohort component."""
        return self.source + COHORT_SUFFIX if self.maturity is Maturity.COHORT else self.source


@dataclass(frozen=True, slots=True)
class Condition:
    """``input <op> value``, e.g. ``linked:claim_cycle_days le 2``."""

    input: str
    op: Op
    value: Decimal
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Fixed:
    factor: Decimal


@dataclass(frozen=True, slots=True)
class BandTable:
    """The factor of the band that ``input`` falls in."""

    input: str
    bands: tuple[Band, ...]
    unit: str = ""


Outcome = Fixed | BandTable


@dataclass(frozen=True, slots=True)
class Multiplier:
    """``when`` holds → ``then``; it fails → ``otherwise`` (the plan's ``else``); an input the path reads is
    missing → ``missing_factor`` (1 when ``missing`` is leave_out: the multiplier does not apply). Without
    ``when`` the ``then`` outcome always applies."""

    key: str
    label: str
    when: Condition | None
    then: Outcome
    otherwise: Outcome | None
    missing_factor: Decimal
    missing: MissingRule = MissingRule.FACTOR

    def places(self) -> int:
        """Decimal places this multiplier's factors need (at least 0)."""
        factors = [self.missing_factor, *_outcome_factors(self.then), *_outcome_factors(self.otherwise)]
        return max(_places(f) for f in factors)

    def max_factor(self) -> Decimal:
        return max([self.missing_factor, *_outcome_factors(self.then), *_outcome_factors(self.otherwise)])


@dataclass(frozen=True, slots=True)
class Plan:
    base: Base
    components: tuple[Component, ...]
    multipliers: tuple[Multiplier, ...] = ()
    floor: Decimal = Decimal(0)
    cap: Decimal | None = None
    pool: Decimal | None = None

    def inputs(self) -> tuple[str, ...]:
        """The frame columns the plan reads (besides ``person_id`` and a per-person ``base``), in plan order."""
        names: list[str] = [c.input for c in self.components]
        for m in self.multipliers:
            if m.when is not None:
                names.append(m.when.input)
            names.extend(o.input for o in (m.then, m.otherwise) if isinstance(o, BandTable))
        return tuple(dict.fromkeys(names))

    def sources(self) -> tuple[str, ...]:
        """The inputs the plan reads as the plan names them (``score``, ``linked:<metric>``, ``own:<metric>``):
        :meth:`inputs` without the ``@cohort`` of a cohort component's column, in plan order."""
        return tuple(dict.fromkeys(name.removesuffix(COHORT_SUFFIX) for name in self.inputs()))


def _outcome_factors(outcome: Outcome | None) -> list[Decimal]:
    if outcome is None:
        return []
    if isinstance(outcome, Fixed):
        return [outcome.factor]
    return [b.factor for b in outcome.bands]


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


# --------------------------------------------------------------------------------------------------------------
# Small readers: each names the path of what it reads.
# --------------------------------------------------------------------------------------------------------------


def _object(raw: object, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise PlanError(f"{path} must be an object, not {type(raw).__name__}")
    return raw


def _keys(data: Mapping[str, Any], path: str, allowed: set[str], required: Sequence[str] = ()) -> None:
    prefix = f"{path}." if path else ""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PlanError(f"{prefix}{unknown[0]} is not a known key (allowed: {', '.join(sorted(allowed))})")
    for name in required:
        if data.get(name) is None:
            raise PlanError(f"{prefix}{name} is required")


def _number(raw: object, path: str, *, places: int = FACTOR_PLACES, bound: Decimal = MAX_NUMBER) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise PlanError(f"{path} must be a number, not {raw!r}")
    try:
        # A JSON float goes through its shortest repr, so 0.9 means Decimal("0.9"), not the binary expansion.
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    except InvalidOperation:
        raise PlanError(f"{path} must be a number, not {raw!r}") from None
    if not value.is_finite():
        raise PlanError(f"{path} must be a finite number, not {raw!r}")
    if _places(value) > places:
        raise PlanError(f"{path} has more than {places} decimal places")
    if abs(value) >= bound:
        raise PlanError(f"{path} must be below {bound:,} in size")
    return value


def _money(raw: object, path: str) -> Decimal:
    value = _number(raw, path, places=MONEY_PLACES, bound=MAX_MONEY)
    if value < 0:
        raise PlanError(f"{path} must not be negative")
    return value


def _text(data: Mapping[str, Any], name: str, path: str, *, required: bool = True) -> str:
    if not required and name not in data:
        return ""
    raw = data.get(name)
    if not isinstance(raw, str) or (required and not raw.strip()):
        raise PlanError(
            f"{path}.{name} must be a non-empty text" if required else f"{path}.{name} must be text"
        )
    return raw.strip()


def _input(raw: object, path: str) -> str:
    if not isinstance(raw, str):
        raise PlanError(f"{path} must be an input name, not {raw!r}")
    kind, sep, metric = raw.partition(":")
    if raw == "score":
        return raw
    if not sep or kind not in ("linked", "own"):
        raise PlanError(f"{path}: unknown input kind {raw!r} (allowed: {', '.join(INPUT_KINDS)})")
    if not _METRIC.match(metric):
        raise PlanError(f"{path}: {metric!r} is not a metric code (lower-case letters, digits, _)")
    return raw


_RULE_FACTORS: Final = {MissingRule.HOLD: Decimal(1), MissingRule.ZERO: Decimal(0)}


def _missing(
    data: Mapping[str, Any], path: str, allowed: Sequence[MissingRule]
) -> tuple[MissingRule, Decimal | None]:
    """The rule for a missing input and its factor (None when left out): absent means leave_out;
    ``{"rule": ...}`` names a rule; ``{"factor": x}`` is a fixed factor (the older spelling, still valid)."""
    raw = data.get("missing")
    if raw is None:
        return MissingRule.LEAVE_OUT, None
    where = f"{path}.missing"
    missing = _object(raw, where)
    _keys(missing, where, {"rule", "factor"})
    names = ", ".join(rule.value for rule in allowed if rule is not MissingRule.FACTOR)
    if "rule" in missing:
        if "factor" in missing:
            raise PlanError(f"{where}: give either a rule or a factor, not both")
        try:
            rule = MissingRule(missing["rule"])
        except ValueError:
            rule = None
        if rule is None or rule is MissingRule.FACTOR or rule not in allowed:
            raise PlanError(
                f"{where}.rule must be one of {names} (or give a factor), not {missing['rule']!r}"
            )
        return rule, _RULE_FACTORS.get(rule)
    if missing.get("factor") is None:
        raise PlanError(f'{where} needs a rule ({names}) or a factor, e.g. {{"factor": "1"}}')
    return MissingRule.FACTOR, _number(missing["factor"], f"{where}.factor")


def _bands(raw: object, path: str) -> tuple[Band, ...]:
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise PlanError(f"{path} must be a list of at least two bands (for one factor, use a fixed factor)")
    bands: list[Band] = []
    for i, raw_band in enumerate(raw):
        where = f"{path}[{i}]"
        data = _object(raw_band, where)
        _keys(data, where, {"upto", "inclusive", "factor"}, ["factor"])
        if "upto" not in data:
            raise PlanError(f"{where}.upto is required (null for the last, open-ended band)")
        inclusive = data.get("inclusive", True)
        if not isinstance(inclusive, bool):
            raise PlanError(f"{where}.inclusive must be true or false, not {inclusive!r}")
        upto = None if data["upto"] is None else _number(data["upto"], f"{where}.upto")
        band = Band(upto=upto, factor=_number(data["factor"], f"{where}.factor"), inclusive=inclusive)
        if bands:
            prev = bands[-1]
            if prev.upto is None:
                raise PlanError(
                    f"{path}[{i - 1}].upto must not be null: only the last band may be open-ended"
                )
            # An equal bound is allowed only to split "< x" from "= x"; anything else is empty or overlapping.
            if band.upto is not None and (
                band.upto < prev.upto or (band.upto == prev.upto and (prev.inclusive or not band.inclusive))
            ):
                raise PlanError(f"{where}.upto must be greater than bands[{i - 1}].upto")
        bands.append(band)
    last = len(bands) - 1
    if bands[last].upto is not None:
        raise PlanError(
            f"{path}[{last}].upto must be null: the last band is open-ended, or larger values fall out"
        )
    if "inclusive" in raw[last]:
        raise PlanError(f"{path}[{last}].inclusive has no meaning on the open-ended band")
    return tuple(bands)


# --------------------------------------------------------------------------------------------------------------
# The plan and its parts.
# --------------------------------------------------------------------------------------------------------------


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """Validate an incentive plan given as plain data (e.g. loaded from JSON) and return its frozen form."""
    data = _object(data, "plan")
    _keys(data, "", {"base", "components", "multipliers", "floor", "cap", "pool"}, ["base", "components"])
    base = _base(data["base"])
    raw_components = data["components"]
    if not isinstance(raw_components, list | tuple) or not raw_components:
        raise PlanError("components must be a non-empty list")
    components = tuple(_component(raw, f"components[{i}]") for i, raw in enumerate(raw_components))
    total = sum((c.weight for c in components), Decimal(0))
    if total != 100:
        parts = " + ".join(f"{c.key} {c.weight}" for c in components)
        raise PlanError(f"components: weights must add up to exactly 100, not {total} ({parts})")
    raw_multipliers = data.get("multipliers", [])
    if not isinstance(raw_multipliers, list | tuple):
        raise PlanError("multipliers must be a list")
    multipliers = tuple(_multiplier(raw, f"multipliers[{i}]") for i, raw in enumerate(raw_multipliers))
    _check_keys_unique(components, multipliers)
    _check_combined(multipliers)
    floor = _money(data["floor"], "floor") if data.get("floor") is not None else Decimal(0)
    cap = _money(data["cap"], "cap") if data.get("cap") is not None else None
    if cap is not None and cap < floor:
        raise PlanError(f"cap must not be below floor ({cap} < {floor})")
    pool = _money(data["pool"], "pool") if data.get("pool") is not None else None
    return Plan(base=base, components=components, multipliers=multipliers, floor=floor, cap=cap, pool=pool)


def _base(raw: object) -> Base:
    data = _object(raw, "base")
    kind = data.get("kind")
    if kind == "fixed":
        _keys(data, "base", {"kind", "amount"}, ["amount"])
        return FixedBase(_money(data["amount"], "base.amount"))
    if kind == "per_person":
        _keys(data, "base", {"kind"})
        return PerPersonBase()
    raise PlanError(f"base.kind must be 'fixed' or 'per_person', not {kind!r}")


def _key(data: Mapping[str, Any], path: str) -> str:
    key = data.get("key")
    if not isinstance(key, str) or not _CODE.match(key):
        raise PlanError(f"{path}.key must be a code (lower-case letters, digits, _), not {key!r}")
    return key


def _component(raw: object, path: str) -> Component:
    data = _object(raw, path)
    allowed = {"key", "label", "weight", "source", "factor", "missing", "maturity", "unit"}
    _keys(data, path, allowed, ["key", "label", "weight", "source", "factor"])
    weight = _number(data["weight"], f"{path}.weight")
    if not 0 < weight <= 100:
        raise PlanError(f"{path}.weight must be a percentage above 0 and at most 100, not {weight}")
    source = _input(data["source"], f"{path}.source")
    factor = _factor_rule(data["factor"], f"{path}.factor")
    rule, missing_factor = _missing(data, path, list(MissingRule))
    try:
        maturity = Maturity(data.get("maturity") or Maturity.PROVISIONAL)
    except ValueError:
        raise PlanError(
            f"{path}.maturity must be 'provisional' or 'cohort', not {data['maturity']!r}"
        ) from None
    if maturity is Maturity.COHORT and source == "score":
        raise PlanError(
            f"{path}.maturity cannot be 'cohort' for the score: only a linked or own metric has cohorts"
        )
    return Component(
        key=_key(data, path),
        label=_text(data, "label", path),
        weight=weight,
        source=source,
        factor=factor,
        missing_factor=missing_factor,
        unit=_text(data, "unit", path, required=False),
        missing=rule,
        maturity=maturity,
    )


def _factor_rule(raw: object, path: str) -> FactorRule:
    data = _object(raw, path)
    kind = data.get("kind")
    rule: Ratio | Linear
    if kind == "bands":
        _keys(data, path, {"kind", "bands"}, ["bands"])
        return Bands(_bands(data["bands"], f"{path}.bands"))
    if kind == "ratio":
        _keys(data, path, {"kind", "per", "floor", "cap"}, ["per"])
        per = _number(data["per"], f"{path}.per")
        if per <= 0:
            raise PlanError(f"{path}.per must be positive, not {per}")
        rule = Ratio(per=per, floor=_optional(data, "floor", path), cap=_optional(data, "cap", path))
    elif kind == "linear":
        _keys(data, path, {"kind", "per_point", "intercept", "floor", "cap"}, ["per_point"])
        rule = Linear(
            per_point=_number(data["per_point"], f"{path}.per_point"),
            intercept=_optional(data, "intercept", path) or Decimal(0),
            floor=_optional(data, "floor", path),
            cap=_optional(data, "cap", path),
        )
    else:
        raise PlanError(f"{path}.kind must be 'ratio', 'linear' or 'bands', not {kind!r}")
    if rule.floor is not None and rule.cap is not None and rule.cap < rule.floor:
        raise PlanError(f"{path}.cap must not be below {path}.floor")
    return rule


def _optional(data: Mapping[str, Any], name: str, path: str) -> Decimal | None:
    raw = data.get(name)
    return None if raw is None else _number(raw, f"{path}.{name}")


def _multiplier(raw: object, path: str) -> Multiplier:
    data = _object(raw, path)
    _keys(data, path, {"key", "label", "when", "then", "else", "missing"}, ["key", "label", "then"])
    when = None if data.get("when") is None else _condition(data["when"], f"{path}.when")
    if when is not None and data.get("else") is None:
        raise PlanError(
            f"{path}.else is required with a when: say which factor applies when it does not hold"
        )
    if when is None and data.get("else") is not None:
        raise PlanError(f"{path}.else needs a when")
    then = _outcome(data["then"], f"{path}.then")
    otherwise = None if data.get("else") is None else _outcome(data["else"], f"{path}.else")
    if when is None and isinstance(then, Fixed):
        raise PlanError(f"{path} reads no input: give it a when, or bands over an input in then")
    rule, missing_factor = _missing(data, path, [MissingRule.LEAVE_OUT, MissingRule.FACTOR])
    multiplier = Multiplier(
        key=_key(data, path),
        label=_text(data, "label", path),
        when=when,
        then=then,
        otherwise=otherwise,
        # Left out, a multiplier does not apply: ×1.
        missing_factor=Decimal(1) if missing_factor is None else missing_factor,
        missing=rule,
    )
    if multiplier.missing_factor < 0:
        raise PlanError(f"{path}.missing.factor must not be negative: a multiplier scales the bonus")
    if multiplier.missing_factor > MAX_MULTIPLIER:
        raise PlanError(f"{path}.missing.factor must be at most {MAX_MULTIPLIER}")
    return multiplier


def _condition(raw: object, path: str) -> Condition:
    data = _object(raw, path)
    _keys(data, path, {"input", "op", "value", "unit"}, ["input", "op", "value"])
    try:
        op = Op(data["op"])
    except ValueError:
        raise PlanError(f"{path}.op must be one of lt, le, gt, ge, not {data['op']!r}") from None
    return Condition(
        input=_input(data["input"], f"{path}.input"),
        op=op,
        value=_number(data["value"], f"{path}.value"),
        unit=_text(data, "unit", path, required=False),
    )


def _outcome(raw: object, path: str) -> Outcome:
    data = _object(raw, path)
    outcome: Outcome
    if "bands" in data:
        _keys(data, path, {"input", "unit", "bands"}, ["input"])
        outcome = BandTable(
            input=_input(data["input"], f"{path}.input"),
            bands=_bands(data["bands"], f"{path}.bands"),
            unit=_text(data, "unit", path, required=False),
        )
        checks = [(f"{path}.bands[{i}].factor", b.factor) for i, b in enumerate(outcome.bands)]
    else:
        _keys(data, path, {"factor"}, ["factor"])
        outcome = Fixed(_number(data["factor"], f"{path}.factor"))
        checks = [(f"{path}.factor", outcome.factor)]
    for where, factor in checks:
        if factor < 0:
            raise PlanError(f"{where} must not be negative: a multiplier scales the bonus")
        if factor > MAX_MULTIPLIER:
            raise PlanError(f"{where} must be at most {MAX_MULTIPLIER}")
    return outcome


def _check_keys_unique(components: Sequence[Component], multipliers: Sequence[Multiplier]) -> None:
    seen: dict[str, str] = {}
    parts = [(f"components[{i}]", c.key) for i, c in enumerate(components)]
    parts += [(f"multipliers[{i}]", m.key) for i, m in enumerate(multipliers)]
    for path, key in parts:
        if key in seen:
            raise PlanError(f"{path}.key {key!r} is already used by {seen[key]}")
        seen[key] = path


def _check_combined(multipliers: Sequence[Multiplier]) -> None:
    # The product of all factors is kept exact before its one rounding; bound it so Int128 cannot overflow.
    places = sum(m.places() for m in multipliers)
    largest = Decimal(1)
    for m in multipliers:
        largest *= max(m.max_factor(), Decimal(1))
    if places > MAX_COMBINED_PLACES or largest > MAX_COMBINED:
        raise PlanError(
            f"multipliers: together their factors need {places} decimal places and may reach ×{largest}; "
            f"at most {MAX_COMBINED_PLACES} places and ×{MAX_COMBINED:,} can be multiplied exactly"
        )
