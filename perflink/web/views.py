"""Pages of the web shell. Each view: parse input, call one selector or action, render.

One view serves the full page and its htmx partial (see `perflink.core.htmx.htmx_partial`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from perflink.accounts.access import TOKEN_ACTIONS
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
from perflink.web.decorators import page, public
from perflink.web.forms import AuditFilterForm, EmployeeFilterForm, LoginForm, TokenForm

MODULES = {
    "ingest": (_("Data sources"), "数据打通：保单、理赔、人力、财务、IT 运维系统的数据接入、清洗与追溯。"),
    "metrics": (_("Metrics"), "业务关联指标：指标库、季节模板（开门红、汛期）、目标与评分规则。"),
    "linkage": (_("Linkage"), "联动关系：职能指标与业务结果的关联，由业务部门确认。"),
    "incentives": (_("Incentives"), "激励协同：奖金方案、条件系数、计算说明、模拟测算与审批发布。"),
    "collab": (_("Collaboration"), "实时协同：协同需求、进度跟踪、满意度调研与协同周报。"),
    "analytics": (_("Analytics"), "贡献可视化：职能对业务结果的影响分析与管理驾驶舱。"),
    "self": (_("My performance"), "员工自助：查看本人指标、得分与奖金说明，参与调研与申诉。"),
}


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
    error = ""
    if request.method == "POST" and form.is_valid():
        result = do_attempt_login(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if result.outcome is LoginOutcome.OK:
            login(request, result.user)
            if result.user.preferred_language:
                request.session["_language"] = result.user.preferred_language
            return redirect(next_url or "web:home")
        if result.outcome is LoginOutcome.LOCKED:
            minutes = max(1, int((result.locked_until - timezone.now()).total_seconds() // 60) + 1)
            error = _(
                "This account is locked after too many failed attempts. Try again in %(minutes)d minutes "
                "or ask your administrator to unlock it."
            ) % {"minutes": minutes}
        else:
            error = _("The user name or password is not correct.")
    status = 200 if not error else 401
    return render(request, "web/login.html", {"form": form, "error": error, "next": next_url}, status=status)


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


@page("home.view")
def home(request: HttpRequest) -> HttpResponse:
    from perflink.web.selectors import home_summary

    return render(request, "web/home.html", {"summary": home_summary(request.user)})


@page("home.view")
def module(request: HttpRequest, key: str) -> HttpResponse:
    if key not in MODULES:
        raise NotFound("module not found")
    title, blurb = MODULES[key]
    return render(request, "web/module.html", {"module_key": key, "module_title": title, "blurb": blurb})


@page("org.view")
def org_tree(request: HttpRequest) -> HttpResponse:
    parent_id = request.GET.get("parent")
    parent = org_selectors.get_unit(request.user, int(parent_id)) if parent_id and parent_id.isdigit() else None
    children = org_selectors.unit_children(request.user, parent)
    if htmx_partial(request) and parent is not None:
        return render(request, "web/partials/org_children.html", {"units": children, "parent": parent})
    return render(request, "web/org_tree.html", {"units": children})


@page("org.view")
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = org_selectors.get_unit(request.user, unit_id)
    employees = org_selectors.search_employees(request.user, unit=unit, include_subunits=False)
    ctx = {
        "unit": unit,
        "ancestors": org_selectors.unit_ancestors(unit),
        "history": org_selectors.unit_history(unit),
        "children": org_selectors.unit_children(request.user, unit),
        "headcount": org_selectors.subtree_headcount(unit),
        "employees": employees.exclude(status=EmployeeStatus.LEFT)[:50],
    }
    template = "web/partials/unit_panel.html" if htmx_partial(request) else "web/unit_detail.html"
    return render(request, template, ctx)


@page("employee.view")
def employee_list(request: HttpRequest) -> HttpResponse:
    form = EmployeeFilterForm(request.GET or None, principal=request.user)
    filters = form.cleaned_filters() if form.is_valid() else {}
    qs = org_selectors.search_employees(request.user, **filters)
    paginator = Paginator(qs, 25)
    page_obj = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "form": form,
        "page_obj": page_obj,
        "sort": filters.get("sort", "employee_no"),
        "querystring": params.urlencode(),
        "types": EmploymentType.choices,
        "statuses": EmployeeStatus.choices,
    }
    template = "web/partials/employee_table.html" if htmx_partial(request) else "web/employee_list.html"
    return render(request, template, ctx)


@page("employee.view")
def employee_detail(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = org_selectors.get_employee(request.user, employee_id)
    ctx = {
        "employee": employee,
        "sensitive": org_selectors.sensitive_values(request.user, employee),
        "assignments": org_selectors.employee_assignments(employee),
    }
    return render(request, "web/employee_detail.html", ctx)


@page("audit.view")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = filter_events(AuditEvent.objects.all(), **{k: v for k, v in filters.items() if v})
    page_obj = Paginator(qs.order_by("-seq"), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {"form": form, "page_obj": page_obj, "querystring": params.urlencode()}
    template = "web/partials/audit_table.html" if htmx_partial(request) else "web/audit_list.html"
    return render(request, template, ctx)


@page("audit.export")
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = filter_events(AuditEvent.objects.all(), **{k: v for k, v in filters.items() if v}).order_by("seq")
    header = ["seq", "time", "actor", "action", "object_type", "object_id", "object", "before", "after",
              "request_id", "ip", "hash"]  # fmt: skip
    rows = (
        [e.seq, e.at.isoformat(), e.actor_label, e.action, e.object_type, e.object_id, e.object_repr,
         e.before, e.after, e.request_id, e.ip, e.hash]  # fmt: skip
        for e in qs.iterator(chunk_size=2000)
    )
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.user.tenant.slug}-{stamp}.csv"'
    return response


@page("home.view")
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/settings.html", {})


@page("token.manage")
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_secret = do_create_token(
                name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                created_by=request.user,
                actor=current_actor(),
            )
            messages.success(request, _("Token “%(name)s” created. Copy the secret now: it is shown only once.")
                             % {"name": token.name})  # fmt: skip
            form = TokenForm()
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    tokens = ApiToken.objects.select_related("created_by").all()
    ctx = {"form": form, "tokens": tokens, "new_secret": new_secret, "token_actions": sorted(TOKEN_ACTIONS)}
    return render(request, "web/token_list.html", ctx)


@page("token.manage")
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None:
        raise Http404("token not found")
    do_revoke_token(token, actor=current_actor())
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("web:token_list")
