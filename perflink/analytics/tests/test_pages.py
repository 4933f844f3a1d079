"""The analytics pages: who may open them, another tenant's link, the verdict and numbers the impact page shows
(compared with the selector's own result), and the empty state of a tenant without calculated months."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from django.test import Client

from perflink.analytics import data, selectors, stats
from perflink.analytics.views import num
from perflink.core.context import SYSTEM, tenant_context
from perflink.metrics.actions import do_install_library
from tests.factories import World, make_link, make_scores

HX = {"HTTP_HX_REQUEST": "true"}
PAGES = [
    "/analytics/",
    "/analytics/impact/",
    "/analytics/impact/?functional=time_to_fill_days&business=new_agent_attainment_3m",
    "/analytics/claims/",
    "/analytics/cohorts/",
    "/analytics/cohorts/?by=channel",
    "/analytics/before-after/",
    "/analytics/before-after/?before_from=2026-01&before_to=2026-02&after_from=2026-03&after_to=2026-03"
    "&metric=new_business_premium",
    "/analytics/suggestions/",
]
PAIR = ("claim_payment_days", "claim_satisfaction_score")


def _as(world: World, role: str) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


@pytest.fixture
def scored(world: World) -> World:
    make_scores(world)
    return world


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_given_a_performance_admin_when_opening_a_page_then_200(scored, path, headers):
    response = _as(scored, "performance_admin").get(path, **headers)
    assert response.status_code == 200, response.content[:500]
    if not headers:
        assert b'id="analytics-tabs"' in response.content


@pytest.mark.parametrize("path", [*PAGES, "/analytics/links/1/"])
def test_given_an_employee_when_opening_a_page_then_403(scored, path):
    assert _as(scored, "employee").get(path).status_code == 403


def test_given_a_link_when_opening_its_page_then_200_with_a_verdict(scored):
    link = make_link(scored)
    response = _as(scored, "performance_admin").get(f"/analytics/links/{link.pk}/")
    assert response.status_code == 200
    assert b'data-verdict="too_few"' in response.content  # one calculated month: no number is claimed
    assert b'id="estimate"' not in response.content


def test_given_another_tenants_link_when_opening_its_page_then_404(scored, other_world):
    with tenant_context(other_world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2027), actor=SYSTEM)
    link = make_link(other_world)
    assert _as(scored, "performance_admin").get(f"/analytics/links/{link.pk}/").status_code == 404


def test_given_a_tenant_without_calculated_months_when_opening_the_pages_then_the_empty_state(world):
    client = _as(world, "performance_admin")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200
        assert b'data-empty="no_runs"' in response.content, path
        assert b"data-chart=" not in response.content


def test_given_the_heavy_pages_when_opened_then_the_shell_loads_its_panel_through_htmx(scored):
    client = _as(scored, "performance_admin")
    for path, panel in [
        ("/analytics/", b'id="overview-panel" data-loaded'),
        ("/analytics/claims/", b'id="claims-panel" data-loaded'),
        ("/analytics/suggestions/", b'id="suggestions-panel" data-loaded'),
    ]:
        shell = client.get(path)
        assert b"data-loading" in shell.content and panel not in shell.content
        fragment = client.get(path, **HX)
        assert panel in fragment.content and b"<html" not in fragment.content


# --- the impact page against the selector, on a planted panel ---------------------------------------------


@pytest.fixture
def planted(scored: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """Eight units over 24 months where each day less of payment time raises satisfaction by 0.3 points: the
    metric values are served from memory (the page and the selector read the same frame)."""
    rng = np.random.default_rng(3)
    units, months = np.arange(9001, 9009), np.arange(24)
    u, t = (a.ravel() for a in np.meshgrid(units, months, indexing="ij"))
    x = rng.uniform(0.5, 3.0, u.size)
    y = 4.5 - 0.3 * x + (u - 9004) * 0.05 + rng.normal(0, 0.08, u.size)
    period = data.month_number(2024, 11) + t
    frame = pl.concat(
        [
            pl.DataFrame({"metric": code, "unit_id": u, "period": period, "value": v})
            for code, v in ((PAIR[0], x), (PAIR[1], y))
        ]
    ).with_columns(pl.col("unit_id").cast(pl.Int64), pl.col("period").cast(pl.Int64))

    def values(codes: Any = None, periods: Any = None) -> pl.DataFrame:
        return frame if codes is None else frame.filter(pl.col("metric").is_in(list(codes)))

    monkeypatch.setattr(data, "metric_values", values)
    monkeypatch.setattr(data, "unit_paths", lambda: {int(i): f"/{int(i)}/" for i in units})
    return scored


def test_given_a_planted_effect_when_opening_the_impact_page_then_it_shows_the_selectors_verdict_and_numbers(
    planted,
):
    with tenant_context(planted.tenant, SYSTEM):
        impact = selectors.pair_impact(*PAIR)
    assert impact.result.verdict is stats.Verdict.SIGNIFICANT
    est = impact.result.estimate
    response = _as(planted, "performance_admin").get(
        f"/analytics/impact/?functional={PAIR[0]}&business={PAIR[1]}"
    )
    body = response.content.decode()
    assert 'data-verdict="significant"' in body
    assert f'data-coef="{num(est.coef, 4)}"' in body
    assert f'data-ci-low="{num(est.ci_low, 4)}"' in body and f'data-ci-high="{num(est.ci_high, 4)}"' in body
    assert f'<dd data-field="n_obs">{impact.result.n_obs}</dd>' in body
    assert f'<dd data-field="n_units">{impact.result.n_units}</dd>' in body
    assert impact.sentence.zh in body  # the page speaks Chinese by default
    assert 'data-chart="impact-scatter"' in body and 'id="fitted-table"' in body


def test_given_no_effect_when_opening_the_impact_page_then_no_number_is_shown_as_a_finding(
    planted, monkeypatch
):
    rng = np.random.default_rng(5)
    frame = data.metric_values()
    noise = frame.with_columns(
        pl.when(pl.col("metric") == PAIR[1])
        .then(pl.Series(rng.normal(4.0, 0.1, frame.height)))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    monkeypatch.setattr(data, "metric_values", lambda codes=None, periods=None: noise)
    body = _as(planted, "performance_admin").get("/analytics/impact/").content.decode()
    assert 'data-verdict="not_significant"' in body
    assert 'id="estimate"' not in body and 'id="fitted-table"' not in body


def test_given_a_unit_head_when_opening_suggestions_then_a_propose_button_leads_to_the_link_flow(planted):
    body = _as(planted, "unit_head").get("/analytics/suggestions/", **HX).content.decode()
    assert "data-propose" in body and "/links/new/?functional_metric=claim_payment_days" in body
    auditor = _as(planted, "auditor").get("/analytics/suggestions/", **HX).content.decode()
    assert "data-propose" not in auditor


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"before_from": "2026-13"}, "before_from"),
        ({"after_to": "March"}, "after_to"),
        ({"before_from": "2026-05", "before_to": "2026-02"}, "before_from"),
    ],
)
def test_a_bad_month_on_before_after_is_a_400_naming_the_field(scored, query, field):
    response = _as(scored, "performance_admin").get("/analytics/before-after/", query)
    assert response.status_code == 400
    assert 'id="ba-error"' in response.content.decode()
    with tenant_context(scored.tenant, SYSTEM), pytest.raises(selectors.ValidationFailed) as refused:
        selectors.kpi_change(
            "claim_payment_days",
            (query.get("before_from", "2026-01"), query.get("before_to", "2026-02")),
            (query.get("after_from", "2026-03"), query.get("after_to", "2026-04")),
        )
    assert refused.value.field == field


def test_an_unknown_metric_on_the_impact_page_is_a_400(scored):
    response = _as(scored, "performance_admin").get("/analytics/impact/", {"functional": "nope"})
    assert response.status_code == 400 and 'id="impact-error"' in response.content.decode()
