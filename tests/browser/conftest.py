"""Real Chromium through Playwright for the browser tests (marker `browser`).

Without Chromium the tests are skipped, unless REQUIRE_BROWSER=1 (CI), where that fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal

import pytest

from leads.rollups import rollup_rebuild
from tests.reports.builders import World, make_traffic, make_world

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# next to it are ordinary blocking calls, which Django would otherwise refuse.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no `chromium` on PATH: install it (apt-get install chromium).")
        pytest.skip("No `chromium` on PATH: browser tests skipped (set REQUIRE_BROWSER=1 to fail instead).")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def min_payout() -> Decimal:
    """The organization's minimum payout in `publisher_world` (a module overrides it to show another)."""
    return Decimal("10.00")


@pytest.fixture
def publisher_world(settings, min_payout: Decimal) -> World:
    """Acme Games with its publishers Alpha Media ("alpha") and Beta Ads, traffic and reports built."""
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_world(min_payout=min_payout)
    make_traffic(world)
    rollup_rebuild()
    return world
