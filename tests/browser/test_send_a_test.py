"""A manager sends a test of the postback URL it is typing in the wizard, in a real browser."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import Role
from postbacks.models import Delivery
from tests.factories import AppFactory, MembershipFactory, OrganizationFactory
from tests.receiver import running_receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def space_farm():
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    return AppFactory(organization=organization, name="Space Farm")


def test_a_manager_sends_a_test_of_the_unsaved_postback_url_and_sees_the_answer(
    page: Page, space_farm, receiver
):
    receiver.answer(200, '{"received": true}')
    page.goto(f"/admin/login/?next={reverse('admin:partners_app_connect_start', args=[space_farm.pk])}")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Partner name").fill("AdNet One")
    page.get_by_role("link", name="Create a new channel").click()
    page.get_by_label("New channel").fill("Affiliate")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Postback URL").fill(
        receiver.url("/pb") + "?click={partner_click_id}&event={event_name}"
    )
    page.get_by_role("button", name="Send a test").click()

    result = page.locator("[data-role=test-result]")
    expect(result).to_contain_text(receiver.url("/pb?click=abc-123&event=Install"))
    expect(result).to_contain_text("Status200")
    expect(result).to_contain_text('{"received": true}')
    expect(result).to_contain_text("Kept as test delivery #")
    assert [seen.single() for seen in receiver.seen] == [{"click": "abc-123", "event": "Install"}]
    assert Delivery.objects.get().kind == Delivery.Kind.TEST
    expect(page.get_by_role("heading", name="Install postback")).to_be_visible()
