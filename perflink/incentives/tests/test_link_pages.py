"""The link pages: the graph and the list, proposing a link, and a link's page where only the business side
confirms or rejects it."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.incentives.actions import do_decide_link, do_propose_link
from perflink.incentives.choices import LinkStatus
from perflink.incentives.models import Link, LinkVersion
from perflink.incentives.views.graph import NODE_H, build_graph, fit, text_width
from perflink.metrics.models import MetricDefinition
from tests.factories import PASSWORD, World, make_link, make_scores, make_unit

HX = {"HTTP_HX_REQUEST": "true"}
LIST_MAX_QUERIES = 16


def text(response: Any) -> str:
    return response.content.decode()


def session(world: World, user: Any) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(user)
    return client


def as_actor(user: Any) -> Actor:
    return Actor("user", user.pk, user.username)


def metric(code: str) -> MetricDefinition:
    return MetricDefinition.objects.get(code=code)


def propose(world: World, functional: str, business: str, business_unit: Any = None, **kw: Any) -> Link:
    with tenant_context(world.tenant, SYSTEM):
        return do_propose_link(
            functional_unit=kw.pop("functional_unit", world.hr),
            functional_metric=metric(functional),
            business_unit=business_unit or world.sales,
            business_metric=metric(business),
            rationale=kw.pop("rationale", "招聘越快，新人越早出单"),
            actor=SYSTEM,
        )


@pytest.fixture
def linked(world: World) -> tuple[World, Link, Any]:
    """Scores of March 2026, the factory's proposed link (HR → sales) and the head of HR."""
    make_scores(world)
    link = make_link(world)
    with tenant_context(world.tenant, SYSTEM):
        hr_head = do_create_user(
            username="hr-head@alpha",
            password=PASSWORD,
            role=Role.UNIT_HEAD,
            scope_unit=world.hr,
            check_password=False,
            actor=SYSTEM,
        )
    return world, link, hr_head


def snapshot(world: World, link: Link) -> tuple[Any, ...]:
    with tenant_context(world.tenant):
        fresh = Link.objects.get(pk=link.pk)
        versions = LinkVersion.objects.filter(link=fresh).count()
    return fresh.status, fresh.version, fresh.decided_by_label, versions


# --- the graph and the list ----------------------------------------------------------------------------------


def test_the_graph_draws_each_link_between_its_units_with_the_latest_values(linked) -> None:
    world, link, _ = linked
    premium = propose(world, "time_to_fill_days", "new_business_premium")
    sales_head = world.users[Role.UNIT_HEAD]
    with tenant_context(world.tenant):
        do_decide_link(premium, confirm=True, user=sales_head, actor=as_actor(sales_head))
    body = text(session(world, world.users[Role.TENANT_ADMIN]).get("/links/"))
    start = body.index('id="link-graph"')
    graph = body[start : body.index("</svg>", start)]
    # Functional units on the left, business units on the right, one box per link between them.
    assert f'class="node functional" data-unit="{world.hr.pk}"' in graph
    assert f'class="node business" data-unit="{world.sales.pk}"' in graph
    assert f'class="edge confirmed" href="/links/{premium.pk}/"' in graph
    assert f'class="edge proposed" href="/links/{link.pk}/"' in graph
    assert "招聘周期 → 新单保费" in graph and "招聘周期 → 新人三个月达成率" in graph
    # The sales department sold 80,000 in March 2026 (run #1); HR has no time-to-fill value: a dash.
    assert "— → 80,000 元" in graph and "2026-03 #1" in graph
    # The table lists both, with their status, units, rationale and proposer.
    assert body.count('<tr data-link="') == 2
    assert "已确认" in body and "待确认" in body and "招聘越快，新人越早出单" in body
    assert "人力资源部" in body and "个险销售部" in body


def test_rejected_and_withdrawn_links_are_hidden_unless_the_filter_asks(linked) -> None:
    world, link, _ = linked
    head = world.users[Role.UNIT_HEAD]
    with tenant_context(world.tenant):
        do_decide_link(link, confirm=False, note="口径不一致", user=head, actor=as_actor(head))
    admin = session(world, world.users[Role.TENANT_ADMIN])
    default = text(admin.get("/links/"))
    assert f'data-link="{link.pk}"' not in default
    assert 'id="links-empty"' in default  # the filtered empty state, with a way out
    everything = text(admin.get("/links/?status=all"))
    assert f'class="edge rejected" href="/links/{link.pk}/"' in everything
    assert f'<tr data-link="{link.pk}" data-status="rejected">' in everything
    only_rejected = text(admin.get("/links/?status=rejected"))
    assert f'data-link="{link.pk}"' in only_rejected
    assert f'data-link="{link.pk}"' not in text(admin.get("/links/?status=confirmed"))


