"""A first visit in a real browser: the home page, its icon, and a styled page for a wrong address."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_home_page_leads_to_the_admin_portal_and_api_docs_at_any_width(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/")

    for name in ("Admin", "Publisher portal", "API docs", "Health check"):
        assert page.locator("#home-links").get_by_text(name, exact=True).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing off the side

    page.locator("#home-links").get_by_text("Publisher portal", exact=True).click()
    assert page.locator("#id_username").is_visible()  # the portal's sign-in


def test_the_browser_finds_the_favicon(page):
    page.goto("/")

    answer = page.request.get("/favicon.ico")

    assert answer.ok and answer.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")


def test_a_wrong_address_shows_a_styled_page_with_a_way_back(page):
    page.goto("/nowhere")

    assert page.locator("#error-page h1").inner_text().startswith("Page not found")
    page.get_by_role("link", name="Home").click()
    assert page.locator("h1").inner_text() == "Partnerdesk"
