"""Behaviour of the REST API under /api/v1: authentication, errors, each endpoint, scopes and audit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from perflink.accounts.actions import do_create_token, do_revoke_token
from perflink.accounts.models import ApiToken
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit
from perflink.tenancy.models import Tenant
from tests.factories import World

API = "/api/v1"


# --- helpers ----------------------------------------------------------------------------------------


def session(world: World, role: str, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def make_token(world: World, permissions: list[str], **kwargs: Any) -> tuple[ApiToken, str]:
    with tenant_context(world.tenant, SYSTEM):
        return do_create_token(
            name=kwargs.pop("name", "crm-sync"),
            permissions=permissions,
            created_by=None,
            actor=SYSTEM,
            **kwargs,
        )


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def audit_events(world: World, action: str) -> list[AuditEvent]:
    with tenant_context(world.tenant):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def reload(world: World, obj: Any) -> Any:
    with tenant_context(world.tenant):
        return type(obj).objects.get(pk=obj.pk)


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["field"] == field
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "field", "errors", "request_id"}
    return body


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data, content_type="application/json")


def patch(client: Client, url: str, data: Any) -> Any:
    return client.patch(url, data, content_type="application/json")


def unit_payload(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "code": "alpha-CL",
        "name": "理赔部",
        "kind": "department",
        "unit_type": "business",
        "category": "claims",
        "parent_id": world.group.pk,
        "opened_on": "2024-01-01",
        **overrides,
    }


def employee_payload(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "employee_no": "A-1001",
        "name": "赵六",
        "unit_id": world.sales_team.pk,
        "employment_type": "agent",
        "hire_date": "2024-05-06",
        "mobile": "13900001111",
        "id_number": "11010119900101123X",
        "bank_account": "6222020000000000001",
        **overrides,
    }


# --- authentication and the error format ----------------------------------------------------------


def test_me_describes_the_logged_in_user_and_what_they_may_do(world: World) -> None:
    body = session(world, "unit_head").get(f"{API}/me").json()
    assert body["kind"] == "user"
    assert body["name"] == "unit_head@alpha"
    assert body["tenant"] == "alpha"
    assert body["role"] == "unit_head"
    assert set(body["actions"]) == {
        "home.view",
        "org.view",
        "employee.view",
        "self.view",
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
    }


def test_me_describes_a_token_and_only_its_own_permissions(world: World) -> None:
    token, secret = make_token(world, ["org.view"])
    body = bearer(secret).get(f"{API}/me").json()
    assert body == {
        "kind": "token",
        "id": token.pk,
        "name": "crm-sync",
        "tenant": "alpha",
        "role": None,
        "actions": ["org.view"],
    }


def test_without_credentials_every_endpoint_is_401_json(world: World) -> None:
    response = Client().get(f"{API}/org/units")
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"
    assert_error(post(Client(), f"{API}/org/units", unit_payload(world)), 401, "unauthenticated")


@pytest.mark.parametrize("secret", ["pl_deadbeef_not-a-real-token", "not-even-our-format", ""])
def test_a_wrong_token_is_401(world: World, secret: str) -> None:
    assert_error(bearer(secret).get(f"{API}/org/units"), 401, "unauthenticated")


def test_a_wrong_token_is_401_even_beside_a_valid_session(world: World) -> None:
    client = session(world, "tenant_admin", headers={"Authorization": "Bearer pl_deadbeef_wrong"})
    assert_error(client.get(f"{API}/me"), 401, "unauthenticated")


def test_a_revoked_token_is_401(world: World) -> None:
    token, secret = make_token(world, ["org.view"])
    assert bearer(secret).get(f"{API}/org/units").status_code == 200
    with tenant_context(world.tenant, SYSTEM):
        do_revoke_token(token, actor=SYSTEM)
    assert_error(bearer(secret).get(f"{API}/org/units"), 401, "unauthenticated")


def test_an_expired_token_is_401(world: World) -> None:
    token, secret = make_token(world, ["org.view"], expires_at=timezone.now() + timedelta(hours=1))
    with tenant_context(world.tenant):
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )  # time passes
    assert_error(bearer(secret).get(f"{API}/org/units"), 401, "unauthenticated")


def test_a_token_of_a_suspended_tenant_is_401(world: World) -> None:
    _, secret = make_token(world, ["org.view"])
    Tenant.objects.filter(pk=world.tenant.pk).update(is_active=False)
    assert_error(bearer(secret).get(f"{API}/org/units"), 401, "unauthenticated")


def test_using_a_token_records_when_it_was_last_used(world: World) -> None:
    token, secret = make_token(world, ["org.view"])
    assert token.last_used_at is None
    before = timezone.now()
    bearer(secret).get(f"{API}/org/units")
    used = reload(world, token).last_used_at
    assert used is not None and used >= before


def test_a_token_without_the_permission_is_403(world: World) -> None:
    _, secret = make_token(world, ["org.view"])
    body = assert_error(bearer(secret).get(f"{API}/employees"), 403, "permission_denied")
    assert "employees" in body["message"]


def test_session_writes_need_the_csrf_token_but_token_writes_do_not(world: World) -> None:
    client = session(world, "tenant_admin", enforce_csrf_checks=True)
    assert client.get(f"{API}/me").status_code == 200  # safe methods need no CSRF token
    assert_error(post(client, f"{API}/org/units", unit_payload(world)), 403, "csrf_failed")
    with tenant_context(world.tenant):
        assert not OrgUnit.objects.filter(code="alpha-CL").exists()

    csrf = "a" * 32
    client.cookies["csrftoken"] = csrf
    response = client.post(
        f"{API}/org/units",
        unit_payload(world),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201, response.content


def test_token_writes_need_no_csrf_token(world: World) -> None:
    # No token carries org.manage, so use the one write a token could be refused for only by permission.
    _, secret = make_token(world, ["org.view"])
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {secret}"})
    assert_error(post(client, f"{API}/org/units", unit_payload(world)), 403, "permission_denied")


def test_a_wrong_method_is_a_json_405_with_allow(world: World) -> None:
    response = session(world, "tenant_admin").delete(f"{API}/org/units")
    assert_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_an_unknown_api_path_is_a_json_404(world: World) -> None:
    client = session(world, "tenant_admin")
    assert_error(client.get(f"{API}/no/such/thing"), 404, "not_found")
    assert_error(client.get(f"{API}/"), 404, "not_found")
    assert_error(Client().post(f"{API}/org/units/1/nothing"), 404, "not_found")


def test_validation_errors_name_the_field_and_list_every_error(world: World) -> None:
    client = session(world, "tenant_admin")
    body = assert_error(
        post(client, f"{API}/org/units", unit_payload(world, name="", kind="planet")),
        422,
        "validation_error",
        "name",
    )
    assert {e["field"] for e in body["errors"]} == {"name", "kind"}
    assert_error(client.get(f"{API}/org/units?limit=0"), 422, "validation_error", "limit")
    assert_error(client.get(f"{API}/org/units/abc"), 422, "validation_error", "unit_id")
    assert_error(post(client, f"{API}/org/units", "not json"), 400, "bad_request")


def test_unknown_body_fields_are_refused_not_ignored(world: World) -> None:
    client = session(world, "tenant_admin")
    response = patch(client, f"{API}/org/units/{world.sales.pk}", {"code": "NEW"})
    assert_error(response, 422, "validation_error", "code")
    assert reload(world, world.sales).code == "alpha-S"


# --- org units ------------------------------------------------------------------------------------


def test_units_list_in_tree_order_with_count(world: World) -> None:
    body = session(world, "tenant_admin").get(f"{API}/org/units").json()
    assert body["count"] == 4
    assert [u["code"] for u in body["items"]] == ["alpha-G", "alpha-S", "alpha-S1", "alpha-HR"]
    team = body["items"][2]
    assert team["parent_id"] == world.sales.pk and team["depth"] == 2 and team["kind"] == "team"


def test_units_paginate_with_limit_and_offset(world: World) -> None:
    client = session(world, "tenant_admin")
    page = client.get(f"{API}/org/units?limit=2&offset=1").json()
    assert page["count"] == 4
    assert [u["code"] for u in page["items"]] == ["alpha-S", "alpha-S1"]
    assert client.get(f"{API}/org/units?limit=2&offset=4").json() == {"items": [], "count": 4}
    assert_error(client.get(f"{API}/org/units?limit=501"), 422, "validation_error", "limit")


def test_units_filter_by_type_category_kind_and_parent(world: World) -> None:
    client = session(world, "tenant_admin")

    def codes(query: str) -> list[str]:
        return [u["code"] for u in client.get(f"{API}/org/units?{query}").json()["items"]]

    assert codes("unit_type=functional") == ["alpha-HR"]
    assert codes("category=sales") == ["alpha-S", "alpha-S1"]
    assert codes("kind=team") == ["alpha-S1"]
    assert codes(f"parent={world.group.pk}") == ["alpha-S", "alpha-HR"]
    assert codes(f"parent={world.sales.pk}&kind=team") == ["alpha-S1"]


def test_units_filter_by_an_unknown_parent_is_404_naming_the_parameter(world: World) -> None:
    response = session(world, "tenant_admin").get(f"{API}/org/units?parent=999999")
    assert_error(response, 404, "not_found", "parent")


def test_a_unit_head_lists_and_reads_only_their_subtree(world: World) -> None:
    client = session(world, "unit_head")  # scoped to the sales department
    assert [u["code"] for u in client.get(f"{API}/org/units").json()["items"]] == ["alpha-S", "alpha-S1"]
    assert client.get(f"{API}/org/units/{world.sales_team.pk}").status_code == 200
    assert_error(client.get(f"{API}/org/units/{world.hr.pk}"), 404, "not_found")
    assert_error(client.get(f"{API}/org/units/{world.group.pk}"), 404, "not_found")
    assert_error(client.get(f"{API}/org/units?parent={world.group.pk}"), 404, "not_found", "parent")


def test_an_employee_may_not_browse_units(world: World) -> None:
    assert_error(session(world, "employee").get(f"{API}/org/units"), 403, "permission_denied")


def test_a_unit_reads_with_its_history(world: World) -> None:
    body = session(world, "auditor").get(f"{API}/org/units/{world.sales_team.pk}").json()
    assert body["code"] == "alpha-S1"
    assert body["name"] == "销售一组"
    assert body["history"] == [
        {"parent_id": world.sales.pk, "name": "销售一组", "valid_from": "2020-01-01", "valid_to": None}
    ]


def test_creating_a_unit_answers_201_and_writes_an_audit_event(world: World) -> None:
    response = post(session(world, "tenant_admin"), f"{API}/org/units", unit_payload(world, name="  理赔部 "))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "理赔部"  # trimmed
    assert body["parent_id"] == world.group.pk and body["depth"] == 1
    (event,) = audit_events(world, "org.unit.create")[-1:]
    assert event.object_id == str(body["id"])
    assert event.actor_label == "tenant_admin@alpha"
    assert event.after["code"] == "alpha-CL"


def test_a_performance_admin_may_create_units_but_a_unit_head_may_not(world: World) -> None:
    assert (
        post(session(world, "performance_admin"), f"{API}/org/units", unit_payload(world)).status_code == 201
    )
    response = post(session(world, "unit_head"), f"{API}/org/units", unit_payload(world, code="alpha-X"))
    assert_error(response, 403, "permission_denied")
    with tenant_context(world.tenant):
        assert not OrgUnit.objects.filter(code="alpha-X").exists()


def test_a_duplicate_unit_code_is_409(world: World) -> None:
    response = post(session(world, "tenant_admin"), f"{API}/org/units", unit_payload(world, code="alpha-S"))
    assert_error(response, 409, "unit_code_taken", "code")


def test_a_category_that_does_not_fit_the_type_is_422(world: World) -> None:
    response = post(session(world, "tenant_admin"), f"{API}/org/units", unit_payload(world, category="hr"))
    assert_error(response, 422, "validation_error", "category")


def test_a_blank_unit_name_is_422(world: World) -> None:
    response = post(session(world, "tenant_admin"), f"{API}/org/units", unit_payload(world, name="   "))
    assert_error(response, 422, "validation_error", "name")


def test_a_unit_cannot_be_created_under_another_tenants_unit(world: World, other_world: World) -> None:
    response = post(
        session(world, "tenant_admin"),
        f"{API}/org/units",
        unit_payload(world, parent_id=other_world.group.pk),
    )
    assert_error(response, 404, "not_found", "parent_id")


def test_patching_a_unit_changes_only_the_fields_sent(world: World) -> None:
    client = session(world, "tenant_admin")
    response = patch(
        client, f"{API}/org/units/{world.sales.pk}", {"name": "个险渠道部", "closed_on": "2026-06-30"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["name_en"], body["closed_on"], body["is_active"]) == (
        "个险渠道部",
        "",
        "2026-06-30",
        False,
    )
    assert body["history"][-1]["name"] == "个险渠道部"
    (event,) = audit_events(world, "org.unit.update")
    assert event.before["name"] == "个险销售部" and event.after["name"] == "个险渠道部"

    reopened = patch(client, f"{API}/org/units/{world.sales.pk}", {"closed_on": None}).json()
    assert reopened["closed_on"] is None and reopened["name"] == "个险渠道部"


def test_a_unit_name_cannot_be_patched_to_null(world: World) -> None:
    response = patch(session(world, "tenant_admin"), f"{API}/org/units/{world.sales.pk}", {"name": None})
    assert_error(response, 422, "validation_error", "name")


def test_moving_a_unit_moves_its_subtree_and_keeps_history(world: World) -> None:
    client = session(world, "tenant_admin")
    response = post(
        client,
        f"{API}/org/units/{world.sales.pk}/move",
        {"parent_id": world.hr.pk, "effective": "2025-01-01"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["parent_id"] == world.hr.pk and body["depth"] == 2
    assert [(v["parent_id"], v["valid_to"]) for v in body["history"]] == [
        (world.group.pk, "2025-01-01"),
        (world.hr.pk, None),
    ]
    team = reload(world, world.sales_team)
    assert team.path.startswith(reload(world, world.hr).path) and team.depth == 3
    assert len(audit_events(world, "org.unit.move")) == 1


def test_a_unit_cannot_move_under_its_own_subtree(world: World) -> None:
    response = post(
        session(world, "tenant_admin"),
        f"{API}/org/units/{world.sales.pk}/move",
        {"parent_id": world.sales_team.pk, "effective": "2025-01-01"},
    )
    assert_error(response, 422, "validation_error", "parent")


def test_a_move_dated_before_the_current_placement_is_422(world: World) -> None:
    response = post(
        session(world, "tenant_admin"),
        f"{API}/org/units/{world.sales.pk}/move",
        {"parent_id": world.hr.pk, "effective": "2019-01-01"},
    )
    assert_error(response, 422, "validation_error", "effective")


# --- employees ------------------------------------------------------------------------------------


def test_employees_list_without_sensitive_fields(world: World) -> None:
    body = session(world, "tenant_admin").get(f"{API}/employees").json()
    assert body["count"] == 2
    assert [e["name"] for e in body["items"]] == ["李四", "王五"]
    agent = body["items"][0]
    assert agent["unit_name"] == "销售一组" and agent["employment_type"] == "agent"
    assert not {"id_number", "mobile", "bank_account"} & set(agent)


def test_employees_search_filter_and_sort(world: World) -> None:
    client = session(world, "tenant_admin")

    def names(query: str) -> list[str]:
        return [e["name"] for e in client.get(f"{API}/employees?{query}").json()["items"]]

    assert names("q=王") == ["王五"]
    assert names(f"q={world.agent.employee_no}") == ["李四"]
    assert names(f"unit={world.sales.pk}") == ["李四"]  # the subtree
    assert names(f"unit={world.sales.pk}&include_subunits=false") == []
    assert names("employment_type=staff") == ["王五"]
    assert names("status=left") == []
    assert names("sort=-employee_no") == ["王五", "李四"]
    assert_error(client.get(f"{API}/employees?sort=salary"), 422, "validation_error", "sort")
    assert_error(client.get(f"{API}/employees?unit=999999"), 404, "not_found", "unit")


def test_a_unit_head_sees_only_the_employees_of_their_subtree(world: World) -> None:
    client = session(world, "unit_head")
    assert [e["name"] for e in client.get(f"{API}/employees").json()["items"]] == ["李四"]
    assert client.get(f"{API}/employees/{world.agent.pk}").status_code == 200
    assert_error(client.get(f"{API}/employees/{world.staff.pk}"), 404, "not_found")


def test_an_employee_cannot_list_employees_not_even_themself(world: World) -> None:
    client = session(world, "employee")
    assert_error(client.get(f"{API}/employees"), 403, "permission_denied")
    assert_error(client.get(f"{API}/employees/{world.staff.pk}"), 403, "permission_denied")


def test_sensitive_fields_are_shown_only_to_those_allowed(world: World) -> None:
    url = f"{API}/employees/{world.agent.pk}"
    full = session(world, "tenant_admin").get(url).json()
    assert (full["id_number"], full["mobile"], full["bank_account"], full["sensitive_masked"]) == (
        "110101199001011234",
        "13812345678",
        "6222021234567890123",
        False,
    )
    _, secret = make_token(world, ["employee.view"])
    for client in (session(world, "unit_head"), session(world, "auditor"), bearer(secret)):
        masked = client.get(url).json()
        assert masked["sensitive_masked"] is True
        assert masked["id_number"] == "1101**********1234"
        assert masked["mobile"] == "138****5678"
        assert masked["bank_account"] == "6222***********0123"


def test_an_employee_reads_with_their_assignments(world: World) -> None:
    body = session(world, "tenant_admin").get(f"{API}/employees/{world.staff.pk}").json()
    assert body["assignments"] == [
        {
            "unit_id": world.hr.pk,
            "position_id": None,
            "manager_id": None,
            "valid_from": "2023-03-01",
            "valid_to": None,
        }
    ]


def test_creating_an_employee_answers_201_and_writes_a_masked_audit_event(world: World) -> None:
    response = post(session(world, "performance_admin"), f"{API}/employees", employee_payload(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["unit_id"] == world.sales_team.pk and body["mobile"] == "13900001111"
    (event,) = audit_events(world, "org.employee.create")[-1:]
    assert event.object_id == str(body["id"])
    assert event.after["mobile"] == "139****1111"  # the audit trail never holds the plain value


def test_employee_creation_refuses_duplicates_bad_numbers_and_foreign_units(
    world: World, other_world: World
) -> None:
    client = session(world, "tenant_admin")
    no = world.agent.employee_no
    assert_error(
        post(client, f"{API}/employees", employee_payload(world, employee_no=no)),
        409,
        "employee_no_taken",
        "employee_no",
    )
    assert_error(
        post(client, f"{API}/employees", employee_payload(world, mobile="call me")),
        422,
        "validation_error",
        "mobile",
    )
    response = post(client, f"{API}/employees", employee_payload(world, unit_id=other_world.sales.pk))
    assert_error(response, 404, "not_found", "unit_id")
    response = post(client, f"{API}/employees", employee_payload(world, manager_id=other_world.agent.pk))
    assert_error(response, 404, "not_found", "manager_id")
    with tenant_context(world.tenant):
        assert Employee.objects.count() == 2


def test_patching_an_employee_changes_personal_fields(world: World) -> None:
    client = session(world, "tenant_admin")
    response = patch(
        client, f"{API}/employees/{world.agent.pk}", {"mobile": "13700000000", "status": "on_leave"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["mobile"] == "13700000000" and response.json()["status"] == "on_leave"
    assert reload(world, world.agent).mobile == "13700000000"
    (event,) = audit_events(world, "org.employee.update")
    assert event.before["mobile"] == "138****5678" and event.after["mobile"] == "137****0000"


def test_leaving_is_not_a_patch(world: World) -> None:
    response = patch(session(world, "tenant_admin"), f"{API}/employees/{world.agent.pk}", {"status": "left"})
    assert_error(response, 422, "validation_error", "status")


def test_transferring_an_employee_closes_the_old_assignment(world: World) -> None:
    response = post(
        session(world, "tenant_admin"),
        f"{API}/employees/{world.agent.pk}/transfer",
        {"unit_id": world.hr.pk, "effective": "2025-07-01"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit_id"] == world.hr.pk and body["unit_name"] == "人力资源部"
    assert [(a["unit_id"], a["valid_to"]) for a in body["assignments"]] == [
        (world.sales_team.pk, "2025-07-01"),
        (world.hr.pk, None),
    ]
    assert len(audit_events(world, "org.employee.transfer")) == 1


def test_a_transfer_dated_before_the_current_assignment_is_422(world: World) -> None:
    response = post(
        session(world, "tenant_admin"),
        f"{API}/employees/{world.agent.pk}/transfer",
        {"unit_id": world.hr.pk, "effective": "2020-01-01"},
    )
    assert_error(response, 422, "validation_error", "effective")


def test_recording_an_exit(world: World) -> None:
    client = session(world, "tenant_admin")
    response = post(client, f"{API}/employees/{world.agent.pk}/exit", {"exit_date": "2025-12-31"})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["exit_date"]) == ("left", "2025-12-31")
    with tenant_context(world.tenant):
        assignment = EmployeeAssignment.objects.get(employee_id=world.agent.pk)
    assert assignment.valid_to == date(2026, 1, 1)
    assert len(audit_events(world, "org.employee.exit")) == 1
    response = post(client, f"{API}/employees/{world.staff.pk}/exit", {"exit_date": "2000-01-01"})
    assert_error(response, 422, "validation_error", "exit_date")


def test_a_unit_head_cannot_change_employees(world: World) -> None:
    response = patch(session(world, "unit_head"), f"{API}/employees/{world.agent.pk}", {"name": "改名"})
    assert_error(response, 403, "permission_denied")
    assert reload(world, world.agent).name == "李四"


# --- audit trail ----------------------------------------------------------------------------------


def test_the_auditor_searches_the_trail_newest_first(world: World) -> None:
    client = session(world, "auditor")
    body = client.get(f"{API}/audit/events?limit=5").json()
    seqs = [e["seq"] for e in body["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 5
    assert body["count"] == len(_all_events(world))
    units = client.get(f"{API}/audit/events?action=org.unit").json()
    assert units["count"] == 4 and {e["action"] for e in units["items"]} == {"org.unit.create"}
    hr = client.get(f"{API}/audit/events", {"q": "人力资源部"}).json()
    assert [e["object_id"] for e in hr["items"]] == [str(world.hr.pk)]


def _all_events(world: World) -> list[AuditEvent]:
    with tenant_context(world.tenant):
        return list(AuditEvent.objects.all())


def test_an_audit_event_reads_by_id(world: World, other_world: World) -> None:
    client = session(world, "auditor")
    event = audit_events(world, "org.unit.create")[0]
    body = client.get(f"{API}/audit/events/{event.pk}").json()
    assert (body["seq"], body["action"], body["hash"]) == (event.seq, "org.unit.create", event.hash)
    foreign = audit_events(other_world, "org.unit.create")[0]
    assert_error(client.get(f"{API}/audit/events/{foreign.pk}"), 404, "not_found")


def test_the_trail_is_closed_to_unit_heads_and_tokens(world: World) -> None:
    assert_error(session(world, "unit_head").get(f"{API}/audit/events"), 403, "permission_denied")
    _, secret = make_token(world, ["org.view", "employee.view", "ingest.push"])
    assert_error(bearer(secret).get(f"{API}/audit/events"), 403, "permission_denied")


def test_verify_reports_an_intact_chain_then_a_tampered_one(world: World) -> None:
    client = session(world, "auditor")
    body = client.get(f"{API}/audit/verify").json()
    assert body == {"intact": True, "problem": None, "events": len(_all_events(world))}

    victim = audit_events(world, "org.unit.create")[0]
    with connection.cursor() as cursor:  # an edit behind the application's back
        cursor.execute("UPDATE audit_auditevent SET object_repr = %s WHERE id = %s", ["改过", victim.pk])
    body = client.get(f"{API}/audit/verify").json()
    assert body["intact"] is False
    assert f"#{victim.seq}" in body["problem"] and "edited" in body["problem"]


# --- API tokens -----------------------------------------------------------------------------------


def test_creating_a_token_shows_the_secret_once(world: World) -> None:
    client = session(world, "tenant_admin")
    response = post(
        client, f"{API}/tokens", {"name": "policy-feed", "permissions": ["ingest.push", "org.view"]}
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith(f"pl_{created['prefix']}_")
    assert (
        created["permissions"] == ["ingest.push", "org.view"]
        and created["created_by"] == "tenant_admin@alpha"
    )
    assert bearer(created["secret"]).get(f"{API}/org/units").status_code == 200

    listed = client.get(f"{API}/tokens").json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == created["id"] and "secret" not in listed["items"][0]
    assert created["secret"] not in client.get(f"{API}/tokens").content.decode()
    (event,) = audit_events(world, "token.create")
    assert created["secret"] not in str(event.after)


def test_a_token_cannot_carry_user_permissions_or_a_past_expiry(world: World) -> None:
    client = session(world, "tenant_admin")
    body = {"name": "x", "permissions": ["token.manage"]}
    assert_error(post(client, f"{API}/tokens", body), 422, "validation_error", "permissions.0")
    assert_error(
        post(client, f"{API}/tokens", {"name": "x", "permissions": []}),
        422,
        "validation_error",
        "permissions",
    )
    past = (timezone.now() - timedelta(days=1)).isoformat()
    body = {"name": "x", "permissions": ["org.view"], "expires_at": past}
    assert_error(post(client, f"{API}/tokens", body), 422, "validation_error", "expires_at")


def test_tokens_cannot_mint_or_list_tokens(world: World) -> None:
    _, secret = make_token(world, ["org.view", "employee.view", "ingest.push"])
    client = bearer(secret)
    assert_error(
        post(client, f"{API}/tokens", {"name": "child", "permissions": ["org.view"]}),
        403,
        "permission_denied",
    )
    assert_error(client.get(f"{API}/tokens"), 403, "permission_denied")
    with tenant_context(world.tenant):
        assert ApiToken.objects.count() == 1


def test_revoking_a_token_stops_it_at_once(world: World) -> None:
    token, secret = make_token(world, ["org.view"])
    response = post(session(world, "tenant_admin"), f"{API}/tokens/{token.pk}/revoke", {})
    assert response.status_code == 200, response.content
    assert response.json()["revoked_at"] is not None and response.json()["is_active"] is False
    assert_error(bearer(secret).get(f"{API}/org/units"), 401, "unauthenticated")
    assert len(audit_events(world, "token.revoke")) == 1


def test_only_token_managers_see_tokens(world: World) -> None:
    for role in ("performance_admin", "unit_head", "employee", "auditor"):
        assert_error(session(world, role).get(f"{API}/tokens"), 403, "permission_denied")


# --- query counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/org/units", "/api/v1/employees", "/api/v1/audit/events", "/api/v1/tokens"]
)
def test_lists_cost_the_same_number_of_queries_for_10_rows_as_for_1(world: World, url: str) -> None:
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_employee, make_unit

    client = session(world, "tenant_admin")

    def queries() -> int:
        with CaptureQueriesContext(conn) as ctx:
            assert client.get(url, {"limit": 500}).status_code == 200
        return len(ctx.captured_queries)

    make_token(world, ["org.view"], name="t0")
    first = queries()
    with tenant_context(world.tenant, SYSTEM):
        for i in range(10):
            unit = make_unit(f"alpha-Q{i}", f"单元{i}", world.sales)
            make_employee(unit, name=f"员工{i}")
            do_create_token(
                name=f"t{i + 1}", permissions=["org.view"], created_by=world.users["auditor"], actor=SYSTEM
            )
    assert queries() == first