def test_filter_by_unit_sort_page_and_htmx_fragment(linked) -> None:
    world, link, _ = linked
    with tenant_context(world.tenant, SYSTEM):
        claims = make_unit("alpha-C", "理赔部", world.group, category="claims")
    other = propose(world, "training_pass_rate", "claim_cycle_days", business_unit=claims)
    admin = session(world, world.users[Role.TENANT_ADMIN])
    sales_only = text(admin.get(f"/links/?unit={world.sales.pk}"))
    assert f'data-link="{link.pk}"' in sales_only and f'data-link="{other.pk}"' not in sales_only
    hr_subtree = text(admin.get(f"/links/?unit={world.hr.pk}"))
    assert f'data-link="{link.pk}"' in hr_subtree and f'data-link="{other.pk}"' in hr_subtree
    # An unknown unit (another tenant's, a made-up id) is ignored, not an error.
    assert admin.get("/links/?unit=2000000000&status=nonsense").status_code == 200
    by_business = text(admin.get("/links/?sort=-business"))
    rows = re.findall(r'<tr data-link="(\d+)"', by_business)
    assert rows == [
        str(other.pk),
        str(link.pk),
    ]  # 理赔部 (alpha-C) sorts after 个险销售部 by path, descending
    fragment = admin.get("/links/?status=all", **HX)
    assert fragment.status_code == 200 and "<html" not in text(fragment)
    assert 'id="link-graph"' in text(fragment) and 'hx-swap-oob="true"' in text(fragment)
    assert "HX-Request" in fragment["Vary"]


def test_an_empty_tenant_explains_what_a_link_is_and_who_confirms_it(world: World) -> None:
    body = text(session(world, world.users[Role.PERFORMANCE_ADMIN]).get("/links/"))
    assert 'id="links-empty"' in body and 'id="link-graph"' not in body
    empty = body[body.index('id="links-empty"') :]
    assert empty.count("<p>") == 2  # what a link is; who proposes it and who confirms it
    assert 'href="/links/new/"' in body


def test_a_unit_head_sees_only_links_touching_their_subtree_and_only_their_figures(linked) -> None:
    world, link, hr_head = linked
    premium = propose(world, "time_to_fill_days", "new_business_premium")
    # The HR head sees the link (it touches HR) but not the sales department's premium (outside HR's scope).
    hr_page = text(session(world, hr_head).get("/links/"))
    assert f'data-link="{premium.pk}"' in hr_page and "80,000" not in hr_page
    assert "— → —" in hr_page
    sales_page = text(session(world, world.users[Role.UNIT_HEAD]).get("/links/"))
    assert "— → 80,000 元" in sales_page
    # The head of a team below the sales department sees neither link.
    with tenant_context(world.tenant, SYSTEM):
        team_head = do_create_user(
            username="team-head@alpha",
            password=PASSWORD,
            role=Role.UNIT_HEAD,
            scope_unit=world.sales_team,
            check_password=False,
            actor=SYSTEM,
        )
    team = session(world, team_head)
    assert 'id="links-empty"' in text(team.get("/links/"))
    assert team.get(f"/links/{link.pk}/").status_code == 404


@pytest.mark.parametrize("n", [2, 12])
def test_the_list_query_count_does_not_grow_with_the_links(
    linked, n: int, django_assert_max_num_queries: Any
) -> None:
    world, _, _ = linked
    with tenant_context(world.tenant):
        codes = list(MetricDefinition.objects.filter(domain="hr").values_list("code", flat=True))
    for code in codes[: n - 1]:
        propose(world, code, "new_business_premium")
    admin = session(world, world.users[Role.TENANT_ADMIN])
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        assert admin.get("/links/").status_code == 200
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        assert admin.get(f"/links/?status=all&sort=-version&unit={world.hr.pk}", **HX).status_code == 200


# --- one link: the business side decides -----------------------------------------------------------------------


def test_the_sales_head_confirms_through_the_page(linked) -> None:
    world, link, _ = linked
    head = session(world, world.users[Role.UNIT_HEAD])
    page = text(head.get(f"/links/{link.pk}/"))
    assert 'id="confirm-form"' in page and 'id="reject-form"' in page
    assert "招聘周期" in page and "新人三个月达成率" in page and "招聘速度影响新人产能" in page
    response = head.post(f"/links/{link.pk}/decide/", {"decision": "confirm", "note": "认可"})
    assert response.status_code == 302 and response["Location"] == f"/links/{link.pk}/"
    assert snapshot(world, link) == (LinkStatus.CONFIRMED, 2, "unit_head@alpha", 2)
    after = text(head.get(f"/links/{link.pk}/"))
    assert 'id="confirm-form"' not in after and 'data-status="confirmed"' in after
    assert 'data-version="2"' in after and 'data-version="1"' in after and "认可" in after
    assert "alert-success" in after


