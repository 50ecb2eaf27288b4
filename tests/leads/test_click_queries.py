"""The click's cost: one INSERT on a warm cache, and a cache that follows configuration changes."""

from __future__ import annotations

import pytest

from config import hotcache
from leads.models import Click
from partners.models import Status, TrackingParameter
from tests.factories import IntegrationFactory, LandingFactory, OfferFactory, TrackingLinkFactory


@pytest.fixture
def link(organization):
    integration = IntegrationFactory(organization=organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    landing = LandingFactory(offer=offer, url="https://old.example/?c={click_id}")
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing)


def test_a_click_on_a_warm_cache_costs_exactly_one_query(client, link, django_assert_num_queries):
    client.get(f"/c/{link.code}?sub1=warm-up")

    with django_assert_num_queries(1) as context:
        response = client.get(f"/c/{link.code}?sub1=a&partner_click_id=b", HTTP_USER_AGENT="Mozilla/5.0")

    assert response.status_code == 302
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')


def test_an_impression_on_a_warm_cache_costs_exactly_one_query(client, link, django_assert_num_queries):
    client.get(f"/i/{link.code}")

    with django_assert_num_queries(1):
        response = client.get(f"/i/{link.code}")

    assert response.status_code == 200


def test_changing_the_links_landing_sends_the_next_click_to_the_new_landing(client, link):
    client.get(f"/c/{link.code}")
    link.landing = LandingFactory(offer=link.offer, url="https://new.example/?c={click_id}")
    link.save()

    response = client.get(f"/c/{link.code}")

    assert response["Location"].startswith("https://new.example/?c=")


def test_editing_the_landing_url_takes_effect_on_the_next_click(client, link):
    client.get(f"/c/{link.code}")
    link.landing.url = "https://edited.example/?c={click_id}"
    link.landing.save()

    response = client.get(f"/c/{link.code}")

    assert response["Location"].startswith("https://edited.example/?c=")


def test_pausing_the_offer_stops_its_links_at_once(client, link):
    client.get(f"/c/{link.code}")
    link.offer.status = Status.PAUSED
    link.offer.save()

    response = client.get(f"/c/{link.code}")

    assert response.status_code == 404
    assert Click.objects.count() == 1


def test_a_new_tracking_parameter_maps_on_the_next_click(client, link):
    client.get(f"/c/{link.code}")
    TrackingParameter.objects.create(integration=link.integration, name="sub2", placeholder="[SITE]")

    client.get(f"/c/{link.code}?SITE=news")

    assert Click.objects.latest("id").sub2 == "news"


def test_an_unknown_code_is_remembered_until_a_link_takes_it(client, link, django_assert_num_queries):
    client.get("/c/LATE-0001")
    with django_assert_num_queries(0):
        assert client.get("/c/LATE-0001").status_code == 404

    TrackingLinkFactory(
        integration=link.integration, offer=link.offer, landing=link.landing, code="LATE-0001"
    )

    assert client.get("/c/LATE-0001").status_code == 302


def test_renaming_a_links_code_retires_the_old_code_at_once(client, link):
    old_code = link.code
    client.get(f"/c/{old_code}")
    link.code = "RENAMED-1"
    link.save()

    assert client.get(f"/c/{old_code}").status_code == 404
    assert client.get("/c/RENAMED-1").status_code == 302


def test_clicks_still_work_when_the_cache_is_down(client, link, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(hotcache.cache, "get", broken)
    monkeypatch.setattr(hotcache.cache, "set", broken)

    response = client.get(f"/c/{link.code}")

    assert response.status_code == 302
    assert Click.objects.count() == 1
