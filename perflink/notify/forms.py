"""Forms of the channel pages: a channel's settings, and the delivery log's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from perflink.notify.choices import ChannelKind, DeliveryStatus, Kind


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("notification channel", "Kind"), choices=ChannelKind.choices)
    name = forms.CharField(label=_("Name"), max_length=80)
    # Not required when editing: a blank target or secret keeps the stored one, which is never shown back.
    target = forms.CharField(label=_("Addresses or URL"), max_length=2000, required=False)
    secret = forms.CharField(label=_("Secret"), max_length=500, required=False)
    clear_secret = forms.BooleanField(label=_("Remove the secret"), required=False)
    events = forms.MultipleChoiceField(label=_("Events"), choices=Kind.choices, required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)


class DeliveryFilterForm(forms.Form):
    channel = forms.IntegerField(required=False, min_value=1)
    status = forms.ChoiceField(choices=[("", ""), *DeliveryStatus.choices], required=False)
