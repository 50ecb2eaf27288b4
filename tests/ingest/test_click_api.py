"""The server-to-server click and impression APIs (`/api/v1/clicks`, `/api/v1/impressions`)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from accounts.models import Role
from ingest.models import InboundPostback
from leads.clicks import api_urls
from leads.models import Click, Impression
from tests.factories import (
    IntegrationFactory,
    LandingFactory,
    MembershipFactory,
    OfferFactory,
    TrackingLinkFactory,
)


@pytest.fixture
def link(organization):
    integration = IntegrationFactory(organization=organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    landing = LandingFactory(offer=offer, url="https://shop.example/?cid={click_id}&s={sub1}")
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing)


@pytest.fixture
def token(link):
    return link.integration.token


def test_no_redirect_answers_the_click_id_as_json(client, link, token):
    response = client.get("/api/v1/clicks", {"token": token, "offer": link.offer_id, "no_redirect": "true"})

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "click_id": Click.objects.get().click_id,
        "country": "",
        "asn": None,
        "as_org": "",
    }


def test_the_click_keeps_the_24metrics_parameters(client, link, token):
    client.get(
        "/api/v1/clicks",
        {
            "token": token,
            "offer": link.offer_id,
            "no_redirect": "true",
            "sub_id": "src-1",
            "click_time": "2026-01-31 12:00:00",
            "referer": "https://pub.example/",
            "click_ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
            "device_id": "dev-1",
            "external_transaction_id": "pub-click-1",
            "revenue": "2.50",
            "advertiser": "adv-3",
        },
    )

    click = Click.objects.get()
    assert (click.sub1, click.ip, click.device_id, click.partner_click_id) == (
        "src-1",
        "203.0.113.9",
        "dev-1",
        "pub-click-1",
    )
    assert (click.referer, click.device_type, click.os) == ("https://pub.example/", "mobile", "iOS 17.0")
    assert click.created_at == datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert click.params == {"revenue": "2.50", "advertiser": "adv-3"}


def test_without_no_redirect_the_click_api_redirects_to_the_landing(client, link, token):
    response = client.get("/api/v1/clicks", {"token": token, "code": link.code, "sub_id": "s"})

    assert response.status_code == 302
    assert response["Location"] == f"https://shop.example/?cid={Click.objects.get().click_id}&s=s"


def test_the_integrations_inbound_mapping_renames_parameters(client, link, token):
    link.integration.inbound_mapping = {"sub_id": "source", "click_ip": "ipaddr", "offer": "campaign"}
    link.integration.save()

    client.post(
        "/api/v1/clicks",
        urlencode({"token": token, "campaign": link.offer_id, "source": "src-2", "ipaddr": "198.51.100.1"}),
        content_type="application/x-www-form-urlencoded",
    )

    click = Click.objects.get()
    assert (click.sub1, click.ip) == ("src-2", "198.51.100.1")


def test_a_json_body_is_read_like_a_form(client, link, token):
    response = client.post(
        "/api/v1/clicks",
        {"token": token, "flow": link.pk, "no_redirect": True, "sub_id": "json"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert Click.objects.get().sub1 == "json"


@pytest.mark.parametrize("sent", [{}, {"token": "wrong"}])
def test_a_missing_or_wrong_token_is_401_and_no_click_is_written(client, link, sent):
    response = client.get("/api/v1/clicks", {"offer": link.offer_id, "no_redirect": "true", **sent})

    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert "token" in response.json()["error"]
    assert not Click.objects.exists()


def test_another_integrations_offer_is_404(client, link, token):
    other = TrackingLinkFactory(integration=IntegrationFactory(organization=link.organization))

    for name, value in (("offer", other.offer_id), ("code", other.code), ("flow", other.pk)):
        response = client.get("/api/v1/clicks", {"token": token, name: value, "no_redirect": "true"})

        assert response.status_code == 404
        assert response.json() == {
            "ok": False,
            "error": "No such offer/link for this integration: check offer, code or flow.",
        }
    assert not Click.objects.exists()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"click_time": "31.01.2026 12:00"}, "“click_time” must be a UTC time written YYYY-MM-DD hh:mm:ss"),
        ({"click_ip": "not-an-ip"}, "“click_ip” must be an IP address"),
        ({"revenue": "lots"}, "“revenue” must be a number"),
        ({"sub_id": "x" * 300}, "“sub_id” is longer than 255 characters."),
        ({"sub_id": "x" * 3000}, "Parameter “sub_id” is longer than 2000 characters."),
    ],
)
def test_bad_values_are_400_with_a_sentence(client, link, token, params, error):
    response = client.get("/api/v1/clicks", {"token": token, "offer": link.offer_id, **params})

    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert not Click.objects.exists()


def test_a_non_utf8_body_is_400(client, token):
    response = client.generic(
        "POST",
        "/api/v1/clicks",
        f"token={token}&sub_id=\xff".encode("latin-1"),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "The body is not valid UTF-8: encode parameters as UTF-8."


def test_a_non_utf8_query_string_is_400(client, token):
    response = client.get(f"/api/v1/clicks?token={token}&sub_id=%FF")

    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]


def test_malformed_json_is_400(client, db):
    response = client.post("/api/v1/clicks", '{"token": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"].startswith("The JSON body is malformed")


def test_every_request_is_kept_in_the_inbound_log_with_its_outcome(client, link, token):
    client.get("/api/v1/clicks", {"token": token, "offer": link.offer_id, "no_redirect": "true"})
    client.get("/api/v1/clicks", {"token": token, "offer": 999999})

    created, rejected = InboundPostback.objects.order_by("id")
    assert (created.endpoint, created.outcome, created.http_status) == ("click", "created", 200)
    assert created.integration == link.integration
    assert created.params["token"] != token
    assert (rejected.outcome, rejected.http_status) == ("rejected", 404)
    assert rejected.reason.startswith("No such offer/link")


def test_the_impression_api_answers_the_impression_id(client, link, token):
    response = client.get(
        "/api/v1/impressions",
        {
            "token": token,
            "offer": link.offer_id,
            "impression_ip": "192.0.2.1",
            "site_url": "https://s.example/",
        },
    )

    impression = Impression.objects.get()
    assert response.json() == {
        "ok": True,
        "impression_id": impression.pk,
        "country": "",
        "asn": None,
        "as_org": "",
    }
    assert (impression.ip, impression.referer) == ("192.0.2.1", "https://s.example/")
    assert InboundPostback.objects.get().endpoint == "impression"


def test_the_generated_api_urls_carry_the_token_and_the_mapped_names(link, settings):
    settings.PUBLIC_BASE_URL = "https://track.example"
    integration = link.integration
    integration.inbound_mapping = {"sub_id": "source"}

    urls = api_urls(integration)

    assert urls["click"].startswith(
        f"https://track.example/api/v1/clicks?token={integration.token}&no_redirect=true&advertiser=ADVERTISER"
    )
    assert "&source=SUBID&click_time=YYYY-MM-DD%20hh:mm:ss&" in urls["click"]
    assert urls["impression"].startswith(
        f"https://track.example/api/v1/impressions?token={integration.token}&"
    )
    assert urls["conversion"].startswith(
        f"https://track.example/api/v1/conversions?token={integration.app.token}&"
    )
    assert "&session_time=SESSION_TIME_IN_SECONDS" in urls["conversion"]


def test_the_integration_page_shows_each_api_url_with_a_copy_button(client, link):
    manager = MembershipFactory(organization=link.organization, role=Role.MANAGER).user
    client.force_login(manager)

    response = client.get(reverse("admin:partners_integration_change", args=[link.integration.pk]))

    html = response.content.decode()
    assert "Click API" in html and "Impression API" in html and "Conversion API" in html
    assert f"/api/v1/clicks?token={link.integration.token}" in html
    assert f"/api/v1/conversions?token={link.integration.app.token}" in html


def test_no_redirect_answers_where_the_click_came_from(client, link, token):
    # 8.8.8.8 is Google's, in the United States, in the GeoIP data shipped with geoip2fast.
    response = client.get(
        "/api/v1/clicks",
        {"token": token, "offer": link.offer_id, "no_redirect": "true", "click_ip": "8.8.8.8"},
    )

    body = response.json()
    assert (body["ok"], body["country"], body["asn"], body["as_org"]) == (True, "US", None, "GOOGLE")
    assert body["click_id"] == Click.objects.get().click_id


def test_the_impression_api_answers_where_the_impression_came_from(client, link, token):
    response = client.get(
        "/api/v1/impressions", {"token": token, "offer": link.offer_id, "impression_ip": "1.1.1.1"}
    )

    assert (response.json()["country"], response.json()["as_org"]) == ("AU", "CLOUDFLARENET")


@pytest.mark.parametrize("amount", ["-1", "1e309", "1e20", "NaN"])
def test_click_and_impression_money_out_of_range_is_refused_and_nothing_stored(client, link, token, amount):
    for path, model in (("/api/v1/clicks", Click), ("/api/v1/impressions", Impression)):
        params = {"token": token, "offer": link.offer_id, "no_redirect": "true", "revenue": amount}
        response = client.get(path, params)

        assert response.status_code == 400, response.content
        assert response.json()["ok"] is False and "revenue" in response.json()["error"]
        assert not model.objects.exists()
