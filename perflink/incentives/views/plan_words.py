"""A plan read as people read it: each component's factor rule in words, each multiplier's condition and band
table with its boundary rule explicit (``≤ 1 天 → ×1.20``, ``1 < x ≤ 2 天 → ×1.00``), and what changed from one
version to the next. Used by the plan page, the editor's preview and the what-if page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext

from perflink.engine.incentives import PlanError, parse_plan
from perflink.engine.incentives.plan import (
    Band,
    Bands,
    BandTable,
    Fixed,
    FixedBase,
    Linear,
    Maturity,
    MissingRule,
    Outcome,
    Plan,
    Ratio,
)
from perflink.incentives import plan_form
from perflink.incentives.views.bonus import yuan

# --- the plan read as sentences and tables ------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text in ("-0", "-0.0") else text


def _factor(value: Decimal) -> str:
    """A factor with at least two decimals, as written otherwise: ×1.20, ×0.80, ×1.125."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return "×" + _plain(value)


def _effect(value: Decimal) -> str:
    """A multiplier's effect on the bonus: +20%, −10%, ±0%."""
    change = (value - 1) * 100
    text = _plain(change.normalize()) if change else "0"
    if change > 0:
        return f"+{text}%"
    if change < 0:
        return f"−{text.lstrip('-')}%"
    return "±0%"


def missing_words(rule: MissingRule, factor: Decimal | None, *, multiplier: bool = False) -> str:
    """What a component (or multiplier) does when its input is missing, as the plan states it."""
    if rule is MissingRule.LEAVE_OUT:
        if multiplier:
            return gettext("does not apply (×1)")
        return gettext("left out: the other weights scale up to 100%")
    if rule is MissingRule.HOLD:
        return gettext("counted as 100%")
    if rule is MissingRule.ZERO:
        return gettext("counted as 0")
    assert factor is not None
    return _factor(factor)


def raw_missing_words(raw: Any, *, multiplier: bool = False) -> str:
    """:func:`missing_words` for a plan's raw ``missing`` (a plan being edited, not yet parsed): absent means
    left out."""
    if raw is None:
        return missing_words(MissingRule.LEAVE_OUT, None, multiplier=multiplier)
    if isinstance(raw, Mapping) and "rule" in raw:
        if raw["rule"] in set(MissingRule) - {MissingRule.FACTOR}:
            return missing_words(MissingRule(raw["rule"]), None, multiplier=multiplier)
        return str(raw["rule"])  # not a rule the engine knows: shown as written, the engine refuses it
    factor = raw.get("factor") if isinstance(raw, Mapping) else None
    try:
        return _factor(Decimal(str(factor)))
    except (InvalidOperation, ValueError):
        return f"×{factor}"


def maturity_words(maturity: Maturity) -> str:
    """How a component reads a value whose window has not closed (DOMAIN.md §3a "Maturity")."""
    if maturity is Maturity.COHORT:
        return gettext("reads the cohort whose window closed in the period")
    return gettext("an immature value is paid provisionally and settled by an adjustment when it matures")


def _unit(unit: str) -> str:
    return "" if not unit else unit if unit.startswith("%") else f" {unit}"


def band_bounds(bands: tuple[Band, ...], unit: str = "") -> list[str]:
    """Each band's bounds with the boundary rule explicit: ``≤ 1 天``, ``1 < x ≤ 2 天``, ``> 2 天``."""
    u = _unit(unit)
    texts = []
    for i, band in enumerate(bands):
        prev = bands[i - 1] if i else None
        if prev is None or prev.upto is None:
            texts.append(f"{'≤' if band.inclusive else '<'} {_plain(band.upto or Decimal(0))}{u}")
        elif band.upto is None:
            texts.append(f"{'>' if prev.inclusive else '≥'} {_plain(prev.upto)}{u}")
        elif band.upto == prev.upto:
            texts.append(f"= {_plain(band.upto)}{u}")
        else:
            lower = "<" if prev.inclusive else "≤"
            upper = "≤" if band.inclusive else "<"
            texts.append(f"{_plain(prev.upto)} {lower} x {upper} {_plain(band.upto)}{u}")
    return texts


