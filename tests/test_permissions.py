"""The role x action matrix, written down independently of the code, and checked on every route.

`EXPECTED` below is the product's answer to "who may do what", typed out by hand: it is compared with
`perflink.accounts.access.can` for every action, and a new action fails the test until its row is
written here. Then the routes are discovered (pages from the URL resolver, API operations from the
OpenAPI schema, whose `x-required-action` each operation must declare) and every role is sent to
every route: allowed means it works, not allowed means 403, not logged in means the login page/401.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from perflink.accounts.access import ACTIONS, can
from perflink.accounts.actions import do_create_token
from perflink.accounts.choices import Role
from perflink.accounts.models import ApiToken, User
from perflink.audit.models import AuditEvent
from perflink.collab.models import Demand, Survey
from perflink.collab.surveys import do_schedule_survey
from perflink.collab.tests.factories import make_demands, make_support_unit, make_survey, survey_answer_body
from perflink.core.api import REQUIRED_ACTION_KEY
from perflink.core.context import SYSTEM, tenant_context
from perflink.incentives.models import BonusRun, IncentivePlan, Link
from perflink.ingest.connectors import do_create_connector
from perflink.ingest.models import Batch, PullConnector, SourceSystem
from perflink.metrics.models import CalcRun, MetricDefinition, Template
from perflink.org.selectors import visible_employees, visible_units
from tests.factories import World, make_bonus_runs, make_link, make_plan, make_scores
from tests.test_isolation import api_operations, claim, fill_path, metrics_bodies, web_routes

TA, PA, UH, EM, AU, IN = (
    "tenant_admin",
    "performance_admin",
    "unit_head",
    "employee",
    "auditor",
    "integration",
)
STAFF = {TA, PA, UH, EM, AU}  # everyone who logs in to the web

# action -> roles whose *users* may perform it. Integration users never act as users (only through
# tokens), so they appear in no row; TOKEN_MAY lists what a token can be given.
EXPECTED: dict[str, set[str]] = {
    "home.view": STAFF,
    "self.view": STAFF,
    "org.view": {TA, PA, UH, AU},
    "org.manage": {TA, PA},
    "employee.view": {TA, PA, UH, AU},
    "employee.view_sensitive": {TA, PA},
    "employee.manage": {TA, PA},
    "user.manage": {TA},
    "token.manage": {TA},
    "audit.view": {TA, PA, AU},
    "audit.export": {TA, AU},
    "ingest.push": set(),
    "ingest.view": {TA, PA, AU},
    "ingest.manage": {TA, PA},
    "tenant.manage": {TA},
    "metrics.view": {TA, PA, UH, AU},
    "metrics.manage": {TA, PA},
    "targets.manage": {TA, PA},
    "calc.view": {TA, PA, UH, AU},
    "calc.run": {TA, PA},
    "calc.publish": {TA, PA},
    "links.view": {TA, PA, UH, AU},
    "links.propose": {TA, PA, UH},
    "links.decide": {UH},
    "plans.view": {TA, PA, AU},
    "plans.manage": {TA, PA},
    "bonus.view": {TA, PA, AU},
    "bonus.run": {TA, PA},
    "bonus.approve": {TA, PA},
    "bonus.export": {TA, PA},
    "demands.view": {TA, PA, UH, AU},
    # The action checks the side: a unit head raises for a business unit and responds for a functional one.
    "demands.raise": {PA, UH},
    "demands.respond": {PA, UH},
    "demands.comment": {PA, UH},
    "demands.evaluate": {TA, PA},
    "surveys.view": {TA, PA, UH, AU},
    "surveys.manage": {TA, PA},
    "surveys.answer": {UH, EM},  # business units rate the functions; administrators schedule, never answer
    "notify.manage": {TA},
    "analytics.view": {TA, PA, UH, AU},  # aggregates across units, no person's data
}
TOKEN_MAY = {
    "ingest.push", "ingest.view", "org.view", "employee.view", "metrics.view", "calc.view",
    "demands.view", "demands.raise", "demands.comment",  # an OA system raises and follows demands
    "analytics.view",  # a BI tool pulls the analyses
}  # fmt: skip
# API operations open to any authenticated principal rather than to an action.
ANY_PRINCIPAL_OPERATIONS = {("get", "/api/v1/me")}
PUBLIC_PAGES = {"web:login", "web:logout", "web:set_language", "web:healthz"}


def user_of(role: str, *, active: bool = True) -> User:
    return User(username=f"{role}@matrix", role=role, is_active=active)


# --- the matrix itself ------------------------------------------------------------------------------


def test_every_action_and_every_role_has_a_row() -> None:
    assert set(EXPECTED) == set(ACTIONS), (
        f"actions without a row in EXPECTED: {sorted(set(ACTIONS) - set(EXPECTED))}; "
        f"rows for actions that no longer exist: {sorted(set(EXPECTED) - set(ACTIONS))}"
    )
    assert {TA, PA, UH, EM, AU, IN} == set(Role.values)


@pytest.mark.parametrize("role", sorted(Role.values))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_user_may_do_exactly_what_the_matrix_says(role: str, action: str) -> None:
    assert can(user_of(role), action) is (role in EXPECTED[action])


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_token_may_do_only_what_it_was_given_and_tokens_may_be_given(action: str) -> None:
    full = ApiToken(name="all", permissions=sorted(ACTIONS))  # even if someone stored more…
    narrow = ApiToken(name="narrow", permissions=["org.view"])
    assert can(full, action) is (action in TOKEN_MAY)  # …only token actions count
    assert can(narrow, action) is (action == "org.view")


def test_nobody_inactive_or_anonymous_may_do_anything() -> None:
    for action in ACTIONS:
        assert not can(user_of(TA, active=False), action)
        assert not can(None, action)
    with pytest.raises(KeyError, match="unknown action"):
        can(user_of(TA), "payroll.steal")


# --- pages ---------------------------------------------------------------------------------------------


def test_every_page_declares_what_it_needs() -> None:
    for route in web_routes():
        assert hasattr(route.view, "required_action"), (
            f"the view of {route.name} declares no permission: decorate it with @page('<action>') "
            f"or, for a page open without login, @public"
        )
        if route.view.required_action is None:
            assert route.name in PUBLIC_PAGES, f"{route.name} is public; is that intended?"
        else:
            assert route.view.required_action in ACTIONS


def login(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def own_path_values(world: World, token: ApiToken) -> dict[str, Any]:
    """Objects of the tenant inside every role's scope (the unit head's is the sales subtree)."""
    with tenant_context(world.tenant):
        event = AuditEvent.objects.order_by("seq").first()
        batch = Batch.objects.order_by("pk").first()
        connector = PullConnector.objects.order_by("pk").first()
        metric = MetricDefinition.objects.order_by("pk").first()
        template = Template.objects.order_by("pk").first()
        run = CalcRun.objects.order_by("pk").first()
        link = Link.objects.order_by("pk").first()
        plan = IncentivePlan.objects.order_by("pk").first()
        bonus = BonusRun.objects.order_by("pk").first()
        demand = Demand.objects.order_by("pk").first()
        survey = Survey.objects.order_by("pk").first()
    return {
        "survey_id": survey.pk if survey else 0,
        "demand_id": demand.pk if demand else 0,
        "bonus_run_id": bonus.pk if bonus else 0,
        "plan_id": plan.pk if plan else 0,
        "link_id": link.pk if link else 0,
        "metric_id": metric.pk if metric else 0,
        "template_id": template.pk if template else 0,
        "run_id": run.pk if run else 0,
        "connector_id": connector.pk if connector else 0,
        "unit_id": world.sales_team.pk,
        "employee_id": world.agent.pk,
        "token_id": token.pk,
        "event_id": event.pk if event else 0,
        "batch_id": batch.pk if batch else 0,
        "key": "collab",
        "kind": "claim",
        "week": "2026-W10",
    }


@pytest.fixture
def matrix_world(world: World) -> tuple[World, ApiToken, str]:
    """Tenant alpha with an org.view token and one pushed batch."""
    with tenant_context(world.tenant, SYSTEM):
        token, secret = do_create_token(name="feed", permissions=["org.view"], created_by=None, actor=SYSTEM)
        _, pusher = do_create_token(name="claims", permissions=["ingest.push"], created_by=None, actor=SYSTEM)
    pushed = Client(headers={"Authorization": f"Bearer {pusher}"}).post(
        "/api/v1/ingest/claim", {"records": [claim(world, "C-1")]}, content_type="application/json"
    )
    assert pushed.status_code == 200, pushed.content
    with tenant_context(world.tenant, SYSTEM):
        do_create_connector(
            name="claims-pull",
            source_system=SourceSystem.objects.get(),
            kind="claim",
            url="https://claims.example.cn/api",
            actor=SYSTEM,
        )
    make_scores(world)
    make_link(world)
    make_plan(world)
    make_bonus_runs(world)
    # Demands served by a functional unit inside the sales department, so its head is both sides.
    support = make_support_unit(world)
    make_demands(world, serving=support)
    make_survey(world, rated=support)  # the sales head and HR's employee are invited: both roles that answer
    with tenant_context(world.tenant, SYSTEM):  # and one still to open, for the "open now" operation
        do_schedule_survey(
            title="下月调研", period="2026-04", rated_units=[support], rating_units=[world.sales],
            opens_on=dt.date.today() + dt.timedelta(days=7), closes_on=dt.date.today() + dt.timedelta(days=14),
            actor=SYSTEM,
        )  # fmt: skip
    return world, token, secret


@pytest.mark.parametrize("role", sorted(Role.values))
def test_each_role_gets_each_page_it_may_and_403_for_the_rest(
    matrix_world: tuple[World, ApiToken, str], role: str
) -> None:
    world, token, _ = matrix_world
    client = login(world, role)
    values = own_path_values(world, token)
    problems = []
    for route in web_routes():
        if route.name in PUBLIC_PAGES:
            continue
        url = reverse(route.name, kwargs={p: values[p] for p in route.params})
        action = route.view.required_action
        with transaction.atomic():  # a POST-only page may change something: undo it
            response = client.get(url)
            if response.status_code == 405:  # POST-only: permission is checked before the method
                response = client.post(url)
            transaction.set_rollback(True)
        if role == IN:
            expected: Any = (302,)  # integration accounts cannot hold a web session at all
        elif role in EXPECTED[action]:
            expected = (200,) if response.request["REQUEST_METHOD"] == "GET" else (302,)
        else:
            expected = (403,)
        if response.status_code not in expected:
            problems.append(
                f"{role} {response.request['REQUEST_METHOD']} {url} ({action}): {response.status_code}"
            )
        elif role == IN:
            assert response["Location"].startswith(reverse("web:login"))
    assert not problems, "\n".join(problems)


def test_anonymous_visitors_are_sent_to_the_login_page(matrix_world: tuple[World, ApiToken, str]) -> None:
    world, token, _ = matrix_world
    values = own_path_values(world, token)
    for route in web_routes():
        if route.name in PUBLIC_PAGES:
            continue
        url = reverse(route.name, kwargs={p: values[p] for p in route.params})
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("web:login") + "?next="), url


def test_public_pages_open_without_login(db: None) -> None:
    assert Client().get(reverse("web:login")).status_code == 200
    assert Client().get(reverse("web:healthz")).json() == {"status": "ok"}


# --- API operations -------------------------------------------------------------------------------------


def test_every_api_operation_declares_the_action_it_needs() -> None:
    for op in api_operations():
        where = f"{op.method.upper()} {op.path}"
        if (op.method, op.path) in ANY_PRINCIPAL_OPERATIONS:
            assert op.action is None, f"{where} should be open to any authenticated caller"
        else:
            assert op.action in ACTIONS, (
                f"{where} declares {REQUIRED_ACTION_KEY}={op.action!r}; guard it with "
                f"@requires('<action>') from perflink.core.api"
            )


def api_bodies(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid body for every write, inside every role's scope."""
    return {
        ("post", "/api/v1/org/units"): {
            "code": "alpha-M1", "name": "新部门", "kind": "team", "unit_type": "business",
            "category": "sales", "parent_id": world.sales.pk, "opened_on": "2024-01-01",
        },
        ("patch", "/api/v1/org/units/{unit_id}"): {"name": "改名"},
        ("post", "/api/v1/org/units/{unit_id}/move"): {"parent_id": world.hr.pk, "effective": "2025-01-01"},
        ("post", "/api/v1/employees"): {
            "employee_no": "M-1", "name": "新人", "unit_id": world.sales_team.pk, "employment_type": "agent",
            "hire_date": "2024-05-06",
        },
        ("patch", "/api/v1/employees/{employee_id}"): {"name": "改名"},
        ("post", "/api/v1/employees/{employee_id}/transfer"): {"unit_id": world.sales.pk, "effective": "2025-07-01"},
        ("post", "/api/v1/employees/{employee_id}/exit"): {"exit_date": "2025-12-31"},
        ("post", "/api/v1/tokens"): {"name": "x", "permissions": ["org.view"]},
        ("post", "/api/v1/tokens/{token_id}/revoke"): {},
        ("post", "/api/v1/ingest/{kind}"): {"records": [claim(world, "C-2")]},
        ("post", "/api/v1/ingest/batches/{batch_id}/rollback"): {},
        ("post", "/api/v1/ingest/connectors"): {
            "name": "new-pull", "source": "claims", "kind": "claim", "url": "https://claims.example.cn/v2",
        },
        ("patch", "/api/v1/ingest/connectors/{connector_id}"): {"page_size": 100},
        ("post", "/api/v1/ingest/connectors/{connector_id}/run"): {},
        ("post", "/api/v1/surveys/{survey_id}/answer"): survey_answer_body(world),
        ("post", "/api/v1/surveys"): {
            "title": "职能支持满意度", "period": "2026-10", "rated_unit_ids": [world.hr.pk],
            "rating_unit_ids": [world.sales.pk], "opens_on": "2026-11-01", "closes_on": "2026-11-08",
        },
        ("post", "/api/v1/surveys/{survey_id}/open"): {},
        ("post", "/api/v1/surveys/{survey_id}/remind"): {},
        ("post", "/api/v1/surveys/{survey_id}/close"): {},
        **metrics_bodies(world),
    }  # fmt: skip


