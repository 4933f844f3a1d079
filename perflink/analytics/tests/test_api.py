"""The analytics API on a tenant with almost no data: every route answers 200 with a `too_few` verdict (or empty
tables) rather than failing, needs credentials, and is guarded by the action it declares."""

from __future__ import annotations

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_token
from perflink.analytics.api import ANALYTICS_ACTION
from perflink.core.context import SYSTEM, tenant_context
from perflink.metrics.actions import do_install_library

ROUTES = [
    "/api/v1/analytics/claims",
    "/api/v1/analytics/claims?controls=line",
    "/api/v1/analytics/impact?functional=claim_payment_days&business=claim_satisfaction_score",
    "/api/v1/analytics/cohorts",
    "/api/v1/analytics/cohorts?by=trained",
    "/api/v1/analytics/before-after?metric=claim_payment_days&before_from=2025-01&before_to=2025-06"
    "&after_from=2025-07&after_to=2025-12",
    "/api/v1/analytics/suggestions",
    "/api/v1/analytics/outages",
]


@pytest.fixture
def secrets(world) -> dict[str, str]:
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2027), actor=SYSTEM)
        _, allowed = do_create_token(name="bi", permissions=[ANALYTICS_ACTION], created_by=None, actor=SYSTEM)
        _, other = do_create_token(name="org", permissions=["org.view"], created_by=None, actor=SYSTEM)
    return {"allowed": allowed, "other": other}


@pytest.mark.parametrize("path", ROUTES)
def test_given_no_token_when_calling_then_401(world, path):
    assert Client().get(path).status_code == 401


@pytest.mark.parametrize("path", ROUTES)
def test_given_a_token_without_the_action_when_calling_then_403(secrets, path):
    response = Client(headers={"Authorization": f"Bearer {secrets['other']}"}).get(path)
    assert response.status_code == 403


@pytest.mark.parametrize("path", ROUTES)
def test_given_a_tenant_with_little_data_when_calling_then_200_and_no_number_is_claimed(secrets, path):
    response = Client(headers={"Authorization": f"Bearer {secrets['allowed']}"}).get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    if "result" in body:
        assert body["result"]["verdict"] == "too_few"


def test_given_an_unknown_grouping_when_asking_for_cohorts_then_422_naming_the_field(secrets):
    response = Client(headers={"Authorization": f"Bearer {secrets['allowed']}"}).get(
        "/api/v1/analytics/cohorts?by=zodiac"
    )
    assert response.status_code == 422
    assert response.json()["field"] == "by"


def test_given_another_tenants_link_when_asking_for_its_impact_then_404(secrets, other_world):
    from tests.factories import make_link

    with tenant_context(other_world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2027), actor=SYSTEM)
    link = make_link(other_world)
    response = Client(headers={"Authorization": f"Bearer {secrets['allowed']}"}).get(
        f"/api/v1/analytics/links/{link.pk}/impact"
    )
    assert response.status_code == 404
