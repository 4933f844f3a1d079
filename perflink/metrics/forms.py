"""Forms of the definition pages (library, metric editor, seasons, calendar, templates, targets).

They parse and validate input; the actions in ``perflink.metrics.actions`` (and ``target_import``) do the writing
and the engine's own checks, whose messages the views put back next to the field they name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from perflink.engine.periods import Period, PeriodError
from perflink.metrics.choices import Domain

LIBRARY_SORTS = {
    "code": "code",
    "name": "name",
    "domain": "domain_order",
    "version": "version",
    "updated": "updated_at",
}
TARGET_SORTS = {
    "metric": "metric__name",
    "value": "value",
    "updated": "updated_at",
    "source": "source",
}
TARGET_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


def _sort_choices(keys: Any) -> list[tuple[str, str]]:
    return [(s, s) for key in keys for s in (key, f"-{key}")]


class LibraryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    domain = forms.ChoiceField(label=_("Domain"), required=False, choices=[("", _("All")), *Domain.choices])
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("All")), ("base", _("Base metrics")), ("derived", _("Derived metrics"))],
    )
    sort = forms.ChoiceField(required=False, choices=_sort_choices(LIBRARY_SORTS))

    def cleaned_filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {k: (data.get(k) or "").strip() for k in ("q", "domain", "type", "sort")}


class MetricForm(forms.Form):
    """A metric's names, texts, domain and its definition as JSON text (checked by the engine on save)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lower-case letters, digits and _; formulas refer to the metric by it."),
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    name_en = forms.CharField(label=_("English name"), max_length=160, required=False)
    domain = forms.ChoiceField(label=_("Domain"), choices=Domain.choices)
    description = forms.CharField(
        label=_("Definition (what is counted)"), required=False, widget=forms.Textarea
    )
    description_en = forms.CharField(label=_("English definition"), required=False, widget=forms.Textarea)
    definition = forms.CharField(label=_("Definition (data)"), widget=forms.Textarea)

    def __init__(self, *args: Any, fixed_code: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_code = fixed_code
        if fixed_code is not None:
            self.fields["code"].required = False

    def clean_code(self) -> str:
        if self.fixed_code is not None:
            return self.fixed_code
        code = self.cleaned_data["code"].strip()
        if not CODE.match(code):
            raise forms.ValidationError(
                _("Use 2–60 lower-case letters, digits and underscores, starting with a letter.")
            )
        return code

    def clean_definition(self) -> dict[str, Any]:
        return parse_json_object(self.cleaned_data["definition"])


def parse_json_object(text: str) -> dict[str, Any]:
    """JSON text that must be an object; a syntax error names its line and column."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            _("Not valid JSON at line %(line)s, column %(col)s: %(msg)s")
            % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
        ) from None
    if not isinstance(value, dict):
        raise forms.ValidationError(_("The definition must be a JSON object: { … }."))
    return value


class SeasonForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40, help_text=_("e.g. kaimenhong, flood"))
    name = forms.CharField(label=_("Name"), max_length=60)
    name_en = forms.CharField(label=_("English name"), max_length=80, required=False)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    starts_on = forms.DateField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))


class CalendarForm(forms.Form):
    """A year's days off (休) and make-up working days (班) as lines of ``first,last,休|班``."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        required=False,
        help_text=_("e.g. the State Council notice's number and date"),
    )
    lines = forms.CharField(label=_("Days off and make-up working days"), widget=forms.Textarea)

    LINE = re.compile(r"[,，\t ]+")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        year, text = data.get("year"), data.get("lines")
        if year is None or text is None:
            return data
        ranges: list[tuple[dt.date, dt.date, str]] = []
        problems: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p for p in self.LINE.split(line) if p]
            if len(parts) == 2:
                parts = [parts[0], parts[0], parts[1]]
            if len(parts) != 3:
                problems.append(
                    str(
                        _("Line %(n)s: write first day, last day, 休 or 班 (e.g. 2027-01-01,2027-01-03,休)")
                        % {"n": number}
                    )
                )
                continue
            first_text, last_text, kind = parts
            if kind not in ("休", "班"):
                problems.append(
                    str(_("Line %(n)s: “%(kind)s” is neither 休 nor 班") % {"n": number, "kind": kind})
                )
                continue
            try:
                first, last = dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text)
            except ValueError:
                problems.append(str(_("Line %(n)s: dates are written YYYY-MM-DD") % {"n": number}))
                continue
            if last < first:
                problems.append(str(_("Line %(n)s: the range ends before it starts") % {"n": number}))
                continue
            if first.year != year or last.year != year:
                problems.append(
                    str(_("Line %(n)s: the range is not inside %(year)s") % {"n": number, "year": year})
                )
                continue
            ranges.append((first, last, kind))
        if not ranges and not problems:
            problems.append(str(_("Enter at least one line.")))
        if problems:
            raise forms.ValidationError(problems)
        data["ranges"] = ranges
        return data


