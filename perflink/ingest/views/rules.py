"""The plausibility rules of every record kind, and the tenant's choice of severity for each (a rule can be
made a warning, an error, or switched off). Everyone who sees the data sources sees the rules; changing one
needs ingest.manage."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import can
from perflink.core.context import current_actor
from perflink.core.errors import PermissionDeniedError
from perflink.ingest.actions import do_set_plausibility_rule
from perflink.ingest.choices import RuleSeverity
from perflink.ingest.forms import PlausibilityRuleForm
from perflink.ingest.kinds import KINDS
from perflink.ingest.plausibility import RULES
from perflink.ingest.selectors import plausibility_overrides
from perflink.ingest.views.common import field_labels
from perflink.ingest.views.texts import rule_text, severity_text
from perflink.web.decorators import page


def _kinds() -> list[dict[str, Any]]:
    chosen = plausibility_overrides()
    out = []
    for kind, rules in RULES.items():
        spec = KINDS[kind]
        labels = field_labels(spec)
        rows = [
            {
                "code": r.code,
                "text": rule_text(r, labels),
                "default": r.severity,
                "default_text": severity_text(r.severity),
                "current": chosen.get(r.code, r.severity),
                "changed": r.code in chosen,
            }
            for r in rules
        ]
        out.append({"kind": kind, "label": spec.label, "rules": rows})
    return out


@page("ingest.view")
@require_http_methods(["GET", "POST"])
def plausibility_rules(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not can(request.user, "ingest.manage"):
            raise PermissionDeniedError("ingest.manage")
        form = PlausibilityRuleForm(request.POST)
        if form.is_valid():
            code, severity = form.cleaned_data["rule"], form.cleaned_data["severity"]
            do_set_plausibility_rule(code, severity, actor=current_actor())
            messages.success(
                request,
                gettext("Rule %(rule)s is now: %(severity)s. It applies to deliveries from now on.")
                % {"rule": code, "severity": RuleSeverity(severity).label},
            )
        else:
            messages.error(request, gettext("Choose a rule and what it should do."))
        return redirect("ingest:rules")
    return render(request, "ingest/rules.html", {"kinds": _kinds(), "severities": RuleSeverity.choices})
