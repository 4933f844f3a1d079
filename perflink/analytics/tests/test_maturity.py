"""Unfinished months never read as findings: a tenant whose newest months are immature (agents arrived days before
the data date) gets them left out of analytics by default, named on the page, and counted only as provisional
(暂估) on request. See `unfinished` for the data and the hand-worked figures."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_token
from perflink.analytics import dashboards, data, selectors, stats
from perflink.analytics.api import ANALYTICS_ACTION
from perflink.analytics.tests.unfinished import IMMATURE, MATURE, MONTHS, build
from perflink.analytics.views import PROGRAMME_KPIS, charts
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import World

ATTAINMENT = "new_agent_attainment_3m"


@pytest.fixture
def unfinished(world: World) -> World:
    build(world)
    return world


def _admin(world: World) -> Client:
    client = Client()
    client.force_login(world.users["performance_admin"])
    return client


def test_given_unfinished_months_when_reading_metric_values_then_they_are_left_out_unless_asked(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        default = data.metric_values([ATTAINMENT])
        every = data.metric_values([ATTAINMENT], immature=True)
        assert data.immature_months([ATTAINMENT, "internal_support_satisfaction"]) == {
            ATTAINMENT: list(IMMATURE),
            "internal_support_satisfaction": [],
        }
    assert {data.period_label(p) for p in default["period"].unique()} == set(MATURE)
    assert not default["provisional"].any()
    flagged = every.filter(every["provisional"])
    assert {data.period_label(p) for p in flagged["period"].unique()} == set(IMMATURE)
    assert every.height > default.height


def test_given_a_range_over_unfinished_months_when_comparing_then_they_are_left_out_and_named(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        change = selectors.kpi_change(ATTAINMENT, ("2026-05", "2026-06"), ("2026-07", "2026-10"))
    # Before: teams' May/Jun means 50, 66.67, 83.33, 33.33, 83.33 (mean 63.33); after: July alone, 66.67 for
    # four teams and 100 for the fifth (mean 73.33): a rise of 10 points, not significant.
    assert change.immature == IMMATURE and change.provisional is False
    assert change.result.mean_before == pytest.approx(63.3333, abs=1e-3)
    assert change.result.mean_after == pytest.approx(73.3333, abs=1e-3)
    assert change.result.change == pytest.approx(10.0, abs=1e-3)
    assert change.result.n_units == 5


def test_given_the_provisional_switch_when_comparing_then_unfinished_months_count_and_say_so(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        change = selectors.kpi_change(
            ATTAINMENT, ("2026-05", "2026-06"), ("2026-07", "2026-10"), provisional=True
        )
    # After = mean of July and the unfinished Aug (66.67), Sep (33.33) and Oct (0): 41.67 for four teams, 50 for
    # the fifth (mean 43.33): the "fall" of 20 points is the unfinished months' artefact.
    assert change.provisional is True and change.immature == IMMATURE
    assert change.result.mean_after == pytest.approx(43.3333, abs=1e-3)
    assert change.result.change == pytest.approx(-20.0, abs=1e-3)


def test_given_unfinished_months_then_the_default_ranges_end_at_the_last_matured_month(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        assert selectors.last_mature_month(list(PROGRAMME_KPIS)) == "2026-07"
        assert selectors.last_mature_month(["internal_support_satisfaction"]) == MONTHS[-1]
    body = _admin(unfinished).get("/analytics/before-after/").content.decode()
    assert 'name="before_from" id="id_before_from" value="2026-05"' in body
    assert 'name="after_to" id="id_after_to" value="2026-07"' in body
    assert 'id="ba-maturity"' in body and 'data-provisional="0"' in body
    assert "2026-08、2026-09、2026-10" in body  # the page names the months it left out
    assert "data-provisional title" not in body  # no row is marked provisional


def test_given_the_switch_on_the_page_then_rows_over_unfinished_months_are_marked_provisional(unfinished):
    query = {
        "before_from": "2026-05",
        "before_to": "2026-06",
        "after_from": "2026-07",
        "after_to": "2026-10",
    }
    client = _admin(unfinished)
    left_out = client.get("/analytics/before-after/", query).content.decode()
    row = left_out.split(f'data-metric="{ATTAINMENT}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" data-field="change">10.00</td>' in row and "data-provisional" not in row
    counted = client.get("/analytics/before-after/", {**query, "provisional": "1"}).content.decode()
    row = counted.split(f'data-metric="{ATTAINMENT}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" data-field="change">-20.00</td>' in row and "data-provisional" in row
    assert 'data-provisional="1"' in counted and 'id="id_provisional" checked' in counted


def test_given_the_api_then_unfinished_months_are_left_out_unless_provisional_is_asked(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        _, secret = do_create_token(name="bi", permissions=[ANALYTICS_ACTION], created_by=None, actor=SYSTEM)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    path = (
        f"/api/v1/analytics/before-after?metric={ATTAINMENT}&before_from=2026-05&before_to=2026-06"
        "&after_from=2026-07&after_to=2026-10"
    )
    default = client.get(path).json()
    assert default["immature"] == list(IMMATURE) and default["provisional"] is False
    assert default["result"]["change"] == pytest.approx(10.0, abs=1e-3)
    counted = client.get(path + "&provisional=true").json()
    assert counted["provisional"] is True
    assert counted["result"]["change"] == pytest.approx(-20.0, abs=1e-3)


def test_given_unfinished_retention_then_the_overview_trend_leaves_it_out(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        trend = dashboards.trend()
    retention = dict(zip(trend.periods, trend.retention, strict=True))
    assert all(retention[m] == 100.0 for m in MATURE)  # nobody left within 90 days
    assert all(retention[m] is None for m in IMMATURE)


def test_bar_charts_start_their_value_axis_at_zero():
    chart = charts.before_after_chart("达成率", 48.6, 51.2)
    assert chart["yAxis"]["min"] == 0 and chart["yAxis"]["scale"] is False
    falling = charts.bars_chart(["a", "b"], [-3.0, 2.0], "change")
    assert "min" not in falling["yAxis"] and falling["yAxis"]["scale"] is False  # 0 stays inside the axis


def test_given_agents_in_open_windows_then_the_cohorts_page_counts_them_as_waiting_not_as_failures(
    unfinished,
):
    # The policy data end on 18 October (the last policy of a September arrival); agents who arrived after
    # 20 July have not had their 90 days: 5 of July's (the 28th) and all 45 of August to October.
    with tenant_context(unfinished.tenant, SYSTEM):
        assert data.hires_in_open_windows() == 50
        assert data.new_agent_frame()["arrived_on"].max().isoformat() == "2026-07-17"
    body = _admin(unfinished).get("/analytics/cohorts/").content.decode()
    assert 'id="cohort-waiting"' in body and "50" in body.split('id="cohort-waiting"', 1)[1][:200]


def test_given_unfinished_months_then_the_impact_page_and_api_name_the_months_left_out(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        impact = selectors.pair_impact("time_to_fill_days", ATTAINMENT)
    assert impact.immature == IMMATURE
    body = _admin(unfinished).get(f"/analytics/impact/?functional=time_to_fill_days&business={ATTAINMENT}")
    note = body.content.decode().split('id="impact-maturity"', 1)[1][:400]
    assert "2026-08、2026-09、2026-10" in note


def test_given_the_switch_then_the_impact_counts_the_unfinished_months_as_provisional(unfinished):
    with tenant_context(unfinished.tenant, SYSTEM):
        default = selectors.pair_impact("time_to_fill_days", ATTAINMENT)
        counted = selectors.pair_impact("time_to_fill_days", ATTAINMENT, provisional=True)
    assert default.provisional is False and default.periods[1] == "2026-10"  # time-to-fill runs to October
    assert counted.provisional is True
    # Only the group carries both metrics (time-to-fill belongs to the recruiting HR unit, attainment to the
    # requesting teams; both roll up to the group). Lags up to 3 need 3 earlier months: the finished May-July give
    # no usable unit-month, the switch adds August to October (3), each still too few to claim anything.
    assert (default.result.n_obs, counted.result.n_obs) == (0, 3)
    assert default.result.verdict is counted.result.verdict is stats.Verdict.TOO_FEW
    body = (
        _admin(unfinished)
        .get(f"/analytics/impact/?functional=time_to_fill_days&business={ATTAINMENT}&provisional=1")
        .content.decode()
    )
    assert 'data-provisional="1"' in body and 'id="id_provisional" checked' in body


def test_given_unfinished_retention_then_the_overview_says_which_months_it_left_out(unfinished):
    body = _admin(unfinished).get("/analytics/", HTTP_HX_REQUEST="true").content.decode()
    note = body.split('id="overview-maturity"', 1)[1][:400]
    assert "2026-08、2026-09、2026-10" in note

    def retention(month: str) -> str:  # the trend table's columns: attainment, support, retention, bonus
        row = body.split(f'<tr data-period="{month}">', 1)[1].split("</tr>", 1)[0]
        return re.findall(r'<td class="num">(.*?)</td>', row)[2]

    assert retention("2026-07") == "100.0"
    assert retention("2026-09") == "—"  # not 100: exits within the 90 days may still come
