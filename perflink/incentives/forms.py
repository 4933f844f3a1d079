"""Forms of the link pages (the list's filters, proposing, deciding and withdrawing a link) and the bonus pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from perflink.incentives.choices import BonusRunStatus, LinkStatus

ACTIVE = ""  # the list's default: proposed and confirmed links, the ones in play
ALL = "all"
STATUS_FILTERS = [
    (ACTIVE, _("Proposed and confirmed")),
    (ALL, _("All, with rejected and withdrawn")),
    *LinkStatus.choices,
]
LINK_SORTS = ("status", "functional", "business", "decided", "version", "updated")

Grouped = list[tuple[str, list[tuple[Any, str]]]]


class LinkFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_FILTERS)
    unit = forms.TypedChoiceField(label=_("Unit"), required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(required=False, choices=[(s, s) for key in LINK_SORTS for s in (key, f"-{key}")])

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("All")), *units]

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid one (a unit outside the list, a made-up status) is dropped alone."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})  # an unbound form (no query string) has none
        return {
            "status": data.get("status") or ACTIVE,
            "unit": data.get("unit"),
            "sort": data.get("sort") or "status",
        }


class LinkForm(forms.Form):
    """Propose a link: a functional unit's metric, the business unit's outcome it serves, and why."""

    functional_unit = forms.TypedChoiceField(label=_("Functional unit"), coerce=int)
    functional_metric = forms.ChoiceField(label=_("Functional metric"))
    business_unit = forms.TypedChoiceField(label=_("Business unit"), coerce=int)
    business_metric = forms.ChoiceField(label=_("Business outcome"))
    rationale = forms.CharField(
        label=_("Why they are linked"),
        max_length=2000,
        widget=forms.Textarea,
        help_text=_(
            "How the functional metric moves the business result, in a sentence or two the business side can "
            "check, e.g. “Faster hiring gives new agents a full first quarter to reach their target.”"
        ),
    )

    def __init__(
        self,
        *args: Any,
        functional_units: Grouped,
        business_units: Grouped,
        metrics: Grouped,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["functional_unit"].choices = [("", _("— choose —")), *functional_units]
        self.fields["business_unit"].choices = [("", _("— choose —")), *business_units]
        self.fields["functional_metric"].choices = [("", _("— choose —")), *metrics]
        self.fields["business_metric"].choices = [("", _("— choose —")), *metrics]

    def clean_rationale(self) -> str:
        text = self.cleaned_data["rationale"].strip()
        if not text:
            raise forms.ValidationError(_("Say why the two are linked."))
        return text


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("reject", "reject")])
    note = forms.CharField(required=False, max_length=300)


class WithdrawForm(forms.Form):
    note = forms.CharField(required=False, max_length=300)


# --- bonus runs ---------------------------------------------------------------------------------------------------

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class BonusRunFilterForm(forms.Form):
    period = forms.RegexField(label=_("Period"), required=False, regex=PERIOD_PATTERN)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *BonusRunStatus.choices]
    )

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid one (a malformed period, a made-up status) is dropped alone."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"period": data.get("period") or "", "status": data.get("status") or ""}


class RunBonusForm(forms.Form):
    """Run a plan for a month: the plan's version in force then, on the month's latest calculation run."""

    plan = forms.TypedChoiceField(label=_("Plan"), coerce=int)
    period = forms.RegexField(
        label=_("Period"),
        regex=PERIOD_PATTERN,
        error_messages={"invalid": _("A month as YYYY-MM, e.g. 2026-03.")},
        widget=forms.TextInput(attrs={"placeholder": "2026-03", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, plans: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = plans


class ReturnBonusRunForm(forms.Form):
    reason = forms.CharField(label=_("Why it goes back to draft"), max_length=300)


class ReasonForm(forms.Form):
    """Why a draft is discarded, or why a published run is corrected."""

    reason = forms.CharField(label=_("Reason"), max_length=300)


# --- incentive plans ----------------------------------------------------------------------------------------------

PLAN_SORTS = ("code", "name", "versions", "valid_from", "last_run")


class PlanFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Unit category"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(s, s) for key in PLAN_SORTS for s in (key, f"-{key}")])

    def __init__(self, *args: Any, categories: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All")), *categories]

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid one (a made-up category or sort) is dropped alone."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": (data.get("q") or "").strip(),
            "category": data.get("category") or "",
            "sort": data.get("sort") or "code",
        }


class PlanMetaForm(forms.Form):
    """A new plan: its code and name, and whom it pays (a unit and everything below it, and/or a unit category,
    optionally one employment type)."""

    code = forms.SlugField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lower-case letters, digits, - and _, e.g. finance-2026. It cannot change later."),
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.TypedChoiceField(label=_("Unit"), required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(label=_("Unit category"), required=False)
    employment_type = forms.ChoiceField(label=_("Employment type"), required=False)

    def __init__(
        self,
        *args: Any,
        units: list[tuple[int, str]],
        categories: list[tuple[str, Any]],
        employment_types: list[tuple[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("Any unit")), *units]
        self.fields["category"].choices = [("", _("Any category")), *categories]
        self.fields["employment_type"].choices = [("", _("Agents and staff")), *employment_types]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("unit") and not data.get("category") and "unit" not in self.errors:
            self.add_error("unit", _("Say whom the plan pays: a unit or a unit category."))
        return data


class PlanVersionForm(forms.Form):
    """What every save says besides the plan itself: from when it is in force, and why it changed."""

    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    based_on = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
