"""Forms of the demand pages: raising a demand (a form per kind, built from the kind's quantified fields in
:mod:`perflink.collab.specs`), the board's filters, and the notes that go with a step (plan, reason, comment).

The forms only parse input; the actions validate the demand and their errors are put back at the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from perflink.collab.actions import REASON_MAX, TEXT_MAX
from perflink.collab.choices import DemandKind
from perflink.collab.page_data import SIDES
from perflink.collab.selectors import DEMAND_SORTS
from perflink.collab.specs import SPEC_FIELDS, SpecField
from perflink.core.errors import ValidationFailed
from perflink.ingest.kinds import LINES
from perflink.org.models import OrgUnit

SPEC_LABELS: dict[str, Any] = {
    "positions": _("Positions"),
    "arrival_days": _("Arrive within (days)"),
    "per_hire_target": _("Per-hire target (yuan of first-year premium)"),
    "attainment_days": _("Per-hire target window (days after arrival)"),
    "position_title": _("Position title"),
    "requisition": _("Requisition number (HR system)"),
    "audience": _("Audience"),
    "content": _("Content"),
    "courses": _("Courses"),
    "pass_rate_target": _("Pass-rate target (%)"),
    "audience_size": _("Audience size"),
    "due_working_days": _("Deliver within (working days)"),
    "catastrophe_tag": _("Catastrophe tag of the claims"),
    "line": pgettext_lazy("insurance line", "Line"),
    "reported_from": _("Reported from"),
    "reported_to": _("Reported to"),
    "target_payment_days": _("Target payment time (days)"),
    "system": _("System"),
    "availability_target": _("Availability target (%)"),
    "fix_hours_target": _("Fix-time target (hours)"),
    "target": pgettext_lazy("demand spec", "Target"),
}
SPEC_HELP: dict[str, Any] = {
    "arrival_days": _(
        "Calendar days from the requisition's opening (or the demand's submission, if earlier)."
    ),
    "per_hire_target": _("Each hire who arrived in time should reach this in their first 90 days."),
    "requisition": _(
        "Progress follows this requisition's hires; the serving side may give it when accepting."
    ),
    "courses": _("One course name per line, as the training records name them."),
    "due_working_days": _("Chinese working days after submission; empty for the kind's default."),
    "catastrophe_tag": _("The tag the claims system gives the event's claims, e.g. 2026汛期."),
    "target": _("What is to be achieved, in words: it is not measured from data."),
}
_FORM_FIELD_PREFIX = "spec."


def _spec_form_field(f: SpecField) -> forms.Field:
    label = SPEC_LABELS.get(f.name, f.name)
    help_text = SPEC_HELP.get(f.name, "")
    common: dict[str, Any] = {"label": label, "required": f.required, "help_text": help_text}
    if f.type == "int":
        assert f.low is not None and f.high is not None
        return forms.IntegerField(min_value=int(f.low), max_value=int(f.high), initial=f.default, **common)
    if f.type == "decimal":
        return forms.DecimalField(max_digits=18, decimal_places=f.places, **common)
    if f.type == "texts":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if f.type == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if f.type == "enum":
        choices = [("", "—"), *((c, c) for c in (f.choices or LINES))]
        return forms.ChoiceField(choices=choices, **common)
    widget = forms.Textarea(attrs={"rows": 3}) if f.max_length > 200 else forms.TextInput()
    return forms.CharField(max_length=f.max_length, widget=widget, **common)


class RaiseDemandForm(forms.Form):
    """A demand of one kind: who asks whom, what, and the kind's quantified fields."""

    title = forms.CharField(label=_("Title"), max_length=120)
    requesting_unit = forms.TypedChoiceField(label=_("Requesting unit"), coerce=int)
    serving_unit = forms.TypedChoiceField(label=_("Serving unit"), coerce=int)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        requesting: list[OrgUnit],
        serving: list[OrgUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.units = {u.pk: u for u in [*requesting, *serving]}
        self.fields["requesting_unit"].choices = [(u.pk, u.name) for u in requesting]
        self.fields["serving_unit"].choices = [("", "—"), *((u.pk, u.name) for u in serving)]
        self.spec_names = [f.name for f in SPEC_FIELDS[kind]]
        for f in SPEC_FIELDS[kind]:
            self.fields[_FORM_FIELD_PREFIX + f.name] = _spec_form_field(f)

    def spec_fields(self) -> list[forms.BoundField]:
        return [self[_FORM_FIELD_PREFIX + name] for name in self.spec_names]

    def base_fields_shown(self) -> list[forms.BoundField]:
        return [self["title"], self["requesting_unit"], self["serving_unit"], self["description"]]

    def spec(self) -> dict[str, Any]:
        """The cleaned kind fields as the action takes them (exact decimal text, ISO dates, lists of names)."""
        spec: dict[str, Any] = {}
        for name in self.spec_names:
            value = self.cleaned_data.get(_FORM_FIELD_PREFIX + name)
            if value is None or value == "":
                continue
            if isinstance(value, Decimal):
                value = format(value, "f")
            elif isinstance(value, dt.date):
                value = value.isoformat()
            elif name == "courses":
                value = [line.strip() for line in str(value).splitlines() if line.strip()]
            spec[name] = value
        return spec

    def unit(self, name: str) -> OrgUnit:
        return self.units[self.cleaned_data[name]]

    def refuse(self, exc: ValidationFailed) -> None:
        """Put an action's error at the field it names (spec.positions → the positions field)."""
        field = {"requesting_unit_id": "requesting_unit", "serving_unit_id": "serving_unit"}.get(
            exc.field or "", exc.field or ""
        )
        self.add_error(field if field in self.fields else None, exc.message)


class DemandFilterForm(forms.Form):
    view = forms.ChoiceField(
        choices=[("board", _("Board")), ("list", _("List"))], required=False, widget=forms.HiddenInput
    )
    unit = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=[("", _("All kinds")), *DemandKind.choices], required=False)
    side = forms.ChoiceField(choices=[("", _("Raised or addressed")), *SIDES.items()], required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in DEMAND_SORTS], required=False)

    def value(self, name: str) -> str:
        return str(self.cleaned_data.get(name) or "") if self.is_valid() else ""


class StepForm(forms.Form):
    """The note that goes with a step: the plan (accept), the reason (decline, withdraw), a note (start,
    deliver)."""

    step = forms.ChoiceField(
        choices=[(s, s) for s in ("accept", "decline", "start", "deliver", "withdraw", "evaluate")]
    )
    plan = forms.CharField(required=False, max_length=TEXT_MAX)
    requisition = forms.CharField(required=False, max_length=40)
    reason = forms.CharField(required=False, max_length=REASON_MAX)
    note = forms.CharField(required=False, max_length=TEXT_MAX)


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}))
    change_request = forms.BooleanField(label=_("This is a change request"), required=False)
