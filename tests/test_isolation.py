"""Two tenants, every route: tenant A's administrator can neither see nor touch tenant B's data.

The routes are discovered, not listed: the API's operations come from its OpenAPI schema, the pages
from Django's URL resolver. Every path parameter, query parameter and body field that refers to an
object must be known to the tables below; a new one makes the test fail until someone says which of
tenant B's objects to aim it at, so a new route cannot slip past the check.

The rule for an id of tenant B: the answer is the one a never-existing id gets (so nothing about B
leaks, not even existence), it is never a success or a server error, and when the caller holds the
permission the answer is 404. Afterwards every one of tenant B's rows is exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.db.models import QuerySet
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.api import api
from perflink.accounts.access import TOKEN_ACTIONS, can
from perflink.accounts.actions import do_create_token
from perflink.accounts.models import ApiToken
from perflink.audit.models import AuditEvent
from perflink.collab.tests.factories import make_demands, make_survey, survey_answer_body
from perflink.core.api import REQUIRED_ACTION_KEY
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.models import TenantOwned
from perflink.ingest.connectors import do_create_connector
from perflink.ingest.models import Batch, ClaimRecord, PullConnector, SourceSystem
from perflink.metrics.actions import do_save_metric
from perflink.metrics.models import MetricDefinition, Template
from perflink.org.actions import do_create_employee, do_create_unit
from perflink.org.models import Employee, OrgUnit, Position
from tests.factories import (
    FINANCE_PLAN,
    World,
    make_bonus_runs,
    make_link,
    make_plan,
    make_scores,
    make_world,
)

MISSING_ID = 2_000_000_000  # never allocated in a test database


@dataclass
class Tenant:
    """A world plus the objects the route tables point at (one of each kind)."""

    world: World
    unit: OrgUnit
    employee: Employee
    position: Position
    token: ApiToken
    secret: str
    event: AuditEvent
    batch: Batch
    source_code: str
    connector: PullConnector
    markers: list[str] = field(default_factory=list)
    metric_id: int = 0
    template_id: int = 0
    run_id: int = 0
    link_id: int = 0
    plan_id: int = 0
    bonus_run_id: int = 0
    demand_id: int = 0
    survey_id: int = 0


# --- what each parameter refers to ------------------------------------------------------------------

# Path parameters that are a tenant-owned object, and how to find tenant B's (or A's) one.
OWNED_PATH_PARAMS: dict[str, Callable[[Tenant], int]] = {
    "unit_id": lambda t: t.unit.pk,
    "employee_id": lambda t: t.employee.pk,
    "event_id": lambda t: t.event.pk,
    "token_id": lambda t: t.token.pk,
    "batch_id": lambda t: t.batch.pk,
    "connector_id": lambda t: t.connector.pk,
    "metric_id": lambda t: t.metric_id,
    "template_id": lambda t: t.template_id,
    "run_id": lambda t: t.run_id,
    "link_id": lambda t: t.link_id,
    "plan_id": lambda t: t.plan_id,
    "bonus_run_id": lambda t: t.bonus_run_id,
    "demand_id": lambda t: t.demand_id,
    "survey_id": lambda t: t.survey_id,
}
# Path parameters that are not tenant data, with a value that works for every tenant.
# A module's slug, a record kind, an ISO week: values, not objects.
UNOWNED_PATH_PARAMS: dict[str, str] = {"key": "collab", "kind": "claim", "week": "2026-W10"}

# Query-string parameters and body fields that refer to a tenant-owned object.
REFERENCES: dict[str, Callable[[Tenant], Any]] = {
    "parent": lambda t: t.unit.pk,
    "unit": lambda t: t.unit.pk,
    "parent_id": lambda t: t.unit.pk,
    "unit_id": lambda t: t.unit.pk,
    "manager_id": lambda t: t.employee.pk,
    "position_id": lambda t: t.position.pk,
    "source": lambda t: t.source_code,  # a source system, by its code
    "employee_id": lambda t: t.employee.pk,
    "subject_id": lambda t: t.employee.pk,
    "functional_unit_id": lambda t: t.world.hr.pk,
    "plan_id": lambda t: t.plan_id,
    "business_unit_id": lambda t: t.world.sales.pk,
    "requesting_unit_id": lambda t: t.world.sales.pk,
    "serving_unit_id": lambda t: t.world.hr.pk,
    "rated_unit_ids": lambda t: [t.world.hr.pk],
    "rating_unit_ids": lambda t: [t.world.sales.pk],
}
# Body fields that are plain values, not references.
PLAIN_BODY_FIELDS = {
    "code", "name", "name_en", "kind", "unit_type", "category", "opened_on", "closed_on", "effective",
    "employee_no", "gender", "employment_type", "hire_date", "email", "id_number", "mobile",
    "bank_account", "status", "exit_date", "permissions", "expires_at", "partial",
    "url", "auth_header_name", "auth_header_value", "pagination", "page_param", "first_page", "size_param",
    "page_size", "records_path", "next_cursor_path", "cursor_field", "cursor_param", "cursor_value",
    "cursor_sorted", "field_map", "interval_minutes", "enabled", "max_retries", "backoff_seconds",
    "timeout_seconds", "definition", "domain", "description", "description_en", "is_active", "items",
    "season_code", "valid_from", "valid_to", "note", "year", "starts_on", "ends_on", "period", "value", "metric",
    "functional_metric", "business_metric", "rationale", "amount", "reason", "periods", "records",  # references inside records go by natural key: see test_pushed_records_cannot_name_…
    "title", "spec", "rule", "accept_within_working_days", "plan", "requisition", "text", "as_of",  # demands (the requisition by its number in the HR data)
    "opens_on", "closes_on", "questions", "scale", "respondent_roles", "threshold", "recurrence",  # a survey
    "correction",  # a bonus run: whether it corrects the published run of its plan and period
    "units",  # a survey's answers: a unit the survey does not rate is refused (400) like any other
}  # fmt: skip
# Query-string parameters that are plain values (filters, paging), not references.
PLAIN_QUERY_PARAMS = {
    "q", "unit_type", "category", "kind", "include_subunits", "employment_type", "status", "sort",
    "limit", "offset", "action", "actor", "object_type", "date_from", "date_to", "domain", "period", "year",
    "level", "template", "metric", "as_of",
    "functional", "business", "controls", "by", "before_from", "before_to", "after_from", "after_to", "top",
    "provisional",  # analytics: include months whose values have not matured
}  # fmt: skip
# Required query parameters of GET operations that list or analyse (plain values, not references).
LIST_QUERIES: dict[str, dict[str, str]] = {
    "/api/v1/analytics/impact": {"functional": "claim_payment_days", "business": "claim_satisfaction_score"},
    "/api/v1/analytics/before-after": {
        "metric": "claim_payment_days", "before_from": "2026-01", "before_to": "2026-02",
        "after_from": "2026-03", "after_to": "2026-04",
    },
}  # fmt: skip
# Page query strings that htmx and links use to point at an object.
WEB_QUERY_REFERENCES: dict[str, Callable[[Tenant], Any]] = {
    "parent": lambda t: t.unit.pk,
    "unit": lambda t: t.unit.pk,
    "employee": lambda t: t.employee.pk,
}
PUBLIC_PAGES = {"web:login", "web:logout", "web:set_language", "web:healthz"}


def plausible_bodies(a: Tenant) -> dict[tuple[str, str], dict[str, Any]]:
    """For every API write: a body that tenant A's administrator could really send."""
    return {
        ("post", "/api/v1/org/units"): {
            "code": "alpha-NEW", "name": "新部门", "kind": "department", "unit_type": "business",
            "category": "claims", "parent_id": a.world.group.pk, "opened_on": "2024-01-01",
        },
        ("patch", "/api/v1/org/units/{unit_id}"): {"name": "改名", "closed_on": "2030-01-01"},
        ("post", "/api/v1/org/units/{unit_id}/move"): {"parent_id": a.world.hr.pk, "effective": "2025-01-01"},
        ("post", "/api/v1/employees"): {
            "employee_no": "A-NEW-1", "name": "新人", "unit_id": a.world.sales_team.pk,
            "position_id": a.position.pk, "manager_id": a.world.staff.pk,
            "employment_type": "agent", "hire_date": "2024-05-06",
        },
        ("patch", "/api/v1/employees/{employee_id}"): {"name": "改名", "mobile": "13700000000"},
        ("post", "/api/v1/employees/{employee_id}/transfer"): {
            "unit_id": a.world.hr.pk, "effective": "2025-07-01", "position_id": a.position.pk,
            "manager_id": a.world.staff.pk,
        },
        ("post", "/api/v1/employees/{employee_id}/exit"): {"exit_date": "2025-12-31"},
        ("post", "/api/v1/tokens"): {"name": "x", "permissions": ["org.view"]},
        ("post", "/api/v1/tokens/{token_id}/revoke"): {},
        ("post", "/api/v1/ingest/{kind}"): {"records": [claim(a.world, "ALPHA-CLAIM-1")]},
        ("post", "/api/v1/ingest/batches/{batch_id}/rollback"): {},
        ("post", "/api/v1/ingest/connectors"): {
            "name": "alpha-pull", "source": a.source_code, "kind": "claim", "url": "https://claims.example.cn/api",
        },
        ("patch", "/api/v1/ingest/connectors/{connector_id}"): {"page_size": 100, "enabled": False},
        ("post", "/api/v1/ingest/connectors/{connector_id}/run"): {},
        **metrics_bodies(a.world),
    }  # fmt: skip


