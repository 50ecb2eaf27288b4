"""The connect-partner wizard's four steps and every portal tab at 1366 px and on a phone (390 px).

Each page is saved as a full-page screenshot (SCREENSHOT_DIR, else a pytest temporary directory;
`make screenshots` keeps them in screenshots/) and must be usable at that width: the page itself
does not scroll sideways (a wide table scrolls inside its own container), the navigation is
reachable, and the primary buttons lie inside the viewport.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_connect_partner as wizard
from tests.browser import test_portal as portal
from tests.reports.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}

# The worlds the pages show: a manager with an app to connect, a publisher with traffic.
space_farm = wizard.space_farm
alpha = portal.alpha

# Primary buttons: the form's submit and the portal's action buttons, not those of a table row,
# which may scroll with its table.
PRIMARY_BUTTONS = (
    "main .pd-button:visible, main button[type=submit]:visible, #content-main input[type=submit]:visible, "
    "#content-main button[type=submit]:visible"
)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    configured = os.environ.get("SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(params=list(VIEWPORTS))
def screen(request, browser, live_server) -> Iterator[tuple[str, Page]]:
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[request.param])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield request.param, page
    context.close()


def assert_on_screen(box: dict | None, width: int, what: str) -> None:
    assert box is not None and box["width"] > 0, f"{what} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
        f"{what} lies outside the {width} px screen ({box['x']:.0f}+{box['width']:.0f} px)"
    )


def check_usable(page: Page, name: str, size: str, directory: Path) -> None:
    """Save the page's screenshot, then assert it can be used at this width."""
    page.wait_for_load_state("load")
    page.screenshot(path=str(directory / f"{name}-{size}.png"), full_page=True)
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, (
        f"{name} at {size}: the page scrolls sideways ({scroll_width} > {width} px)"
    )
    buttons = page.locator(PRIMARY_BUTTONS)
    for index in range(buttons.count()):
        button = buttons.nth(index)
        if button.locator("xpath=ancestor::*[contains(@class, 'pd-table-wrap')]").count():
            continue
        label = button.inner_text() or button.get_attribute("value")
        assert_on_screen(button.bounding_box(), width, f"{name} at {size}: button {label!r}")


def check_tabs_reachable(page: Page, size: str) -> None:
    width = page.evaluate("window.innerWidth")
    tabs = page.locator(".pd-tabs .pd-tab")
    assert tabs.count() == 6
    for index in range(tabs.count()):
        tab = tabs.nth(index)
        assert_on_screen(tab.bounding_box(), width, f"tab {tab.inner_text()!r} at {size}")


def test_the_wizards_four_steps_are_usable_on_a_desktop_and_a_phone(screen, space_farm, screenshot_dir):
    size, page = screen
    wizard.log_in(page)
    wizard.open_wizard(page)
    expect(page.locator(".breadcrumbs")).to_be_in_viewport()
    check_usable(page, "wizard-1-details", size, screenshot_dir)

    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()
    postback = page.get_by_label("Postback URL")
    postback.fill(wizard.POSTBACK)
    expect(page.locator("#pd-postback-preview")).to_contain_text("https://adnet.example/pb?click=")
    check_usable(page, "wizard-2-postback", size, screenshot_dir)

    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Tracking URL")).to_be_visible()
    check_usable(page, "wizard-3-tracking", size, screenshot_dir)

    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Review and connect")).to_be_visible()
    check_usable(page, "wizard-4-review", size, screenshot_dir)
    page.get_by_role("button", name="Connect").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Connect")).to_be_in_viewport()


def test_every_portal_tab_is_usable_on_a_desktop_and_a_phone(screen, alpha, screenshot_dir):
    size, page = screen
    page.goto("/portal/login/")
    check_usable(page, "portal-0-login", size, screenshot_dir)
    page.get_by_label("Username").fill("alpha")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    check_tabs_reachable(page, size)
    check_usable(page, "portal-1-dashboard", size, screenshot_dir)

    tabs = [
        ("Campaigns", "portal-2-campaigns"),
        ("Report", "portal-4-report"),
        ("Payments", "portal-5-payments"),
        ("Conversion logs", "portal-6-conversions"),
        ("Postback", "portal-7-postback"),
    ]
    for label, name in tabs:
        page.locator(".pd-tabs").get_by_role("link", name=label).click()
        expect(page.locator(".pd-tab--active")).to_have_text(label)
        check_tabs_reachable(page, size)
        check_usable(page, name, size, screenshot_dir)
        if label == "Campaigns":
            page.locator("main").get_by_role("link", name=alpha.offers[0].name).first.click()
            expect(page.get_by_role("heading", name=alpha.offers[0].name)).to_be_visible()
            check_usable(page, "portal-3-campaign", size, screenshot_dir)

    # Profile and referrals sit in the account menu, which opens on a tap.
    for label, name, heading in [
        ("Referral program", "portal-8-referrals", "Referral program"),
        ("Profile", "portal-9-profile", "Profile"),
    ]:
        page.locator(".pd-account summary").click()
        menu = page.locator(".pd-account__menu")
        expect(menu).to_be_visible()
        assert_on_screen(
            menu.bounding_box(), page.evaluate("window.innerWidth"), f"the account menu at {size}"
        )
        link = menu.get_by_role("link", name=label)
        link.click()
        expect(page.get_by_role("heading", name=heading, exact=True).first).to_be_visible()
        check_usable(page, name, size, screenshot_dir)
