"""The scripts speak the page's language in a real browser: Spanish on a Spanish publisher's
portal, English in the admin's wizard (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from tests.factories import AppFactory, MembershipFactory, OrganizationFactory
from tests.reports.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clipboard_page(browser, live_server) -> Iterator:
    """An English browser whose pages may write to the clipboard (the copy buttons do)."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_spanish_publishers_copy_button_says_copied_in_spanish(clipboard_page, publisher_world):
    from playwright.sync_api import expect

    Membership.objects.filter(pk=publisher_world.a.membership.pk).update(language="es")
    page = clipboard_page
    page.goto("/portal/login/")
    page.get_by_label("Username").fill("alpha")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Panel")).to_be_visible()

    page.goto(reverse("portal:campaign", args=[publisher_world.offers[0].pk]))
    button = page.locator("[data-copy]").first
    expect(button).to_have_text("Copiar")
    button.click()

    expect(button).to_have_text("Copiado")


def test_the_wizards_script_still_warns_and_copies_in_english(clipboard_page):
    from playwright.sync_api import expect

    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    app = AppFactory(organization=organization, name="Space Farm")
    page = clipboard_page
    page.goto(f"/admin/login/?next={reverse('admin:partners_app_connect_start', args=[app.pk])}")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Postback URL").fill("https://adnet.example/pb?click={partner_click_id}")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Tracking URL")).to_be_visible()

    page.locator("input[name='tracking-1-placeholder']").fill("campaign")
    expect(page.locator("[data-role=placeholder-warning]:visible")).to_have_text(
        "\u201ccampaign\u201d has no macro delimiters ({\u2026}, [\u2026], __\u2026__ or $\u2026): "
        "it is sent as a hard-coded value."
    )
    copy = page.locator(".pd-copy[data-copy-target=pd-click-url]")
    copy.click()

    expect(copy).to_have_text("Copied")
    expect(copy).to_have_text("Copy")
