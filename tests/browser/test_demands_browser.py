"""A demand from submission to evaluation in Chromium (issue 6): the sales head raises DOMAIN.md's recruitment
demand through the form, the HR head accepts it with a plan and starts, the HR system's hires arrive (pushed as
records), the page shows 18/20 with its chart and the hires behind it, HR delivers, and the performance
administrator evaluates it by the rule: 20 + 66.67 = 86.67 points. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest

from perflink.collab.models import Demand
from perflink.collab.tests.factories import make_head
from perflink.collab.tests.test_recruitment import ingest_hr_and_policies
from perflink.core.context import SYSTEM, tenant_context
from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_recruitment_demand_walks_from_submission_to_evaluation(live_server: Any, page: Any) -> None:
    world = make_world("demandsb")
    hr_head = make_head(world, world.hr, "hr-head@demandsb")
    base = live_server.url

    # The sales head finds the empty board and raises the demand.
    sign_in(page, base, world.users["unit_head"].username)
    page.click('[data-nav="collab"]')
    page.wait_for_selector("#demands-empty")
    page.click("#empty-raise")
    page.wait_for_selector("#demand-form")
    page.fill("#id_title", "开门红招聘20名代理人")
    page.select_option("#id_serving_unit", str(world.hr.pk))
    page.fill("#id_spec\\.positions", "20")
    page.fill("#id_spec\\.arrival_days", "10")
    page.fill("#id_spec\\.per_hire_target", "100000")
    page.fill("#id_spec\\.requisition", "REQ-2026-001")
    shot(page, "70-demand-raise.png", full_page=True)
    page.click("#raise-button")
    page.wait_for_selector("#demand-status[data-status=submitted]")
    with tenant_context(world.tenant):
        demand = Demand.objects.get()
    assert page.get_attribute("#steps", "data-steps") == "comment request_change withdraw"

    # The HR head accepts with a plan and starts the work.
    sign_in(page, base, hr_head.username)
    page.goto(f"{base}/collab/")
    page.click(f'.demand-card[data-demand="{demand.number}"]')
    page.fill("#id_plan", "内推与校招；岗前培训加入产品知识")
    page.click("#accept-button")
    page.wait_for_selector("#demand-status[data-status=accepted]")
    page.click("#start-button")
    page.wait_for_selector("#demand-status[data-status=in_progress]")

    # The sales head asks for a change; it appears in the thread without a reload.
    sign_in(page, base, world.users["unit_head"].username)
    page.goto(f"{base}/collab/demands/{demand.pk}/")
    page.fill("#id_text", "请在岗前培训中加入产品知识")
    page.check("#id_change_request")
    page.click("#comment-button")
    page.wait_for_selector('#thread-list [data-event="change_request"]')

    # The HR system's hires arrive: progress shows 18 of 20 in time, with the chart and the hires behind it.
    with tenant_context(world.tenant, SYSTEM):
        ingest_hr_and_policies(world)
    sign_in(page, base, hr_head.username)
    page.goto(f"{base}/collab/demands/{demand.pk}/")
    assert page.get_attribute('[data-figure="arrived_in_time"]', "data-value") == "18"
    page.wait_for_function("document.querySelector('[data-chart=\"demand-progress\"] canvas') !== null")
    assert page.locator("#hire-table tbody tr").count() == 20
    shot(page, "71-demand-progress.png", full_page=True)
    page.fill("#id_note", "20人中18人按期到岗")
    page.click("#deliver-button")
    page.wait_for_selector("#demand-status[data-status=delivered]")
    assert "evaluate" not in (page.get_attribute("#steps", "data-steps") or "")

    # The performance administrator evaluates it by the rule: 20 + 66.67 = 86.67, final.
    sign_in(page, base, world.users["performance_admin"].username)
    page.goto(f"{base}/collab/demands/{demand.pk}/")
    page.click("#evaluate-button")
    page.wait_for_selector("#evaluation-total")
    assert page.get_attribute("#evaluation-total", "data-points") == "86.67"
    assert page.get_attribute('[data-component="arrival_rate"]', "data-points") == "20"
    assert page.get_attribute('[data-component="attainment_rate"]', "data-points") == "66.67"
    assert page.get_attribute("#evaluation-state", "data-state") == "final"
    shot(page, "72-demand-evaluated.png", full_page=True)

    page.goto(f"{base}/collab/")
    card = page.locator(f'.demand-card[data-demand="{demand.number}"]')
    assert card.get_attribute("data-status") == "evaluated"
    assert "86.67" in card.inner_text()
    shot(page, "73-demand-board.png")