def state_values(world: World, path: str) -> dict[str, Any]:
    """Bonus-run and demand operations depend on the state: each gets a run or demand in the state it acts on."""
    if "/demands/{demand_id}/" in path:
        with tenant_context(world.tenant):
            demands = {demand.status: demand.pk for demand in Demand.objects.all()}
        acts_on = {"start": "accepted", "deliver": "in_progress", "evaluate": "delivered"}
        return {"demand_id": demands[acts_on.get(path.rsplit("/", 1)[-1], "submitted")]}
    if path.endswith("/surveys/{survey_id}/open"):
        with tenant_context(world.tenant):
            return {"survey_id": Survey.objects.get(status="scheduled").pk}
    if "/bonus-runs/{bonus_run_id}" not in path:
        return {}
    with tenant_context(world.tenant):
        runs = {run.status: run.pk for run in BonusRun.objects.all()}
    if path.endswith(("/submit", "/discard")):
        return {"bonus_run_id": runs["draft"]}
    if path.endswith(("/approve", "/return")):
        return {"bonus_run_id": runs["submitted"]}
    if path.endswith(("/publish", "/payroll.csv", "/payroll.xlsx")):
        return {"bonus_run_id": runs["approved"]}
    if path.endswith("/adjustments") or "/statements/" in path:
        return {"bonus_run_id": runs["published"], "employee_id": world.staff.pk}
    return {}