def test_a_rejection_needs_a_reason_given_at_the_field(linked) -> None:
    world, link, _ = linked
    head = session(world, world.users[Role.UNIT_HEAD])
    response = head.post(f"/links/{link.pk}/decide/", {"decision": "reject", "note": "  "})
    assert response.status_code == 400
    assert 'id="reject-errors"' in text(response)
    assert snapshot(world, link)[0] == LinkStatus.PROPOSED
    response = head.post(f"/links/{link.pk}/decide/", {"decision": "reject", "note": "口径需要调整"})
    assert response.status_code == 302
    assert snapshot(world, link)[:2] == (LinkStatus.REJECTED, 2)
    page = text(head.get(f"/links/{link.pk}/"))
    assert "口径需要调整" in page and 'id="propose-again"' in page


def test_the_functional_units_head_sees_no_confirm_button_and_is_refused(linked) -> None:
    world, link, hr_head = linked
    hr = session(world, hr_head)
    page = text(hr.get(f"/links/{link.pk}/"))
    assert 'id="confirm-form"' not in page and 'id="reject-form"' not in page
    note = page[page.index('id="decider-note"') :][:400]
    assert "个险销售部" in note  # names the business unit whose head decides
    before = snapshot(world, link)
    for decision in ("confirm", "reject"):
        response = hr.post(f"/links/{link.pk}/decide/", {"decision": decision, "note": "自己确认"})
        assert response.status_code == 403
        assert "alert-error" in text(response) and "业务方" in text(response)
        assert 'id="confirm-form"' not in text(response)
    assert snapshot(world, link) == before


def test_the_auditor_reads_everything_and_gets_no_form(linked) -> None:
    world, link, _ = linked
    auditor = session(world, world.users[Role.AUDITOR])
    listing = text(auditor.get("/links/"))
    assert f'data-link="{link.pk}"' in listing and 'id="propose-link"' not in listing
    page = text(auditor.get(f"/links/{link.pk}/"))
    assert auditor.get(f"/links/{link.pk}/").status_code == 200
    assert 'method="post" action="/links/' not in page and 'id="decider-note"' in page
    assert auditor.get("/links/new/").status_code == 403
    before = snapshot(world, link)
    assert auditor.post(f"/links/{link.pk}/decide/", {"decision": "confirm"}).status_code == 403
    assert auditor.post(f"/links/{link.pk}/withdraw/").status_code == 403
    assert snapshot(world, link) == before


def test_withdrawing_follows_the_actions_rule(linked) -> None:
    world, link, hr_head = linked
    sales_head = world.users[Role.UNIT_HEAD]
    with tenant_context(world.tenant):
        do_decide_link(link, confirm=True, user=sales_head, actor=as_actor(sales_head))
    hr = session(world, hr_head)
    assert 'id="withdraw-form"' not in text(hr.get(f"/links/{link.pk}/"))
    refused = hr.post(f"/links/{link.pk}/withdraw/", {"note": "不再适用"})
    assert refused.status_code == 403 and "alert-error" in text(refused)
    assert snapshot(world, link)[0] == LinkStatus.CONFIRMED
    head = session(world, sales_head)
    assert 'id="withdraw-form"' in text(head.get(f"/links/{link.pk}/"))
    assert head.post(f"/links/{link.pk}/withdraw/", {"note": "口径变更"}).status_code == 302
    assert snapshot(world, link)[:2] == (LinkStatus.WITHDRAWN, 3)


# --- proposing a link ----------------------------------------------------------------------------------------


def test_the_form_offers_functional_units_on_one_side_and_business_units_on_the_other(linked) -> None:
    world, _, _ = linked
    body = text(session(world, world.users[Role.PERFORMANCE_ADMIN]).get("/links/new/"))
    functional = body[
        body.index('name="functional_unit"') : body.index("</select>", body.index('name="functional_unit"'))
    ]
    business = body[
        body.index('name="business_unit"') : body.index("</select>", body.index('name="business_unit"'))
    ]
    assert f'value="{world.hr.pk}"' in functional and f'value="{world.sales.pk}"' not in functional
    assert f'value="{world.sales.pk}"' in business and f'value="{world.hr.pk}"' not in business
    assert 'value="time_to_fill_days"' in body and "<optgroup" in body


