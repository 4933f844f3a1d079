"""Template helpers of the web shell: icons, permission checks, sortable headers, labels.

`{% load perflink %}` then `{% icon "org" %}`, `{% can "audit.export" as may_export %}`,
`{% sort_header "name" _("Name") %}`, `{{ n|thousands }}`, `{{ event.action|audit_action }}`."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from perflink.accounts.access import ACTIONS
from perflink.accounts.access import can as _can
from perflink.web.templatetags.icons import svg

register = template.Library()

# Translated descriptions of the permission actions (perflink.accounts.access.ACTIONS holds the
# English text). An action missing here falls back to that English text.
ACTION_LABELS: dict[str, Any] = {
    "home.view": _("see the home page"),
    "org.view": _("browse the org tree and units"),
    "org.manage": _("create, change and move org units"),
    "employee.view": _("list and read employees (within the data scope)"),
    "employee.view_sensitive": _("see ID-card, mobile and bank account unmasked"),
    "employee.manage": _("create and change employees"),
    "user.manage": _("create users and assign roles"),
    "token.manage": _("create and revoke API tokens"),
    "audit.view": _("read the audit trail"),
    "audit.export": _("export the audit trail"),
    "ingest.push": _("push source records through the API"),
    "ingest.view": _("see data sources, import history and data health"),
    "ingest.manage": _("import files, roll batches back, manage connectors and mappings"),
    "tenant.manage": _("change the tenant's settings and modules"),
    "self.view": _("see one's own record, KPIs and bonus statement"),
    "metrics.view": _("see metric definitions, seasons, templates and the working-day calendar"),
    "metrics.manage": _("define metrics, seasons, templates and the working-day calendar"),
    "targets.manage": _("set and import targets"),
    "calc.view": _("see calculation runs and scorecards (within the data scope)"),
    "calc.run": _("start a calculation run"),
    "calc.publish": _("publish a period's results"),
    "links.view": _("see the links between functional metrics and business outcomes"),
    "links.propose": _("propose or withdraw a link"),
    "links.decide": _("confirm or reject a link for one's own business unit"),
    "plans.view": _("see incentive plans"),
    "plans.manage": _("create incentive plans and their versions"),
    "bonus.view": _("see bonus runs and statements"),
    "bonus.run": _("run a plan for a period and submit the result"),
    "bonus.approve": _("approve, return, publish and adjust bonus runs (not one's own submission)"),
    "bonus.export": _("export bonus runs to payroll"),
    "demands.view": _("see demands between business and functional units, their progress and log"),
    "demands.raise": _("raise demands for one's own business unit, withdraw them and request changes"),
    "demands.respond": _("accept, decline, start and deliver demands addressed to one's own functional unit"),
    "demands.comment": _("comment on demands of one's own units"),
    "demands.evaluate": _("evaluate delivered demands by their rule"),
    "analytics.view": _(
        "see impact analyses, cohorts, before/after comparisons and link suggestions (tenant-wide aggregates)"
    ),
    "surveys.view": _(
        "see support-satisfaction surveys and their results (hidden below the anonymity threshold)"
    ),
    "surveys.manage": _("schedule support-satisfaction surveys, their questions and reminders"),
    "surveys.answer": _("answer the support-satisfaction surveys one is invited to"),
    "notify.manage": _("manage notification channels: e-mail, WeCom and DingTalk robots, outgoing webhooks"),
}
_ACTION_BY_TEXT = {text: code for code, text in ACTIONS.items()}

# What the audit trail's action codes mean, for people reading the log.
AUDIT_ACTION_LABELS: dict[str, Any] = {
    "tenant.create": _("Tenant created"),
    "user.create": _("User created"),
    "user.login": _("Signed in"),
    "user.login_failed": _("Sign-in failed"),
    "user.locked": _("Account locked"),
    "user.unlock": _("Account unlocked"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "org.unit.create": _("Unit created"),
    "org.unit.update": _("Unit changed"),
    "org.unit.move": _("Unit moved"),
    "org.employee.create": _("Employee created"),
    "org.employee.update": _("Employee changed"),
    "org.employee.transfer": _("Employee transferred"),
    "org.employee.exit": _("Employee left"),
    "org.employee.manager": _("Manager changed"),
    "ingest.batch.commit": _("Records imported"),
    "ingest.batch.rollback": _("Import rolled back"),
    "ingest.mapping.save": _("Column mapping saved"),
    "ingest.roster.sync": _("Org and people synced from HR"),
    "ingest.pull.run": _("Pull connector ran"),
    "ingest.pull.connector.create": _("Pull connector created"),
    "ingest.pull.connector.update": _("Pull connector changed"),
    "ingest.pull.connector.queue": _("Pull connector run requested"),
    "metric.save": _("Metric saved"),
    "season.save": _("Season saved"),
    "template.version": _("Template version created"),
    "target.set": _("Target set"),
    "target.clear": _("Target cleared"),
    "target.import": _("Targets imported"),
    "calendar.year": _("Working-day calendar entered"),
    "metrics.library": _("Metric library installed"),
    "calc.run": _("Calculation run"),
    "calc.publish": _("Results published"),
    "notify.send": _("Notifications sent"),
    "link.propose": _("Link proposed"),
    "link.confirm": _("Link confirmed"),
    "link.reject": _("Link rejected"),
    "link.withdraw": _("Link withdrawn"),
    "plan.version": _("Incentive plan version saved"),
    "plan.bases.import": _("Bonus bases imported"),
    "bonus.run": _("Bonus run calculated"),
    "bonus.submit": _("Bonus run submitted"),
    "bonus.approve": _("Bonus run approved"),
    "bonus.return": _("Bonus run returned to draft"),
    "bonus.publish": _("Bonus run published"),
    "bonus.adjust": _("Bonus adjusted"),
    "bonus.discard": _("Bonus run discarded"),
    "ingest.plausibility.set": _("Plausibility rule changed"),
    "bonus.correct": _("Correction run calculated"),
    "demand.raise": _("Demand raised"),
    "demand.accept": _("Demand accepted"),
    "demand.decline": _("Demand declined"),
    "demand.start": _("Demand started"),
    "demand.deliver": _("Demand delivered"),
    "demand.withdraw": _("Demand withdrawn"),
    "demand.comment": _("Demand commented on"),
    "demand.change_request": _("Change requested on a demand"),
    "demand.evaluate": _("Demand evaluated"),
    "survey.schedule": _("Survey scheduled"),
    "survey.open": _("Survey opened"),
    "survey.remind": _("Survey reminder sent"),
    "survey.close": _("Survey closed"),
    "survey.answer": _("Survey answered"),
    "weekly_report.generate": _("Weekly report generated"),
    "weekly_report.subscribe": _("Weekly report subscribed"),
    "weekly_report.unsubscribe": _("Weekly report unsubscribed"),
    "notify.channel.create": _("Notification channel added"),
    "notify.channel.update": _("Notification channel changed"),
    "notify.channel.delete": _("Notification channel deleted"),
    "notify.channel.test": _("Test message sent"),
    "notify.publish": _("Event announced to channels"),
    "notify.delivery.retry": _("Delivery retried"),
    "demo.load": _("Demo data loaded"),
    "demo.replace": _("Demo data replaced"),
}

_UNIT_TYPE_BADGE = {"business": "badge-blue", "functional": "badge-violet", "management": "badge-gray"}
_UNIT_TYPE_TONE = {"business": "tone-blue", "functional": "tone-violet", "management": "tone-gray"}
_KIND_ICON = {
    "group": "building",
    "company": "building",
    "branch": "building",
    "department": "org",
    "team": "team",
}
_STATUS_BADGE = {"active": "badge-green", "on_leave": "badge-amber", "left": "badge-gray"}


@register.simple_tag
def icon(name: str, size: int = 18, css_class: str = "") -> SafeString:
    return mark_safe(svg(name, int(size), css_class))  # noqa: S308 (fixed markup from ICONS)


@register.simple_tag(takes_context=True)
def can(context: template.Context, action: str) -> bool:
    """`{% can "audit.export" as may_export %}`: may the logged-in user perform the action?"""
    request = context.get("request")
    return bool(request is not None and _can(request.user, action))


@register.filter
def action_text(value: str) -> Any:
    """A permission action's description in the current language; takes the code or the English text."""
    code = value if value in ACTIONS else _ACTION_BY_TEXT.get(value, "")
    return ACTION_LABELS.get(code, ACTIONS.get(code, value))