def api_queries(world: World) -> dict[str, dict[str, Any]]:
    """Required query parameters of GET operations."""
    return {
        "/api/v1/runs/{run_id}/explain": {
            "level": "employee", "subject_id": world.agent.pk, "metric": "new_business_premium",
        },
        "/api/v1/analytics/impact": {"functional": "claim_payment_days", "business": "claim_satisfaction_score"},
        "/api/v1/analytics/before-after": {
            "metric": "claim_payment_days", "before_from": "2026-01", "before_to": "2026-02",
            "after_from": "2026-03", "after_to": "2026-04",
        },
    }  # fmt: skip


API_PRINCIPALS = [*sorted(Role.values), "token:org.view", "token:all"]


@pytest.mark.parametrize("principal", API_PRINCIPALS)
def test_each_principal_may_call_each_api_operation_it_may_and_gets_403_for_the_rest(
    matrix_world: tuple[World, ApiToken, str], principal: str
) -> None:
    world, token, secret = matrix_world
    if principal == "token:org.view":
        client, who = Client(headers={"Authorization": f"Bearer {secret}"}), token
    elif principal == "token:all":
        with tenant_context(world.tenant, SYSTEM):
            who, full = do_create_token(
                name="all", permissions=sorted(TOKEN_MAY), created_by=None, actor=SYSTEM
            )
        client = Client(headers={"Authorization": f"Bearer {full}"})
    else:
        client, who = login(world, principal), world.users[principal]
    values = own_path_values(world, token)
    bodies = api_bodies(world)
    problems = []
    for op in api_operations():
        url = fill_path(op.path, {**values, **state_values(world, op.path)})
        with transaction.atomic():  # each call starts from the same data
            if op.method == "get":
                response = client.get(url, api_queries(world).get(op.path, {}))
            else:
                body = bodies.get((op.method, op.path))
                assert body is not None, f"add a body for {op.method.upper()} {op.path} to api_bodies()"
                response = client.generic(
                    op.method.upper(), url, json.dumps(body), content_type="application/json"
                )
            transaction.set_rollback(True)
        if principal == IN:
            expected = 401  # integration users cannot hold a session; they use tokens
        elif op.action is None or can(who, op.action):
            expected = op.success_status
        else:
            expected = 403
        if response.status_code != expected:
            problems.append(
                f"{principal} {op.method.upper()} {url} ({op.action}): {response.status_code}, expected {expected} "
                f"{response.content[:160]!r}"
            )
    assert not problems, "\n".join(problems)