def _band_rows(bands: tuple[Band, ...], unit: str, *, multiplier: bool) -> list[dict[str, str]]:
    return [
        {
            "number": str(i + 1),
            "bound": bound,
            "factor": _factor(band.factor),
            "effect": _effect(band.factor) if multiplier else "",
        }
        for i, (band, bound) in enumerate(zip(bands, band_bounds(bands, unit), strict=True))
    ]


def _outcome(
    outcome: Outcome | None, labels: Mapping[str, str], units: Mapping[str, str]
) -> dict[str, Any] | None:
    if outcome is None:
        return None
    if isinstance(outcome, Fixed):
        return {"fixed": _factor(outcome.factor), "effect": _effect(outcome.factor)}
    assert isinstance(outcome, BandTable)
    return {
        "input": labels.get(outcome.input, outcome.input),
        "code": outcome.input,
        "bands": _band_rows(outcome.bands, outcome.unit or units.get(outcome.input, ""), multiplier=True),
    }


def _rule_words(rule: Ratio | Linear | Bands, input_label: str) -> str:
    if isinstance(rule, Ratio):
        text = gettext("%(input)s ÷ %(per)s") % {"input": input_label, "per": _plain(rule.per)}
    elif isinstance(rule, Linear):
        text = gettext("%(per_point)s × %(input)s") % {
            "per_point": _plain(rule.per_point),
            "input": input_label,
        }
        if rule.intercept:
            text = f"{_plain(rule.intercept)} + {text}"
    else:
        return gettext("by bands")
    limits = []
    if rule.floor is not None:
        limits.append(gettext("at least %(factor)s") % {"factor": _factor(rule.floor)})
    if rule.cap is not None:
        limits.append(gettext("at most %(factor)s") % {"factor": _factor(rule.cap)})
    return "; ".join([text, *limits])


