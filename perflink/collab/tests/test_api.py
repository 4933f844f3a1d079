"""The demands API: an OA system or a unit head raises a demand, the serving side moves it, everyone in scope follows
it; wrong permissions are 403, other tenants' demands 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_token
from perflink.collab.tests.factories import RECRUITMENT_SPEC, make_demands, make_head
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import PASSWORD, World

API = "/api/v1"


def session(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def bearer(world: World, permissions: list[str]) -> Client:
    with tenant_context(world.tenant, SYSTEM):
        _, secret = do_create_token(name="oa", permissions=permissions, created_by=None, actor=SYSTEM)
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def new_demand(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "recruitment",
        "title": "开门红招聘20名代理人",
        "requesting_unit_id": world.sales.pk,
        "serving_unit_id": world.hr.pk,
        "spec": RECRUITMENT_SPEC,
        **overrides,
    }


@pytest.fixture
def hr_head(world: World) -> Any:
    return make_head(world, world.hr, "hr-head@alpha")


def test_the_sales_head_raises_and_the_hr_head_walks_it_to_delivery(world: World, hr_head: Any) -> None:
    sales = session("unit_head@alpha")
    created = post(sales, f"{API}/demands", new_demand(world))
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"][:3], body["status"], body["requesting_unit"]) == ("XQ-", "submitted", "个险销售部")
    assert body["progress"]["issues"] == ["requisition_missing"]
    assert [e["kind"] for e in body["events"]] == ["raised"]
    url = f"{API}/demands/{body['id']}"

    refused = post(sales, f"{url}/accept", {"plan": "我自己接"})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_serving_side")
    hr = session(hr_head.username)
    assert post(hr, f"{url}/accept", {"plan": "内推为主\n校招为辅"}).json()["status"] == "accepted"
    assert post(sales, f"{url}/change-requests", {"text": "培训加入产品知识"}).status_code == 201
    assert post(hr, f"{url}/comments", {"text": "已加入"}).status_code == 201
    assert post(hr, f"{url}/start", {}).json()["status"] == "in_progress"
    assert post(hr, f"{url}/deliver", {"note": "已全部到岗"}).json()["status"] == "delivered"
    again = post(hr, f"{url}/deliver", {})
    assert (again.status_code, again.json()["code"]) == (409, "demand_state")

    detail = sales.get(url).json()
    assert [e["kind"] for e in detail["events"]] == [
        "raised", "accepted", "change_request", "comment", "started", "delivered",
    ]  # fmt: skip
    assert detail["plan"] == "内推为主\n校招为辅"
    # Evaluation is not the serving side's (nor the requester's) to run; a performance administrator may.
    assert post(hr, f"{url}/evaluate", {}).status_code == 403
    evaluated = post(session("performance_admin@alpha"), f"{url}/evaluate", {})
    assert evaluated.status_code == 200, evaluated.content
    assert evaluated.json()["status"] == "evaluated"
    assert [c["measure"] for c in evaluated.json()["components"]] == ["arrival_rate", "attainment_rate"]


def test_an_oa_system_raises_and_follows_demands_with_a_token(world: World) -> None:
    oa = bearer(world, ["demands.view", "demands.raise"])
    created = post(oa, f"{API}/demands", new_demand(world, title="OA 发起的需求"))
    assert created.status_code == 201, created.content
    demand_id = created.json()["id"]
    assert oa.get(f"{API}/demands/{demand_id}").json()["created_by_label"] == "token:oa"
    assert oa.get(f"{API}/demands/{demand_id}/progress").status_code == 200
    assert [d["id"] for d in oa.get(f"{API}/demands").json()["items"]] == [demand_id]
    # A token never answers for the serving side, and one without the permission cannot raise.
    assert post(oa, f"{API}/demands/{demand_id}/accept", {"plan": "x"}).status_code == 403
    reader = bearer(world, ["demands.view"])
    assert post(reader, f"{API}/demands", new_demand(world)).status_code == 403
    assert bearer(world, ["org.view"]).get(f"{API}/demands").status_code == 403


def test_who_may_call_what(world: World) -> None:
    demands = make_demands(world)
    url = f"{API}/demands/{demands['submitted'].pk}"
    assert session("employee@alpha").get(url).status_code == 403
    auditor = session("auditor@alpha")
    assert auditor.get(url).status_code == 200
    assert post(auditor, f"{url}/comments", {"text": "审计意见"}).status_code == 403
    assert post(session("tenant_admin@alpha"), f"{API}/demands", new_demand(world)).status_code == 403


def test_another_tenants_demand_is_not_found(world: World, other_world: World) -> None:
    theirs = make_demands(other_world)["submitted"]
    for client in (session("performance_admin@alpha"), bearer(world, ["demands.view", "demands.raise"])):
        assert client.get(f"{API}/demands/{theirs.pk}").status_code == 404
        assert post(client, f"{API}/demands/{theirs.pk}/withdraw", {}).status_code == 404
        assert client.get(f"{API}/demands").json()["items"] == []
    admin = session("performance_admin@alpha")
    foreign_unit = post(admin, f"{API}/demands", new_demand(world, serving_unit_id=other_world.hr.pk))
    assert (foreign_unit.status_code, foreign_unit.json()["field"]) == (404, "serving_unit_id")
    assert admin.get(f"{API}/demands", {"unit": other_world.sales.pk}).status_code == 404


def test_a_unit_head_sees_the_demands_of_their_subtree_only(world: World, hr_head: Any) -> None:
    demands = make_demands(world)
    with tenant_context(world.tenant, SYSTEM):
        from tests.factories import make_unit

        claims = make_unit("alpha-C", "理赔部", world.group, category="claims")
    claims_head = make_head(world, claims, "claims-head@alpha")
    for username in ("unit_head@alpha", hr_head.username):
        listed = session(username).get(f"{API}/demands").json()
        assert {d["id"] for d in listed["items"]} == {d.pk for d in demands.values()}
    outsider = session(claims_head.username)
    assert outsider.get(f"{API}/demands").json()["items"] == []
    assert outsider.get(f"{API}/demands/{demands['submitted'].pk}").status_code == 404
    # …nor can they raise for a unit that is not theirs.
    assert post(outsider, f"{API}/demands", new_demand(world)).status_code == 404


def test_lists_filter_and_sort(world: World) -> None:
    demands = make_demands(world)
    admin = session("performance_admin@alpha")
    delivered = admin.get(f"{API}/demands", {"status": "delivered"}).json()["items"]
    assert [d["id"] for d in delivered] == [demands["delivered"].pk]
    by_number = admin.get(f"{API}/demands", {"sort": "number", "unit": world.hr.pk}).json()["items"]
    assert [d["number"] for d in by_number] == sorted(d.number for d in demands.values())
    assert admin.get(f"{API}/demands", {"kind": "training"}).json()["count"] == 0
    assert admin.get(f"{API}/demands", {"sort": "salary"}).status_code == 422


def test_bad_input_names_the_field(world: World) -> None:
    admin = session("performance_admin@alpha")
    wrong = post(admin, f"{API}/demands", new_demand(world, spec={"positions": 0, "arrival_days": 10}))
    assert (wrong.status_code, wrong.json()["field"]) == (422, "spec.positions")
    wrong = post(
        admin, f"{API}/demands", new_demand(world, rule={"components": [{"measure": "x", "rule": {}}]})
    )
    assert (wrong.status_code, wrong.json()["field"]) == (422, "rule.components[0].measure")
    wrong = post(admin, f"{API}/demands", new_demand(world, requesting_unit_id=world.hr.pk))
    assert (wrong.status_code, wrong.json()["field"]) == (422, "requesting_unit_id")
    demand = make_demands(world)["submitted"]
    blank = post(admin, f"{API}/demands/{demand.pk}/decline", {"reason": "   "})
    assert (blank.status_code, blank.json()["field"]) == (422, "reason")
