"""What-if in a real browser: the quick controls rewrite the plan's JSON, Run swaps the results in with htmx, and
web/charts.js draws every chart (ECharts, vendored) with its PNG export and the table behind it.

A performance administrator opens the HR plan's what-if page, changes a band's factor with a quick control (the
JSON follows), lets people without a score keep 100% of the scorecard part by editing the JSON, runs March and
finds the one HR employee among those who gain, with the charts drawn. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from perflink.core.context import tenant_context
from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_bonus_runs, make_scores, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_changed_plan_is_tried_and_charted_in_chromium(live_server: Any, page: Any) -> None:
    world = make_world("whatif")
    make_scores(world)
    runs = make_bonus_runs(world)
    with tenant_context(world.tenant):
        plan = runs["draft"].plan_version.plan
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("#id_username", world.users["performance_admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/links/bonus/plans/{plan.pk}/what-if/")
    assert plan.name in page.locator("h1").inner_text()

    # A quick control writes its value into the JSON.
    band = "#q-multipliers-0-then-bands-0-factor"
    page.fill(band, "1.30")
    page.dispatch_event(band, "change")
    page.wait_for_function("document.querySelector('#id_definition').value.includes('\"1.30\"')")

    # A hand edit of the JSON: people without a score keep the whole scorecard part.
    definition = json.loads(page.input_value("#id_definition"))
    definition["components"][0]["missing"] = {"factor": "1"}
    page.fill("#id_definition", json.dumps(definition, ensure_ascii=False, indent=2))
    page.fill("#id_start", "2026-03")
    page.fill("#id_end", "2026-03")
    page.click("#whatif-run")
    page.wait_for_selector("#whatif-cards")
    page.wait_for_function("document.querySelectorAll('#whatif-results [data-chart] canvas').length === 3")

    assert world.staff.name in page.locator("#whatif-gainers").inner_text()
    assert page.locator("#whatif-losers").inner_text().count(world.staff.name) == 0
    # Each chart: drawn by ECharts with the PNG export, and followed by the table of its data.
    exports = page.evaluate(
        """() => Array.from(document.querySelectorAll('#whatif-results [data-chart]')).map(el => {
            const chart = window.PerflinkCharts.get(el);
            return chart ? chart.getOption().toolbox[0].feature.saveAsImage.type : null;
        })"""
    )
    assert exports == ["png", "png", "png"]
    page.locator("#whatif-series details summary").click()
    assert "2026-03" in page.locator("#whatif-series-table").inner_text()
    shot(page, "60-what-if.png", full_page=True)

    # Run again: the charts of the swapped-in results are new ones, the old ones disposed.
    page.click("#whatif-run")
    page.wait_for_function("document.querySelectorAll('#whatif-results [data-chart] canvas').length === 3")
    assert page.evaluate("document.querySelectorAll('[data-chart]').length") == 3
