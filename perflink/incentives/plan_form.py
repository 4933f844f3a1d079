"""The plan editor's form, both ways: a plan (the engine's JSON, see :mod:`perflink.engine.incentives`) to form
fields and back, without loss.

The form's field names are the engine's own paths (``components[1].weight``,
``multipliers[0].then.bands[1].upto``), so an engine message, which starts with the path of the faulty part,
points straight at the field to mark. In between sits the *state*: the plan as the form holds it, every value the
text typed (numbers stay strings, exactly as written), with the kinds chosen (ratio / linear / bands, fixed /
bands, with or without a condition) and the fields of the kinds not chosen kept aside, so switching a kind back
and forth loses nothing.

Round trip: ``to_definition(to_state(plan)) == canonical(plan)``. ``canonical`` only spells out what the engine
already reads the same way (JSON numbers as strings, ``inclusive: true`` on bounded bands, no empty
``multipliers`` list); a plan written in that spelling, like the library's, comes back identical.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

OPS = ("lt", "le", "gt", "ge")
OP_SYMBOLS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
FACTOR_KINDS = ("ratio", "linear", "bands")
OUTCOME_KINDS = ("fixed", "bands")
# What a component does when its input is missing (the engine's ``missing``): left out and the other weights
# scaled up (the default, as on scorecards), held at 100%, paid 0, or a fixed factor. A multiplier either does
# not apply (leave_out: ×1) or takes a fixed factor.
MISSING_RULES = ("leave_out", "hold", "zero", "factor")
MULTIPLIER_MISSING_RULES = ("leave_out", "factor")
DEFAULT_MISSING = "leave_out"
# How a component reads a value over a forward-looking window: the period's own, provisional (暂估) and trued up
# later (the default), or the cohort whose window closed in the period.
MATURITIES = ("provisional", "cohort")
DEFAULT_MATURITY = "provisional"
MIN_BANDS = 2  # the engine's minimum: one bound and the open-ended rest
# Where the form shows "weights must add up to 100": the total under the weights (no engine path names it).
WEIGHTS = "components:weights"
_PATH = re.compile(r"^((?:[a-z_]+(?:\[\d+\])*)(?:\.[a-z_]+(?:\[\d+\])*)*)")
_SEGMENT = re.compile(r"([a-z_]+)((?:\[\d+\])*)")
_INDEX_KEY = re.compile(r"^(?P<list>[a-z_.\[\]0-9]*?[a-z_]+)\[(?P<i>\d+)\]\.")
_NUMBER_NOISE = re.compile(r"[\s,，_]")

State = dict[str, Any]


# --- the choices the editor offers ----------------------------------------------------------------------------


def missing_choices() -> list[tuple[str, str]]:
    """What a component may do when its input is missing (DOMAIN.md §3a "Missing is not zero")."""
    return [
        ("leave_out", _("Leave out and scale the other weights up")),
        ("hold", _("Count as 100%")),
        ("zero", _("Count as 0")),
        ("factor", _("A fixed factor…")),
    ]


def multiplier_missing_choices() -> list[tuple[str, str]]:
    return [("leave_out", _("Does not apply (×1)")), ("factor", _("A fixed factor…"))]


def maturity_choices() -> list[tuple[str, str]]:
    """How a component reads a value whose window is still open (DOMAIN.md §3a "Maturity")."""
    return [
        ("provisional", _("Pay provisionally, settle the difference when it matures")),
        ("cohort", _("Read the cohort whose window closed")),
    ]


# --- blank parts ------------------------------------------------------------------------------------------------


def blank_band(factor: str = "") -> State:
    return {"upto": "", "inclusive": True, "factor": factor}


def blank_bands() -> list[State]:
    return [blank_band(), blank_band()]


def blank_outcome(kind: str = "fixed", factor: str = "") -> State:
    return {"kind": kind, "factor": factor, "input": "", "unit": "", "bands": blank_bands()}


def blank_factor_rule(kind: str = "ratio") -> State:
    return {
        "kind": kind,
        "per": "100" if kind == "ratio" else "",
        "per_point": "",
        "intercept": "",
        "floor": "",
        "cap": "",
        "bands": blank_bands(),
    }


def blank_component(key: str = "") -> State:
    return {
        "key": key,
        "label": "",
        "weight": "",
        "source": "",
        "unit": "",
        "factor": blank_factor_rule(),
        "missing_rule": DEFAULT_MISSING,
        "missing": "0",
        "maturity": DEFAULT_MATURITY,
    }


def blank_multiplier(key: str = "") -> State:
    return {
        "key": key,
        "label": "",
        "conditional": True,
        "when": {"input": "", "op": "le", "value": "", "unit": ""},
        "then": blank_outcome("bands"),
        "else": blank_outcome("fixed"),
        "missing_rule": DEFAULT_MISSING,
        "missing": "1",
    }


def blank_state() -> State:
    return {
        "base": {"kind": "fixed", "amount": ""},
        "components": [
            blank_component("own") | {"label": _("Own appraisal"), "weight": "100", "source": "score"}
        ],
        "multipliers": [],
        "floor": "0",
        "cap": "",
        "pool": "",
    }


# --- plan -> state ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A JSON value as the form shows it: numbers as written (a float through its shortest repr, as the engine
    reads it), text as is, anything else as JSON (which the form cannot hold: see :func:`representable`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _get(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, Mapping) else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _bands_state(raw: Any) -> list[State]:
    bands = [
        {
            "upto": _text(_get(b, "upto")),
            "inclusive": _get(b, "inclusive") is not False,
            "factor": _text(_get(b, "factor")),
        }
        for b in _list(raw)
    ]
    while len(bands) < MIN_BANDS:
        bands.append(blank_band())
    return bands


def _missing_state(raw: Any, aside: str) -> tuple[str, str]:
    """(rule, factor text) of a component's or multiplier's ``missing``; the factor of a rule that has none is
    ``aside``, shown if the user switches to a fixed factor."""
    missing = _get(raw, "missing")
    if missing is None:
        return DEFAULT_MISSING, aside
    if isinstance(missing, Mapping) and "rule" in missing:
        return _text(missing["rule"]), _text(missing.get("factor")) or aside
    return "factor", _text(_get(missing, "factor"))


def _factor_state(raw: Any) -> State:
    kind = _get(raw, "kind")
    rule = blank_factor_rule(kind if kind in FACTOR_KINDS else "ratio")
    rule["per"] = ""
    for name in ("per", "per_point", "intercept", "floor", "cap"):
        rule[name] = _text(_get(raw, name))
    if kind == "bands":
        rule["bands"] = _bands_state(_get(raw, "bands"))
    return rule


def _outcome_state(raw: Any) -> State:
    if isinstance(raw, Mapping) and "bands" in raw:
        outcome = blank_outcome("bands")
        outcome.update(
            input=_text(raw.get("input")), unit=_text(raw.get("unit")), bands=_bands_state(raw["bands"])
        )
        return outcome
    return blank_outcome("fixed", _text(_get(raw, "factor")))


def to_state(definition: Mapping[str, Any]) -> State:
    """A plan as the editor shows it. Tolerant: a plan the engine would refuse still loads as far as it goes."""
    base = _get(definition, "base")
    components = []
    for raw in _list(_get(definition, "components")):
        rule, factor = _missing_state(raw, "0")
        components.append(
            {
                "key": _text(_get(raw, "key")),
                "label": _text(_get(raw, "label")),
                "weight": _text(_get(raw, "weight")),
                "source": _text(_get(raw, "source")),
                "unit": _text(_get(raw, "unit")),
                "factor": _factor_state(_get(raw, "factor")),
                "missing_rule": rule,
                "missing": factor,
                "maturity": _text(_get(raw, "maturity")) or DEFAULT_MATURITY,
            }
        )
    multipliers = []
    for raw in _list(_get(definition, "multipliers")):
        when = _get(raw, "when")
        rule, factor = _missing_state(raw, "1")
        multipliers.append(
            {
                "key": _text(_get(raw, "key")),
                "label": _text(_get(raw, "label")),
                "conditional": when is not None,
                "when": {
                    "input": _text(_get(when, "input")),
                    "op": _text(_get(when, "op")) or "le",
                    "value": _text(_get(when, "value")),
                    "unit": _text(_get(when, "unit")),
                },
                "then": _outcome_state(_get(raw, "then")),
                "else": _outcome_state(_get(raw, "else")),
                "missing_rule": rule,
                "missing": factor,
            }
        )
    return {
        "base": {"kind": _text(_get(base, "kind")) or "fixed", "amount": _text(_get(base, "amount"))},
        "components": components,
        "multipliers": multipliers,
        "floor": _text(_get(definition, "floor")),
        "cap": _text(_get(definition, "cap")),
        "pool": _text(_get(definition, "pool")),
    }


# --- form fields -> state ---------------------------------------------------------------------------------------


def _indices(keys: Iterable[str], prefix: str) -> list[int]:
    """The row numbers posted under ``prefix`` (``components``, ``multipliers[0].then.bands``), in order."""
    pattern = re.compile(re.escape(prefix) + r"\[(\d+)\]\.")
    found = {int(m.group(1)) for key in keys if (m := pattern.match(key))}
    return sorted(found)


def _posted_bands(data: Mapping[str, Any], keys: list[str], prefix: str) -> list[State]:
    rows = []
    for j in _indices(keys, prefix):
        at = f"{prefix}[{j}]"
        rows.append(
            {
                "upto": str(data.get(f"{at}.upto", "")),
                "inclusive": f"{at}.inclusive" in data,
                "factor": str(data.get(f"{at}.factor", "")),
            }
        )
    return rows or blank_bands()


def _posted_outcome(data: Mapping[str, Any], keys: list[str], prefix: str) -> State:
    kind = str(data.get(f"{prefix}.kind", "fixed"))
    return {
        "kind": kind if kind in OUTCOME_KINDS else "fixed",
        "factor": str(data.get(f"{prefix}.factor", "")),
        "input": str(data.get(f"{prefix}.input", "")),
        "unit": str(data.get(f"{prefix}.unit", "")),
        "bands": _posted_bands(data, keys, f"{prefix}.bands"),
    }


def _posted_rule(data: Mapping[str, Any], at: str) -> str:
    """The missing rule posted; a form that posts only a factor (before rules existed) means that factor."""
    if f"{at}.missing.rule" in data:
        return str(data[f"{at}.missing.rule"])
    return "factor" if f"{at}.missing.factor" in data else DEFAULT_MISSING


def from_post(data: Mapping[str, Any]) -> State:
    """The state the structured form posted (a QueryDict or a plain dict of field name -> text)."""
    keys = list(data.keys())
    components = []
    for i in _indices(keys, "components"):
        at = f"components[{i}]"
        kind = str(data.get(f"{at}.factor.kind", "ratio"))
        components.append(
            {
                "key": str(data.get(f"{at}.key", "")),
                "label": str(data.get(f"{at}.label", "")),
                "weight": str(data.get(f"{at}.weight", "")),
                "source": str(data.get(f"{at}.source", "")),
                "unit": str(data.get(f"{at}.unit", "")),
                "factor": {
                    "kind": kind if kind in FACTOR_KINDS else "ratio",
                    **{
                        name: str(data.get(f"{at}.factor.{name}", ""))
                        for name in ("per", "per_point", "intercept", "floor", "cap")
                    },
                    "bands": _posted_bands(data, keys, f"{at}.factor.bands"),
                },
                "missing_rule": _posted_rule(data, at),
                "missing": str(data.get(f"{at}.missing.factor", "")),
                "maturity": str(data.get(f"{at}.maturity", DEFAULT_MATURITY)),
            }
        )
    multipliers = []
    for i in _indices(keys, "multipliers"):
        at = f"multipliers[{i}]"
        multipliers.append(
            {
                "key": str(data.get(f"{at}.key", "")),
                "label": str(data.get(f"{at}.label", "")),
                "conditional": f"{at}.when.on" in data,
                "when": {
                    "input": str(data.get(f"{at}.when.input", "")),
                    "op": str(data.get(f"{at}.when.op", "le")),
                    "value": str(data.get(f"{at}.when.value", "")),
                    "unit": str(data.get(f"{at}.when.unit", "")),
                },
                "then": _posted_outcome(data, keys, f"{at}.then"),
                "else": _posted_outcome(data, keys, f"{at}.else"),
                "missing_rule": _posted_rule(data, at),
                "missing": str(data.get(f"{at}.missing.factor", "")),
            }
        )
    return {
        "base": {"kind": str(data.get("base.kind", "fixed")), "amount": str(data.get("base.amount", ""))},
        "components": components,
        "multipliers": multipliers,
        "floor": str(data.get("floor", "")),
        "cap": str(data.get("cap", "")),
        "pool": str(data.get("pool", "")),
    }


# --- state -> plan ----------------------------------------------------------------------------------------------


def _number(text: str) -> str | None:
    """A number as typed, without spaces or thousands separators; None when blank (the engine says it is
    required, naming the field)."""
    cleaned = _NUMBER_NOISE.sub("", text or "")
    return cleaned or None


def _put_optional(target: dict[str, Any], name: str, text: str, *, number: bool = True) -> None:
    value = _number(text) if number else (text or "").strip()
    if value:
        target[name] = value


def _bands(rows: list[State]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, row in enumerate(rows):
        if j == len(rows) - 1:
            out.append({"upto": None, "factor": _number(row["factor"])})
        else:
            out.append(
                {
                    "upto": _number(row["upto"]),
                    "inclusive": bool(row["inclusive"]),
                    "factor": _number(row["factor"]),
                }
            )
    return out


def _outcome(state: State) -> dict[str, Any]:
    if state["kind"] == "bands":
        outcome: dict[str, Any] = {"input": state["input"].strip()}
        _put_optional(outcome, "unit", state["unit"], number=False)
        outcome["bands"] = _bands(state["bands"])
        return outcome
    return {"factor": _number(state["factor"])}


def _factor_rule(state: State) -> dict[str, Any]:
    kind = state["kind"]
    rule: dict[str, Any] = {"kind": kind}
    if kind == "bands":
        rule["bands"] = _bands(state["bands"])
    elif kind == "linear":
        rule["per_point"] = _number(state["per_point"])
        for name in ("intercept", "floor", "cap"):
            _put_optional(rule, name, state[name])
    else:
        rule["per"] = _number(state["per"])
        for name in ("floor", "cap"):
            _put_optional(rule, name, state[name])
    return rule


def _missing(rule: str, factor: str) -> dict[str, Any] | None:
    """The engine's ``missing`` for a rule: none for the default (leave out), a factor, or the rule by name."""
    if rule == DEFAULT_MISSING:
        return None
    if rule == "factor":
        return {"factor": _number(factor)}
    return {"rule": rule}


