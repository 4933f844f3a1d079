"""Metric definitions and scoring rules in words, for the definition pages.

Definitions and rules are stored as engine data (JSON); people read them as sentences: "Sum of 首年保费 of the
policies issued in the period, per agent and per unit (rolled up)". Every function takes the stored dict as it is
and never fails on a malformed one (the page then shows the raw JSON and the engine's message instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from perflink.engine.metrics import REF_TYPES
from perflink.ingest.kinds import KINDS
from perflink.metrics.catalogue import catalogue, field_label, value_label

# The roster's fields have no Chinese labels in the ingest kinds; these are theirs.
ROSTER_FIELDS = {
    ("employee", "unit"): gettext_lazy("Unit"),
    ("employee", "manager"): gettext_lazy("Manager"),
    ("employee", "employment_type"): gettext_lazy("Employment type"),
    ("employee", "hire_date"): gettext_lazy("Hire date"),
    ("employee", "exit_date"): gettext_lazy("Exit date"),
    ("employee", "status"): gettext_lazy("Status"),
    ("unit", "parent"): gettext_lazy("Parent unit"),
    ("unit", "kind"): gettext_lazy("Kind"),
    ("unit", "unit_type"): gettext_lazy("Type"),
    ("unit", "category"): gettext_lazy("Category"),
    ("unit", "opened_on"): gettext_lazy("Opened on"),
    ("unit", "closed_on"): gettext_lazy("Closed on"),
}
OPS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
}


def number(value: Any) -> str:
    """``"120.000"`` -> ``"120"``, ``"1.50"`` -> ``"1.5"``; anything else as text."""
    try:
        dec = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not dec.is_finite():
        return str(value)
    return format(dec.normalize(), "f")


def kind_label(kind: str) -> str:
    if kind in KINDS:
        return KINDS[kind].label
    if kind == "employee":
        return _("Employees")
    if kind == "unit":
        return _("Units")
    return str(kind)


def _field(kind: str, name: str) -> str:
    if (kind, name) in ROSTER_FIELDS:
        return str(ROSTER_FIELDS[(kind, name)])
    return field_label(kind, name)


def path_label(kind: str, path: Any) -> str:
    """A field, or ``ref.field`` through a reference, in the kind's words: ``代理人 › 用工类型``."""
    if not isinstance(path, str) or not path:
        return "?"
    head, _sep, rest = path.partition(".")
    label = _field(kind, head)
    if not rest:
        return label
    info = catalogue().get(kind, {}).get(head)
    target = REF_TYPES.get(info.type) if info else None
    return f"{label} › {_field(target, rest) if target else rest}"


def duration_words(kind: str, data: Any) -> str:
    if not isinstance(data, Mapping):
        return "?"
    units = {"days": _("calendar days"), "working_days": _("working days"), "hours": _("hours")}
    return _("%(unit)s from %(start)s to %(end)s") % {
        "unit": units.get(str(data.get("unit", "days")), str(data.get("unit"))),
        "start": path_label(kind, data.get("start")),
        "end": path_label(kind, data.get("end")),
    }


def _shown(kind: str, path: Any, value: Any) -> Any:
    """An enum code in a condition as users say it (``cancelled`` -> ``撤单``)."""
    if not isinstance(path, str) or "." in path:
        return value
    return value_label(kind, path, value)


def condition_words(kind: str, cond: Any) -> str:
    if not isinstance(cond, Mapping):
        return str(cond)
    subject = (
        duration_words(kind, cond["duration"]) if "duration" in cond else path_label(kind, cond.get("field"))
    )
    op = str(cond.get("op", ""))
    if op == "is_null":
        return _("%(field)s is empty") % {"field": subject}
    if op == "not_null":
        return _("%(field)s is not empty") % {"field": subject}
    if cond.get("other"):
        value = path_label(kind, cond["other"])
    elif isinstance(cond.get("value"), list):
        value = "、".join(str(_shown(kind, cond.get("field"), v)) for v in cond["value"])
    else:
        value = str(_shown(kind, cond.get("field"), cond.get("value")))
    if op == "in":
        return _("%(field)s is one of %(values)s") % {"field": subject, "values": value}
    if op == "not_in":
        return _("%(field)s is none of %(values)s") % {"field": subject, "values": value}
    return f"{subject} {OPS.get(op, op)} {value}"


