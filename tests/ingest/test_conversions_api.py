"""The conversion API (SPEC 4.3, 24metrics seed): the seed's names, create or update by the same keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leads.models import Lead
from tests.ingest.test_postback_support import get_json, make_world

CONVERSIONS = "/api/v1/conversions"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def click(world):
    return world.click()


def test_seed_parameters_create_a_lead(client, world, click):
    url = world.url(
        CONVERSIONS,
        advertiser="ADV",
        publisher=world.link.partner_id,
        offer=world.offer.pk,
        sub_id=click.click_id,
        conversion_time="2026-11-01 10:20:30",
        conversion_ip="203.0.113.9",
        revenue="4.00",
        payout="1.20",
        external_transaction_id="T-1",
        third_party_status="approved",
        device_id="dev-1",
        session_time=42,
    )

    status, body = get_json(client, url)

    assert status == 200 and body["created"] is True
    lead = Lead.objects.get()
    assert (lead.exto, lead.status, str(lead.revenue), str(lead.payout)) == (
        "T-1",
        "approved",
        "4.0000",
        "1.2000",
    )
    assert lead.created_at == datetime(2026, 11, 1, 10, 20, 30, tzinfo=UTC)
    assert lead.params["device_id"] == "dev-1" and lead.params["session_time"] == "42"


def test_same_external_transaction_id_updates_the_lead(client, world, click):
    get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, external_transaction_id="T-1"))

    _, body = get_json(
        client,
        world.url(
            CONVERSIONS,
            sub_id=click.click_id,
            external_transaction_id="T-1",
            third_party_status="rejected",
            third_party_rejected_reason="duplicate device",
        ),
    )

    assert body["created"] is False and body["lead"]["status"] == "cancelled"
    assert Lead.objects.get().third_party_rejected_reason == "duplicate device"


def test_repeat_without_status_leaves_the_status_alone(client, world, click):
    get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, third_party_status="approved"))

    _, body = get_json(client, world.url(CONVERSIONS, sub_id=click.click_id))

    assert body["lead"]["status"] == "approved"


def test_third_party_status_goes_through_the_overrides(client, world, click):
    _, body = get_json(
        client, world.url(CONVERSIONS, sub_id=click.click_id, third_party_status="ok", sta="ok")
    )

    assert body["lead"]["status"] == "approved"


def test_unrecognized_third_party_status_is_refused(client, world, click):
    status, body = get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, third_party_status="meh"))

    assert status == 422 and "“meh”" in body["error"]


def test_offer_and_publisher_name_the_flow_without_a_click(client, world):
    url = world.url(
        CONVERSIONS, offer=world.offer.pk, publisher=world.link.partner_id, external_transaction_id="T"
    )

    _, body = get_json(client, url)

    assert body["created"] is True
    assert Lead.objects.get().link == world.link


def test_bad_conversion_time_is_400(client, world, click):
    status, body = get_json(
        client, world.url(CONVERSIONS, sub_id=click.click_id, conversion_time="yesterday")
    )

    assert status == 400 and "conversion_time" in body["error"]


def test_integration_token_with_its_mapping_translates_the_partners_names(client, world, click):
    world.integration.inbound_mapping = {"sub_id": "clickref", "external_transaction_id": "txid"}
    world.integration.save()
    url = f"{CONVERSIONS}?token={world.integration.token}&clickref={click.click_id}&txid=M-1"

    _, body = get_json(client, url)

    assert body["lead"]["exto"] == "M-1" and body["lead"]["click_id"] == click.click_id


def test_conversion_api_refuses_a_wrong_token(client, world, click):
    status, _ = get_json(client, f"{CONVERSIONS}?token=nope&sub_id={click.click_id}")

    assert status == 401
    assert not Lead.objects.exists()
