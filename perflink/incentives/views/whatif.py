"""What-if and back-testing page of an incentive plan (方案模拟与回测): change the plan, pay it over past months on
the inputs the plan in force was paid on, and see what would have changed, for whom, by how much.

One view serves the page and its htmx parts (``op`` in the POST):

* ``apply``: a quick control (a weight, a band's bound or factor, a threshold, cap, pool) changed: the control is
  written into the plan's JSON and the editor comes back;
* ``sync``: the JSON was edited by hand: the quick controls and the check under the JSON come back;
* ``run`` (the default) and ``all`` (every month with a calculation run): the results;
* ``csv``: every person's delta in every tried month, as a download.

It writes nothing (no bonus run, no plan version, no audit event), so ``plans.view`` is enough to use it.
The figures come from :mod:`perflink.incentives.whatif`.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import can
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.exports import csv_bytes
from perflink.core.htmx import is_partial, render_page
from perflink.incentives.choices import BonusRunStatus
from perflink.incentives.models import IncentivePlan, PlanVersion
from perflink.incentives.views.bonus import input_names, yuan
from perflink.incentives.views.plan_words import raw_missing_words
from perflink.incentives.whatif import (
    NO_RUN,
    NO_VERSION,
    back_test,
    changed_plan,
    months_with_runs,
    person_rows,
    summarise,
)
from perflink.metrics.forms import parse_json_object
from perflink.web.decorators import page

DEFAULT_MONTHS = 12
SKIP_REASONS = {
    NO_RUN: gettext_lazy("no calculation run"),
    NO_VERSION: gettext_lazy("no plan version in force"),
}
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class WhatIfForm(forms.Form):
    definition = forms.CharField(
        label=gettext_lazy("The changed plan (JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "mono whatif-json"}),
    )
    start = forms.CharField(
        label=gettext_lazy("First month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2025-11"}),
    )
    end = forms.CharField(
        label=gettext_lazy("Last month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
    )
    focus = forms.CharField(required=False)

    def clean_definition(self) -> dict[str, Any]:
        return parse_json_object(self.cleaned_data["definition"])

    def clean_start(self) -> str:
        return _month_field(self.cleaned_data["start"])

    def clean_end(self) -> str:
        return _month_field(self.cleaned_data["end"])

    def periods(self) -> list[str]:
        """The months asked for: ``start..end``, or one month when only one end is given."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if not start and not end:
            raise ValidationFailed(gettext("Choose a month, or a first and a last month."), field="start")
        if start and end and start != end:
            return [f"{start}..{end}"]
        return [start or end]


def _month_field(value: str) -> str:
    value = value.strip()
    if value and not _MONTH.match(value):
        raise forms.ValidationError(gettext("A month is written YYYY-MM, e.g. 2026-03."))
    return value


def _plan(plan_id: int) -> IncentivePlan:
    """The plan (404 alike for missing and another tenant's: the default manager is the tenant's)."""
    plan = IncentivePlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


def _current(plan: IncentivePlan) -> PlanVersion | None:
    """The version in force today (else the first one, when every version starts later)."""
    today = timezone.localdate()
    versions = list(plan.versions.order_by("-valid_from", "-number"))
    return next((v for v in versions if v.valid_from <= today), versions[-1] if versions else None)


def as_json(definition: Any) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2)


# --- the quick controls -----------------------------------------------------------------------------------------
# Named by the engine's own path of the value (``multipliers[0].then.bands[1].factor``), so that an engine message,
# which starts with the path of the faulty part, can be shown at the control it is about.

_TOKEN = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
PREFIX = "set:"
OPTIONAL = {"floor", "cap", "pool"}  # an empty box removes them (no cap, no pool)


def _path(name: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _TOKEN.findall(name)]


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def _control(path: str, value: Any, *, error: str = "") -> dict[str, Any]:
    return {
        "path": path,
        "name": PREFIX + path,
        "value": _text(value),
        "id": "q-" + re.sub(r"\W+", "-", path).strip("-"),
        "error": error if error.startswith(path) and not error[len(path) : len(path) + 1].isalnum() else "",
    }


