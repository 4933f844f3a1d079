"""What each kind of demand asks for (its quantified fields), what can be measured of it, and its evaluation rule.

``check_spec`` validates a demand's ``spec`` against its kind's fields and returns it normalised (numbers as
exact decimal strings, defaults filled in). ``check_rule`` validates the evaluation rule: a list of components,
each a measure of the kind's progress (``arrival_rate``), an optional target (else the spec's, e.g.
``pass_rate_target``) and a scoring rule of the metrics engine (``perflink.engine.scoring.parse_rule``: threshold,
linear, bands). There is no rule language of its own. Messages name the faulty part (``spec.positions``,
``rule.components[1].rule``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from perflink.collab.choices import DemandKind
from perflink.core.errors import ValidationFailed
from perflink.engine.scoring import RuleError, SurveyRule, parse_rule
from perflink.ingest.kinds import LINES

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

FieldType = Literal["int", "decimal", "text", "texts", "date", "enum"]


@dataclass(frozen=True)
class SpecField:
    name: str
    type: FieldType
    required: bool = False
    default: Any = None
    low: Decimal | None = None
    high: Decimal | None = None
    low_open: bool = False  # the bound ``low`` itself is not allowed (a time target of 0 days is no target)
    places: int = 2
    max_length: int = 200
    max_items: int = 20
    choices: tuple[str, ...] = ()


def _int(name: str, low: int, high: int, *, required: bool = False, default: int | None = None) -> SpecField:
    return SpecField(name, "int", required, default, Decimal(low), Decimal(high))


def _num(
    name: str, low: str, high: str, *, required: bool = False, low_open: bool = False, places: int = 2
) -> SpecField:
    return SpecField(name, "decimal", required, None, Decimal(low), Decimal(high), low_open, places)


def _text(name: str, max_length: int, *, required: bool = False) -> SpecField:
    return SpecField(name, "text", required, max_length=max_length)


# How long the serving side has to deliver, in working days after submission, when the spec does not say.
# A recruitment demand is due by its arrival deadline instead (see perflink.collab.progress).
DEFAULT_DUE_WORKING_DAYS: dict[str, int] = {
    DemandKind.TRAINING: 20,
    DemandKind.PAYMENT: 10,
    DemandKind.IT_SUPPORT: 5,
    DemandKind.OTHER: 10,
}

_DUE = _int("due_working_days", 1, 250)

SPEC_FIELDS: dict[str, tuple[SpecField, ...]] = {
    DemandKind.RECRUITMENT: (
        _int("positions", 1, 10_000, required=True),
        _int("arrival_days", 1, 365, required=True),  # arrive within N calendar days
        _num("per_hire_target", "0", "1000000000", low_open=True),  # yuan of first-year premium per hire
        _int("attainment_days", 1, 730, default=90),  # … within each hire's first N days
        _text("position_title", 80),
        _text("requisition", 40),  # requisition_no of the HR system's requisition record
    ),
    DemandKind.TRAINING: (
        _text("audience", 200, required=True),
        _text("content", 500, required=True),
        SpecField("courses", "texts", required=True, max_length=120),  # course names as training records say
        _num("pass_rate_target", "0", "100", required=True),
        _int("audience_size", 1, 100_000),
        _text("requisition", 40),  # the audience is this requisition's hires
        _DUE,
    ),
    DemandKind.PAYMENT: (
        _text("catastrophe_tag", 40, required=True),
        SpecField("line", "enum", choices=LINES),
        SpecField("reported_from", "date"),
        SpecField("reported_to", "date"),
        _num("target_payment_days", "0", "365", required=True, low_open=True),
        _DUE,
    ),
    DemandKind.IT_SUPPORT: (
        _text("system", 80, required=True),
        _num("availability_target", "0", "100", low_open=True, places=4),
        _num("fix_hours_target", "0", "8760", low_open=True),
        _DUE,
    ),
    DemandKind.OTHER: (_text("target", 500, required=True), _DUE),
}


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field)


def _decimal(raw: Any, where: str, places: int) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _fail(where, _("%(field)s must be a number.") % {"field": where})
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise _fail(where, _("%(field)s must be a number.") % {"field": where}) from None
    if not value.is_finite() or value.adjusted() > 15:
        raise _fail(where, _("%(field)s must be a number below 10¹⁶.") % {"field": where})
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise _fail(
            where,
            _("%(field)s has more than %(places)s decimal places.") % {"field": where, "places": places},
        )
    return value


def _plain_text(raw: Any) -> bool:
    """Text without control characters (PostgreSQL refuses NUL in JSON, and names have no line breaks)."""
    return isinstance(raw, str) and not _CONTROL.search(raw)


def _check_value(f: SpecField, raw: Any, where: str) -> Any:
    if f.type in ("int", "decimal"):
        if f.type == "int" and (isinstance(raw, bool) or not isinstance(raw, int)):
            raise _fail(where, _("%(field)s must be a whole number.") % {"field": where})
        value = _decimal(raw, where, 0 if f.type == "int" else f.places)
        assert f.low is not None and f.high is not None
        if value < f.low or value > f.high or (f.low_open and value == f.low):
            message = (
                _("%(field)s must be greater than %(low)s and at most %(high)s.")
                if f.low_open
                else _("%(field)s must be from %(low)s to %(high)s.")
            )
            raise _fail(where, message % {"field": where, "low": f.low, "high": f.high})
        return int(value) if f.type == "int" else format(value.normalize(), "f")
    if f.type == "text":
        if not _plain_text(raw) or len(raw.strip()) > f.max_length:
            raise _fail(
                where,
                _("%(field)s must be text of at most %(n)s characters.")
                % {"field": where, "n": f.max_length},
            )
        return raw.strip()
    if f.type == "texts":
        if (
            not isinstance(raw, list)
            or not 1 <= len(raw) <= f.max_items
            or not all(_plain_text(item) and 0 < len(item.strip()) <= f.max_length for item in raw)
        ):
            raise _fail(
                where,
                _("%(field)s must be a list of 1 to %(n)s names of at most %(length)s characters.")
                % {"field": where, "n": f.max_items, "length": f.max_length},
            )
        return list(dict.fromkeys(item.strip() for item in raw))
    if f.type == "date":
        try:
            return dt.date.fromisoformat(raw).isoformat()
        except (TypeError, ValueError):
            raise _fail(where, _("%(field)s must be a date (YYYY-MM-DD).") % {"field": where}) from None
    if raw not in f.choices:
        raise _fail(
            where,
            _("%(field)s must be one of %(choices)s.") % {"field": where, "choices": ", ".join(f.choices)},
        )
    return raw


def check_spec(kind: str, data: Any) -> dict[str, Any]:
    """The spec of a ``kind`` demand, validated and normalised; a ValidationFailed names the field."""
    fields = {f.name: f for f in SPEC_FIELDS[kind]}
    if not isinstance(data, Mapping):
        raise _fail("spec", _("spec must be an object of the demand's quantified fields."))
    unknown = sorted(str(key) for key in data if key not in fields)
    if unknown:
        raise _fail(
            f"spec.{unknown[0]}",
            _("Unknown field %(field)s; a %(kind)s demand has: %(known)s.")
            % {"field": unknown[0], "kind": DemandKind(kind).label, "known": ", ".join(fields)},
        )
    spec: dict[str, Any] = {}
    for name, f in fields.items():
        raw = data.get(name)
        if raw is None or raw == "":
            if f.required:
                raise _fail(f"spec.{name}", _("spec.%(name)s is required.") % {"name": name})
            if f.default is not None:
                spec[name] = f.default
            continue
        spec[name] = _check_value(f, raw, f"spec.{name}")
    if kind == DemandKind.PAYMENT and spec.get("reported_from", "") > spec.get("reported_to", "9999"):
        raise _fail("spec.reported_to", _("The end of the report period comes before its start."))
    if kind == DemandKind.IT_SUPPORT and not ({"availability_target", "fix_hours_target"} & set(spec)):
        raise _fail("spec.availability_target", _("Give an availability target, a fix-time target, or both."))
    return spec


# --- what progress measures, and the rules that score it ---------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A figure of a demand's progress that a rule component may score."""

    key: str
    label: Any  # lazy translation
    unit: str
    direction: Literal["higher", "lower"] = "higher"
    target_default: Decimal | None = None
    target_from: str | None = None  # the spec field holding the target

    def target(self, spec: Mapping[str, Any]) -> Decimal | None:
        if self.target_from is not None:
            raw = spec.get(self.target_from)
            return None if raw is None else Decimal(str(raw))
        return self.target_default


