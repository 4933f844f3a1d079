"""The navigation: one entry per module, each shown only to those who may use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from perflink.accounts.access import can


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Promise
    url_name: str
    action: str
    icon: str
    kwargs: tuple[tuple[str, Any], ...] = ()


NAV: list[NavItem] = [
    NavItem("home", _("Overview"), "web:home", "home.view", "home"),
    NavItem("org", _("Organisation"), "web:org_tree", "org.view", "org"),
    NavItem("employees", _("Employees"), "web:employee_list", "employee.view", "people"),
    NavItem("ingest", _("Data sources"), "web:module", "org.view", "database", (("key", "ingest"),)),
    NavItem("metrics", _("Metrics"), "web:module", "org.view", "gauge", (("key", "metrics"),)),
    NavItem("linkage", _("Linkage"), "web:module", "org.view", "link", (("key", "linkage"),)),
    NavItem("incentives", _("Incentives"), "web:module", "org.view", "coins", (("key", "incentives"),)),
    NavItem("collab", _("Collaboration"), "web:module", "org.view", "handshake", (("key", "collab"),)),
    NavItem("analytics", _("Analytics"), "web:module", "org.view", "chart", (("key", "analytics"),)),
    NavItem("self", _("My performance"), "web:module", "self.view", "user", (("key", "self"),)),
    NavItem("audit", _("Audit trail"), "web:audit_list", "audit.view", "shield"),
    NavItem("settings", _("Settings"), "web:settings", "home.view", "gear"),
]


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    path = request.path
    items = []
    for item in NAV:
        if not can(user, item.action):
            continue
        url = reverse(item.url_name, kwargs=dict(item.kwargs))
        active = path == url if item.key == "home" else path.startswith(url)
        items.append({"key": item.key, "label": item.label, "url": url, "icon": item.icon, "active": active})
    return items