def describe(
    definition: Mapping[str, Any], labels: Mapping[str, str], units: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The plan as the detail page and the editor's preview show it; None if the engine cannot read it. A band
    table or condition without a unit of its own shows its metric's unit."""
    units = units or {}
    try:
        plan: Plan = parse_plan(definition)
    except PlanError:
        return None
    if isinstance(plan.base, FixedBase):
        base = {"fixed": True, "text": yuan(plan.base.amount)}
    else:
        base = {"fixed": False, "text": gettext("each person's own base (imported per person)")}
    components = []
    for c in plan.components:
        label = labels.get(c.source, c.source)
        components.append(
            {
                "key": c.key,
                "label": c.label,
                "weight": f"{_plain(c.weight.normalize())}%",
                "input": label,
                "code": c.source,
                "unit": c.unit,
                "rule": _rule_words(c.factor, label),
                "bands": _band_rows(c.factor.bands, c.unit or units.get(c.source, ""), multiplier=False)
                if isinstance(c.factor, Bands)
                else [],
                "missing": missing_words(c.missing, c.missing_factor),
                "missing_rule": c.missing.value,
                "maturity": maturity_words(c.maturity),
                "maturity_rule": c.maturity.value,
            }
        )
    multipliers = []
    for m in plan.multipliers:
        condition = None
        if m.when is not None:
            condition = {
                "input": labels.get(m.when.input, m.when.input),
                "code": m.when.input,
                "op": m.when.op.symbol,
                "value": f"{_plain(m.when.value)}{_unit(m.when.unit or units.get(m.when.input, ''))}",
                "negated": m.when.op.negated_symbol,
            }
        multipliers.append(
            {
                "key": m.key,
                "label": m.label,
                "condition": condition,
                "then": _outcome(m.then, labels, units),
                "else": _outcome(m.otherwise, labels, units),
                "missing": missing_words(m.missing, m.missing_factor, multiplier=True),
                "missing_rule": m.missing.value,
                "missing_effect": "" if m.missing is MissingRule.LEAVE_OUT else _effect(m.missing_factor),
            }
        )
    return {
        "base": base,
        "per_person": not isinstance(plan.base, FixedBase),
        "components": components,
        "multipliers": multipliers,
        "floor": yuan(plan.floor),
        "cap": yuan(plan.cap) if plan.cap is not None else "",
        "pool": yuan(plan.pool) if plan.pool is not None else "",
        "inputs": [labels.get(name, name) for name in plan.sources()],
    }


# --- what changed from one version to the next ---------------------------------------------------------------------


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out |= _flat(item, f"{prefix}[{i}]")
        return out or {prefix: []}
    return {prefix: value}


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _in_words(part: Any, kind: str) -> Any:
    """A component or multiplier with its rules for missing and immature data in words, so a change reads as
    ``when data is missing: ×0.00 → counted as 100%`` rather than as the keys that spell it."""
    if not isinstance(part, Mapping):
        return part
    out = dict(part)
    out["missing"] = raw_missing_words(part.get("missing"), multiplier=kind == "multipliers")
    if kind == "components":
        raw = part.get("maturity") or Maturity.PROVISIONAL.value
        out["maturity"] = maturity_words(Maturity(raw)) if raw in set(Maturity) else str(raw)
    return out


def plan_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parts of a plan that differ between two versions (base, each component and multiplier by its code,
    floor, cap, pool), each with the values that changed in it."""
    before, after = plan_form.canonical(old), plan_form.canonical(new)
    state = plan_form.to_state(after)
    old_state = plan_form.to_state(before)

    def keyed(plan: Mapping[str, Any], name: str) -> dict[str, tuple[int, Any]]:
        items = plan.get(name) or []
        return {str(item.get("key")): (i, item) for i, item in enumerate(items) if isinstance(item, Mapping)}

    parts: list[tuple[str, str, Any, Any, int | None, int | None]] = [
        ("base", "base", before.get("base"), after.get("base"), None, None)
    ]
    for name in ("components", "multipliers"):
        olds, news = keyed(before, name), keyed(after, name)
        for key in [*news, *(k for k in olds if k not in news)]:
            i_old, item_old = olds.get(key, (None, None))
            i_new, item_new = news.get(key, (None, None))
            parts.append((name, key, item_old, item_new, i_old, i_new))
    parts += [
        (name, name, before.get(name), after.get(name), None, None) for name in ("floor", "cap", "pool")
    ]

    changes: list[dict[str, Any]] = []
    for kind, key, was, now, i_old, i_new in parts:
        if was == now:
            continue
        if kind in ("components", "multipliers"):
            at = f"{kind}[{i_new if i_new is not None else i_old}]"
            where = plan_form.path_words(at, state if i_new is not None else old_state)
        else:
            at, where = kind, plan_form.path_words(kind)
        if was is None or now is None:
            changes.append(
                {"part": where, "key": key, "what": "added" if was is None else "removed", "values": []}
            )
            continue
        if kind in ("components", "multipliers"):
            was, now = _in_words(was, kind), _in_words(now, kind)
        flat_old, flat_new = (_flat(was), _flat(now)) if isinstance(now, Mapping) else ({"": was}, {"": now})
        values = []
        for leaf in [*flat_new, *(k for k in flat_old if k not in flat_new)]:
            if flat_old.get(leaf) != flat_new.get(leaf):
                path = f"{at}.{leaf}" if leaf else at
                values.append(
                    {
                        "field": plan_form.path_words(path, state).split(" › ", 1)[-1] if leaf else "",
                        "old": _shown(flat_old.get(leaf)),
                        "new": _shown(flat_new.get(leaf)),
                    }
                )
        changes.append({"part": where, "key": key, "what": "changed", "values": values})
    return changes


def changed_keys(changes: list[dict[str, Any]], what: str) -> set[str]:
    return {change["key"] for change in changes if change["what"] == what}