def window_words(kind: str, data: Any, date_field: str) -> str:
    window = data if isinstance(data, Mapping) else {}
    kind_of = str(window.get("type", "period"))
    date = path_label(kind, date_field)
    if kind_of == "rolling":
        return _("%(date)s within the %(n)s months up to the end of the period") % {
            "date": date,
            "n": window.get("months"),
        }
    if kind_of == "lag":
        return _("%(date)s in the period %(n)s months earlier") % {"date": date, "n": window.get("months")}
    if kind_of == "cohort":
        return _("%(date)s in the period; each record followed over its first %(n)s days") % {
            "date": date,
            "n": window.get("days"),
        }
    if kind_of == "open_at_end":
        return _(
            "%(date)s before the end of the period and still open at its end (%(end)s empty or later)"
        ) % {
            "date": date,
            "end": path_label(kind, window.get("end_field")),
        }
    if kind_of == "active":
        return _("%(date)s before the end of the period and %(end)s empty or on/after its start") % {
            "date": date,
            "end": path_label(kind, window.get("end_field")),
        }
    return _("%(date)s in the period") % {"date": date}


def measure_words(kind: str, data: Any, outcomes: Mapping[str, Any]) -> str:
    if not isinstance(data, Mapping):
        return "?"
    agg = str(data.get("agg", ""))
    if agg == "count":
        return _("Number of records")
    if agg == "share":
        where = "; ".join(condition_words(kind, c) for c in data.get("where") or [])
        return _("Share of records where %(where)s (%%)") % {"where": where}
    if "duration" in data:
        what = duration_words(kind, data["duration"])
    elif data.get("field") in outcomes:
        what = str(data["field"])
    else:
        what = path_label(kind, data.get("field"))
    templates = {
        "distinct": _("Number of distinct %(what)s"),
        "sum": _("Sum of %(what)s"),
        "mean": _("Average of %(what)s"),
        "median": _("Median of %(what)s"),
        "p90": _("90th percentile of %(what)s"),
        "min": _("Smallest %(what)s"),
        "max": _("Largest %(what)s"),
    }
    return templates.get(agg, f"{agg} %(what)s") % {"what": what}


def subject_words(kind: str, data: Any) -> str:
    if not isinstance(data, Mapping):
        return "?"
    parts = []
    if data.get("employee"):
        parts.append(_("per employee (%(field)s)") % {"field": path_label(kind, data["employee"])})
    if data.get("unit"):
        rolled = data.get("rollup", True)
        text = (
            _("per unit (%(field)s), rolled up the org tree")
            if rolled
            else _("per unit (%(field)s), own records only")
        )
        parts.append(text % {"field": path_label(kind, data["unit"])})
    return "; ".join(parts) or "?"


def direction_words(direction: Any) -> str:
    return _("Lower is better") if direction == "lower" else _("Higher is better")


