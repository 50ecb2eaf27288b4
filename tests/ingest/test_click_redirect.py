"""The tracking click `/c/<code>`: one click row with everything the URL carried, then 302."""

from __future__ import annotations

import pytest

from leads.models import Click
from partners.models import IpPrivacy, Status, TrackingParameter
from tests.factories import IntegrationFactory, LandingFactory, OfferFactory, TrackingLinkFactory

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
LANDING = "https://shop.example/land?cid={click_id}&s1={sub1}&s3={sub3}&pc={partner_click_id}&app={app_id}"


@pytest.fixture
def integration(organization):
    integration = IntegrationFactory(organization=organization, inbound_mapping={"sub2": "site"})
    TrackingParameter.objects.create(
        integration=integration, name="partner_click_id", placeholder="{clickid}"
    )
    return integration


@pytest.fixture
def offer(integration):
    return OfferFactory(organization=integration.organization, app=integration.app)


@pytest.fixture
def link(integration, offer):
    landing = LandingFactory(offer=offer, url=LANDING)
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing, sub3="default-3")


def test_click_redirects_to_the_landing_with_click_id_and_subs_url_encoded(client, link):
    response = client.get(f"/c/{link.code}", {"partner_click_id": "p-1", "sub1": "a b&c"})

    click = Click.objects.get()
    assert response.status_code == 302
    assert response["Location"] == (
        f"https://shop.example/land?cid={click.click_id}&s1=a%20b%26c&s3=default-3&pc=p-1"
        f"&app={link.integration.app_id}"
    )
    assert response["Cache-Control"] == "no-store"


def test_click_row_keeps_everything_the_tracking_url_carried(client, link):
    client.get(
        f"/c/{link.code}?sub1=s1&ref_id=pub-7&idfa=IDFA-1&gaid=G-1&creative_id=cr-9&utm_term=shoes",
        HTTP_USER_AGENT=ANDROID_CHROME,
        HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.8",
        HTTP_REFERER="https://news.example/article",
        HTTP_CF_IPCOUNTRY="DE",
        REMOTE_ADDR="203.0.113.7",
    )

    click = Click.objects.get()
    assert (click.sub1, click.ref_id, click.idfa, click.gaid, click.creative_id) == (
        "s1",
        "pub-7",
        "IDFA-1",
        "G-1",
        "cr-9",
    )
    assert (click.device_type, click.os, click.browser) == ("mobile", "Android 14", "Chrome Mobile 120.0.0")
    assert (click.language, click.country, click.ip) == ("de-DE", "DE", "203.0.113.7")
    assert click.referer == "https://news.example/article"
    assert click.params == {"utm_term": "shoes"}
    assert (click.link, click.integration, click.offer, click.partner) == (
        link,
        link.integration,
        link.offer,
        link.partner,
    )


def test_partner_parameter_names_are_mapped_to_ours(client, link):
    client.get(f"/c/{link.code}", {"clickid": "from-macro-name", "site": "from-inbound-mapping"})

    click = Click.objects.get()
    assert (click.partner_click_id, click.sub2) == ("from-macro-name", "from-inbound-mapping")
    assert click.params == {}


def test_a_partner_macro_left_unfilled_is_stored_empty(client, link):
    client.get(f"/c/{link.code}", {"partner_click_id": "{clickid}"})

    assert Click.objects.get().partner_click_id == ""


def test_link_default_subs_fill_the_subs_the_url_left_out(client, link):
    client.get(f"/c/{link.code}", {"sub1": "given"})

    click = Click.objects.get()
    assert (click.sub1, click.sub3) == ("given", "default-3")


def test_country_param_wins_over_the_cdn_header(client, link):
    client.get(f"/c/{link.code}", {"country": "fr"}, HTTP_X_COUNTRY_CODE="DE")

    assert Click.objects.get().country == "FR"


def test_landing_id_picks_one_of_the_offers_landings(client, link, offer):
    other = LandingFactory(offer=offer, url="https://other.example/?c={click_id}")

    response = client.get(f"/c/{link.code}", {"landing_id": other.pk})

    click = Click.objects.get()
    assert click.landing == other
    assert response["Location"] == f"https://other.example/?c={click.click_id}"


def test_a_link_without_landing_goes_to_the_offers_first_landing(client, integration, offer):
    first = LandingFactory(offer=offer, url="https://first.example/?c={click_id}")
    link = TrackingLinkFactory(integration=integration, offer=offer, landing=None)

    response = client.get(f"/c/{link.code}")

    assert response["Location"] == f"https://first.example/?c={Click.objects.get().click_id}"
    assert Click.objects.get().landing == first


def test_an_offer_without_landings_sends_the_click_to_the_apps_default_url(client, integration, offer):
    link = TrackingLinkFactory(integration=integration, offer=offer, landing=None)

    response = client.get(f"/c/{link.code}")

    assert response["Location"] == "https://example.com/app"


def test_an_unknown_code_answers_a_404_page_and_records_nothing(client, link):
    response = client.get("/c/NOPE-0000")

    assert response.status_code == 404
    assert "This link is not available" in response.content.decode()
    assert not Click.objects.exists()


@pytest.mark.parametrize("paused", ["link", "integration", "offer"])
def test_a_paused_link_integration_or_offer_answers_404(client, link, paused):
    target = link if paused == "link" else getattr(link, paused)
    target.status = Status.PAUSED
    target.save()

    response = client.get(f"/c/{link.code}")

    assert response.status_code == 404
    assert not Click.objects.exists()


@pytest.mark.parametrize(
    ("address", "stored"),
    [("203.0.113.77", "203.0.113.0"), ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::")],
)
def test_ip_privacy_at_rest_stores_a_truncated_ip(client, link, address, stored):
    link.integration.ip_privacy = IpPrivacy.AT_REST
    link.integration.save()

    client.get(f"/c/{link.code}", REMOTE_ADDR=address)

    assert Click.objects.get().ip == stored


def test_head_request_records_the_click_too(client, link):
    response = client.head(f"/c/{link.code}")

    assert response.status_code == 302
    assert Click.objects.count() == 1


def test_overlong_values_are_cut_to_fit_instead_of_failing(client, link):
    response = client.get(f"/c/{link.code}", {"sub1": "x" * 1000, "partner_click_id": "a\x00b"})

    click = Click.objects.get()
    assert response.status_code == 302
    assert (len(click.sub1), click.partner_click_id) == (255, "ab")
