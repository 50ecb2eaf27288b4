"""Third-party status on the conversion API: stored, shown in the admin and API, driving the status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Lead, LeadEvent
from tests.ingest.test_postback_support import get_json, make_world

CONVERSIONS = "/api/v1/conversions"


@pytest.fixture
def world(organization):
    return make_world(organization)


def test_third_party_status_and_reason_are_stored_and_drive_the_status(client, world):
    click = world.click()

    status, body = get_json(
        client,
        world.url(
            CONVERSIONS,
            sub_id=click.click_id,
            third_party_status="declined",
            third_party_rejected_reason="card_fraud",
        ),
    )

    assert (status, body["lead"]["status"]) == (200, "cancelled")
    lead = Lead.objects.get()
    assert (lead.third_party_status, lead.third_party_rejected_reason) == ("declined", "card_fraud")


def test_a_later_third_party_status_moves_the_lead_with_an_event(client, world):
    click = world.click()
    get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, third_party_status="pending"))

    get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, third_party_status="confirmed"))

    lead = Lead.objects.get()
    assert (lead.status, lead.third_party_status) == ("approved", "confirmed")
    event = LeadEvent.objects.get(kind="status")
    assert (event.from_status, event.to_status) == ("new", "approved")


def test_an_explicit_status_wins_over_the_third_party_one(client, world):
    click = world.click()

    get_json(
        client, world.url(CONVERSIONS, sub_id=click.click_id, status="hold", third_party_status="approved")
    )

    lead = Lead.objects.get()
    assert (lead.status, lead.third_party_status) == ("hold", "approved")


def test_a_mapped_third_party_status_name_is_recognized(client, world):
    world.integration.inbound_mapping = {"third_party_status": "tp_state"}
    world.integration.save()
    click = world.click()

    get_json(
        client,
        f"{CONVERSIONS}?token={world.integration.token}&sub_id={click.click_id}&tp_state=approved",
    )

    lead = Lead.objects.get()
    assert (lead.status, lead.third_party_status) == ("approved", "approved")


def test_the_admin_and_the_api_show_the_third_party_status(client, api_client_for, manager, world):
    click = world.click()
    get_json(
        client,
        world.url(
            CONVERSIONS,
            sub_id=click.click_id,
            third_party_status="rejected",
            third_party_rejected_reason="dup",
        ),
    )
    lead = Lead.objects.get()
    client.force_login(manager)

    changelist = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    answer = api_client_for(manager).get(f"/api/v1/leads/{lead.pk}/").json()

    assert "rejected" in changelist
    assert "dup" in page
    assert (answer["third_party_status"], answer["third_party_rejected_reason"]) == ("rejected", "dup")