def describe_metric(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The definition as (label, sentence) rows, in reading order."""
    rows: list[tuple[str, str]] = []
    if "formula" in definition:
        rows.append((_("Type"), _("Derived: a formula over other metrics of the same subject")))
        rows.append((_("Formula"), str(definition.get("formula", ""))))
    else:
        kind = str(definition.get("kind", ""))
        outcomes = definition.get("outcomes") if isinstance(definition.get("outcomes"), Mapping) else {}
        rows.append((_("Records"), f"{kind_label(kind)} ({kind})"))
        rows.append((_("Date"), path_label(kind, definition.get("date_field"))))
        rows.append(
            (_("Window"), window_words(kind, definition.get("window"), str(definition.get("date_field", ""))))
        )
        filters = definition.get("filters") or []
        if filters:
            rows.append((_("Filters"), "; ".join(condition_words(kind, c) for c in filters)))
        for name, outcome in (outcomes or {}).items():
            if isinstance(outcome, Mapping):
                other = str(outcome.get("kind", ""))
                agg = _("count") if outcome.get("agg") == "count" else _("sum")
                rows.append(
                    (
                        _("Outcome %(name)s") % {"name": name},
                        _("%(agg)s of %(kind)s by %(date)s")
                        % {
                            "agg": agg,
                            "kind": kind_label(other),
                            "date": path_label(other, outcome.get("date_field")),
                        },
                    )
                )
        rows.append((_("Measure"), measure_words(kind, definition.get("measure"), outcomes or {})))
        rows.append((_("Subject"), subject_words(kind, definition.get("subject"))))
    rows.append((_("Direction"), direction_words(definition.get("direction", "higher"))))
    if definition.get("unit"):
        rows.append((_("Unit of measure"), str(definition["unit"])))
    if definition.get("min_count") is not None:
        rows.append((_("Fewest records to score"), str(definition["min_count"])))
    return rows


def kind_of(definition: Mapping[str, Any]) -> str:
    """The record kind's label, or "derived"."""
    if "formula" in definition:
        return _("Derived")
    return kind_label(str(definition.get("kind", "")))


# --- scoring rules -----------------------------------------------------------------------------------------------


def rule_words(rule: Any, direction: str | None = None) -> str:
    """A template item's rule in one sentence, e.g. "线性：每达成1个百分点得1分，封顶120分"."""
    if not isinstance(rule, Mapping):
        return str(rule)
    kind = rule.get("kind")
    if kind == "linear":
        text = _("Linear: each percentage point of attainment scores %(k)s") % {
            "k": number(rule.get("per_point"))
        }
        if rule.get("base") not in (None, "0", 0):
            text += _(", plus %(base)s") % {"base": number(rule["base"])}
        if rule.get("cap") is not None:
            text += _(", capped at %(cap)s points") % {"cap": number(rule["cap"])}
        if rule.get("floor") not in (None, "0", 0):
            text += _(", at least %(floor)s points") % {"floor": number(rule["floor"])}
        if (rule.get("direction") or direction) == "lower":
            if rule.get("lower_attainment") == "deviation":
                text += _(" (lower is better: each percent under target adds a point)")
            else:
                text += _(" (lower is better: attainment = target ÷ value)")
        return text
    if kind == "threshold":
        word = "≤" if (rule.get("direction") or direction) == "lower" else "≥"
        return _("Threshold: %(op)s target → %(met)s points, otherwise %(missed)s") % {
            "op": word,
            "met": number(rule.get("points_met")),
            "missed": number(rule.get("points_missed", 0)),
        }
    if kind == "bands":
        basis = rule.get("basis", "value")
        bands = rule.get("bands") or []
        parts: list[str] = []
        low: str | None = None
        for band in bands:
            if not isinstance(band, Mapping):
                continue
            upto = band.get("upto")
            points = number(band.get("points"))
            inclusive = band.get("inclusive", True)
            if upto is None:
                span = f"≥ {low}" if low is not None else _("any value")
            elif low is None:
                span = f"{'≤' if inclusive else '<'} {number(upto)}"
            else:
                span = f"{low}–{number(upto)}"
            parts.append(_("%(span)s → %(points)s") % {"span": span, "points": points})
            low = None if upto is None else number(upto)
        head = _("Bands on the attainment percentage") if basis == "attainment" else _("Bands on the value")
        return _("%(kind)s: %(bands)s") % {"kind": head, "bands": "; ".join(parts)}
    if kind == "survey":
        answers = rule.get("answers") or {"满意": 10, "一般": 5, "不满意": 0}
        listed = "; ".join(f"{label} → {number(points)}" for label, points in answers.items())
        return _("Survey answers: %(answers)s") % {"answers": listed}
    return str(dict(rule))
