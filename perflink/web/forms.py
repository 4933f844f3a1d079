"""Forms of the web shell: they parse and validate input; actions do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from perflink.accounts.access import TOKEN_ACTIONS
from perflink.org.choices import EmployeeStatus, EmploymentType
from perflink.org.selectors import EMPLOYEE_SORTS, visible_units


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


class EmployeeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=60)
    unit = forms.IntegerField(label=_("Unit"), required=False)
    employment_type = forms.ChoiceField(
        label=_("Employment type"), required=False, choices=[("", _("All")), *EmploymentType.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *EmployeeStatus.choices]
    )
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in EMPLOYEE_SORTS])

    def __init__(self, *args: Any, principal: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal

    def cleaned_filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        unit = None
        if data.get("unit"):
            unit = visible_units(self.principal).filter(pk=data["unit"]).first()
        return {
            "q": data.get("q") or "",
            "unit": unit,
            "employment_type": data.get("employment_type") or "",
            "status": data.get("status") or "",
            "sort": data.get("sort") or "employee_no",
        }


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    action = forms.CharField(label=_("Action"), required=False, max_length=80)
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=[(a, a) for a in sorted(TOKEN_ACTIONS)],
        widget=forms.CheckboxSelectMultiple,
    )