def _bands(path: str, raw: Any, error: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    rows = []
    for i, band in enumerate(raw):
        if not isinstance(band, dict):
            continue
        here = f"{path}[{i}]"
        bounded = band.get("upto") is not None
        rows.append(
            {
                "upto": _control(f"{here}.upto", band.get("upto"), error=error) if bounded else None,
                "op": "≤" if band.get("inclusive", True) else "<",
                "factor": _control(f"{here}.factor", band.get("factor"), error=error),
            }
        )
    return rows


def _outcome(path: str, raw: Any, error: str) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("bands"), list):
        return {
            "input": raw.get("input"),
            "unit": raw.get("unit", ""),
            "bands": _bands(f"{path}.bands", raw["bands"], error),
        }
    if "factor" in raw:
        return {"fixed": _control(f"{path}.factor", raw.get("factor"), error=error)}
    return None


def quick_controls(definition: Any, names: dict[str, str], error: str = "") -> dict[str, Any]:
    """The common changes as form controls: weights, component bands, each multiplier's threshold, bands and
    fixed factors, floor, cap and pool. Parts that are not there (or not in the expected shape) get none."""
    out: dict[str, Any] = {"components": [], "multipliers": [], "limits": [], "names": []}
    if not isinstance(definition, dict):
        return out
    components = definition.get("components")
    total: Decimal | None = Decimal(0)
    for i, component in enumerate(components if isinstance(components, list) else []):
        if not isinstance(component, dict):
            continue
        path = f"components[{i}]"
        factor = component.get("factor")
        bands = factor.get("bands") if isinstance(factor, dict) and factor.get("kind") == "bands" else None
        out["components"].append(
            {
                "label": component.get("label") or component.get("key") or path,
                "source": names.get(str(component.get("source")), component.get("source")),
                "unit": component.get("unit", ""),
                "weight": _control(f"{path}.weight", component.get("weight"), error=error),
                "bands": _bands(f"{path}.factor.bands", bands, error),
            }
        )
        try:
            total = None if total is None else total + Decimal(str(component.get("weight")))
        except ArithmeticError:
            total = None
    out["weight_total"] = total
    out["weights_error"] = error if error.startswith("components:") else ""
    multipliers = definition.get("multipliers")
    for i, multiplier in enumerate(multipliers if isinstance(multipliers, list) else []):
        if not isinstance(multiplier, dict):
            continue
        path = f"multipliers[{i}]"
        when = multiplier.get("when")
        condition = None
        if isinstance(when, dict):
            condition = {
                "input": names.get(str(when.get("input")), when.get("input")),
                "op": {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}.get(str(when.get("op")), when.get("op")),
                "unit": when.get("unit", ""),
                "value": _control(f"{path}.when.value", when.get("value"), error=error),
            }
        branches = []
        for key, label in (
            ("then", pgettext("statement branch", "condition met")),
            ("else", pgettext("statement branch", "condition not met")),
        ):
            outcome = _outcome(f"{path}.{key}", multiplier.get(key), error)
            if outcome is not None:
                if outcome.get("input"):
                    outcome["input"] = names.get(str(outcome["input"]), outcome["input"])
                branches.append({"label": label if condition else "", **outcome})
        missing = multiplier.get("missing")
        out["multipliers"].append(
            {
                "label": multiplier.get("label") or multiplier.get("key") or path,
                "condition": condition,
                "branches": branches,
                # Only a fixed factor has a box: a rule (or no `missing`: left out) is changed in the editor.
                "missing": _control(f"{path}.missing.factor", missing.get("factor"), error=error)
                if isinstance(missing, dict) and "factor" in missing
                else None,
            }
        )
    out["limits"] = [
        {"label": label, **_control(key, definition.get(key), error=error)}
        for key, label in (
            ("floor", pgettext("statement line", "Floor")),
            ("cap", pgettext("statement line", "Cap")),
            ("pool", pgettext("statement line", "Pool")),
        )
    ]
    out["names"] = [c["name"] for c in _walk(out)]
    return out


