"""The dashboard's browser fixtures: Debian's Chromium driven by Playwright, a real server
(`ordergate.testing.served`) per test, and the directory screenshots are kept in.

Chromium is the system's (`/usr/bin/chromium`, Debian's `chromium` package), never a
browser Playwright downloads. Without it the browser tests are skipped on a developer's
machine, with the reason; under CI (`CI` set) a missing browser fails them instead, so
CI can never pass by skipping them."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright


CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module, not session: Playwright's sync API keeps an event loop running in this
    # thread while it lives, and every later test calling `asyncio.run` would fail.
    if not CHROMIUM.exists():
        why = (f"{CHROMIUM} is missing: install Debian's chromium package "
               "(apt-get install chromium) to run the dashboard's browser tests")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {why}")
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage) of a desktop-sized window; a script error on
    the page fails the test that saw it."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(10_000)
    try:
        yield tab
        assert not errors, f"script errors on the page: {errors}"
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept: $ORDERGATE_ARTIFACTS, or tests-artifacts/ (gitignored)."""
    directory = Path(os.environ.get("ORDERGATE_ARTIFACTS") or REPO / "tests-artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
