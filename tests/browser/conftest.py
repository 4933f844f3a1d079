"""Shared set-up for the browser tests: the system Chromium driven by Playwright, never a download.

Without /usr/bin/chromium the browser tests are skipped with the reason, so `make test` passes on a
bare machine. CI sets PERFLINK_REQUIRE_BROWSER=1 once it has installed Chromium: then a browser that
cannot start fails the run instead of skipping quietly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def _cannot_run(reason: str) -> None:
    if os.environ.get("PERFLINK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here (PERFLINK_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _cannot_run("there is no system Chromium at /usr/bin/chromium (browsers are never downloaded)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        _cannot_run("playwright is not installed")
    try:
        pw = sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 - any start-up failure means "cannot run here"
        _cannot_run(f"playwright cannot start: {exc}")
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        _cannot_run(f"playwright cannot start {CHROMIUM}: {exc}")
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab (Chinese locale, downloads allowed) that fails the test on JavaScript errors."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str, *, folder: Path = ARTIFACTS, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(folder / name), full_page=full_page)