def _walk(value: Any) -> list[dict[str, Any]]:
    """Every control in the quick controls' structure."""
    if isinstance(value, dict):
        if "name" in value and "path" in value:
            return [value]
        return [c for v in value.values() for c in _walk(v)]
    if isinstance(value, list):
        return [c for v in value for c in _walk(v)]
    return []


def apply_controls(definition: dict[str, Any], data: Any, only: str = "") -> dict[str, Any]:
    """``definition`` with the posted quick controls written into it: all of them, or ``only`` that one (the control
    the user changed, so that a hand edit of the JSON not yet reflected in the other controls stays). Only controls
    the plan has count; a value is kept as typed, for the engine to check; an empty floor, cap or pool removes it;
    other empty boxes change nothing."""
    changed = copy.deepcopy(definition)
    for name in quick_controls(definition, {})["names"]:
        if name not in data or (only and name != only):
            continue
        value = str(data.get(name, "")).strip()
        path = _path(name.removeprefix(PREFIX))
        if not value:
            if len(path) == 1 and path[0] in OPTIONAL:
                changed.pop(str(path[0]), None)
            continue
        target: Any = changed
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return changed


# --- the plan in force, in a few lines --------------------------------------------------------------------------


def _factor_text(rule: Any) -> str:
    if not isinstance(rule, dict):
        return ""
    kind = rule.get("kind")
    limits = "".join(
        f", {label} {rule[key]}"
        for key, label in (("floor", gettext("floor")), ("cap", gettext("cap")))
        if key in rule
    )
    if kind == "ratio":
        return f"÷ {rule.get('per')}{limits}"
    if kind == "linear":
        return f"{rule.get('intercept', '0')} + {rule.get('per_point')} × {gettext('value')}{limits}"
    if kind == "bands":
        return _bands_text(rule.get("bands"), "")
    return str(kind)


def _bands_text(bands: Any, unit: str) -> str:
    if not isinstance(bands, list):
        return ""
    parts = []
    for band in bands:
        if not isinstance(band, dict):
            continue
        if band.get("upto") is None:
            parts.append(f"{gettext('above')} ×{band.get('factor')}")
        else:
            op = "≤" if band.get("inclusive", True) else "<"
            parts.append(f"{op}{band.get('upto')}{unit} ×{band.get('factor')}")
    return ", ".join(parts)


def _outcome_text(outcome: Any, names: dict[str, str]) -> str:
    if not isinstance(outcome, dict):
        return ""
    if "bands" in outcome:
        source = names.get(str(outcome.get("input")), outcome.get("input"))
        return f"{source}: {_bands_text(outcome['bands'], outcome.get('unit', ''))}"
    return f"×{outcome.get('factor')}"


def plan_lines(definition: Any, names: dict[str, str]) -> list[dict[str, str]]:
    """The plan in force as a handful of labelled lines (base, each component, each multiplier, limits)."""
    if not isinstance(definition, dict):
        return []
    lines = []
    base = definition.get("base") or {}
    lines.append(
        {
            "label": pgettext("statement line", "Base"),
            "text": yuan(Decimal(str(base.get("amount"))))
            if base.get("kind") == "fixed"
            else gettext("each person's own base"),
        }
    )
    for component in definition.get("components") or []:
        source = names.get(str(component.get("source")), component.get("source"))
        missing = raw_missing_words(component.get("missing"))
        lines.append(
            {
                "label": f"{component.get('label') or component.get('key')} · {component.get('weight')}%",
                "text": f"{source} {_factor_text(component.get('factor'))}; "
                + gettext("without data: %(rule)s") % {"rule": missing},
            }
        )
    for multiplier in definition.get("multipliers") or []:
        when = multiplier.get("when")
        missing = raw_missing_words(multiplier.get("missing"), multiplier=True)
        if isinstance(when, dict):
            source = names.get(str(when.get("input")), when.get("input"))
            op = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}.get(str(when.get("op")), when.get("op"))
            text = gettext("if %(condition)s: %(then)s; otherwise %(else)s") % {
                "condition": f"{source} {op} {when.get('value')}{when.get('unit', '')}",
                "then": _outcome_text(multiplier.get("then"), names),
                "else": _outcome_text(multiplier.get("else"), names),
            }
        else:
            text = _outcome_text(multiplier.get("then"), names)
        lines.append(
            {
                "label": str(multiplier.get("label") or multiplier.get("key")),
                "text": f"{text}; " + gettext("without data: %(rule)s") % {"rule": missing},
            }
        )
    limits = [
        f"{label} {yuan(Decimal(str(definition[key])))}"
        for key, label in (("floor", gettext("floor")), ("cap", gettext("cap")), ("pool", gettext("pool")))
        if definition.get(key) not in (None, "")
    ]
    if limits:
        lines.append({"label": gettext("Limits"), "text": " · ".join(limits)})
    return lines


