"""On a demo insurer loaded into the database, the analyses recover the effects the generator planted
(perflink/demo/effects.py): each planted value lies inside the 95% interval of its estimate. The API serves the
same analyses to a token holder, and nothing to a request without credentials."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import Client

from perflink.accounts.actions import do_create_token
from perflink.analytics import selectors, stats
from perflink.core.context import SYSTEM, tenant_context
from perflink.demo.actions import do_load_demo
from perflink.demo.effects import PLANTED_EFFECTS
from perflink.demo.generate import DemoConfig
from perflink.incentives.models import Link
from perflink.tenancy.models import Tenant

DEMO = DemoConfig(employees=2000, months=24, seed=7)
SLUG = "analytics-demo"


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker) -> Iterator[Tenant]:
    """The demo insurer (2,000 employees x 24 months, every month calculated), loaded once for the module and
    rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        do_load_demo(slug=SLUG, name="影响分析示范", config=DEMO, calculate_months=DEMO.months)
        yield Tenant.objects.get(slug=SLUG)
        transaction.set_rollback(True)


@pytest.fixture
def in_demo(demo: Tenant, db: None) -> Iterator[Tenant]:
    with tenant_context(demo, SYSTEM):
        yield demo


def _covers(planted: float, low: float, high: float, what: str, estimate: float) -> None:
    assert low <= planted <= high, (
        f"{what}: planted {planted}, estimated {estimate:.4f} (95% CI {low:.4f} to {high:.4f}) misses it"
    )


def test_given_the_demo_when_claims_are_analysed_then_the_interval_covers_the_planted_score_per_day(in_demo):
    planted = PLANTED_EFFECTS["claim_payment_satisfaction"]["mean_score_per_day"]
    impact = selectors.claims_impact()
    est = impact.result.estimate
    assert impact.result.verdict is stats.Verdict.SIGNIFICANT
    _covers(planted, est.ci_low, est.ci_high, "satisfaction per payment day (per claim)", est.coef)
    assert "每缩短1天" in impact.sentence.zh and "95% 置信区间" in impact.sentence.zh


@pytest.mark.parametrize(
    ("outcome", "key"), [("attained", "attainment_per_day"), ("retained", "retention_per_day")]
)
def test_given_the_demo_when_new_agents_are_analysed_then_the_interval_covers_the_planted_slope(
    in_demo, outcome, key
):
    planted = PLANTED_EFFECTS["time_to_fill_new_agents"][key]
    result = selectors.cohorts("time_to_fill")
    slope = result.attainment_slope if outcome == "attained" else result.retention_slope
    est = slope.result.estimate
    assert slope.result.verdict is stats.Verdict.SIGNIFICANT
    _covers(planted, est.ci_low, est.ci_high, f"{outcome} per day of time-to-fill", est.coef)
    table = result.attainment if outcome == "attained" else result.retention
    rated = [row for row in table.rows if row.rate is not None]
    assert rated[0].rate > rated[-1].rate  # the fastest fills do better than the slowest


def test_given_the_demo_when_outages_are_analysed_then_the_interval_covers_the_planted_percent_per_hour(
    in_demo,
):
    planted = PLANTED_EFFECTS["outage_policies"]["pct_per_hour"]
    impact = selectors.outage_impact()
    est = impact.result.estimate
    pct = [100 * (math.exp(v) - 1) for v in (est.coef, est.ci_low, est.ci_high)]
    assert impact.result.verdict is stats.Verdict.SIGNIFICANT
    _covers(planted, pct[1], pct[2], "% policies per outage hour", pct[0])


def test_given_the_demo_when_the_payment_link_is_analysed_from_calc_results_then_the_interval_covers_it(
    in_demo,
):
    planted = PLANTED_EFFECTS["claim_payment_satisfaction"]["mean_score_per_day"]
    impact = selectors.pair_impact("claim_payment_days", "claim_satisfaction_score")
    est = impact.result.estimate
    assert impact.result.verdict is stats.Verdict.SIGNIFICANT, impact.result.reason
    assert impact.result.lag == 0
    _covers(planted, est.ci_low, est.ci_high, "satisfaction per payment day (team-month panel)", est.coef)


def test_given_the_demo_when_scanning_then_the_planted_payment_pair_ranks_among_the_top(in_demo):
    scan = selectors.suggestions(top=10)
    pairs = [(row.functional, row.business) for row in scan.rows]
    assert ("claim_payment_days", "claim_satisfaction_score") in pairs
    assert "not proof" in scan.note


def test_given_two_windows_when_comparing_then_the_change_has_units_and_an_interval(in_demo):
    change = selectors.kpi_change("claim_payment_days", ("2024-11", "2025-10"), ("2025-11", "2026-10"))
    assert change.result.n_units >= stats.MIN_PAIRED_UNITS
    assert change.result.ci_low <= change.result.change <= change.result.ci_high


# --- API --------------------------------------------------------------------------------------------------


@pytest.fixture
def token(in_demo) -> str:
    _, secret = do_create_token(
        name="analytics", permissions=["analytics.view"], created_by=None, actor=SYSTEM
    )
    return secret


def test_given_no_credentials_when_asking_for_an_analysis_then_401(demo, db):
    response = Client().get("/api/v1/analytics/claims")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/analytics/claims",
        "/api/v1/analytics/impact?functional=claim_payment_days&business=claim_satisfaction_score",
        "/api/v1/analytics/cohorts?by=channel",
        "/api/v1/analytics/before-after?metric=claim_payment_days&before_from=2024-11&before_to=2025-10"
        "&after_from=2025-11&after_to=2026-10",
        "/api/v1/analytics/suggestions?top=5",
        "/api/v1/analytics/outages",
    ],
)
def test_given_a_token_when_asking_for_an_analysis_then_it_is_returned(token, path):
    response = Client(headers={"Authorization": f"Bearer {token}"}).get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body


def test_given_a_token_when_asking_for_a_link_then_its_impact_comes_with_a_sentence(token):
    link = Link.objects.filter(functional_metric__code="claim_payment_days").first()
    response = Client(headers={"Authorization": f"Bearer {token}"}).get(
        f"/api/v1/analytics/links/{link.pk}/impact"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["link_id"] == link.pk
    assert body["sentence"]["zh"] and body["sentence"]["en"]
    assert body["result"]["verdict"] in {"significant", "not_significant", "too_few"}


def test_given_a_token_when_asking_for_an_unknown_metric_then_400(token):
    response = Client(headers={"Authorization": f"Bearer {token}"}).get(
        "/api/v1/analytics/impact?functional=nope&business=claim_satisfaction_score"
    )
    assert response.status_code in {400, 422}
    assert response.json()["field"] == "functional"
