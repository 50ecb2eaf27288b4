"""The integration page's API URLs are masked like its token, and one Reveal shows both (issue 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.browser.test_connect_partner import log_in
from tests.factories import IntegrationFactory, MembershipFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_revealing_the_token_reveals_the_api_urls_with_it(page: Page):
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    integration = IntegrationFactory(organization=organization)
    log_in(page)
    page.goto(reverse("admin:partners_integration_change", args=[integration.pk]))

    expect(page.locator("#pd-api-click-masked")).to_contain_text(f"token={integration.token[:4]}…")
    expect(page.locator("#pd-api-click")).not_to_be_visible()
    expect(page.get_by_text(integration.token).filter(visible=True)).to_have_count(0)

    page.locator("#pd-inbound").get_by_text("Reveal the token").click()
    expect(page.locator("#pd-api-click")).to_be_visible()
    expect(page.locator("#pd-api-click")).to_contain_text(f"token={integration.token}")
    expect(page.locator("#pd-api-conversion")).to_contain_text(f"token={integration.app.token}")

    page.locator("#pd-inbound").get_by_text("Reveal the token").click()
    expect(page.locator("#pd-api-click")).not_to_be_visible()