# --- results: figures as shown, and the charts' options -----------------------------------------------------------


def signed(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    return ("+" if amount > 0 else "") + yuan(amount)


def percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{'+' if value > 0 else ''}{value}%"


def tone(amount: Decimal | None) -> str:
    if not amount:
        return ""
    return "up" if amount > 0 else "down"


def _bin_label(low: Decimal, high: Decimal) -> str:
    return f"{low:,.0f} – {high:,.0f}"


def _number(value: Decimal | None) -> float | None:
    """A figure for a chart (the tables beside the charts show the exact amounts)."""
    return None if value is None else float(value)


def series_chart(series: list[dict[str, Any]]) -> dict[str, Any]:
    real, tried, delta = gettext("Plan in force"), gettext("Changed plan"), gettext("Difference")
    return {
        "perflink": {"format": "yuan"},
        "legend": {"data": [real, tried, delta], "top": 0, "left": 0},
        "xAxis": {"type": "category", "data": [row["period"] for row in series]},
        "yAxis": [{"type": "value"}, {"type": "value", "splitLine": {"show": False}}],
        "series": [
            {
                "name": real,
                "type": "bar",
                "itemStyle": {"color": "var(--faint)"},
                "data": [_number(row["real"]) for row in series],
            },
            {
                "name": tried,
                "type": "bar",
                "itemStyle": {"color": "var(--primary)"},
                "data": [_number(row["tried"]) for row in series],
            },
            {
                "name": delta,
                "type": "line",
                "yAxisIndex": 1,
                "symbolSize": 6,
                "itemStyle": {"color": "var(--amber)"},
                "data": [_number(row["delta"]) for row in series],
            },
        ],
    }


def deltas_chart(bins: list[dict[str, Any]]) -> dict[str, Any]:
    name = gettext("People × months")
    return {
        "perflink": {"format": "number"},
        "legend": {"show": False},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "category", "data": [_bin_label(b["low"], b["high"]) for b in bins]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": name,
                "type": "bar",
                "barCategoryGap": "8%",
                "data": [
                    {
                        "value": b["count"],
                        "itemStyle": {"color": "var(--red)" if b["high"] <= 0 else "var(--green)"},
                    }
                    for b in bins
                ],
            }
        ],
    }


def amounts_chart(bins: list[dict[str, Any]]) -> dict[str, Any]:
    real, tried = gettext("Plan in force"), gettext("Changed plan")
    return {
        "perflink": {"format": "number"},
        "legend": {"data": [real, tried], "top": 0, "left": 0},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "category", "data": [_bin_label(b["low"], b["high"]) for b in bins]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": real,
                "type": "bar",
                "itemStyle": {"color": "var(--faint)"},
                "data": [b["real"] for b in bins],
            },
            {
                "name": tried,
                "type": "bar",
                "itemStyle": {"color": "var(--primary)"},
                "data": [b["tried"] for b in bins],
            },
        ],
    }


def _unit_label(row: dict[str, Any]) -> str:
    return f"{row['unit_parent']} / {row['unit']}" if row.get("unit_parent") else row.get("unit", "")


