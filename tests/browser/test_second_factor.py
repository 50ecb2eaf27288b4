"""An admin signs in with a second factor in a real browser: enrolment, then the code step."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_login():
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    return MembershipFactory(organization=organization, role=Role.ADMIN, user__username="ada").user


def log_in(page: Page) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pass-word-123")
    page.get_by_role("button", name="Log in").click()


def test_an_admin_sets_up_an_authenticator_then_signs_in_with_its_code(page: Page, admin_login):
    log_in(page)

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator(".pd-qr svg")).to_be_visible()
    key = page.locator("[data-role=otp-key]").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(f"{totp(base64.b32decode(key)):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-role=recovery-codes] li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Partner management")).to_be_visible()

    page.context.clear_cookies()
    log_in(page)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    device = TOTPDevice.objects.get(user=admin_login, confirmed=True)
    page.get_by_label("Code").fill(f"{totp(device.bin_key, drift=1):06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Partner management")).to_be_visible()
