"""The indicator engine in a real browser: the metric library, a template's months, a run and a scorecard whose
number is explained down to the policies behind it.

A performance administrator logs in, opens 指标管理 from the navigation, reads the library, opens the agent
template (which version applies in which month), goes to the calculation runs, opens March's run and the
agent's scorecard, and asks 说明 on the premium line: the explanation lists the two March policies that were
counted. Screenshots go to test-artifacts/ and the scorecard's to docs/screenshots/scorecard-explain.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from perflink.core.context import tenant_context
from perflink.metrics.models import Template
from tests.browser.conftest import DOCS_SHOTS, shot
from tests.factories import PASSWORD, make_scores, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_score_is_explained_down_to_its_policies_in_chromium(live_server: Any, page: Any) -> None:
    world = make_world("gamma")
    run = make_scores(world)
    with tenant_context(world.tenant):
        template = Template.objects.get(code="life_agent")
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("#id_username", world.users["performance_admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")

    # The library, from the navigation.
    page.click('[data-nav="metrics"]')
    page.wait_for_url(f"{base}/metrics/")
    assert page.locator("h1").inner_text() == "指标库"
    body = page.locator("main").inner_text()
    assert "新单保费" in body and "new_business_premium" in body
    shot(page, "20-metric-library.png", full_page=True)

    # The agent template: 开门红 months use the seasonal version.
    page.goto(f"{base}/metrics/templates/{template.pk}/")
    assert "开门红" in page.locator("main").inner_text()
    shot(page, "21-template-detail.png", full_page=True)

    # Runs, then March's run.
    page.click('[data-nav="scores"]')
    page.wait_for_url(f"{base}/metrics/runs/")
    assert "2026-03" in page.locator("main").inner_text()
    page.goto(f"{base}/metrics/runs/{run.pk}/")
    assert "2026-03" in page.locator("h1").inner_text()
    shot(page, "22-run-detail.png", full_page=True)

    # The agent's scorecard, and the explanation of the premium line (loaded by htmx under the line).
    page.goto(f"{base}/metrics/runs/{run.pk}/employees/{world.agent.pk}/")
    assert "李四" in page.locator("h1").inner_text()
    page.click('[data-explain="new_business_premium"]')
    explanation = page.locator("text=P-gamma-0").first
    explanation.wait_for()
    text = page.locator("main").inner_text()
    assert "P-gamma-0" in text and "P-gamma-1" in text
    assert "P-gamma-2" not in text  # February's policy was not counted in March
    shot(page, "23-scorecard-explain.png", full_page=True)
    shot(page, "scorecard-explain.png", folder=DOCS_SHOTS, full_page=True)
