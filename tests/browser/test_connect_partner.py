"""A manager connects a custom partner to an app in a real browser, as in the justtrack guide."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from partners.models import TrackingLink
from tests.factories import AppFactory, LandingFactory, MembershipFactory, OfferFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POSTBACK = "https://adnet.example/pb?click={partner_click_id}&event={event_name}"


@pytest.fixture
def space_farm():
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    app = AppFactory(organization=organization, name="Space Farm")
    LandingFactory(offer=OfferFactory(organization=organization, app=app, name="Space Farm CPI"))
    return app


def log_in(page: Page) -> None:
    page.goto("/admin/login/?next=/admin/partners/app/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "pass-word-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Select app to change")).to_be_visible()


def open_wizard(page: Page) -> None:
    page.get_by_role("link", name="Space Farm", exact=True).click()
    expect(page.get_by_role("heading", name="Advertising")).to_be_visible()
    page.get_by_role("link", name="Manage integration").click()
    page.get_by_role("link", name="Connect partner", exact=True).click()
    page.locator(".pd-filter").get_by_role("link", name=re.compile(r"^Custom")).click()
    expect(page.locator(".pd-filter--active")).to_contain_text("Custom")
    page.get_by_role("link", name="Connect custom partner").click()
    expect(page.get_by_role("heading", name="Partner details")).to_be_visible()


def test_manager_connects_a_custom_partner_and_lands_on_its_tracking_urls(page: Page, space_farm):
    log_in(page)
    open_wizard(page)

    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()

    postback = page.get_by_label("Postback URL")
    postback.fill("https://adnet.example/pb?click={clik_id}")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".field-postback_url .errorlist")).to_contain_text("Unknown macro {clik_id}")

    postback.fill(POSTBACK)
    expect(page.locator("#pd-postback-preview")).to_have_text(
        "https://adnet.example/pb?click=abc-123&event=Install"
    )
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Tracking URL")).to_be_visible()
    expect(page.locator("#pd-click-url")).to_contain_text(
        "/c/<code>?partner_click_id={click_id}&sub1={source}"
    )

    page.get_by_role("button", name="+ Macro").click()
    page.locator("select[name='tracking-2-name']").select_option("sub2")
    page.locator("input[name='tracking-2-placeholder']").fill("{campaign}")
    expect(page.locator("#pd-click-url")).to_contain_text("&sub2={campaign}")

    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Postback URL")).to_have_value(POSTBACK)
    page.get_by_role("button", name="Next").click()
    expect(page.locator("input[name='tracking-2-placeholder']")).to_have_value("{campaign}")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Review and connect")).to_be_visible()
    page.get_by_role("button", name="Connect").click()

    expect(page.locator(".messagelist")).to_contain_text("AdNet One is connected to Space Farm")
    code = TrackingLink.objects.get().code
    expect(page.locator(f"#pd-click-url-{code}")).to_have_text(
        re.compile(rf"/c/{code}\?partner_click_id=\{{click_id\}}&sub1=\{{source\}}&sub2=\{{campaign\}}$")
    )
    expect(page.locator(f"#pd-impression-url-{code}")).to_contain_text(f"/i/{code}?partner_click_id=")
    expect(page.get_by_role("heading", name="Next steps")).to_be_visible()


def test_the_wizard_keeps_its_steps_across_a_reload_and_a_new_tab_until_start_over(page: Page, space_farm):
    log_in(page)
    open_wizard(page)
    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Postback URL").fill(POSTBACK)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Tracking URL")).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Tracking URL")).to_be_visible()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Postback URL")).to_have_value(POSTBACK)
    page.reload()
    expect(page.get_by_label("Postback URL")).to_have_value(POSTBACK)

    other = page.context.new_page()
    other.goto("/admin/partners/app/")
    page.close()
    open_wizard_from(other, expect_step="Install postback")
    expect(other.get_by_label("Postback URL")).to_have_value(POSTBACK)
    other.get_by_role("button", name="Back").click()
    expect(other.get_by_label("Partner name")).to_have_value("AdNet One")

    other.get_by_role("button", name="Start over").click()
    expect(other.get_by_role("heading", name="Partner details")).to_be_visible()
    expect(other.get_by_label("Partner name")).to_have_value("")
    expect(other.get_by_role("button", name="Start over")).to_have_count(0)


def open_wizard_from(page: Page, *, expect_step: str) -> None:
    page.get_by_role("link", name="Space Farm", exact=True).click()
    page.get_by_role("link", name="Manage integration").click()
    page.get_by_role("link", name="Connect partner", exact=True).click()
    expect(page.locator("#pd-draft")).to_contain_text("AdNet One, step 2 of 4 (Install postback)")
    page.get_by_role("link", name="Connect custom partner").click()
    expect(page.get_by_role("heading", name=expect_step)).to_be_visible()