def _shown(row: dict[str, Any], statements: bool) -> dict[str, Any]:
    """A unit's or person's row as the tables show it."""
    shown = {
        **row,
        "unit_label": _unit_label(row),
        "real_text": yuan(row["real"]),
        "tried_text": yuan(row["tried"]),
        "delta_text": signed(row["delta"]),
        "pct_text": percent(row["delta_pct"]),
        "tone": tone(row["delta"]),
    }
    if statements and row.get("bonus_run_id") and row.get("person_id"):
        shown["statement_url"] = reverse(
            "incentives:bonus_statement",
            kwargs={"bonus_run_id": row["bonus_run_id"], "employee_id": row["person_id"]},
        )
    return shown


def results_context(result: dict[str, Any], focus: str, user: Any) -> dict[str, Any]:
    """What the results part shows: the whole range, or one tried month (``focus``) for cards, tables and the
    distributions; the month-by-month chart is always the range's."""
    statements = can(user, "bonus.view")
    tried = [p for p in result["periods"] if not p.get("skipped")]
    chosen = next((p for p in tried if p["period"] == focus), None)
    figures = chosen or {**result["summary"], **result}
    summary = result["summary"]
    distribution = figures["distribution"]
    series = [
        {
            **row,
            "real_text": yuan(row["real"]),
            "tried_text": yuan(row["tried"]),
            "delta_text": signed(row["delta"]),
            "pct_text": percent(row["delta_pct"]),
            "tone": tone(row["delta"]),
            "entry": next(p for p in tried if p["period"] == row["period"]),
        }
        for row in result["series"]
    ]
    for row in series:
        status = row["entry"].get("bonus_run_status")
        row["run_label"] = BonusRunStatus(status).label if status else ""
        if statements and row["entry"].get("bonus_run_id"):
            row["run_url"] = reverse(
                "incentives:bonus_run", kwargs={"bonus_run_id": row["entry"]["bonus_run_id"]}
            )
    return {
        "result": result,
        "focus": chosen["period"] if chosen else "",
        "tried_periods": [p["period"] for p in tried],
        "range_label": " – ".join(
            dict.fromkeys([result["series"][0]["period"], result["series"][-1]["period"]])
        )
        if result["series"]
        else "",
        "skipped": [
            {"period": p["period"], "reason": SKIP_REASONS.get(p["skipped"], p["skipped"])}
            for p in result["periods"]
            if p.get("skipped")
        ],
        "summary": summary,
        "cards": {
            "real": yuan(figures["total_real"]),
            "tried": yuan(figures["total_tried"]),
            "delta": signed(figures["delta"]),
            "pct": percent(figures["delta_pct"]),
            "tone": tone(figures["delta"]),
            "people": figures["people"],
            "gained": figures["gained"],
            "lost": figures["lost"],
            "unchanged": figures["unchanged"],
        },
        "series": series,
        "units": [_shown(row, False) for row in figures["units"]],
        "gainers": [_shown(row, statements) for row in figures["gainers"]],
        "losers": [_shown(row, statements) for row in figures["losers"]],
        "delta_bins": [
            {**b, "label": _bin_label(b["low"], b["high"]), "tone": "down" if b["high"] <= 0 else "up"}
            for b in distribution["deltas"]
        ],
        "amount_bins": [{**b, "label": _bin_label(b["low"], b["high"])} for b in distribution["amounts"]],
        "zero_deltas": distribution["zero_deltas"],
        "charts": {
            "series": series_chart(result["series"]),
            "deltas": deltas_chart(distribution["deltas"]),
            "amounts": amounts_chart(distribution["amounts"]),
        },
    }


# --- the view ---------------------------------------------------------------------------------------------------


def _initial(current: PlanVersion | None, months: list[str]) -> dict[str, Any]:
    recent = months[-DEFAULT_MONTHS:]
    return {
        "definition": as_json(current.definition if current else {}),
        "start": recent[0] if recent else "",
        "end": recent[-1] if recent else "",
    }


def _valid(definition: Any) -> bool | str:
    """True, or the message naming the faulty part of the plan."""
    try:
        changed_plan(definition)
    except ValidationFailed as exc:
        return exc.message
    return True


