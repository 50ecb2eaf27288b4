"""The campaign page tells the publisher who the campaign is for, in words."""

from __future__ import annotations

from django.urls import reverse


def campaign_page(client, offer) -> str:
    return client.get(reverse("portal:campaign", args=[offer.pk])).content.decode()


def test_the_campaign_page_shows_the_offers_targeting_in_words(world, client_a):
    offer = world.offers[0]
    offer.allowed_countries, offer.blocked_countries = "US, CA", ""
    offer.device_types, offer.operating_systems = "mobile, tablet", "Android, iOS"
    offer.save()

    page = campaign_page(client_a, offer)

    assert "Only these countries: CA, US." in page
    assert "Only these devices: mobile, tablet." in page
    assert "Only these operating systems: Android, iOS." in page


def test_a_campaign_without_targeting_is_open_to_everyone(world, client_a):
    assert "Open to every country, device and operating system." in campaign_page(client_a, world.offers[0])


def test_a_landings_own_targeting_is_shown_beside_it(world, client_a):
    offer = world.offers[0]
    landing = offer.landings.create(name="EU page", url="https://eu.example/", blocked_countries="RU")

    page = campaign_page(client_a, offer)

    assert landing.name in page
    assert "Not in these countries: RU." in page
