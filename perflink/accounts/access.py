"""Permissions in one place: the role x action matrix, data scopes, and the checks views and the API call.

A principal is a logged-in `User` or an `ApiToken`. Tokens hold an explicit subset of the actions an
integration client may have.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from perflink.accounts.choices import Role
from perflink.core.errors import PermissionDeniedError

# Every action the product checks. A new feature adds its actions here and to the matrix below; the
# matrix test fails until each role's answer for the new action is written down.
ACTIONS: dict[str, str] = {
    "home.view": "see the home page",
    "org.view": "browse the org tree and units",
    "org.manage": "create, change and move org units",
    "employee.view": "list and read employees (within the data scope)",
    "employee.view_sensitive": "see ID-card, mobile and bank account unmasked",
    "employee.manage": "create and change employees",
    "user.manage": "create users and assign roles",
    "token.manage": "create and revoke API tokens",
    "audit.view": "read the audit trail",
    "audit.export": "export the audit trail",
    "ingest.push": "push source records through the API",
    "ingest.view": "see data sources, import history and data health",
    "ingest.manage": "import files, roll batches back, manage connectors and mappings",
    "tenant.manage": "change the tenant's settings and modules",
    "metrics.view": "see metric definitions, seasons, templates and the working-day calendar",
    "metrics.manage": "define metrics, seasons, templates and the working-day calendar",
    "targets.manage": "set and import targets",
    "calc.view": "see calculation runs and scorecards (within the data scope)",
    "calc.run": "start a calculation run",
    "calc.publish": "publish a period's results",
    "links.view": "see the links between functional metrics and business outcomes",
    "links.propose": "propose or withdraw a link",
    "links.decide": "confirm or reject a link for one's own business unit",
    "plans.view": "see incentive plans",
    "plans.manage": "create incentive plans and their versions",
    "bonus.view": "see bonus runs and statements",
    "bonus.run": "run a plan for a period and submit the result",
    "bonus.approve": "approve, return, publish and adjust bonus runs (not one's own submission)",
    "bonus.export": "export bonus runs to payroll",
    "demands.view": "see demands between business and functional units, their progress and log",
    "demands.raise": "raise demands for one's own business unit, withdraw them and request changes",
    "demands.respond": "accept, decline, start and deliver demands addressed to one's own functional unit",
    "demands.comment": "comment on demands of one's own units",
    "demands.evaluate": "evaluate delivered demands by their rule",
    "surveys.view": "see support-satisfaction surveys and their results (hidden below the anonymity threshold)",
    "surveys.manage": "schedule support-satisfaction surveys, their questions and reminders",
    "surveys.answer": "answer the support-satisfaction surveys one is invited to",
    "analytics.view": "see impact analyses, cohorts, before/after comparisons and link suggestions (tenant-wide aggregates)",
    "notify.manage": "manage notification channels: e-mail, WeCom and DingTalk robots, outgoing webhooks",
    "self.view": "see one's own record, KPIs and bonus statement",
}

_ALL = frozenset(ACTIONS)
_READ = frozenset({"home.view", "org.view", "employee.view", "self.view"})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    # Only the business side confirms links: a unit head over the business unit (checked in the action too).
    # Demands are raised, answered and discussed by the two units themselves (and performance administration).
    Role.TENANT_ADMIN: _ALL
    - {
        "ingest.push",
        "links.decide",
        "demands.raise",
        "demands.respond",
        "demands.comment",
        "surveys.answer",
    },
    Role.PERFORMANCE_ADMIN: _READ
    | {
        "org.manage",
        "employee.manage",
        "employee.view_sensitive",
        "audit.view",
        "ingest.view",
        "ingest.manage",
        "metrics.view",
        "metrics.manage",
        "targets.manage",
        "calc.view",
        "calc.run",
        "calc.publish",
        "links.view",
        "links.propose",
        "plans.view",
        "plans.manage",
        "bonus.view",
        "bonus.run",
        "bonus.approve",
        "bonus.export",
        "demands.view",
        "demands.raise",
        "demands.respond",
        "demands.comment",
        "demands.evaluate",
        "surveys.view",
        "surveys.manage",
        "analytics.view",
    },
    # A unit head raises for a business unit and responds for a functional one: the action checks which side.
    Role.UNIT_HEAD: _READ
    | {
        "metrics.view",
        "calc.view",
        "links.view",
        "links.propose",
        "links.decide",
        "demands.view",
        "demands.raise",
        "demands.respond",
        "demands.comment",
        "surveys.view",
        "surveys.answer",
        "analytics.view",
    },
    Role.EMPLOYEE: frozenset({"home.view", "self.view", "surveys.answer"}),
    Role.AUDITOR: _READ
    | {
        "audit.view",
        "audit.export",
        "ingest.view",
        "metrics.view",
        "calc.view",
        "links.view",
        "plans.view",
        "bonus.view",
        "demands.view",
        "surveys.view",
        "analytics.view",
    },
    # Integration clients act only through tokens; a token carries a subset of these. An OA system raises and
    # follows demands for the business side.
    Role.INTEGRATION: frozenset(
        {
            "ingest.push",
            "ingest.view",
            "org.view",
            "employee.view",
            "metrics.view",
            "calc.view",
            "demands.view",
            "demands.raise",
            "demands.comment",
            "analytics.view",
        }
    ),
}

TOKEN_ACTIONS = ROLE_ACTIONS[Role.INTEGRATION]


def _token_class() -> type:
    from perflink.accounts.models import ApiToken

    return ApiToken


def can(principal: Any, action: str) -> bool:
    """True when the user or token may perform `action`. Unknown actions are a programming error."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}; add it to perflink.accounts.access.ACTIONS")
    if principal is None:
        return False
    if isinstance(principal, _token_class()):
        return principal.is_active and action in principal.permissions and action in TOKEN_ACTIONS
    if not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return False
    if principal.role == Role.INTEGRATION:
        return False  # integration accounts never use the web UI
    return action in ROLE_ACTIONS.get(principal.role, frozenset())


def require(principal: Any, action: str) -> None:
    if not can(principal, action):
        raise PermissionDeniedError(
            _("You do not have permission to %(what)s.") % {"what": ACTIONS[action]}, code="permission_denied"
        )


def unit_scope_q(principal: Any, unit_field: str = "") -> Q | None:
    """A filter for the units the principal may see, or None for the whole tenant.

    Unit heads see their unit's subtree (by materialised path). Employees see no units' data.
    `unit_field` is the path to the unit from the model being filtered ("" for OrgUnit itself).
    """
    prefix = f"{unit_field}__" if unit_field else ""
    role = getattr(principal, "role", None)
    if role == Role.UNIT_HEAD:
        scope = principal.scope_unit
        if scope is None:
            return Q(pk__in=[])
        return Q(**{f"{prefix}path__startswith": scope.path})
    if role == Role.EMPLOYEE:
        return Q(pk__in=[])
    return None


def scope_units(principal: Any, qs: QuerySet) -> QuerySet:
    q = unit_scope_q(principal)
    return qs if q is None else qs.filter(q)


def scope_employees(principal: Any, qs: QuerySet) -> QuerySet:
    """Employees the principal may see: the whole tenant, a unit head's subtree, or oneself."""
    role = getattr(principal, "role", None)
    if role == Role.EMPLOYEE:
        return qs.filter(pk=principal.employee_id) if principal.employee_id else qs.none()
    q = unit_scope_q(principal, "unit")
    return qs if q is None else qs.filter(q)
