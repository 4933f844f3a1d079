"""Links: proposed by anyone allowed, decided only by the business side, versioned and audited."""

from __future__ import annotations

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict, PermissionDeniedError, ValidationFailed
from perflink.incentives.actions import do_decide_link, do_propose_link, do_withdraw_link
from perflink.incentives.choices import LinkStatus
from perflink.incentives.selectors import confirmed_links
from perflink.metrics.models import MetricDefinition
from tests.factories import PASSWORD, make_link, make_scores


@pytest.fixture
def linked(world):
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
        yield world, link, hr_head


def as_actor(user) -> Actor:
    return Actor("user", user.pk, user.username)


def test_the_business_head_confirms_and_only_confirmed_links_count(linked):
    world, link, _ = linked
    sales_head = world.users[Role.UNIT_HEAD]  # scoped to the sales department, the link's business unit
    assert not confirmed_links().exists()
    link = do_decide_link(link, confirm=True, note="认可", user=sales_head, actor=as_actor(sales_head))
    assert link.status == LinkStatus.CONFIRMED
    assert list(confirmed_links()) == [link]
    assert [(v.number, v.status) for v in link.versions.all()] == [(1, "proposed"), (2, "confirmed")]
    assert AuditEvent.objects.filter(action="link.confirm", object_id=str(link.pk)).exists()


def test_the_functional_unit_cannot_confirm_its_own_link(linked):
    world, link, hr_head = linked
    with pytest.raises(PermissionDeniedError) as refused:
        do_decide_link(link, confirm=True, user=hr_head, actor=as_actor(hr_head))
    assert refused.value.code == "not_business_side"
    # Nor can the administrators: the decision belongs to the business.
    for role in (Role.TENANT_ADMIN, Role.PERFORMANCE_ADMIN):
        with pytest.raises(PermissionDeniedError):
            do_decide_link(link, confirm=True, user=world.users[role], actor=as_actor(world.users[role]))
    link.refresh_from_db()
    assert link.status == LinkStatus.PROPOSED


def test_the_functional_head_is_refused_through_the_api_too(linked):
    world, link, hr_head = linked
    client = Client()
    client.login(username=hr_head.username, password=PASSWORD)
    response = client.post(f"/api/v1/links/{link.pk}/confirm", {"note": ""}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_business_side"
    client.login(username=world.users[Role.UNIT_HEAD].username, password=PASSWORD)
    response = client.post(f"/api/v1/links/{link.pk}/confirm", {"note": ""}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


def test_a_rejection_needs_a_reason_and_the_link_can_be_proposed_again(linked):
    world, link, _ = linked
    head = world.users[Role.UNIT_HEAD]
    with pytest.raises(ValidationFailed):
        do_decide_link(link, confirm=False, note=" ", user=head, actor=as_actor(head))
    link = do_decide_link(link, confirm=False, note="口径需要调整", user=head, actor=as_actor(head))
    assert link.status == LinkStatus.REJECTED
    with pytest.raises(Conflict):
        do_decide_link(link, confirm=True, user=head, actor=as_actor(head))
    again = make_link(world, rationale="按需求单位口径统计")
    assert again.pk == link.pk and again.status == LinkStatus.PROPOSED and again.version == 3
    with pytest.raises(Conflict) as twice:
        make_link(world)
    assert twice.value.code == "link_state"


def test_a_confirmed_link_is_withdrawn_only_by_the_business_side(linked):
    world, link, hr_head = linked
    head = world.users[Role.UNIT_HEAD]
    link = do_decide_link(link, confirm=True, user=head, actor=as_actor(head))
    with pytest.raises(PermissionDeniedError):
        do_withdraw_link(link, user=hr_head, actor=as_actor(hr_head))
    link = do_withdraw_link(link, note="口径变更", user=head, actor=as_actor(head))
    assert link.status == LinkStatus.WITHDRAWN
    assert not confirmed_links().exists()


def test_a_link_runs_from_a_functional_unit_to_a_business_unit(linked):
    world, _, _ = linked
    metric = MetricDefinition.objects.get(code="new_business_premium")
    with pytest.raises(ValidationFailed) as not_functional:
        do_propose_link(
            functional_unit=world.sales,
            functional_metric=metric,
            business_unit=world.sales_team,
            business_metric=metric,
            rationale="x",
            actor=SYSTEM,
        )
    assert not_functional.value.field == "functional_unit_id"
    with pytest.raises(ValidationFailed) as not_business:
        do_propose_link(
            functional_unit=world.hr,
            functional_metric=metric,
            business_unit=world.hr,
            business_metric=metric,
            rationale="x",
            actor=SYSTEM,
        )
    assert not_business.value.field == "business_unit_id"