# --- data scopes ----------------------------------------------------------------------------------------


def test_a_unit_head_reads_their_subtree_and_nothing_above_or_beside_it(world: World) -> None:
    head = world.users[UH]  # scoped to the sales department
    with tenant_context(world.tenant):
        assert set(visible_units(head)) == {world.sales, world.sales_team}
        assert list(visible_employees(head)) == [world.agent]
    api, web = login(world, UH), login(world, UH)
    for inside in (world.sales, world.sales_team):
        assert api.get(f"/api/v1/org/units/{inside.pk}").status_code == 200
        assert web.get(reverse("web:unit_detail", args=[inside.pk])).status_code == 200
    for outside in (world.group, world.hr):
        assert api.get(f"/api/v1/org/units/{outside.pk}").status_code == 404
        assert web.get(reverse("web:unit_detail", args=[outside.pk])).status_code == 404
    assert api.get(f"/api/v1/employees/{world.agent.pk}").status_code == 200
    assert api.get(f"/api/v1/employees/{world.staff.pk}").status_code == 404
    assert web.get(reverse("web:employee_detail", args=[world.staff.pk])).status_code == 404


def test_an_employee_sees_only_themself(world: World) -> None:
    me = world.users[EM]  # linked to the staff member 王五
    with tenant_context(world.tenant):
        assert list(visible_employees(me)) == [world.staff]
        assert not visible_units(me).exists()
    client = login(world, EM)
    assert client.get("/api/v1/me").json()["name"] == me.username
    assert client.get("/api/v1/employees").status_code == 403
    assert client.get(reverse("web:employee_list")).status_code == 403
