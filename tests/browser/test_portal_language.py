"""A publisher switches the portal to Spanish with the header's switcher, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.reports.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def min_payout() -> Decimal:
    # Large enough for a thousands separator, which Spanish writes differently.
    return Decimal("1234.50")


@pytest.fixture
def english_browser(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_publisher_switches_the_portal_to_spanish_from_the_header(english_browser, publisher_world):
    from playwright.sync_api import expect

    page = english_browser
    page.goto("/portal/login/")
    page.get_by_label("Username").fill("alpha")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.locator(".pd-account summary").click()
    switcher = page.locator(".pd-account [data-language-switcher]")
    switcher.get_by_label("Language").select_option("es")
    switcher.get_by_role("button", name="Change language").click()

    expect(page.get_by_role("heading", name="Panel")).to_be_visible()
    expect(page.locator(".pd-tabs")).to_contain_text("Registro de conversiones")
    page.get_by_role("link", name="Pagos").click()
    expect(page.get_by_role("heading", name="Pagos", exact=True)).to_be_visible()
    expect(page.get_by_text("El pago mínimo es 1.234,50\xa0US$.")).to_be_visible()