def to_definition(state: State) -> dict[str, Any]:
    """The plan (the engine's JSON) the state says, with only the fields of the kinds chosen."""
    base: dict[str, Any] = {"kind": state["base"]["kind"]}
    if base["kind"] != "per_person":
        base["amount"] = _number(state["base"]["amount"])
    components = []
    for c in state["components"]:
        component: dict[str, Any] = {
            "key": c["key"].strip(),
            "label": c["label"].strip(),
            "weight": _number(c["weight"]),
            "source": c["source"].strip(),
        }
        _put_optional(component, "unit", c["unit"], number=False)
        component["factor"] = _factor_rule(c["factor"])
        missing = _missing(c["missing_rule"], c["missing"])
        if missing is not None:
            component["missing"] = missing
        if c["maturity"] != DEFAULT_MATURITY:
            component["maturity"] = c["maturity"]
        components.append(component)
    definition: dict[str, Any] = {"base": base, "components": components}
    multipliers = []
    for m in state["multipliers"]:
        multiplier: dict[str, Any] = {"key": m["key"].strip(), "label": m["label"].strip()}
        if m["conditional"]:
            when: dict[str, Any] = {
                "input": m["when"]["input"].strip(),
                "op": m["when"]["op"],
                "value": _number(m["when"]["value"]),
            }
            _put_optional(when, "unit", m["when"]["unit"], number=False)
            multiplier["when"] = when
        multiplier["then"] = _outcome(m["then"])
        if m["conditional"]:
            multiplier["else"] = _outcome(m["else"])
        missing = _missing(m["missing_rule"], m["missing"])
        if missing is not None:
            multiplier["missing"] = missing
        multipliers.append(multiplier)
    if multipliers:
        definition["multipliers"] = multipliers
    for name in ("floor", "cap", "pool"):
        _put_optional(definition, name, state[name])
    return definition


