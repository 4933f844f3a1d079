"""The demand pages: the board per role and its filters, raising through the form, the step buttons each side
sees, refused steps, the comment thread, and DOMAIN.md's recruitment example on the demand page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from perflink.collab.choices import DemandStatus, EventKind
from perflink.collab.models import Demand
from perflink.collab.tests.factories import make_demands, make_head
from perflink.collab.tests.test_recruitment import recruitment  # noqa: F401 (the fixture)
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import World


def login(world: World, user: Any) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def steps_of(body: str) -> set[str]:
    found = re.search(r'id="steps" data-steps="([^"]*)"', body)
    assert found, "no steps card"
    return set(found.group(1).split())


@pytest.fixture
def hr_head(world: World) -> Any:
    return make_head(world, world.hr, "hr-head@alpha")


@pytest.fixture
def demands(world: World) -> dict[str, Demand]:
    return make_demands(world)


# --- the board --------------------------------------------------------------------------------------------------


def test_the_board_shows_each_demand_in_its_state_column(world: World, demands: dict[str, Demand]) -> None:
    body = html(login(world, world.users["performance_admin"]).get("/collab/"))
    for state, demand in demands.items():
        column = body.split(f'data-column="{state}"', 1)[1].split("</section>", 1)[0]
        assert f'data-demand="{demand.number}"' in column
    assert 'data-figure="0/20"' in body  # no hire yet: 0 of 20 arrived


def test_a_unit_head_opens_on_their_own_unit_and_filters_narrow(
    world: World, demands: dict[str, Demand], hr_head: Any
) -> None:
    client = login(world, hr_head)
    body = html(client.get("/collab/"))
    assert f'value="{world.hr.pk}" selected' in body
    assert 'data-count="4"' in body
    assert 'data-count="0"' in html(client.get("/collab/", {"unit": world.hr.pk, "side": "raised"}))
    assert 'data-count="4"' in html(client.get("/collab/", {"unit": world.hr.pk, "side": "addressed"}))
    assert 'data-count="0"' in html(client.get("/collab/", {"kind": "training"}))


def test_the_list_view_sorts_and_pages(world: World, demands: dict[str, Demand]) -> None:
    client = login(world, world.users["performance_admin"])
    body = html(client.get("/collab/", {"view": "list", "sort": "number"}))
    numbers = re.findall(r'<tr data-demand="([^"]+)"', body)
    assert numbers == sorted(d.number for d in demands.values())
    body = html(client.get("/collab/", {"view": "list", "sort": "-number"}))
    assert re.findall(r'<tr data-demand="([^"]+)"', body) == sorted(numbers, reverse=True)


def test_the_board_answers_htmx_with_the_results_only(world: World, demands: dict[str, Demand]) -> None:
    response = login(world, world.users["performance_admin"]).get(
        "/collab/", {"kind": "recruitment"}, headers={"HX-Request": "true"}
    )
    assert (
        response.status_code == 200
        and "<html" not in html(response)
        and 'id="demand-board"' in html(response)
    )


def test_an_empty_board_offers_to_raise_a_demand(world: World) -> None:
    body = html(login(world, world.users["unit_head"]).get("/collab/"))
    assert 'id="demands-empty"' in body and 'id="empty-raise"' in body


def test_the_board_is_in_the_navigation(world: World) -> None:
    body = html(login(world, world.users["unit_head"]).get("/collab/"))
    assert 'data-nav="collab"' in body


# --- raising ----------------------------------------------------------------------------------------------------


def raise_form(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "recruitment",
        "title": "招聘20名代理人",
        "requesting_unit": world.sales.pk,
        "serving_unit": world.hr.pk,
        "spec.positions": "20",
        "spec.arrival_days": "10",
        "spec.per_hire_target": "100000",
        "spec.attainment_days": "90",
    }
    return {**data, **overrides}


def test_raising_through_the_form_creates_the_demand(world: World) -> None:
    client = login(world, world.users["unit_head"])
    form = html(client.get("/collab/demands/new/"))
    assert f'<option value="{world.sales.pk}" selected' in form and 'id="rule-words"' in form
    response = client.post("/collab/demands/new/?kind=recruitment", raise_form(world))
    with tenant_context(world.tenant):
        demand = Demand.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/collab/demands/{demand.pk}/"
    assert (demand.kind, demand.status, demand.serving_unit_id) == ("recruitment", "submitted", world.hr.pk)
    assert demand.spec == {
        "positions": 20,
        "arrival_days": 10,
        "per_hire_target": "100000",
        "attainment_days": 90,
    }
    assert [c["measure"] for c in demand.rule["components"]] == ["arrival_rate", "attainment_rate"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"spec.positions": "0"}, "spec.positions"),
        ({"spec.positions": ""}, "spec.positions"),
        ({"title": ""}, "title"),
        ({"serving_unit": ""}, "serving_unit"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(
    world: World, override: dict[str, str], field: str
) -> None:
    response = login(world, world.users["unit_head"]).post(
        "/collab/demands/new/", raise_form(world, **override)
    )
    assert response.status_code == 400
    assert f'data-error-for="{field}"' in html(response)
    with tenant_context(world.tenant):
        assert not Demand.objects.exists()


def test_a_business_unit_cannot_be_the_serving_unit(world: World) -> None:
    response = login(world, world.users["unit_head"]).post(
        "/collab/demands/new/", raise_form(world, serving_unit=world.sales.pk)
    )
    assert response.status_code == 400 and 'data-error-for="serving_unit"' in html(response)


def test_each_kind_has_its_own_fields(world: World) -> None:
    client = login(world, world.users["unit_head"])
    assert 'name="spec.catastrophe_tag"' in html(client.get("/collab/demands/new/", {"kind": "payment"}))
    assert 'name="spec.system"' in html(client.get("/collab/demands/new/", {"kind": "it_support"}))
    response = client.post(
        "/collab/demands/new/",
        {
            "kind": "training",
            "title": "产品知识培训",
            "requesting_unit": world.sales.pk,
            "serving_unit": world.hr.pk,
            "spec.audience": "新人",
            "spec.content": "产品知识",
            "spec.courses": "产品知识\n合规",
            "spec.pass_rate_target": "90",
        },
    )
    assert response.status_code == 302
    with tenant_context(world.tenant):
        assert Demand.objects.get().spec["courses"] == ["产品知识", "合规"]


# --- the buttons each side sees, and refusals --------------------------------------------------------------------


def test_the_buttons_match_who_may_act(world: World, demands: dict[str, Demand], hr_head: Any) -> None:
    submitted = f"/collab/demands/{demands['submitted'].pk}/"
    requester = steps_of(html(login(world, world.users["unit_head"]).get(submitted)))
    assert "withdraw" in requester and not requester & {"accept", "decline", "evaluate"}
    server = steps_of(html(login(world, hr_head).get(submitted)))
    assert {"accept", "decline"} <= server and "withdraw" not in server
    assert steps_of(html(login(world, world.users["auditor"]).get(submitted))) == set()
    delivered = f"/collab/demands/{demands['delivered'].pk}/"
    assert "evaluate" in steps_of(html(login(world, world.users["performance_admin"]).get(delivered)))
    assert "evaluate" not in steps_of(html(login(world, hr_head).get(delivered)))


def test_a_step_the_user_may_not_take_is_refused(
    world: World, demands: dict[str, Demand], hr_head: Any
) -> None:
    url = f"/collab/demands/{demands['submitted'].pk}/step/"
    assert (
        login(world, world.users["unit_head"]).post(url, {"step": "accept", "plan": "x"}).status_code == 403
    )
    assert login(world, world.users["auditor"]).post(url, {"step": "withdraw"}).status_code == 403
    assert login(world, hr_head).post(url, {"step": "withdraw"}).status_code == 403
    with tenant_context(world.tenant):
        assert Demand.objects.get(pk=demands["submitted"].pk).status == DemandStatus.SUBMITTED


def test_a_step_the_state_does_not_allow_shows_the_actions_error(
    world: World, demands: dict[str, Demand], hr_head: Any
) -> None:
    client = login(world, hr_head)
    url = f"/collab/demands/{demands['submitted'].pk}/step/"
    response = client.post(url, {"step": "deliver"}, follow=True)
    assert response.status_code == 200 and "alert-error" in html(response)
    response = client.post(url, {"step": "accept", "plan": ""}, follow=True)
    assert "alert-error" in html(response)
    with tenant_context(world.tenant):
        assert Demand.objects.get(pk=demands["submitted"].pk).status == DemandStatus.SUBMITTED


def test_the_serving_head_accepts_with_a_plan(world: World, demands: dict[str, Demand], hr_head: Any) -> None:
    demand = demands["submitted"]
    response = login(world, hr_head).post(
        f"/collab/demands/{demand.pk}/step/", {"step": "accept", "plan": "校园招聘 + 内推"}
    )
    assert response.status_code == 302
    body = html(login(world, world.users["unit_head"]).get(f"/collab/demands/{demand.pk}/"))
    assert 'data-status="accepted"' in body and "校园招聘 + 内推" in body


# --- comments ------------------------------------------------------------------------------------------------------


def test_a_comment_comes_back_in_the_thread(world: World, demands: dict[str, Demand]) -> None:
    demand = demands["in_progress"]
    client = login(world, world.users["unit_head"])
    response = client.post(
        f"/collab/demands/{demand.pk}/comments/",
        {"text": "请在培训中加入产品知识", "change_request": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = html(response)
    assert "<html" not in body and "请在培训中加入产品知识" in body and 'data-event="change_request"' in body
    with tenant_context(world.tenant):
        assert demand.events.filter(kind=EventKind.CHANGE_REQUEST).count() == 1
    refused = client.post(
        f"/collab/demands/{demand.pk}/comments/", {"text": ""}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 400 and 'data-error-for="text"' in html(refused)


def test_the_auditor_cannot_comment(world: World, demands: dict[str, Demand]) -> None:
    response = login(world, world.users["auditor"]).post(
        f"/collab/demands/{demands['submitted'].pk}/comments/", {"text": "x"}
    )
    assert response.status_code == 403


# --- DOMAIN.md's recruitment example ------------------------------------------------------------------------------


def test_the_recruitment_example_shows_18_of_20_and_86_67_points(recruitment: Any) -> None:  # noqa: F811
    world, demand = recruitment
    client = login(world, world.users["performance_admin"])
    url = f"/collab/demands/{demand.pk}/"
    body = html(client.get(url))
    assert 'data-figure="arrived_in_time" data-value="18"' in body
    assert 'data-chart="demand-progress"' in body and 'id="hire-table"' in body and "新人12" in body
    assert "evaluate" in steps_of(body)
    assert client.post(f"{url}step/", {"step": "evaluate"}).status_code == 302
    body = html(client.get(url))
    assert 'id="evaluation-total" data-points="86.67"' in body
    assert 'data-component="arrival_rate" data-points="20"' in body
    assert 'data-component="attainment_rate" data-points="66.67"' in body
    assert 'data-state="final"' in body
    with tenant_context(world.tenant, SYSTEM):
        demand.refresh_from_db()
    assert demand.status == DemandStatus.EVALUATED
    board = html(client.get("/collab/"))
    assert 'data-figure="18/20"' in board and 'data-points="86.67"' in board
