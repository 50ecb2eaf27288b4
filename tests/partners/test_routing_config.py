"""Configuring targeting, fallbacks and smart links: validation, the admin, the API and the portal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.models import Click
from partners.models import SmartLink, SmartLinkEntry
from tests.factories import (
    AppFactory,
    IntegrationFactory,
    LandingFactory,
    MembershipFactory,
    OfferFactory,
    PartnerFactory,
    TrackingLinkFactory,
)
from tests.partners.test_urlsafety_at_save import admin_change, field_errors


@pytest.fixture
def integration(organization):
    return IntegrationFactory(organization=organization)


@pytest.fixture
def offer(integration):
    offer = OfferFactory(organization=integration.organization, app=integration.app, name="Main")
    LandingFactory(offer=offer)
    return offer


def errors_of(offer) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        offer.full_clean()
    return caught.value.message_dict


# -- validation -------------------------------------------------------------------------------


def test_country_codes_must_be_two_letters(offer):
    offer.allowed_countries = "DE, USA, f1"

    assert errors_of(offer)["allowed_countries"] == [
        "Not two-letter country codes (ISO 3166-1, e.g. US, DE, BR): F1, USA."
    ]


def test_a_country_cannot_be_allowed_and_blocked(offer):
    offer.allowed_countries, offer.blocked_countries = "DE FR", "fr"

    assert "Both allowed and blocked: FR" in errors_of(offer)["blocked_countries"][0]


def test_device_types_must_be_known(offer):
    offer.device_types = "mobile, phablet"

    assert errors_of(offer)["device_types"] == [
        "Unknown device types: phablet. Use mobile, tablet, desktop, other, bot."
    ]


def test_targeting_is_saved_in_one_spelling(offer):
    offer.allowed_countries, offer.device_types, offer.operating_systems = (
        "de at",
        "Desktop mobile",
        "ios, macos",
    )

    offer.full_clean()

    assert (offer.allowed_countries, offer.device_types, offer.operating_systems) == (
        "AT, DE",
        "mobile, desktop",
        "iOS, Mac OS X",
    )


def test_a_fallback_offer_must_belong_to_the_same_app(offer, organization):
    offer.fallback_offer = OfferFactory(organization=organization, app=AppFactory(organization=organization))

    assert "The fallback must be an offer of the same app" in errors_of(offer)["fallback_offer"][0]


def test_an_offer_cannot_fall_back_to_itself(offer):
    offer.fallback_offer = offer

    assert errors_of(offer)["fallback_offer"] == [
        "An offer cannot be its own fallback: choose another offer."
    ]


def test_a_fallback_is_an_offer_or_a_url_not_both(offer, integration):
    offer.fallback_offer = OfferFactory(organization=offer.organization, app=integration.app)
    offer.fallback_url = "https://elsewhere.example/"

    assert errors_of(offer)["fallback_url"] == ["Choose a fallback offer or a fallback URL, not both."]


def test_a_fallback_url_with_an_unknown_macro_is_refused(offer):
    offer.fallback_url = "https://elsewhere.example/?c={clickid}"

    assert "clickid" in errors_of(offer)["fallback_url"][0]


# -- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_the_offer_admin_saves_targeting_and_a_fallback_offer(manager_client, offer, integration):
    backup = OfferFactory(organization=offer.organization, app=integration.app, name="Backup")

    response = admin_change(
        manager_client,
        offer,
        lambda data: data.update(
            {"allowed_countries": "us ca", "device_types": "mobile", "fallback_offer": str(backup.pk)}
        ),
    )

    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.allowed_countries, offer.device_types, offer.fallback_offer) == ("CA, US", "mobile", backup)


def test_the_offer_admin_shows_a_bad_country_next_to_its_field(manager_client, offer):
    response = admin_change(manager_client, offer, lambda data: data.update({"blocked_countries": "Russia"}))

    assert field_errors(response, "blocked_countries") == [
        "Not two-letter country codes (ISO 3166-1, e.g. US, DE, BR): RUSSIA."
    ]


def test_the_offer_admin_validates_a_landings_targeting(manager_client, offer):
    response = admin_change(
        manager_client, offer, lambda data: data.update({"landings-0-device_types": "watch"})
    )

    assert field_errors(response, "device_types", inline="landings") == [
        "Unknown device types: watch. Use mobile, tablet, desktop, other, bot."
    ]


@pytest.fixture
def smart_link(offer, integration):
    link = TrackingLinkFactory(integration=integration, offer=offer)
    smart_link = SmartLink.objects.create(
        organization=offer.organization, partner=integration.partner, name="Smart"
    )
    SmartLinkEntry.objects.create(smart_link=smart_link, link=link)
    return smart_link


def test_the_smart_link_admin_shows_the_url_and_the_split(manager_client, smart_link, client):
    entry = smart_link.entries.get()
    client.get(f"/s/{smart_link.code}")
    client.get(f"/s/{smart_link.code}")

    page = manager_client.get(
        reverse("admin:partners_smartlink_change", args=[smart_link.pk])
    ).content.decode()

    assert f"/s/{smart_link.code}" in page
    assert f"#{entry.link_id} {entry.link.code}" in page
    assert "<td>2</td><td>100.0%</td>" in page


def test_the_smart_link_admin_refuses_another_partners_link(manager_client, smart_link, organization):
    other = IntegrationFactory(organization=organization, partner=PartnerFactory(organization=organization))
    foreign = TrackingLinkFactory(integration=other)

    response = admin_change(
        manager_client, smart_link, lambda data: data.update({"entries-0-link": str(foreign.pk)})
    )

    assert field_errors(response, "link", inline="entries")
    assert smart_link.entries.get().link_id != foreign.pk


# -- the management API ------------------------------------------------------------------------


def test_the_offer_api_exposes_and_validates_targeting(api_client_for, manager, offer):
    api = api_client_for(manager)

    refused = api.patch(f"/api/v1/offers/{offer.pk}/", {"device_types": "phablet"}, format="json")
    saved = api.patch(
        f"/api/v1/offers/{offer.pk}/",
        {"allowed_countries": "de", "operating_systems": "android", "fallback_url": "https://x.example/"},
        format="json",
    )

    assert refused.status_code == 400
    assert "phablet" in refused.json()["device_types"][0]
    assert saved.status_code == 200
    body = saved.json()
    assert (body["allowed_countries"], body["operating_systems"], body["fallback_url"]) == (
        "DE",
        "Android",
        "https://x.example/",
    )
    assert "device_types" in body["landings"][0]


def test_the_offer_api_refuses_a_fallback_offer_of_another_app(api_client_for, manager, offer, organization):
    elsewhere = OfferFactory(organization=organization, app=AppFactory(organization=organization))

    response = api_client_for(manager).patch(
        f"/api/v1/offers/{offer.pk}/", {"fallback_offer": elsewhere.pk}, format="json"
    )

    assert response.status_code == 400
    assert "same app" in response.json()["fallback_offer"][0]


def test_the_smart_link_api_creates_a_smart_link_that_takes_clicks(
    api_client_for, manager, offer, integration, client
):
    link = TrackingLinkFactory(integration=integration, offer=offer)

    response = api_client_for(manager).post(
        "/api/v1/smart-links/",
        {
            "name": "Everything",
            "partner": integration.partner_id,
            "mode": "weight",
            "entries": [{"link": link.pk, "weight": 3}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"].endswith(f"/s/{body['code']}")
    assert body["entries"][0]["weight"] == 3
    assert client.get(f"/s/{body['code']}").status_code == 302
    assert Click.objects.get().smart_link_id == body["id"]


def test_the_smart_link_api_refuses_another_partners_link(api_client_for, manager, organization, integration):
    other = IntegrationFactory(organization=organization, partner=PartnerFactory(organization=organization))
    foreign = TrackingLinkFactory(integration=other)

    response = api_client_for(manager).post(
        "/api/v1/smart-links/",
        {"name": "Mixed", "partner": integration.partner_id, "entries": [{"link": foreign.pk}]},
        format="json",
    )

    assert response.status_code == 400
    assert foreign.code in response.json()["entries"][0]


def test_analysts_read_smart_links_but_cannot_create_them(api_client_for, analyst, smart_link, integration):
    api = api_client_for(analyst)

    listed = api.get("/api/v1/smart-links/")
    created = api.post(
        "/api/v1/smart-links/", {"name": "No", "partner": integration.partner_id}, format="json"
    )

    assert [row["id"] for row in listed.json()["results"]] == [smart_link.pk]
    assert created.status_code == 403


def test_another_organizations_smart_link_is_not_found(api_client_for, smart_link, other_organization):
    stranger = MembershipFactory(organization=other_organization, role="manager", user__username="x").user

    assert api_client_for(stranger).get(f"/api/v1/smart-links/{smart_link.pk}/").status_code == 404