class VersionForm(forms.Form):
    """When a new template version is in force; its items come as parallel lists (see ``items_from_post``)."""

    season_code = forms.ChoiceField(label=_("Season"), required=False)
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("Valid until (exclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, seasons: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["season_code"].choices = [("", _("None: general or by dates")), *seasons]


def items_from_post(post: Any) -> tuple[list[dict[str, Any]], list[int], dict[tuple[int, str], str]]:
    """The items editor's rows: (items, the row number of each item, errors by (row, field)).

    Rows without a metric are dropped (an emptied row is a removed row). A rule that is not JSON is reported at its
    row; everything else is left to ``actions.check_items``.
    """
    metrics = post.getlist("item_metric")
    weights = post.getlist("item_weight")
    rules = post.getlist("item_rule")
    targets = post.getlist("item_target")
    scopes = post.getlist("item_scope")
    maturities = post.getlist("item_maturity")
    items: list[dict[str, Any]] = []
    rows: list[int] = []
    errors: dict[tuple[int, str], str] = {}

    def at(values: list[str], i: int) -> str:
        return values[i].strip() if i < len(values) else ""

    for i, code in enumerate(metrics):
        code = code.strip()
        if not code:
            continue
        rule_text = at(rules, i)
        try:
            rule = json.loads(rule_text) if rule_text else {}
        except json.JSONDecodeError as exc:
            errors[(i, "rule")] = str(
                _("Not valid JSON at line %(line)s, column %(col)s: %(msg)s")
                % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
            )
            rule = {}
        items.append(
            {
                "metric": code,
                "weight": at(weights, i),
                "rule": rule,
                "target": at(targets, i) or None,
                "scope": at(scopes, i) or "self",
                "maturity": at(maturities, i),
            }
        )
        rows.append(i)
    return items, rows, errors


class PeriodField(forms.CharField):
    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        try:
            return Period.parse(text).label
        except PeriodError:
            raise forms.ValidationError(
                _("Write the period as YYYY-MM, YYYY-Qn or YYYY, e.g. 2026-03.")
            ) from None


class TargetFilterForm(forms.Form):
    period = PeriodField(label=_("Period"), required=False, max_length=10)
    metric = forms.CharField(label=_("Metric"), required=False, max_length=60)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    sort = forms.ChoiceField(required=False, choices=_sort_choices(TARGET_SORTS))


class TargetForm(forms.Form):
    """One subject's target: a unit by its code or an employee by number; an empty value clears it."""

    period = PeriodField(label=_("Period"), max_length=10)
    metric = forms.ChoiceField(label=_("Metric"))
    level = forms.ChoiceField(label=_("For"), choices=[("unit", _("Unit")), ("employee", _("Employee"))])
    subject = forms.CharField(
        label=_("Unit code or employee number"), max_length=40, help_text=_("e.g. SH-S1 or A000123")
    )
    value = forms.CharField(label=_("Target"), max_length=30, required=False, help_text=_("Empty: clear"))

    def __init__(self, *args: Any, metrics: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = metrics

    def clean_value(self) -> Decimal | None:
        text = self.cleaned_data["value"].strip().replace(",", "")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(_("Not a number.")) from None
        if not value.is_finite() or abs(value) >= Decimal(10) ** 14 or value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise forms.ValidationError(_("Use a number below 10¹⁴ with at most 4 decimals."))
        return value


class TargetImportForm(forms.Form):
    period = PeriodField(
        label=_("Period"),
        required=False,
        max_length=10,
        help_text=_("Used for rows without a period column or with it empty."),
    )
    file = forms.FileField(
        label=_("File"),
        error_messages={
            "required": _("Choose a .csv or .xlsx file to upload."),
            "empty": _("The file is empty. Check that you picked the right file."),
        },
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in TARGET_SUFFIXES:
            raise forms.ValidationError(
                _(
                    "Only .csv and .xlsx files can be imported. In Excel, use “Save as” to save the sheet in one of them."
                )
            )
        return upload
