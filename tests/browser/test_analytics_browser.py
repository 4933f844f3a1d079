"""The analytics pages in a real browser: a small demo insurer (600 staff, 15 calculated months), the executive
dashboard and a confirmed link's page. Both charts must draw (a canvas inside each chart) with no JavaScript or
console error; screenshots go to test-artifacts/80-analytics-overview.png and 81-analytics-link.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from perflink.core.context import SYSTEM, tenant_context
from perflink.demo.actions import DEMO_PASSWORD, do_load_demo
from perflink.demo.generate import DemoConfig
from perflink.incentives.models import Link
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = DemoConfig(employees=600, months=15, seed=11)


def test_the_executive_dashboard_and_a_link_page_draw_their_charts_in_chromium(
    live_server: Any, page: Any
) -> None:
    load = do_load_demo(slug="anui", name="联动示范保险", config=DEMO, calculate_months=DEMO.months)
    with tenant_context(load.tenant, SYSTEM):
        link = Link.objects.filter(status="confirmed").order_by("pk").first()
    assert link is not None
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("#id_username", "perf@anui")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")

    # The dashboard from the navigation: the shell first, then the panel through htmx.
    page.click('[data-nav="analytics"]')
    page.wait_for_url(f"{base}/analytics/")
    page.locator("#overview-panel[data-loaded]").wait_for()
    for name in ("exec-trend", "link-graph", "unit-scores"):
        page.locator(f'[data-chart="{name}"] canvas').first.wait_for()
    assert page.locator("[data-kpi]").count() == 4
    page.wait_for_timeout(500)  # the charts' entry animation
    shot(page, "80-analytics-overview.png", full_page=True)

    # The table behind a chart is one click away.
    page.locator("#trend-card details.chart-table summary").click()
    assert page.locator("#trend-table tbody tr").count() == DEMO.months

    # A confirmed link: the scatter with the fitted effect, and the verdict.
    page.goto(f"{base}/analytics/links/{link.pk}/")
    page.locator('[data-chart="impact-scatter"] canvas').first.wait_for()
    verdict = page.locator("[data-verdict]").first.get_attribute("data-verdict")
    assert verdict in {"significant", "not_significant", "too_few"}
    page.wait_for_timeout(500)
    shot(page, "81-analytics-link.png", full_page=True)

    # The analyst's own pair: claim payment days on claimant satisfaction, a finding with its interval.
    page.goto(f"{base}/analytics/impact/")
    page.locator('[data-chart="impact-scatter"] canvas').first.wait_for()
    page.wait_for_timeout(500)
    shot(page, "82-analytics-impact.png", full_page=True)

    assert not console_errors, console_errors