@register.filter
def audit_action(code: str) -> Any:
    return AUDIT_ACTION_LABELS.get(code, code)


@register.filter
def unit_type_badge(unit_type: str) -> str:
    return _UNIT_TYPE_BADGE.get(unit_type, "badge-gray")


@register.filter
def unit_type_tone(unit_type: str) -> str:
    return _UNIT_TYPE_TONE.get(unit_type, "tone-gray")


@register.filter
def kind_icon(kind: str) -> str:
    return _KIND_ICON.get(kind, "org")


@register.filter
def status_badge(status: str) -> str:
    return _STATUS_BADGE.get(status, "badge-gray")


@register.filter
def thousands(value: Any) -> str:
    """`12345` -> `12,345` (the separator both Chinese and English readers expect in figures)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def pretty_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@register.filter
def depth_indent(depth: int) -> str:
    """Indentation for a unit in a flat <select>: two ideographic spaces per level."""
    return "\u3000" * int(depth or 0)


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str, css_class: str = "") -> SafeString:
    """A sortable column header: a link that sorts by `key`, or by `-key` when already sorted by it.

    Keeps the other query parameters, drops the page. The link works without JavaScript; inside a
    container with `hx-target` htmx swaps only the results."""
    request = context["request"]
    current = context.get("sort") or request.GET.get("sort", "")
    params: QueryDict = request.GET.copy()
    params.pop("page", None)
    if current == key:
        params["sort"], state, icon_name = f"-{key}", "asc", "sort-asc"
    elif current == f"-{key}":
        params["sort"], state, icon_name = key, "desc", "sort-desc"
    else:
        params["sort"], state, icon_name = key, "", "sort"
    url = f"{request.path}?{params.urlencode()}"
    aria = {"asc": "ascending", "desc": "descending"}.get(state, "none")
    return format_html(
        '<th class="{}" aria-sort="{}"><a class="sort-link {}" href="{}" hx-get="{}">{}{}</a></th>',
        css_class,
        aria,
        state,
        url,
        url,
        label,
        mark_safe(svg(icon_name, 14, "sort-icon")),  # noqa: S308 (fixed markup from ICONS)
    )


@register.filter
def elided_pages(page_obj: Any) -> list[int | None]:
    """Page numbers around the current page, None where a run of pages is left out."""
    paginator = page_obj.paginator
    return [
        n if isinstance(n, int) else None
        for n in paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1)
    ]
