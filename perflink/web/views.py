"""Pages of the web shell. Each view: parse input, call one selector or action, render.

One view serves the full page and its htmx partial (see `perflink.core.htmx.htmx_partial`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from perflink.accounts.access import ACTIONS as ACTION_CODES
from perflink.accounts.access import TOKEN_ACTIONS, can
from perflink.accounts.actions import LoginOutcome, do_attempt_login, do_create_token, do_revoke_token
from perflink.accounts.models import ApiToken
from perflink.audit.models import AuditEvent
from perflink.audit.selectors import filter_events
from perflink.core.context import current_actor
from perflink.core.errors import DomainError, NotFound
from perflink.core.exports import csv_bytes
from perflink.core.htmx import htmx_partial
from perflink.org import selectors as org_selectors
from perflink.org.choices import EmployeeStatus, EmploymentType
from perflink.org.models import OrgUnit
from perflink.web.decorators import page, public
from perflink.web.forms import AuditFilterForm, EmployeeFilterForm, LoginForm, TokenForm
from perflink.web.selectors import home_summary, with_subtree_headcount
from perflink.web.templatetags.perflink import AUDIT_ACTION_LABELS


@dataclass(frozen=True)
class ModuleInfo:
    """A module: what it is called and what it does. Until it is built (`url_name` empty) its tile
    leads to a placeholder page that says what it will do."""

    title: Any
    icon: str
    blurb: Any
    features: tuple[Any, ...]
    tenant_key: str  # the name in Tenant.modules
    url_name: str = ""  # the module's own page once it exists
    action: str = "org.view"  # who may open it


MODULES: dict[str, ModuleInfo] = {
    "ingest": ModuleInfo(
        _("Data sources"),
        "database",
        _(
            "Data integration: records from the policy, claims, HR, finance and IT-operations systems, "
            "cleaned and traceable to where they came from."
        ),
        (
            _("REST push, scheduled pulls and Excel/CSV import"),
            _("Cleaning rules and integrity checks"),
            _("Every record keeps its source system and batch"),
            _("Historical data migration"),
        ),
        "ingest",
        url_name="ingest:sources",
        action="ingest.view",
    ),
    "metrics": ModuleInfo(
        _("Metrics"),
        "gauge",
        _(
            "Business-linked metrics: a metric library, seasonal templates (New-Year sales push, "
            "flood season), targets and scoring rules."
        ),
        (
            _("Metrics per employee, team, department and branch"),
            _("Templates that switch by season, versioned"),
            _("Scoring rules as data: thresholds, linear, tiered bands, caps"),
            _("Survey ratings turned into points"),
        ),
        "metrics",
        url_name="metrics:library",
        action="metrics.view",
    ),
    "linkage": ModuleInfo(
        _("Linkage"),
        "link",
        _(
            "Links between functional metrics and the business results they serve, confirmed by the business "
            "department."
        ),
        (
            _("Propose a link from either side"),
            _("Confirmation by the business department"),
            _("Link history and evidence from source data"),
        ),
        "linkage",
        url_name="incentives:links",
        action="links.view",
    ),
    "incentives": ModuleInfo(
        _("Incentives"),
        "coins",
        _(
            "Incentive linkage: bonus plans, conditional multipliers, explained calculations, "
            "what-if simulation, approval and release."
        ),
        (
            _("Weights, multipliers, conditions and caps"),
            _("Bonus statements that explain every figure"),
            _("What-if simulation before release"),
            _("Approval with immutable results"),
        ),
        "incentives",
        url_name="incentives:bonus_runs",
        action="bonus.view",
    ),
    "collab": ModuleInfo(
        _("Collaboration"),
        "handshake",
        _(
            "Real-time collaboration: demands from business to functional units, progress tracking, "
            "satisfaction surveys and the weekly coordination report."
        ),
        (
            _("Quantified demands tracked to evaluation"),
            _("Live progress from source data"),
            _("Satisfaction surveys"),
            _("Weekly function–business coordination report"),
        ),
        "collab",
    ),
    "analytics": ModuleInfo(
        _("Analytics"),
        "chart",
        _("Contribution analytics: how functional units move business results, and management dashboards."),
        (
            _("Impact of functional metrics on business results"),
            _("Before / after views of a programme"),
            _("Management dashboards"),
        ),
        "analytics",
        url_name="analytics:overview",
    ),
    "self": ModuleInfo(
        _("My performance"),
        "user",
        _(
            "Employee self-service: see your own metrics, scores and bonus explanation, answer surveys "
            "and appeal a score."
        ),
        (_("Own KPIs and scores"), _("Bonus statement with explanation"), _("Surveys and appeals")),
        "selfservice",
        url_name="metrics:my_scorecard",
        action="self.view",
    ),
}


EMPLOYEES_IN_PANEL = 50


def _partial(request: HttpRequest) -> bool:
    """An htmx fragment request; a history-restore request (cache miss on Back) wants the full page."""
    return htmx_partial(request) and request.headers.get("HX-History-Restore-Request") != "true"


def _render(request: HttpRequest, full: str, partial: str, ctx: dict[str, Any]) -> HttpResponse:
    """Render the page or its htmx fragment; `Vary: HX-Request` keeps caches from mixing the two."""
    is_partial = _partial(request)
    response = render(request, partial if is_partial else full, {**ctx, "is_partial": is_partial})
    patch_vary_headers(response, ["HX-Request"])
    return response


@public
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@public
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = LoginForm(request.POST or None)
    error, locked = "", False
    if request.method == "POST" and form.is_valid():
        result = do_attempt_login(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if result.outcome is LoginOutcome.OK:
            login(request, result.user)  # last_login was recorded by do_attempt_login
            response = redirect(next_url or "web:home")
            if result.user.preferred_language in dict(settings.LANGUAGES):
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    result.user.preferred_language,
                    samesite="Lax",
                    httponly=True,
                )
            return response
        if result.outcome is LoginOutcome.LOCKED:
            locked = True
            minutes = max(1, int((result.locked_until - timezone.now()).total_seconds() // 60) + 1)
            error = gettext(
                "This account is locked after too many failed attempts. Try again in %(minutes)d minutes "
                "or ask your administrator to unlock it."
            ) % {"minutes": minutes}
        else:
            error = gettext("The user name or password is not correct.")
    status = 200 if not error else 401
    ctx = {
        "form": form,
        "error": error,
        "locked": locked,
        "next": next_url,
        "lockout_threshold": settings.PERFLINK_LOCKOUT_THRESHOLD,
        "lockout_minutes": settings.PERFLINK_LOCKOUT_MINUTES,
    }
    return render(request, "web/login.html", ctx, status=status)


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


def enabled_modules(request: HttpRequest) -> list[tuple[str, ModuleInfo]]:
    """The modules still to come that this tenant has switched on and this user may open."""
    tenant_modules = set(request.user.tenant.modules or ())
    return [
        (key, info)
        for key, info in MODULES.items()
        if info.tenant_key in tenant_modules and can(request.user, info.action)
    ]


@page("home.view")
def home(request: HttpRequest) -> HttpResponse:
    ctx = {"summary": home_summary(request.user), "modules": enabled_modules(request)}
    return render(request, "web/home.html", ctx)


@page("home.view")
def module(request: HttpRequest, key: str) -> HttpResponse:
    info = MODULES.get(key)
    if info is None or info.tenant_key not in (request.user.tenant.modules or ()):
        raise NotFound("module not found")
    if info.url_name:
        return redirect(info.url_name)
    ctx = {"module_key": key, "module": info, "module_title": info.title, "blurb": info.blurb}
    return render(request, "web/module.html", ctx)


def _children(principal: Any, parent: OrgUnit | None) -> list[OrgUnit]:
    return list(with_subtree_headcount(org_selectors.unit_children(principal, parent)))


def _unit_context(principal: Any, unit: OrgUnit) -> dict[str, Any]:
    employees = org_selectors.search_employees(principal, unit=unit, include_subunits=False)
    ancestors = org_selectors.unit_ancestors(unit)
    history = list(org_selectors.unit_history(unit))
    # Units outside the principal's scope (a unit head's ancestors, earlier parents) are not named.
    mentioned = {a.pk for a in ancestors} | {v.parent_id for v in history if v.parent_id}
    visible = set(
        org_selectors.visible_units(principal).filter(pk__in=mentioned).values_list("pk", flat=True)
    )
    return {
        "unit": unit,
        "ancestors": [a for a in ancestors if a.pk in visible and a.pk != unit.pk],
        "history": history,
        "visible_ids": visible,
        "children": _children(principal, unit),
        "headcount": org_selectors.subtree_headcount(unit),
        "employees": list(employees.exclude(status=EmployeeStatus.LEFT)[:EMPLOYEES_IN_PANEL]),
        "employees_limit": EMPLOYEES_IN_PANEL,
    }


@page("org.view")
def org_tree(request: HttpRequest) -> HttpResponse:
    parent_id = request.GET.get("parent")
    parent = (
        org_selectors.get_unit(request.user, int(parent_id)) if parent_id and parent_id.isdigit() else None
    )
    units = _children(request.user, parent)
    if _partial(request) and parent is not None:
        response = render(request, "web/partials/org_children.html", {"units": units, "parent": parent})
        patch_vary_headers(response, ["HX-Request"])
        return response
    # The first level below a few roots comes open, so the page starts useful; deeper levels load on demand.
    if len(units) <= 3:
        for root in units:
            if root.n_children:
                root.loaded_children = _children(request.user, root)
    selected_id = request.GET.get("unit", "")
    if selected_id.isdigit():
        selected = org_selectors.get_unit(request.user, int(selected_id))
    else:
        selected = units[0] if units else None
    ctx: dict[str, Any] = {"units": units, "selected": selected}
    if selected is not None:
        ctx["panel"] = _unit_context(request.user, selected)
    return render(request, "web/org_tree.html", ctx)


@page("org.view")
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = org_selectors.get_unit(request.user, unit_id)
    ctx = _unit_context(request.user, unit)
    return _render(request, "web/unit_detail.html", "web/partials/unit_panel.html", ctx)


@page("employee.view")
def employee_list(request: HttpRequest) -> HttpResponse:
    form = EmployeeFilterForm(request.GET or None, principal=request.user)
    filters = form.cleaned_filters() if form.is_valid() else {}
    qs = org_selectors.search_employees(request.user, **filters)
    page_obj = Paginator(qs, 25).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "form": form,
        "page_obj": page_obj,
        "sort": filters.get("sort", "employee_no"),
        "querystring": params.urlencode(),
        "filtered": any(filters.get(k) for k in ("q", "unit", "employment_type", "status")),
        "types": EmploymentType.choices,
        "statuses": EmployeeStatus.choices,
    }
    if not _partial(request):
        ctx["units"] = org_selectors.visible_units(request.user).only("id", "name", "depth", "path")
    return _render(request, "web/employee_list.html", "web/partials/employee_table.html", ctx)


@page("employee.view")
def employee_detail(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = org_selectors.get_employee(request.user, employee_id)
    ctx = {
        "employee": employee,
        "sensitive": org_selectors.sensitive_values(request.user, employee),
        "sensitive_revealed": can(request.user, "employee.view_sensitive"),
        "assignments": org_selectors.employee_assignments(employee),
    }
    return render(request, "web/employee_detail.html", ctx)


def _audit_events(form: AuditFilterForm) -> Any:
    filters = form.cleaned_data if form.is_valid() else {}
    return filter_events(AuditEvent.objects.all(), **{k: v for k, v in filters.items() if v})


@page("audit.view")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page_obj = Paginator(_audit_events(form).order_by("-seq"), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "form": form,
        "page_obj": page_obj,
        "querystring": params.urlencode(),
        "filtered": bool(form.is_valid() and any(form.cleaned_data.values())),
        "audit_action_codes": sorted(AUDIT_ACTION_LABELS),
    }
    return _render(request, "web/audit_list.html", "web/partials/audit_table.html", ctx)


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@page("audit.export")
def audit_export(request: HttpRequest) -> HttpResponse:
    qs = _audit_events(AuditFilterForm(request.GET or None)).order_by("seq")
    header = [
        "seq",
        "time",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object",
        "before",
        "after",
        "request_id",
        "ip",
        "hash",
    ]
    rows = (
        [
            e.seq,
            e.at.isoformat(),
            e.actor_label,
            e.action,
            e.object_type,
            e.object_id,
            e.object_repr,
            _json_cell(e.before),
            _json_cell(e.after),
            e.request_id,
            e.ip,
            e.hash,
        ]
        for e in qs.iterator(chunk_size=2000)
    )
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.user.tenant.slug}-{stamp}.csv"'
    return response


@page("home.view")
def settings_page(request: HttpRequest) -> HttpResponse:
    ctx = {"role_actions": sorted(a for a in ACTION_CODES if can(request.user, a))}
    return render(request, "web/settings.html", ctx)


@page("token.manage")
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = do_create_token(
                name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                created_by=request.user,
                actor=current_actor(),
            )
            # No flash message: the page itself shows the secret once, in its own box.
            form = TokenForm()
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    tokens = ApiToken.objects.select_related("created_by").all()
    ctx = {"form": form, "tokens": tokens, "new_secret": new_secret, "token_actions": sorted(TOKEN_ACTIONS)}
    response = render(request, "web/token_list.html", ctx)
    if new_secret:
        response["Cache-Control"] = "no-store"  # the secret must not be kept in any cache
    return response


@page("token.manage")
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None:
        raise Http404("token not found")
    do_revoke_token(token, actor=current_actor())
    messages.success(request, gettext("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("web:token_list")
