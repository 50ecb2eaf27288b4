"""Every page works in Chromium under the Content-Security-Policy, and the browser reports no violation.

Each test walks real pages and collects what the browser says: `securitypolicyviolation` events,
console messages about the policy and script errors. The interactive bits are checked too (charts
drawn, the postback preview, the wizard's checks, an inline's "Add another"), since a blocked
script shows as a page that looks right and does nothing.
"""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from accounts.models import Role
from partners.models import Goal, TrackingLink
from tests.factories import AppFactory, LandingFactory, MembershipFactory, OfferFactory, OrganizationFactory
from tests.reports.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.pdCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile}:${event.lineNumber}) on ${location.pathname}`
  );
});
"""


@pytest.fixture
def problems(page: Page) -> list[str]:
    """What the browser reports while the test walks, popups included: CSP violations, script errors."""
    found: list[str] = []
    context = page.context
    context.expose_function("pdCspViolation", lambda text: found.append(text))
    context.add_init_script(REPORT_VIOLATIONS)

    def console(message) -> None:
        # Chromium asks every page for /favicon.ico, which the site does not have: not a page's fault.
        if message.location["url"].endswith("/favicon.ico"):
            return
        if "Content Security Policy" in message.text or message.type == "error":
            found.append(f"console: {message.text} ({message.location['url']})")

    def watch(watched: Page) -> None:
        watched.on("console", console)
        watched.on("pageerror", lambda error: found.append(f"script error: {error}"))

    watch(page)
    context.on("page", watch)
    return found


def settle(page: Page) -> None:
    """Let the page's scripts and styles load and run (and any violation be reported)."""
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")


@pytest.fixture
def space_farm():
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    MembershipFactory(organization=organization, role=Role.ADMIN, user__username="ada")
    app = AppFactory(organization=organization, name="Space Farm")
    LandingFactory(offer=OfferFactory(organization=organization, app=app, name="Space Farm CPI"))
    return app


def staff_log_in(page: Page, username: str, next_url: str = "/admin/") -> None:
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_the_portals_tabs_work_under_the_policy_with_charts_drawn_and_a_live_preview(
    page: Page, problems, publisher_world
):
    page.goto("/portal/login/")
    page.get_by_label("Username").fill("alpha")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".pd-chart canvas")).to_have_count(2)
    # The custom-period toggle is script too: choosing "custom" shows the dates.
    page.locator("select[name=period]").select_option("custom")
    expect(page.locator("[data-custom-range]").first).to_be_visible()

    for tab in ("Campaigns", "Report", "Payments", "Conversion logs"):
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.locator(".pd-tab--active")).to_have_text(tab)
        settle(page)
    page.get_by_role("link", name="Report", exact=True).click()
    expect(page.locator(".pd-chart canvas")).to_have_count(1)

    page.get_by_role("link", name="Postback", exact=True).click()
    page.get_by_label("Postback URL").fill("https://93.184.216.34/pb?clickid={ref_id}&payout={aff_payout}")
    expect(page.locator("#pd-postback-live")).to_contain_text("https://93.184.216.34/pb?clickid=pub-777")

    page.locator(".pd-account summary").click()
    page.get_by_role("link", name="Profile").click()
    expect(page.locator("[data-role=second-factor]")).to_be_visible()
    settle(page)

    assert problems == []


def test_the_connect_partner_wizard_works_to_the_end_under_the_policy(page: Page, problems, space_farm):
    staff_log_in(page, "maria", "/admin/partners/app/")
    page.get_by_role("link", name="Space Farm", exact=True).click()
    page.get_by_role("link", name="Manage integration").click()
    page.get_by_role("link", name="Connect partner", exact=True).click()
    page.locator(".pd-filter").get_by_role("link", name=re.compile(r"^Custom")).click()
    page.get_by_role("link", name="Connect custom partner").click()

    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()  # revealed by script
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Postback URL").fill("https://adnet.example/pb?click={partner_click_id}")
    expect(page.locator("#pd-postback-preview")).to_have_text("https://adnet.example/pb?click=abc-123")
    page.get_by_role("button", name="Next").click()

    page.get_by_role("button", name="+ Macro").click()
    page.locator("select[name='tracking-2-name']").select_option("sub2")
    page.locator("input[name='tracking-2-placeholder']").fill("{campaign}")
    expect(page.locator("#pd-click-url")).to_contain_text("&sub2={campaign}")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Review and connect")).to_be_visible()
    page.get_by_role("button", name="Connect").click()
    expect(page.locator(".messagelist")).to_contain_text("AdNet One is connected to Space Farm")
    assert TrackingLink.objects.count() == 1
    settle(page)

    assert problems == []


def test_the_admins_lists_and_a_change_form_with_inlines_work_under_the_policy(
    page: Page, problems, space_farm
):
    offer = space_farm.offers.get()
    staff_log_in(page, "maria")
    expect(page.get_by_role("heading", name="Partner management")).to_be_visible()
    page.goto("/admin/partners/offer/")
    expect(page.locator("#result_list")).to_contain_text("Space Farm CPI")
    for url in (
        "/admin/leads/lead/?o=-1",
        "/admin/leads/lead/postback-reference/",
        "/admin/macros/",
        "/admin/ingest/inboundpostback/",
        "/admin/ingest/inboundpostback/debugger/",
        "/admin/ingest/inboundpostback/ip-lookup/",
        "/admin/postbacks/delivery/",
        "/admin/2fa/",
    ):
        page.goto(url)
        settle(page)

    # A related object's "+" opens the admin's popup; saving there fills the select (popup_response.js).
    page.goto("/admin/partners/partner/add/")
    with page.expect_popup() as opened:
        page.locator("#add_id_default_channel").click()
    popup = opened.value
    popup.get_by_label("Name").fill("Influencers")
    popup.get_by_role("button", name="Save", exact=True).click()
    popup.wait_for_event("close")
    expect(page.locator("#id_default_channel option:checked")).to_have_text("Influencers")

    page.goto(f"/admin/partners/offer/{offer.pk}/change/")
    goals = page.locator("#goals-group")
    rows_before = goals.locator("tr.form-row:not(.empty-form)").count()
    goals.locator(".add-row a").click()  # drawn and wired by Django's inlines.js
    expect(goals.locator("tr.form-row:not(.empty-form)")).to_have_count(rows_before + 1)
    new_row = goals.locator("tr.form-row:not(.empty-form)").last
    new_row.locator("input[name$='-name']").fill("Registration")
    new_row.locator("input[name$='-code']").fill("registration")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert Goal.objects.filter(offer=offer, code="registration").exists()
    settle(page)

    assert problems == []


def test_the_second_factor_enrolment_shows_its_qr_code_under_the_policy(page: Page, problems, space_farm):
    staff_log_in(page, "ada")

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator(".pd-qr svg")).to_be_visible()
    key = page.locator("[data-role=otp-key]").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(f"{totp(base64.b32decode(key)):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-role=recovery-codes] li")).to_have_count(10)
    settle(page)

    assert problems == []


def test_the_api_docs_load_swagger_ui_from_our_own_files_under_the_policy(
    page: Page, problems, space_farm, live_server
):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    staff_log_in(page, "maria")
    expect(page.get_by_role("heading", name="Partner management")).to_be_visible()

    page.goto("/api/docs/")
    # Swagger UI fetches and renders the whole schema: give it more than the usual 5 s.
    expect(page.locator(".swagger-ui .title")).to_contain_text("Partnerdesk management API", timeout=30_000)
    expect(page.locator(".opblock").first).to_be_visible()
    settle(page)

    assert problems == []
    assert [url for url in requested if not url.startswith(live_server.url)] == []