def _editor(
    form: WhatIfForm, definition: Any, names: dict[str, str], error: str = "", valid: bool | str | None = None
) -> dict[str, Any]:
    """The editor's context: the form, the quick controls read from ``definition``, and the check under the JSON
    (``valid``: True, or the engine's message)."""
    if isinstance(valid, str):
        error, valid = valid, False
    return {
        "form": form,
        "controls": quick_controls(definition, names, error),
        "check": {"error": error, "valid": valid},
    }


@page("plans.view")
@require_http_methods(["GET", "HEAD", "POST"])
def plan_what_if(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The page (GET), and its parts and downloads (POST, see the module docstring); nothing is written."""
    plan = _plan(plan_id)
    current = _current(plan)
    months = months_with_runs()
    names = input_names()
    ctx: dict[str, Any] = {
        "plan": plan,
        "current": current,
        "plan_lines": plan_lines(current.definition if current else None, names),
        "months": months,
        "first_month": months[0] if months else "",
        "last_month": months[-1] if months else "",
        "default_months": min(len(months), DEFAULT_MONTHS),
    }
    if request.method != "POST":
        form = WhatIfForm(initial=_initial(current, months))
        definition = current.definition if current else {}
        ctx |= _editor(form, definition, names)
        return render_page(request, "incentives/whatif.html", "incentives/partials/whatif_results.html", ctx)

    op = request.POST.get("op", "run")
    data = request.POST.copy()
    if op == "all" and months:
        data["start"], data["end"] = months[0], months[-1]
    form = WhatIfForm(data)
    form.is_valid()
    definition = form.cleaned_data.get("definition")
    json_error = "; ".join(form.errors.get("definition", []))

    if op == "apply" and definition is not None:
        changed_control = request.headers.get("HX-Trigger-Name", "") if is_partial(request) else ""
        changed_control = changed_control if changed_control.startswith(PREFIX) else ""
        definition = apply_controls(definition, request.POST, only=changed_control)
        data["definition"] = as_json(definition)
        form = WhatIfForm(data)
        form.is_valid()
    if op in {"apply", "sync"}:
        ctx |= _editor(form, definition, names, json_error, valid=None if json_error else _valid(definition))
        if not is_partial(request):  # without JavaScript, "apply" is a button and the whole page comes back
            return render_page(
                request, "incentives/whatif.html", "incentives/partials/whatif_results.html", ctx
            )
        if op == "apply":
            return _render(request, "incentives/partials/whatif_editor.html", ctx)
        return _render(
            request,
            "incentives/partials/whatif_controls.html",
            ctx,
            oob=["incentives/partials/whatif_check.html"],
        )

    status = 200
    error = json_error
    if definition is not None and not form.errors.get("start") and not form.errors.get("end"):
        try:
            test = back_test(plan, definition, form.periods())
        except ValidationFailed as exc:
            if exc.field in {"periods", "start"}:
                form.add_error("start", exc.message)
            else:
                error = exc.message
        else:
            if op == "csv":
                header, rows = person_rows(test)
                response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="what-if-{plan.code}.csv"'
                return response
            ctx |= results_context(summarise(test), form.cleaned_data.get("focus", ""), request.user)
            ctx["ran"] = True
    if error or form.errors:
        status = 400
        ctx["failed"] = True
    valid = None if error or definition is None else True if ctx.get("ran") else _valid(definition)
    ctx |= _editor(form, definition, names, error, valid=valid)
    if is_partial(request):
        # htmx swaps only what answers 2xx: the results part says what failed, the check under the JSON and the
        # period picker's errors come along out of band.
        return _render(
            request,
            "incentives/partials/whatif_results.html",
            ctx,
            oob=[
                "incentives/partials/whatif_check.html",
                "incentives/partials/whatif_period_fields.html",
                "incentives/partials/whatif_period_errors.html",
            ],
        )
    return render_page(
        request, "incentives/whatif.html", "incentives/partials/whatif_results.html", ctx, status
    )


def _render(
    request: HttpRequest, template: str, ctx: dict[str, Any], oob: list[str] | None = None
) -> HttpResponse:
    html = render_to_string(template, ctx, request=request)
    for extra in oob or []:
        html += render_to_string(extra, {**ctx, "oob": True}, request=request)
    return HttpResponse(html)
