"""The navigation: one entry per module, each shown only to those who may use it and only when the
tenant has the module switched on. Entries are grouped in sections for the sidebar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from perflink.accounts.access import can

WORKSPACE, PERFORMANCE, ADMIN = "workspace", "performance", "admin"
SECTION_LABELS: dict[str, Promise] = {
    WORKSPACE: _("Workspace"),
    PERFORMANCE: _("Performance"),
    ADMIN: _("Administration"),
}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Promise
    url_name: str
    action: str
    icon: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    module: str = ""  # the Tenant.modules name that switches this entry on; "" = always there
    section: str = WORKSPACE


def _module(key: str, label: Promise, icon: str, *, module: str = "", action: str = "org.view") -> NavItem:
    """An entry for a module whose pages are still to come (served by the placeholder page)."""
    return NavItem(key, label, "web:module", action, icon, (("key", key),), module or key, PERFORMANCE)


NAV: list[NavItem] = [
    NavItem("home", _("Overview"), "web:home", "home.view", "home"),
    NavItem("org", _("Organisation"), "web:org_tree", "org.view", "org"),
    NavItem("employees", _("Employees"), "web:employee_list", "employee.view", "people"),
    NavItem(
        "ingest",
        _("Data sources"),
        "ingest:sources",
        "ingest.view",
        "database",
        module="ingest",
        section=PERFORMANCE,
    ),
    NavItem(
        "metrics",
        _("Metrics"),
        "metrics:library",
        "metrics.view",
        "gauge",
        module="metrics",
        section=PERFORMANCE,
    ),
    NavItem(
        "scores", _("Scorecards"), "metrics:runs", "calc.view", "chart", module="metrics", section=PERFORMANCE
    ),
    NavItem(
        "linkage",
        _("Linkage"),
        "incentives:links",
        "links.view",
        "link",
        module="linkage",
        section=PERFORMANCE,
    ),
    NavItem(
        "incentives",
        _("Incentives"),
        "incentives:bonus_runs",
        "bonus.view",
        "coins",
        module="incentives",
        section=PERFORMANCE,
    ),
    NavItem(
        "collab",
        _("Collaboration"),
        "collab:demands",
        "demands.view",
        "handshake",
        module="collab",
        section=PERFORMANCE,
    ),
    NavItem(
        "weekly",
        _("Weekly reports"),
        "collab:weekly_list",
        "demands.view",
        "book",
        module="collab",
        section=PERFORMANCE,
    ),
    NavItem(
        "surveys",
        _("Support surveys"),
        "collab:surveys",
        "surveys.view",
        "check-circle",
        module="collab",
        section=PERFORMANCE,
    ),
    NavItem(
        "analytics",
        _("Analytics"),
        "analytics:overview",
        "analytics.view",
        "chart",
        module="analytics",
        section=PERFORMANCE,
    ),
    NavItem(
        "self",
        _("My performance"),
        "metrics:my_scorecard",
        "self.view",
        "user",
        module="selfservice",
        section=PERFORMANCE,
    ),
    NavItem("audit", _("Audit trail"), "web:audit_list", "audit.view", "shield", section=ADMIN),
    NavItem("settings", _("Settings"), "web:settings", "home.view", "gear", section=ADMIN),
]


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    """The entries this user sees, in order; each dict has key, label, url, icon, active, section."""
    user = request.user
    path = request.path
    modules = set(user.tenant.modules or ())
    items = []
    for item in NAV:
        if not can(user, item.action) or (item.module and item.module not in modules):
            continue
        url = reverse(item.url_name, kwargs=dict(item.kwargs))
        active = path == url if item.key == "home" else path.startswith(url)
        items.append(
            {
                "key": item.key,
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "active": active,
                "section": item.section,
                "section_label": SECTION_LABELS[item.section],
            }
        )
    # Entries can nest (/metrics/ and /metrics/runs/): only the most specific match is active.
    matches = [entry for entry in items if entry["active"]]
    if len(matches) > 1:
        best = max(matches, key=lambda entry: len(entry["url"]))
        for entry in matches:
            entry["active"] = entry is best
    return items