def canonical(definition: Any) -> Any:
    """The plan as the form writes it, which the engine reads exactly as the original: JSON numbers as text
    (a float through its shortest repr, as the engine reads it), ``inclusive`` spelled out on bounded bands,
    no empty list of multipliers, and no default spelled out (``missing: {"rule": "leave_out"}``, ``maturity:
    "provisional"``)."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            out = {k: walk(v, k) for k, v in value.items()}
            if key == "bands_item" and out.get("upto") is not None:
                out.setdefault("inclusive", True)
            return out
        if isinstance(value, list | tuple):
            item_key = "bands_item" if key == "bands" else ""
            return [walk(v, item_key) for v in value]
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float | Decimal):
            return _text(value)
        return value

    if not isinstance(definition, Mapping):
        return definition
    out = walk(definition)
    if out.get("multipliers") == []:
        del out["multipliers"]
    for name in ("components", "multipliers"):
        for part in out.get(name) or []:
            if not isinstance(part, dict):
                continue
            if part.get("missing") == {"rule": DEFAULT_MISSING}:
                del part["missing"]
            if name == "components" and part.get("maturity") == DEFAULT_MATURITY:
                del part["maturity"]
    return out


def representable(definition: Mapping[str, Any]) -> bool:
    """Whether the structured form can hold this plan without losing anything."""
    return to_definition(to_state(definition)) == canonical(definition)


# --- structural edits (add or remove a row) ---------------------------------------------------------------------


def _unique_key(state: State, stem: str) -> str:
    used = {c["key"] for c in state["components"]} | {m["key"] for m in state["multipliers"]}
    n = 1
    while f"{stem}{n}" in used:
        n += 1
    return f"{stem}{n}"


def _resolve(state: State, path: str) -> Any:
    """The list or row at an editor path like ``multipliers[0].then.bands``; KeyError/IndexError if none."""
    node: Any = state
    for name, indexes in _SEGMENT.findall(path):
        node = node[name]
        for index in re.findall(r"\d+", indexes):
            node = node[int(index)]
    return node


def apply_op(state: State, op: str) -> State:
    """``add:components``, ``add:multipliers``, ``add:<bands path>`` (a band before the open-ended last one),
    ``remove:<row path>``. An op that names nothing is ignored."""
    state = copy.deepcopy(state)
    verb, _sep, path = op.partition(":")
    try:
        if verb == "add" and path == "components":
            state["components"].append(blank_component(_unique_key(state, "part")))
        elif verb == "add" and path == "multipliers":
            state["multipliers"].append(blank_multiplier(_unique_key(state, "multiplier")))
        elif verb == "add" and path.endswith("bands"):
            bands = _resolve(state, path)
            bands.insert(len(bands) - 1, blank_band())
        elif verb == "remove":
            match = re.fullmatch(r"(.+)\[(\d+)\]", path)
            if match:
                rows = _resolve(state, match.group(1))
                index = int(match.group(2))
                is_bands = match.group(1).endswith("bands")
                if 0 <= index < len(rows) and (not is_bands or len(rows) > MIN_BANDS):
                    del rows[index]
    except (KeyError, IndexError, TypeError):
        pass
    return state


# --- the editor's view: every field with its name, value and error ----------------------------------------------


@dataclass
class Spot:
    """Where an engine message points: the field or row to mark, and the message to show there."""

    path: str
    message: str
    words: str = ""


@dataclass
class F:
    """One form field: its name (the engine path), its text, and an error when the message points at it."""

    name: str
    value: Any
    error: str = ""

    def __str__(self) -> str:
        return str(self.value)


@dataclass
class Row:
    path: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]


def band_reads(rows: list[State]) -> list[str]:
    """What each band of the editor covers, from the text typed so far: ``≤ 1``, ``1 < x ≤ 2``, ``> 2``."""
    texts = []
    for j, band in enumerate(rows):
        upto = (band["upto"] or "").strip() or "?"
        upper = f"{'≤' if band['inclusive'] else '<'} {upto}"
        if j == 0:
            texts.append(upper)
            continue
        prev = rows[j - 1]
        lower = (prev["upto"] or "").strip() or "?"
        if j == len(rows) - 1:
            texts.append(f"{'>' if prev['inclusive'] else '≥'} {lower}")
        elif lower == upto:
            texts.append(f"= {upto}")
        else:
            texts.append(f"{lower} {'<' if prev['inclusive'] else '≤'} x {upper}")
    return texts


def _band_rows(prefix: str, rows: list[State]) -> list[Row]:
    out = []
    reads = band_reads(rows)
    for j, band in enumerate(rows):
        at = f"{prefix}[{j}]"
        out.append(
            Row(
                at,
                {
                    "upto": F(f"{at}.upto", band["upto"]),
                    "inclusive": F(f"{at}.inclusive", bool(band["inclusive"])),
                    "factor": F(f"{at}.factor", band["factor"]),
                    "last": j == len(rows) - 1,
                    "index": j,
                    "number": j + 1,
                    "removable": len(rows) > MIN_BANDS,
                    "reads": reads[j],
                },
            )
        )
    return out


def _outcome_row(prefix: str, outcome: State) -> Row:
    return Row(
        prefix,
        {
            "kind": F(f"{prefix}.kind", outcome["kind"]),
            "factor": F(f"{prefix}.factor", outcome["factor"]),
            "input": F(f"{prefix}.input", outcome["input"]),
            "unit": F(f"{prefix}.unit", outcome["unit"]),
            "bands": _band_rows(f"{prefix}.bands", outcome["bands"]),
            "bands_path": f"{prefix}.bands",
        },
    )


def _offered(choices: list[tuple[str, str]], value: str) -> list[tuple[str, str]]:
    """The choices of a select, with a value it does not know (from JSON) kept as is, so the engine's message
    about it shows on the field instead of the form silently picking another."""
    return choices if any(v == value for v, _label in choices) else [*choices, (value, value)]


def editor_view(state: State, spot: Spot | None = None) -> dict[str, Any]:
    """The state as rows of fields for the template, with the error (if any) on the field it names."""
    components = []
    for i, c in enumerate(state["components"]):
        at = f"components[{i}]"
        rule = c["factor"]
        components.append(
            Row(
                at,
                {
                    "index": i,
                    "number": i + 1,
                    "key": F(f"{at}.key", c["key"]),
                    "label": F(f"{at}.label", c["label"]),
                    "weight": F(f"{at}.weight", c["weight"]),
                    "source": F(f"{at}.source", c["source"]),
                    "unit": F(f"{at}.unit", c["unit"]),
                    "missing_rule": F(f"{at}.missing.rule", c["missing_rule"]),
                    "missing_rules": _offered(missing_choices(), c["missing_rule"]),
                    "missing": F(f"{at}.missing.factor", c["missing"]),
                    "maturity": F(f"{at}.maturity", c["maturity"]),
                    "maturities": _offered(maturity_choices(), c["maturity"]),
                    "factor": Row(
                        f"{at}.factor",
                        {
                            "kind": F(f"{at}.factor.kind", rule["kind"]),
                            **{
                                name: F(f"{at}.factor.{name}", rule[name])
                                for name in ("per", "per_point", "intercept", "floor", "cap")
                            },
                            "bands": _band_rows(f"{at}.factor.bands", rule["bands"]),
                            "bands_path": f"{at}.factor.bands",
                        },
                    ),
                },
            )
        )
    multipliers = []
    for i, m in enumerate(state["multipliers"]):
        at = f"multipliers[{i}]"
        multipliers.append(
            Row(
                at,
                {
                    "index": i,
                    "number": i + 1,
                    "key": F(f"{at}.key", m["key"]),
                    "label": F(f"{at}.label", m["label"]),
                    "conditional": F(f"{at}.when.on", bool(m["conditional"])),
                    "when": Row(
                        f"{at}.when",
                        {
                            name: F(f"{at}.when.{name}", m["when"][name])
                            for name in ("input", "op", "value", "unit")
                        },
                    ),
                    "then": _outcome_row(f"{at}.then", m["then"]),
                    "else": _outcome_row(f"{at}.else", m["else"]),
                    "missing_rule": F(f"{at}.missing.rule", m["missing_rule"]),
                    "missing_rules": _offered(multiplier_missing_choices(), m["missing_rule"]),
                    "missing": F(f"{at}.missing.factor", m["missing"]),
                },
            )
        )
    view: dict[str, Any] = {
        "base": Row(
            "base",
            {
                "kind": F("base.kind", state["base"]["kind"]),
                "amount": F("base.amount", state["base"]["amount"]),
            },
        ),
        "components": components,
        "multipliers": multipliers,
        "floor": F("floor", state["floor"]),
        "cap": F("cap", state["cap"]),
        "pool": F("pool", state["pool"]),
        "weight_total": _weight_total(state),
        "weights": F(WEIGHTS, ""),
    }
    if spot is not None:
        mark(view, spot)
    return view


def _weight_total(state: State) -> str:
    total = Decimal(0)
    for c in state["components"]:
        try:
            total += Decimal(_number(c["weight"]) or "0")
        except InvalidOperation:
            return "?"
    return format(total.normalize(), "f") if total == total.to_integral_value() else str(total)


def _targets(view: Any) -> Iterable[F | Row]:
    """Every field and row of the view, depth first."""
    if isinstance(view, F):
        yield view
    elif isinstance(view, Row):
        yield view
        for value in view.fields.values():
            yield from _targets(value)
    elif isinstance(view, dict):
        for value in view.values():
            yield from _targets(value)
    elif isinstance(view, list):
        for value in view:
            yield from _targets(value)


def mark(view: dict[str, Any], spot: Spot) -> bool:
    """Put the message on the field the path names, or on the nearest row above it; False if none fits."""
    fields = {t.name: t for t in _targets(view) if isinstance(t, F)}
    rows = {t.path: t for t in _targets(view) if isinstance(t, Row)}
    path = spot.path
    while path:
        if path in fields:
            fields[path].error = spot.message
            return True
        if path in rows:
            rows[path].error = spot.message
            return True
        path = parent_path(path)
    return False


def parent_path(path: str) -> str:
    """``a.b[1].c`` -> ``a.b[1]`` -> ``a.b`` -> ``a`` -> ``""``."""
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]


# --- engine messages: the path, and the path in words -----------------------------------------------------------


def error_path(message: str) -> str:
    """The path an engine message starts with (``multipliers[0].then.bands[1].upto``), or ""."""
    head = message.split(" ", 1)[0].rstrip(":")
    match = _PATH.match(head)
    return match.group(1) if match and match.group(1) == head else ""


def input_path(state: State, name: str) -> str:
    """The first field reading the input ``name`` (for the "no active metric" message, which has no path)."""
    for i, c in enumerate(state["components"]):
        if c["source"].strip() == name:
            return f"components[{i}].source"
    for i, m in enumerate(state["multipliers"]):
        if m["conditional"] and m["when"]["input"].strip() == name:
            return f"multipliers[{i}].when.input"
        for branch in ("then", "else"):
            outcome = m[branch]
            if outcome["kind"] == "bands" and outcome["input"].strip() == name:
                return f"multipliers[{i}].{branch}.input"
    return ""


def _word(name: str, parent: str) -> str:
    """A part of a path in words (the context keeps them apart from the same English words elsewhere)."""
    words = {
        "base": pgettext("plan path", "Base"),
        "amount": pgettext("plan path", "amount"),
        "kind": pgettext("plan path", "kind"),
        "key": pgettext("plan path", "code"),
        "label": pgettext("plan path", "name"),
        "weight": pgettext("plan path", "weight"),
        "source": pgettext("plan path", "input"),
        "unit": pgettext("plan path", "unit of measure"),
        "missing": pgettext("plan path", "when data is missing"),
        "rule": pgettext("plan path", "rule"),
        "maturity": pgettext("plan path", "maturity"),
        "when": pgettext("plan path", "condition"),
        "then": pgettext("plan path", "when the condition holds"),
        "else": pgettext("plan path", "otherwise"),
        "input": pgettext("plan path", "input"),
        "op": pgettext("plan path", "comparison"),
        "value": pgettext("plan path", "value"),
        "per": pgettext("plan path", "divisor"),
        "per_point": pgettext("plan path", "per point"),
        "intercept": pgettext("plan path", "starting factor"),
        "floor": pgettext("plan path", "lowest factor") if parent else pgettext("plan path", "Floor"),
        "cap": pgettext("plan path", "highest factor") if parent else pgettext("plan path", "Cap"),
        "pool": pgettext("plan path", "Pool"),
        "upto": pgettext("plan path", "upper bound"),
        "inclusive": pgettext("plan path", "bound included"),
        "components": pgettext("plan path", "Components"),
        "multipliers": pgettext("plan path", "Multipliers"),
    }
    if name == "factor":
        if parent.startswith("components[") and "." not in parent:
            return pgettext("plan path", "factor rule")
        return pgettext("plan path", "factor")
    return words.get(name, name)


def path_words(path: str, state: State | None = None) -> str:
    """A path as a reader says it: ``multipliers[0].then.bands[1].upto`` -> ``Multiplier 1 “理赔周期联动” ›
    when the condition holds › band 2 › upper bound``."""
    if not path:
        return ""
    parts: list[str] = []
    walked = ""
    for name, indexes in _SEGMENT.findall(path):
        numbers = [int(n) for n in re.findall(r"\d+", indexes)]
        parent = walked
        walked = f"{walked}.{name}" if walked else name
        if name in ("components", "multipliers") and numbers:
            i = numbers[0]
            label = ""
            if state is not None and i < len(state[name]):
                label = state[name][i]["label"].strip()
            text = (
                pgettext("plan path", "Component %(n)s")
                if name == "components"
                else pgettext("plan path", "Multiplier %(n)s")
            ) % {"n": i + 1}
            parts.append(f"{text} “{label}”" if label else text)
        elif name == "bands" and numbers:
            parts.append(pgettext("plan path", "band %(n)s") % {"n": numbers[0] + 1})
        elif name == "bands" or (name == "then" and state is not None and _unconditional(state, parent)):
            parts.append(pgettext("plan path", "bands"))
        else:
            parts.append(_word(name, parent))
        walked += indexes
    return " › ".join(parts)


def _unconditional(state: State, multiplier_path: str) -> bool:
    match = re.fullmatch(r"multipliers\[(\d+)\]", multiplier_path)
    if not match:
        return False
    i = int(match.group(1))
    return i < len(state["multipliers"]) and not state["multipliers"][i]["conditional"]


def locate(message: str, state: State | None) -> Spot:
    """Where an error message points, in the form's terms."""
    path = error_path(message)
    if path == "components" and "weights" in message:
        return Spot(WEIGHTS, message, path_words(path, state))
    if not path and state is not None:
        match = re.search(r"\b((?:linked|own):[a-z][a-z0-9_]*|score)\b", message)
        if match:
            path = input_path(state, match.group(1))
    return Spot(path, message, path_words(path, state) if path else "")