_HUNDRED = Decimal(100)

MEASURES: dict[str, dict[str, Measure]] = {
    DemandKind.RECRUITMENT: {
        m.key: m
        for m in (
            Measure("arrival_rate", gettext_lazy("Arrival rate"), "%", target_default=_HUNDRED),
            Measure("attainment_rate", gettext_lazy("Attainment rate"), "%", target_default=_HUNDRED),
            Measure("arrived_in_time", gettext_lazy("Arrived in time"), "人", target_from="positions"),
            Measure("arrived", gettext_lazy("Arrived"), "人", target_from="positions"),
            Measure("attained", gettext_lazy("Reached the target"), "人"),
        )
    },
    DemandKind.TRAINING: {
        m.key: m
        for m in (
            Measure("pass_rate", gettext_lazy("Pass rate"), "%", target_from="pass_rate_target"),
            Measure("completion_rate", gettext_lazy("Completion rate"), "%", target_default=_HUNDRED),
            Measure("trainees", gettext_lazy("Trainees"), "人", target_from="audience_size"),
        )
    },
    DemandKind.PAYMENT: {
        m.key: m
        for m in (
            Measure(
                "payment_days_mean",
                gettext_lazy("Mean payment time"),
                "天",
                "lower",
                target_from="target_payment_days",
            ),
            Measure(
                "paid_within_target_rate",
                gettext_lazy("Paid within the target time"),
                "%",
                target_default=_HUNDRED,
            ),
            Measure("paid", gettext_lazy("Claims paid"), "件"),
        )
    },
    DemandKind.IT_SUPPORT: {
        m.key: m
        for m in (
            Measure("availability", gettext_lazy("Availability"), "%", target_from="availability_target"),
            Measure(
                "fix_hours_mean",
                gettext_lazy("Mean fix time"),
                "小时",
                "lower",
                target_from="fix_hours_target",
            ),
            Measure("incidents", gettext_lazy("Incidents"), "件", "lower"),
        )
    },
    DemandKind.OTHER: {},
}

