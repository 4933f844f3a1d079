"""The web shell in a real browser: the system Chromium driven by Playwright against a live server.

Logs in through the form, checks the Chinese home page, expands the org tree (htmx), opens a unit
panel, searches employees live, switches to English. Screenshots go to test-artifacts/.

`PERFLINK_DOCS_SCREENSHOTS=1` also refreshes the README screenshots in docs/screenshots/.
No browser is ever downloaded: without /usr/bin/chromium the tests are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.realistic import PASSWORD, Insurer, build_insurer

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run beside it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS_SHOTS = ROOT / "docs" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no system Chromium at /usr/bin/chromium (browsers are never downloaded)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        pytest.skip("playwright is not installed")
    try:
        pw = sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 - any start-up failure means "cannot run here"
        pytest.skip(f"playwright cannot start: {exc}")
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        pytest.skip(f"playwright cannot start {CHROMIUM}: {exc}")
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _shot(page: Any, name: str, *, folder: Path = ARTIFACTS, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=full_page)


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
    _shot(page, "01-login.png")
    _login(page, base, "admin@browser")
    assert page.locator("h1").inner_text().startswith("欢迎")
    assert page.locator('[data-nav="org"]').inner_text() == "组织架构"
    assert page.locator('[data-kpi="employees"]').inner_text() != "0"
    _shot(page, "02-home.png", full_page=True)

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
    _shot(page, "03-org-tree.png")

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
    _shot(page, "04-employee-search.png")

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
    _shot(page, "05-english.png")


@pytest.mark.skipif(not os.environ.get("PERFLINK_DOCS_SCREENSHOTS"), reason="set PERFLINK_DOCS_SCREENSHOTS=1")
def test_refresh_the_readme_screenshots(live_server: Any, page: Any) -> None:
    ins: Insurer = build_insurer("docs")
    base = live_server.url
    page.goto(f"{base}/login/")
    _shot(page, "login.png", folder=DOCS_SHOTS)
    _login(page, base, "admin@docs")
    _shot(page, "home.png", folder=DOCS_SHOTS)
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
    _shot(page, "org-tree.png", folder=DOCS_SHOTS)
    page.goto(f"{base}/employees/?sort=-hire_date")
    _shot(page, "employees.png", folder=DOCS_SHOTS)