def test_propose_form_errors_are_shown_at_their_fields(linked) -> None:
    world, _, _ = linked
    admin = session(world, world.users[Role.PERFORMANCE_ADMIN])
    response = admin.post("/links/new/", {"rationale": "  "})
    assert response.status_code == 400
    body = text(response)
    for field in ("functional_unit", "functional_metric", "business_unit", "business_metric", "rationale"):
        assert f'id="{field}-errors"' in body, field
    # A business unit where a functional one belongs is not among the choices.
    response = admin.post(
        "/links/new/",
        {
            "functional_unit": world.sales.pk,
            "functional_metric": "time_to_fill_days",
            "business_unit": world.sales.pk,
            "business_metric": "new_business_premium",
            "rationale": "x",
        },
    )
    assert response.status_code == 400 and 'id="functional_unit-errors"' in text(response)
    assert 'id="business_unit-errors"' not in text(response)


def test_proposing_through_the_form_makes_a_proposed_link_and_twice_is_refused(linked) -> None:
    world, _, _ = linked
    admin = session(world, world.users[Role.PERFORMANCE_ADMIN])
    data = {
        "functional_unit": world.hr.pk,
        "functional_metric": "time_to_fill_days",
        "business_unit": world.sales.pk,
        "business_metric": "new_business_premium",
        "rationale": "招聘越快，新人越早出单",
    }
    response = admin.post("/links/new/", data)
    with tenant_context(world.tenant):
        link = Link.objects.get(business_metric__code="new_business_premium")
    assert response.status_code == 302 and response["Location"] == f"/links/{link.pk}/"
    assert (link.status, link.proposed_by_label) == (LinkStatus.PROPOSED, "performance_admin@alpha")
    again = admin.post("/links/new/", data)
    assert again.status_code == 400 and 'id="form-errors"' in text(again)
    # A rejected link is proposed again from its page, starting from what it said.
    head = world.users[Role.UNIT_HEAD]
    with tenant_context(world.tenant):
        do_decide_link(link, confirm=False, note="口径不一致", user=head, actor=as_actor(head))
    prefilled = text(admin.get(f"/links/new/?link={link.pk}"))
    assert "招聘越快，新人越早出单</textarea>" in prefilled
    assert f'<option value="{world.hr.pk}" selected>' in prefilled
    # A suggestion of the analytics starts from its two metrics; an unknown code is left out.
    suggested = text(
        admin.get(
            "/links/new/", {"functional_metric": "time_to_fill_days", "business_metric": "no_such_metric"}
        )
    )
    assert '<option value="time_to_fill_days" selected>' in suggested
    assert 'value="no_such_metric"' not in suggested


def test_a_unit_head_proposes_only_links_touching_their_own_units(linked) -> None:
    world, _, _ = linked
    with tenant_context(world.tenant, SYSTEM):
        claims = make_unit("alpha-C", "理赔部", world.group, category="claims")
    head = session(world, world.users[Role.UNIT_HEAD])  # the sales department's
    data = {
        "functional_unit": world.hr.pk,
        "functional_metric": "training_pass_rate",
        "business_unit": claims.pk,
        "business_metric": "claim_cycle_days",
        "rationale": "培训提升理赔效率",
    }
    response = head.post("/links/new/", data)
    assert response.status_code == 400 and 'id="form-errors"' in text(response)
    assert head.post("/links/new/", {**data, "business_unit": world.sales.pk}).status_code == 302


# --- the graph's geometry ------------------------------------------------------------------------------------


def test_text_is_fitted_with_an_ellipsis() -> None:
    assert fit("招聘周期", 12, 100) == "招聘周期"
    cut = fit("新人三个月达成率（招聘部门）", 12, 80)
    assert cut.endswith("…") and text_width(cut, 12) <= 80


def test_units_of_a_column_never_overlap(linked) -> None:
    world, link, _ = linked
    with tenant_context(world.tenant, SYSTEM):
        units = [
            make_unit(f"alpha-HR{i}", f"人事{i}部", world.group, unit_type="functional", category="hr")
            for i in range(4)
        ]
    links = [link] + [
        propose(world, "time_to_fill_days", "new_business_premium", functional_unit=u) for u in units
    ]
    with tenant_context(world.tenant):
        fresh = list(
            Link.objects.select_related(
                "functional_unit__parent", "business_unit__parent", "functional_metric", "business_metric"
            ).filter(pk__in=[x.pk for x in links])
        )
        graph = build_graph(fresh, {}, None, lambda x: f"/links/{x.pk}/")
    assert graph is not None
    left = sorted(node.y for node in graph.nodes if node.side == "functional")
    assert len(left) == 5 and all(b - a >= NODE_H for a, b in pairwise(left))
    assert len(graph.edges) == 5 and graph.height >= max(left) + NODE_H
