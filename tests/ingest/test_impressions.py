"""The impression pixel `/i/<code>`: one impression row and a transparent GIF."""

from __future__ import annotations

import pytest

from leads.models import Impression
from tests.factories import IntegrationFactory, OfferFactory, TrackingLinkFactory


@pytest.fixture
def link(organization):
    integration = IntegrationFactory(organization=organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    return TrackingLinkFactory(integration=integration, offer=offer, sub2="default-2")


def test_the_pixel_answers_a_transparent_gif_that_no_cache_keeps(client, link):
    response = client.get(f"/i/{link.code}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"GIF89a\x01\x00\x01\x00")


def test_the_pixel_records_one_impression_with_what_the_url_carried(client, link):
    client.get(
        f"/i/{link.code}",
        {"partner_click_id": "p-1", "sub1": "site-9", "creative_id": "cr-2", "placement": "top"},
        HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/121.0",
        REMOTE_ADDR="198.51.100.4",
    )

    impression = Impression.objects.get()
    assert (impression.partner_click_id, impression.sub1, impression.sub2) == ("p-1", "site-9", "default-2")
    assert (impression.ip, impression.device_type, impression.link) == ("198.51.100.4", "desktop", link)
    assert impression.params == {"creative_id": "cr-2", "placement": "top"}


def test_an_unknown_pixel_answers_404_with_an_empty_body(client, link):
    response = client.get("/i/NOPE-0000")

    assert response.status_code == 404
    assert response.content == b""
    assert not Impression.objects.exists()
