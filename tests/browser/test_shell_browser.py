"""The web shell in a real browser: the system Chromium driven by Playwright against a live server.

Logs in through the form, checks the Chinese home page, expands the org tree (htmx), opens a unit
panel, searches employees live, switches to English. Screenshots go to test-artifacts/.

`PERFLINK_DOCS_SCREENSHOTS=1` also refreshes the README screenshots in docs/screenshots/.
No browser is ever downloaded: without /usr/bin/chromium the tests are skipped."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser.conftest import DOCS_SHOTS, shot
from tests.browser.realistic import PASSWORD, Insurer, build_insurer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _node(page: Any, name: str) -> Any:
    """The tree row of the unit called `name`."""
    return page.locator(".tree-row", has=page.locator(".tree-name", has_text=name)).first


def test_the_shell_end_to_end_in_chromium(live_server: Any, page: Any) -> None:
    ins: Insurer = build_insurer("browser", agents_per_team=3)
    base = live_server.url

    # Log in through the form; the home page is in Chinese.
    page.goto(f"{base}/login/")
    assert "联动绩效" in page.title()
    shot(page, "01-login.png")
    _login(page, base, "admin@browser")
    assert page.locator("h1").inner_text().startswith("欢迎")
    assert page.locator('[data-nav="org"]').inner_text() == "组织架构"
    assert page.locator('[data-kpi="employees"]').inner_text() != "0"
    shot(page, "02-home.png", full_page=True)

    # The org tree: the head office is open; a branch expands lazily through htmx.
    page.click('[data-nav="org"]')
    page.wait_for_url(f"{base}/org/")
    branch = ins.units["BJ"]
    toggle = _node(page, "北京分公司").locator(".tree-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    with page.expect_response(lambda r: f"parent={branch.id}" in r.url):
        toggle.click()
    children = page.locator(f"#children-{branch.id}")
    children.locator(".tree-name", has_text="个险销售部").wait_for()
    assert children.get_attribute("data-loaded") == "true"
    assert toggle.get_attribute("aria-expanded") == "true"

    # Selecting a unit loads its panel (htmx) with its place in the tree, people and history.
    with page.expect_response(lambda r: f"/org/units/{ins.units['BJ-CLM'].id}/" in r.url):
        children.locator(".tree-node", has_text="理赔部").click()
    panel = page.locator("#unit-panel")
    panel.locator("h2", has_text="理赔部").wait_for()
    assert "北京分公司" in panel.locator(".breadcrumbs").inner_text()
    assert "机构沿革" in panel.inner_text()
    shot(page, "03-org-tree.png")

    # Collapse again without a request.
    toggle.click()
    assert children.is_hidden()

    # Employees: live search narrows the table as one types.
    page.click('[data-nav="employees"]')
    page.wait_for_url(f"{base}/employees/")
    wanted = next(e for e in ins.employees if e.employment_type == "agent" and e.status == "active")
    total = int(page.locator(".result-count").get_attribute("data-count"))
    with page.expect_response(lambda r: "q=" in r.url):
        page.locator("#id_q").press_sequentially(wanted.employee_no, delay=30)
    page.locator("#employee-table td.mono", has_text=wanted.employee_no).wait_for()
    page.wait_for_function("document.querySelector('.result-count').dataset.count === '1'")
    assert int(page.locator(".result-count").get_attribute("data-count")) < total
    assert f"q={wanted.employee_no}" in page.url
    shot(page, "04-employee-search.png")

    # Sorting by name through the column header keeps the page and flips the arrow.
    page.locator("#id_q").fill("")
    page.locator("#id_q").press("Backspace")
    page.wait_for_function(f"document.querySelector('.result-count').dataset.count === '{total}'")
    with page.expect_response(lambda r: "sort=name" in r.url):
        page.locator("th a.sort-link", has_text="姓名").click()
    page.locator("th a.sort-link.asc", has_text="姓名").wait_for()

    # Switch the language to English: labels change.
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("h1").inner_text() == "Employees"
    assert page.locator('[data-nav="org"]').inner_text() == "Organisation"
    assert page.locator("th", has_text="Employee no.").count() == 1
    assert "sort=name" in page.url  # the switch comes back to the list as htmx left it
    page.locator("th a.sort-link.asc", has_text="Name").wait_for()
    shot(page, "05-english.png")


@pytest.mark.skipif(not os.environ.get("PERFLINK_DOCS_SCREENSHOTS"), reason="set PERFLINK_DOCS_SCREENSHOTS=1")
def test_refresh_the_readme_screenshots(live_server: Any, page: Any) -> None:
    ins: Insurer = build_insurer("docs")
    base = live_server.url
    page.goto(f"{base}/login/")
    shot(page, "login.png", folder=DOCS_SHOTS)
    _login(page, base, "admin@docs")
    shot(page, "home.png", folder=DOCS_SHOTS)
    page.goto(f"{base}/org/?unit={ins.units['BJ'].id}")
    toggle = _node(page, "北京分公司").locator(".tree-toggle")
    with page.expect_response(lambda r: "parent=" in r.url):
        toggle.click()
    sales = _node(page, "个险销售部").locator(".tree-toggle")
    sales.wait_for()
    with page.expect_response(lambda r: "parent=" in r.url):
        sales.click()
    page.locator(".tree-name", has_text="营销一部").first.wait_for()
    page.mouse.move(0, 0)
    shot(page, "org-tree.png", folder=DOCS_SHOTS)
    page.goto(f"{base}/employees/?sort=-hire_date")
    shot(page, "employees.png", folder=DOCS_SHOTS)


def test_on_a_phone_the_menu_folds_behind_its_button(live_server: Any, page: Any) -> None:
    build_insurer("phone", agents_per_team=1)
    base = live_server.url
    _login(page, base, "admin@phone")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    toggle = page.locator(".nav-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator('[data-nav="org"]').is_visible()
    # The content starts within the first screen, not below the whole menu.
    assert page.locator("h1").bounding_box()["y"] < 300
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator('[data-nav="org"]').click()
    page.wait_for_url(f"{base}/org/")
    shot(page, "05-phone-menu.png")
    # On a wide screen the button is not there and the menu is.
    page.set_viewport_size({"width": 1440, "height": 900})
    assert not page.locator(".nav-toggle").is_visible() and page.locator('[data-nav="org"]').is_visible()