def metrics_bodies(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    """Writes of the metrics API that a performance administrator could send."""
    definition = {
        "kind": "policy",
        "date_field": "issued_on",
        "measure": {"agg": "count"},
        "subject": {"employee": "agent", "unit": "unit"},
    }
    items = [
        {"metric": "new_business_premium", "weight": "100", "rule": {"kind": "linear", "per_point": "1"}}
    ]
    return {
        ("post", "/api/v1/metrics"): {"code": "policies_again", "name": "件数", "domain": "sales", "definition": definition},
        ("post", "/api/v1/metrics/validate"): {"code": "draft", "definition": definition},
        ("post", "/api/v1/seasons"): {
            "code": "kaimenhong", "name": "开门红", "year": 2026, "starts_on": "2026-01-01", "ends_on": "2026-03-15",
        },
        ("post", "/api/v1/templates/{template_id}/versions"): {"items": items, "note": "test"},
        ("post", "/api/v1/targets"): {
            "period": "2026-03", "metric": "new_business_premium", "employee_id": world.agent.pk, "value": "60000",
        },
        ("post", "/api/v1/runs"): {"period": "2026-03"},
        ("post", "/api/v1/runs/{run_id}/publish"): {},
        ("post", "/api/v1/links"): {
            "functional_unit_id": world.hr.pk, "functional_metric": "new_agent_attainment_3m_hr",
            "business_unit_id": world.sales.pk, "business_metric": "new_business_premium", "rationale": "新人产能",
        },
        ("post", "/api/v1/links/{link_id}/confirm"): {"note": ""},
        ("post", "/api/v1/links/{link_id}/reject"): {"note": "口径不一致"},
        ("post", "/api/v1/links/{link_id}/withdraw"): {"note": ""},
        ("post", "/api/v1/plans"): {
            "code": "finance-2", "name": "财务激励", "category": "finance", "valid_from": "2026-01-01",
            "definition": FINANCE_PLAN,
        },
        ("post", "/api/v1/plans/validate"): {"definition": FINANCE_PLAN},
        ("post", "/api/v1/bonus-runs"): {"plan_id": plan_of(world), "period": "2026-03"},
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/submit"): {},
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/discard"): {"reason": "重复"},
        ("post", "/api/v1/plans/{plan_id}/what-if"): {"definition": FINANCE_PLAN, "periods": ["2026-03"]},
        ("post", "/api/v1/plans/{plan_id}/bases"): {
            "records": [{"employee_no": world.staff.employee_no, "base": "12000.00", "valid_from": "2026-01-01"}],
        },
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/approve"): {},
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/return"): {"reason": "口径需复核"},
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/publish"): {},
        ("post", "/api/v1/bonus-runs/{bonus_run_id}/adjustments"): {
            "employee_id": world.staff.pk, "amount": "100.00", "reason": "补发",
        },
        ("post", "/api/v1/demands"): {
            "kind": "recruitment", "title": "招聘20名代理人", "requesting_unit_id": world.sales.pk,
            "serving_unit_id": world.hr.pk, "spec": {"positions": 20, "arrival_days": 10, "per_hire_target": "100000"},
        },
        ("post", "/api/v1/demands/{demand_id}/accept"): {"plan": "内推与校招", "requisition": "REQ-2026-001"},
        ("post", "/api/v1/demands/{demand_id}/decline"): {"reason": "编制已满"},
        ("post", "/api/v1/demands/{demand_id}/start"): {"note": ""},
        ("post", "/api/v1/demands/{demand_id}/deliver"): {"note": "已到岗"},
        ("post", "/api/v1/demands/{demand_id}/withdraw"): {"reason": "需求取消"},
        ("post", "/api/v1/demands/{demand_id}/comments"): {"text": "请尽快安排"},
        ("post", "/api/v1/demands/{demand_id}/change-requests"): {"text": "培训加入产品知识"},
        ("post", "/api/v1/demands/{demand_id}/evaluate"): {},
        ("post", "/api/v1/surveys/{survey_id}/answer"): survey_answer_body(world),
        ("post", "/api/v1/surveys"): {
            "title": "职能支持满意度", "period": "2026-10", "rated_unit_ids": [world.hr.pk],
            "rating_unit_ids": [world.sales.pk], "opens_on": "2026-11-01", "closes_on": "2026-11-08",
        },
        ("post", "/api/v1/surveys/{survey_id}/open"): {},
        ("post", "/api/v1/surveys/{survey_id}/remind"): {},
        ("post", "/api/v1/surveys/{survey_id}/close"): {},
    }  # fmt: skip


def plan_of(world: World) -> int:
    from perflink.incentives.models import IncentivePlan

    with tenant_context(world.tenant):
        return IncentivePlan.objects.order_by("pk").values_list("pk", flat=True).first() or 0


# --- the two tenants ---------------------------------------------------------------------------------


def seed(world: World, prefix: str, distinctive: bool) -> Tenant:
    """One more unit, position, employee and token in `world`; tenant B's carry names found nowhere else."""
    tag = "贝塔秘密" if distinctive else ""
    with tenant_context(world.tenant, SYSTEM):
        unit = do_create_unit(
            code=f"{prefix}-SECRET", name=f"{tag}理赔部", name_en=f"{prefix} secret claims", kind="department",
            unit_type="business", category="claims", parent=world.group, opened_on=date(2021, 1, 1), actor=SYSTEM,
        )  # fmt: skip
        position = Position.objects.create(code=f"{prefix}-POS", name=f"{tag}理赔专员")
        employee = do_create_employee(
            actor=SYSTEM, employee_no=f"{prefix.upper()}-9001", name=f"{tag}员工", unit=unit, position=position,
            employment_type="staff", hire_date=date(2022, 2, 2), mobile="13955556666",
        )  # fmt: skip
        token, secret = do_create_token(
            name=f"{prefix}-feed", permissions=sorted(TOKEN_ACTIONS), created_by=None, actor=SYSTEM
        )
        event = AuditEvent.objects.filter(action="org.unit.create", object_id=str(unit.pk)).get()
        source = SourceSystem.objects.create(
            code=f"{prefix.upper()}-ONLY-SYS", name=f"{tag}核心系统", kind="claims"
        )
    pushed = Client().post(
        "/api/v1/ingest/claim",
        {"records": [claim(world, f"{prefix.upper()}-CLAIM-77")], "source": source.code},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert pushed.status_code == 200, pushed.content
    with tenant_context(world.tenant, SYSTEM):
        batch = Batch.objects.get(pk=pushed.json()["batch_id"])
        connector = do_create_connector(
            name=f"{prefix}-pull",
            source_system=SourceSystem.objects.get(code=source.code),
            kind="claim",
            url=f"https://{prefix}.example.cn/claims",
            auth_header_value=f"Bearer {prefix}-secret",
            actor=SYSTEM,
        )
    markers = [
        f"{prefix}-SECRET", f"{prefix} secret claims", f"{tag}理赔部", f"{prefix}-POS", f"{tag}理赔专员",
        f"{prefix.upper()}-9001", f"{tag}员工", f"{prefix}-feed", token.prefix, f"@{prefix}", f"{prefix}-G",
        f"{prefix}-S1", f"{prefix}-HR", f"{prefix}集团", world.tenant.name, world.agent.employee_no,
        world.staff.employee_no, event.hash, f"{prefix.upper()}-CLAIM-77", source.code, f"{tag}核心系统",
    ]  # fmt: skip
    markers.append(f"{prefix}-pull")
    run = make_scores(world)
    link = make_link(world, rationale=f"{tag}联动理由")
    plan = make_plan(world, name=f"{tag}财务激励方案")
    bonus_runs = make_bonus_runs(world)
    demands = make_demands(world, title=f"{tag}招聘需求")
    survey = make_survey(world, title=f"{tag}满意度调研")
    if distinctive:
        markers.append(f"{tag}招聘需求")
        markers.append(f"{tag}满意度调研")
    if distinctive:
        markers.append(f"{tag}财务激励方案")
    if distinctive:
        markers.append(f"{tag}联动理由")
    with tenant_context(world.tenant, SYSTEM):
        metric = MetricDefinition.objects.get(code="new_business_premium")
        template = Template.objects.get(code="life_agent")
        if distinctive:  # tenant B's own metric and template, with names found nowhere else
            do_save_metric(
                code="beta_secret_metric", name="贝塔秘密指标", domain="sales", definition=metric.definition,
                actor=SYSTEM,
            )  # fmt: skip
            markers += ["贝塔秘密指标", "beta_secret_metric"]
    return Tenant(
        world, unit, employee, position, token, secret, event, batch, source.code, connector, markers,
        metric_id=metric.pk, template_id=template.pk, run_id=run.pk, link_id=link.pk, plan_id=plan.plan_id, bonus_run_id=bonus_runs["published"].pk,
        demand_id=demands["submitted"].pk, survey_id=survey.pk,
    )  # fmt: skip


def claim(world: World, claim_no: str) -> dict[str, Any]:
    """One claim record as a claims system would push it."""
    return {
        "claim_no": claim_no, "line": "auto", "handler": world.staff.employee_no, "unit": world.hr.code,
        "reported_at": "2026-03-01T09:00:00+08:00", "paid_at": "2026-03-03 10:00", "amount_claimed": "1000",
        "satisfaction": "满意",
    }  # fmt: skip


@pytest.fixture
def tenants(db: None) -> tuple[Tenant, Tenant]:
    a = seed(make_world("alpha"), "alpha", distinctive=False)
    b = seed(make_world("beta"), "beta", distinctive=True)
    return a, b


def snapshot(t: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row the tenant owns, in every tenant-owned table."""
    models = [m for m in apps.get_models() if issubclass(m, TenantOwned)]
    assert {OrgUnit, Employee, ApiToken, AuditEvent, Batch} <= set(models)
    with tenant_context(t.world.tenant):
        return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


def admin_session(t: Tenant) -> Client:
    # Server errors come back as 500 responses, so every problem is listed, not only the first.
    client = Client(raise_request_exception=False)
    with tenant_context(t.world.tenant):
        client.force_login(t.world.users["tenant_admin"])
    return client


# --- route discovery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiOperation:
    method: str
    path: str  # with {placeholders}
    action: str | None
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    body_fields: tuple[str, ...]
    has_body: bool
    success_status: int


def api_operations() -> list[ApiOperation]:
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in body:
                body = components[body["$ref"].rsplit("/", 1)[-1]]
            ops.append(
                ApiOperation(
                    method=method,
                    path=path,
                    action=op.get(REQUIRED_ACTION_KEY),
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    query_params=tuple(p["name"] for p in params if p["in"] == "query"),
                    body_fields=tuple(body.get("properties", {})),
                    has_body="requestBody" in op,
                    success_status=min(int(code) for code in op["responses"] if str(code).startswith("2")),
                )
            )
    assert ops, "the OpenAPI schema lists no operations"
    return ops


@dataclass(frozen=True)
class WebRoute:
    name: str
    params: tuple[str, ...]
    view: Any


def web_routes() -> list[WebRoute]:
    """Every page route, the API's include excluded (the API is checked through its schema)."""

    def walk(patterns: list[Any], namespace: str) -> Iterator[WebRoute]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name == "ninja":
                    continue
                yield from walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern):
                if str(p.pattern).startswith(("static/", "media/")):
                    continue
                name = f"{namespace}:{p.name}" if namespace else str(p.name)
                yield WebRoute(name, tuple(p.pattern.regex.groupindex), p.callback)

    routes = list(walk(get_resolver().url_patterns, ""))
    assert routes, "no page routes found"
    return routes


def fill_path(template: str, values: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), template)


def path_values(params: tuple[str, ...], t: Tenant | None, where: str) -> dict[str, Any]:
    """Values for a route's path parameters: tenant `t`'s objects, or never-existing ids when `t` is None."""
    values: dict[str, Any] = {}
    for param in params:
        if param in UNOWNED_PATH_PARAMS:
            values[param] = UNOWNED_PATH_PARAMS[param]
        elif param in OWNED_PATH_PARAMS:
            values[param] = MISSING_ID if t is None else OWNED_PATH_PARAMS[param](t)
        else:
            pytest.fail(
                f"{where} has the path parameter {param!r}, which the two-tenant test does not know. If it "
                f"names a tenant-owned object, add it to OWNED_PATH_PARAMS (how to find tenant B's one); if "
                f"not, to UNOWNED_PATH_PARAMS with a value valid for every tenant."
            )
    return values


def leaked(text: str, b: Tenant) -> list[str]:
    return [m for m in b.markers if m and m in text]


def body_text(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8", errors="replace")


def error_code(response: Any) -> str | None:
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json().get("code") if isinstance(response.json(), dict) else None
    return None


def call(client: Client, method: str, url: str, body: Any = None, **headers: str) -> Any:
    if method == "get":
        return client.get(url, headers=headers)
    data = json.dumps(body if body is not None else {})
    return client.generic(method.upper(), url, data, content_type="application/json", headers=headers)


# --- the API ------------------------------------------------------------------------------------------


def api_principals(a: Tenant) -> dict[str, tuple[Client, Any]]:
    return {
        "session of A's tenant_admin": (admin_session(a), a.world.users["tenant_admin"]),
        "token of A (every token permission)": (
            Client(raise_request_exception=False, headers={"Authorization": f"Bearer {a.secret}"}),
            a.token,
        ),
    }


def check_api_ids(a: Tenant, b: Tenant, client: Client, who: Any, label: str) -> list[str]:
    problems = []
    bodies = plausible_bodies(a)
    for op in api_operations():
        where = f"{op.method.upper()} {op.path}"
        if op.has_body and (op.method, op.path) not in bodies:
            pytest.fail(f"{where} takes a body, but plausible_bodies() has none for it: add one.")
        body = bodies.get((op.method, op.path))
        allowed = op.action is None or can(who, op.action)

        # (1) tenant B's object in the path.
        if any(p not in UNOWNED_PATH_PARAMS for p in op.path_params):
            for method in sorted({"get", op.method}):
                b_url = fill_path(op.path, path_values(op.path_params, b, where))
                missing_url = fill_path(op.path, path_values(op.path_params, None, where))
                got, missing = call(client, method, b_url, body), call(client, method, missing_url, body)
                what = f"[{label}] {method.upper()} {b_url} (B's id)"
                if got.status_code < 300 or got.status_code >= 500:
                    problems.append(f"{what} answered {got.status_code}: {body_text(got)[:200]}")
                elif (got.status_code, error_code(got)) != (missing.status_code, error_code(missing)):
                    problems.append(
                        f"{what} answered {got.status_code} {error_code(got)} but a missing id gets "
                        f"{missing.status_code} {error_code(missing)}: existence leaks"
                    )
                elif method == op.method and allowed and got.status_code != 404:
                    problems.append(f"{what} answered {got.status_code}, expected 404")

        # (2) tenant B's object referenced from the query string or the body.
        own_path = fill_path(op.path, path_values(op.path_params, a, where))
        for param in op.query_params:
            if param in PLAIN_QUERY_PARAMS:
                continue
            if param not in REFERENCES:
                pytest.fail(
                    f"{where} has the query parameter {param!r}: add it to REFERENCES (if it names an "
                    f"object) or PLAIN_QUERY_PARAMS."
                )
            got = client.get(own_path, {param: REFERENCES[param](b)})
            if allowed and (got.status_code, error_code(got)) != (404, "not_found"):
                problems.append(f"[{label}] {where}?{param}=<B's> answered {got.status_code}, expected 404")
            elif got.status_code == 200 and leaked(body_text(got), b):
                problems.append(f"[{label}] {where}?{param}=<B's> shows {leaked(body_text(got), b)}")
        for name in op.body_fields:
            if name in PLAIN_BODY_FIELDS:
                continue
            if name not in REFERENCES:
                pytest.fail(
                    f"{where} has the body field {name!r}: add it to REFERENCES (if it names an object, by id "
                    f"or code) or PLAIN_BODY_FIELDS."
                )
            got = call(client, op.method, own_path, {**(body or {}), name: REFERENCES[name](b)})
            if allowed and (got.status_code, error_code(got), got.json().get("field")) != (
                404,
                "not_found",
                name,
            ):
                problems.append(
                    f"[{label}] {where} with {name}=<B's> answered {got.status_code} {body_text(got)[:200]}, "
                    f"expected 404 naming {name!r}"
                )
            elif got.status_code < 300:
                problems.append(f"[{label}] {where} with {name}=<B's> succeeded")

        # (3) lists: nothing of tenant B's in them.
        if op.method == "get" and all(p in UNOWNED_PATH_PARAMS for p in op.path_params):
            got = client.get(own_path, {"limit": 500, **LIST_QUERIES.get(op.path, {})})
            if got.status_code == 200:
                if leaked(body_text(got), b):
                    problems.append(f"[{label}] GET {op.path} shows B's {leaked(body_text(got), b)}")
            elif not (got.status_code == 403 and not allowed):
                problems.append(f"[{label}] GET {op.path} answered {got.status_code}")
    return problems


@pytest.mark.parametrize("principal", ["session of A's tenant_admin", "token of A (every token permission)"])
def test_the_api_never_shows_or_changes_another_tenants_objects(
    tenants: tuple[Tenant, Tenant], principal: str
) -> None:
    a, b = tenants
    before = snapshot(b)
    client, who = api_principals(a)[principal]
    problems = check_api_ids(a, b, client, who, principal)
    assert not problems, "\n".join(problems)
    assert snapshot(b) == before, "tenant B's rows changed while tenant A was poking at them"


def test_the_api_lists_show_the_callers_own_data(tenants: tuple[Tenant, Tenant]) -> None:
    """The leak check above is only meaningful if A's markers do show up in A's lists."""
    a, _ = tenants
    client = admin_session(a)
    units = body_text(client.get("/api/v1/org/units", {"limit": 500}))
    employees = body_text(client.get("/api/v1/employees", {"limit": 500}))
    tokens = body_text(client.get("/api/v1/tokens"))
    assert "alpha-SECRET" in units and "ALPHA-9001" in employees and "alpha-feed" in tokens


# --- the pages ----------------------------------------------------------------------------------------


def check_pages(a: Tenant, b: Tenant, client: Client) -> list[str]:
    admin = a.world.users["tenant_admin"]
    problems: list[str] = []
    for route in web_routes():
        if route.name in PUBLIC_PAGES:
            continue
        owned = [p for p in route.params if p not in UNOWNED_PATH_PARAMS]
        if owned:
            b_url = reverse(route.name, kwargs=path_values(route.params, b, route.name))
            missing_url = reverse(route.name, kwargs=path_values(route.params, None, route.name))
            statuses = []
            for method in ("get", "post"):
                got = getattr(client, method)(b_url)
                missing = getattr(client, method)(missing_url)
                statuses.append(got.status_code)
                if got.status_code < 400 or got.status_code >= 500:
                    problems.append(f"{method.upper()} {b_url} (B's id) answered {got.status_code}")
                elif got.status_code != missing.status_code:
                    problems.append(
                        f"{method.upper()} {b_url} answered {got.status_code} but a missing id gets "
                        f"{missing.status_code}: existence leaks"
                    )
            if 404 not in statuses and can(admin, route.view.required_action):
                problems.append(f"{route.name}: neither GET nor POST with B's id answered 404 ({statuses})")
            continue

        url = reverse(route.name, kwargs=path_values(route.params, a, route.name))
        variants: list[tuple[str, dict[str, Any]]] = [(url, {})]
        variants += [(url, {name: ref(b)}) for name, ref in WEB_QUERY_REFERENCES.items()]
        for target, query in variants:
            for headers in ({}, {"HX-Request": "true"}):
                got = client.get(target, query, headers=headers)
                shown = f"GET {target}?{query} {headers or ''}"
                if got.status_code >= 500 or got.status_code in (301, 302):
                    problems.append(f"{shown} answered {got.status_code}")
                elif got.status_code == 200 and leaked(body_text(got), b):
                    problems.append(f"{shown} shows B's {leaked(body_text(got), b)}")
                elif got.status_code not in (200, 404) and can(admin, route.view.required_action):
                    problems.append(f"{shown} answered {got.status_code}")
    return problems


def test_pages_never_show_or_change_another_tenants_objects(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    before = snapshot(b)
    problems = check_pages(a, b, admin_session(a))
    assert not problems, "\n".join(problems)
    assert snapshot(b) == before, "tenant B's rows changed while tenant A was poking at them"


def test_the_checks_catch_a_selector_that_forgets_the_scope(
    tenants: tuple[Tenant, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard the guard: with the unit selector made to read every tenant's units, both checks fail."""
    a, b = tenants
    monkeypatch.setattr("perflink.org.selectors.visible_units", lambda principal: QuerySet(OrgUnit))
    client, who = api_principals(a)["session of A's tenant_admin"]
    api_problems = check_api_ids(a, b, client, who, "leaky")
    assert any(f"/api/v1/org/units/{b.unit.pk}" in p for p in api_problems), api_problems
    page_problems = check_pages(a, b, admin_session(a))
    assert any("贝塔秘密理赔部" in p for p in page_problems), page_problems


def test_the_htmx_tree_refuses_another_tenants_parent(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    client = admin_session(a)
    for query in ({"parent": b.unit.pk}, {"parent": b.world.group.pk}, {"unit": b.unit.pk}):
        assert client.get("/org/", query, headers={"HX-Request": "true"}).status_code == 404
    # …while the same request for tenant A's own unit works.
    assert (
        client.get("/org/", {"parent": a.world.group.pk}, headers={"HX-Request": "true"}).status_code == 200
    )


def test_pushed_records_cannot_name_another_tenants_employee_or_unit(tenants: tuple[Tenant, Tenant]) -> None:
    """Records refer to people and units by natural key (employee number, unit code): tenant B's
    keys, pushed with tenant A's token, are unknown, and nothing lands anywhere."""
    a, b = tenants
    before = snapshot(b)
    record = {**claim(a.world, "ALPHA-CLAIM-X"), "handler": b.employee.employee_no, "unit": b.unit.code}
    client = Client(headers={"Authorization": f"Bearer {a.secret}"})
    response = client.post("/api/v1/ingest/claim", {"records": [record]}, content_type="application/json")
    assert response.status_code == 422, response.content
    assert {e["field"] for e in response.json()["report"]["errors"]} == {"handler", "unit"}
    with tenant_context(a.world.tenant):
        assert not ClaimRecord.objects.filter(claim_no="ALPHA-CLAIM-X").exists()
    assert snapshot(b) == before
