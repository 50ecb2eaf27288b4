"""The onboarding checklist on the admin home: ticked from the organization's data, gone when all is done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from postbacks.models import Delivery
from tests.factories import AppFactory, IntegrationFactory, MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def _index(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def _row(page: str, key: str) -> str:
    start = page.index(f'id="onboarding-{key}"')
    return page[start : page.index("</tr>", start)]


def test_a_new_organization_sees_four_steps_to_do_each_linking_to_where_to_do_it(client, manager):
    page = _index(client, manager)

    assert "Getting started · 0 of 4 done" in page
    for key in ("app", "partner", "postback", "publisher"):
        assert 'class="onboarding-todo"' in _row(page, key)
    assert reverse("admin:partners_app_add") in _row(page, "app")
    assert reverse("admin:partners_app_changelist") in _row(page, "partner")
    assert reverse("admin:leads_lead_postback_reference") in _row(page, "postback")
    assert reverse("admin:accounts_membership_add") in _row(page, "publisher")


def test_an_app_and_a_connected_partner_are_ticked_and_the_next_step_is_linked(client, manager, organization):
    integration = IntegrationFactory(organization=organization)

    page = _index(client, manager)

    assert "Getting started · 2 of 4 done" in page
    assert 'class="onboarding-done"' in _row(page, "app")
    assert 'class="onboarding-done"' in _row(page, "partner")
    # The test postback is sent from the integration's page.
    assert reverse("admin:partners_integration_change", args=[integration.pk]) in _row(page, "postback")
    assert 'class="onboarding-todo"' in _row(page, "publisher")


def test_a_postback_received_from_the_partner_ticks_the_test_step(client, manager, organization):
    integration = IntegrationFactory(organization=organization)
    client.get("/postback/lead", {"token": integration.app.token, "click_id": "no-such-click"})

    page = _index(client, manager)

    assert 'class="onboarding-done"' in _row(page, "postback")


def test_a_done_organization_no_longer_shows_the_checklist(client, manager, organization):
    IntegrationFactory(organization=organization)
    Delivery.objects.create(
        organization=organization, kind=Delivery.Kind.TEST, event="test", url="https://partner.example/pb"
    )
    publisher = PartnerFactory(organization=organization)
    MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=publisher)

    page = _index(client, manager)

    assert 'id="onboarding"' not in page


def test_another_organizations_progress_does_not_tick_anything(client, manager, other_organization):
    IntegrationFactory(organization=other_organization)
    AppFactory(organization=other_organization)

    page = _index(client, manager)

    assert "Getting started · 0 of 4 done" in page


def test_analysts_who_cannot_do_the_steps_do_not_get_the_checklist(client, analyst):
    assert 'id="onboarding"' not in _index(client, analyst)


def test_the_postback_reference_is_linked_from_the_admin_home(client, analyst):
    page = _index(client, analyst)

    assert f'href="{reverse("admin:leads_lead_postback_reference")}" id="postback-reference-link"' in page
    assert client.get(reverse("admin:leads_lead_postback_reference")).status_code == 200