MAX_COMPONENTS = 10


def default_rule(kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The rule a demand gets when the requester gives none. Recruitment: DOMAIN.md's — arrival rate ≥ 90% earns
    20 points, plus 1 point per percentage point of the hires reaching the per-hire target. Other kinds: 100 points
    when the spec's target is met. "Other" demands have nothing measured from data, so no components."""
    components: list[dict[str, Any]] = []
    met = {"kind": "threshold", "points_met": "100"}
    if kind == DemandKind.RECRUITMENT:
        components.append(
            {"measure": "arrival_rate", "target": "90", "rule": {"kind": "threshold", "points_met": "20"}}
        )
        if spec.get("per_hire_target") is not None:
            components.append(
                {"measure": "attainment_rate", "target": "100", "rule": {"kind": "linear", "per_point": "1"}}
            )
    elif kind == DemandKind.TRAINING:
        components.append({"measure": "pass_rate", "rule": met})
    elif kind == DemandKind.PAYMENT:
        components.append({"measure": "payment_days_mean", "rule": {**met, "direction": "lower"}})
    elif kind == DemandKind.IT_SUPPORT:
        both = "availability_target" in spec and "fix_hours_target" in spec
        points = "50" if both else "100"
        if "availability_target" in spec:
            components.append(
                {"measure": "availability", "rule": {"kind": "threshold", "points_met": points}}
            )
        if "fix_hours_target" in spec:
            components.append(
                {
                    "measure": "fix_hours_mean",
                    "rule": {"kind": "threshold", "points_met": points, "direction": "lower"},
                }
            )
    return {"components": components}


def check_rule(kind: str, spec: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """The evaluation rule, validated against the kind's measures and the engine's rule parser; normalised."""
    if not isinstance(data, Mapping) or set(data) - {"components"}:
        raise _fail("rule", _("rule must be an object with a list of components."))
    components = data.get("components")
    if not isinstance(components, list) or len(components) > MAX_COMPONENTS:
        raise _fail(
            "rule.components",
            _("rule.components must be a list of at most %(n)s components.") % {"n": MAX_COMPONENTS},
        )
    measures = MEASURES[kind]
    if measures and not components:
        raise _fail("rule.components", _("Give at least one component to evaluate the demand by."))
    checked = []
    for i, component in enumerate(components):
        where = f"rule.components[{i}]"
        if not isinstance(component, Mapping) or set(component) - {"measure", "target", "rule"}:
            raise _fail(
                where, _("%(where)s must be an object of measure, target and rule.") % {"where": where}
            )
        key = component.get("measure")
        measure = measures.get(key) if isinstance(key, str) else None
        if measure is None:
            raise _fail(
                f"{where}.measure",
                _("%(where)s.measure must be one of: %(known)s.")
                % {"where": where, "known": ", ".join(measures) or "—"},
            )
        try:
            rule = parse_rule(component.get("rule"))
        except RuleError as exc:
            raise _fail(f"{where}.rule", f"{where}.rule: {exc}") from None
        if isinstance(rule, SurveyRule):
            raise _fail(
                f"{where}.rule",
                _("%(where)s.rule: survey rules score answers, not figures.") % {"where": where},
            )
        if rule.direction.value != measure.direction:
            raise _fail(
                f"{where}.rule",
                _("%(where)s.rule: %(measure)s is better when %(direction)s; give the rule that direction.")
                % {"where": where, "measure": measure.key, "direction": measure.direction},
            )
        item: dict[str, Any] = {"measure": measure.key, "rule": dict(component["rule"])}
        if component.get("target") is not None:
            target = _decimal(component["target"], f"{where}.target", 6)
            if target < 0:
                raise _fail(f"{where}.target", _("%(where)s.target must not be negative.") % {"where": where})
            item["target"] = str(target)
        elif measure.target(spec) is None and _needs_target(rule):
            raise _fail(
                f"{where}.target",
                _("%(where)s needs a target: %(measure)s has none in the request.")
                % {"where": where, "measure": measure.key},
            )
        checked.append(item)
    return {"components": checked}


def _needs_target(rule: Any) -> bool:
    # Bands over the value score the value itself; every other rule compares it with a target.
    return getattr(rule, "basis", None) != "value"


def component_target(kind: str, spec: Mapping[str, Any], component: Mapping[str, Any]) -> Decimal | None:
    """The target a rule component scores against: its own, else the measure's from the spec."""
    if component.get("target") is not None:
        return Decimal(str(component["target"]))
    return MEASURES[kind][component["measure"]].target(spec)
