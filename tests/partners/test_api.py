"""The management API of the configuration side: create, list, filter, retrieve and refuse."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Organization
from partners.models import (
    App,
    Channel,
    Creative,
    Goal,
    GoalAlias,
    Integration,
    Offer,
    Partner,
    Status,
    TrackingLink,
)
from partners.services import integration_connect
from partners.tracking import DEFAULT_PARAMETER_ROWS
from tests.factories import (
    AppFactory,
    ChannelFactory,
    GoalAliasFactory,
    GoalFactory,
    IntegrationFactory,
    LandingFactory,
    OfferFactory,
    PartnerFactory,
    TrackingLinkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client_for, manager):
    """The API as the organization's manager sees it."""
    return api_client_for(manager)


def _connected(organization: Organization, **kwargs) -> Integration:
    """An integration made the way the wizard makes it, with parameters and a postback."""
    app = kwargs.pop("app", None) or AppFactory(organization=organization)
    return integration_connect(
        organization=organization,
        app=app,
        partner_name=kwargs.pop("partner_name", None) or PartnerFactory.build().name,
        postback_url="https://partner.example/pb?click={partner_click_id}",
        parameters=[dict(row) for row in DEFAULT_PARAMETER_ROWS],
        **kwargs,
    )


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# Apps


def test_manager_creates_an_app_in_their_organization(client, organization):
    response = client.post(
        "/api/v1/apps/",
        {"name": "Space Farm", "platform": "ios", "default_url": "https://example.com/farm"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Space Farm"
    assert body["platform"] == "ios"
    assert len(body["token"]) > 20
    assert App.objects.get(pk=body["id"]).organization == organization


def test_organization_sent_in_input_is_ignored(client, organization, other_organization):
    response = client.post(
        "/api/v1/apps/",
        {"name": "Mine", "default_url": "https://example.com", "organization": other_organization.pk},
        format="json",
    )
    assert response.status_code == 201
    assert App.objects.get(pk=response.json()["id"]).organization == organization


def test_app_list_shows_only_the_organizations_apps(client, organization, other_organization):
    mine = AppFactory(organization=organization)
    AppFactory(organization=other_organization)
    response = client.get("/api/v1/apps/")
    assert response.status_code == 200
    assert _ids(response) == [mine.pk]


def test_apps_filter_by_platform_and_part_of_the_name(client, organization):
    farm = AppFactory(organization=organization, name="Space Farm", platform="ios")
    AppFactory(organization=organization, name="Space Race", platform="android")
    AppFactory(organization=organization, name="Farm Life", platform="android")
    response = client.get("/api/v1/apps/", {"platform": "ios", "name": "farm"})
    assert _ids(response) == [farm.pk]


def test_app_retrieve_shows_its_fields(client, organization):
    app = AppFactory(organization=organization, name="Space Farm", store_id="com.example.farm")
    response = client.get(f"/api/v1/apps/{app.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": app.pk,
        "name": "Space Farm",
        "platform": "android",
        "store_id": "com.example.farm",
        "default_url": "https://example.com/app",
        "token": app.token,
        "previous_token_valid_until": None,
        "signing_required": False,
        "signing_secret": "",
        "allowed_ips": "",
        "created_at": response.json()["created_at"],
    }


def test_app_with_a_name_the_organization_uses_is_refused_with_a_field_error(client, organization):
    AppFactory(organization=organization, name="Space Farm")
    response = client.post(
        "/api/v1/apps/", {"name": "space farm", "default_url": "https://example.com"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_app_without_a_valid_url_is_refused_with_a_field_error(client):
    response = client.post("/api/v1/apps/", {"name": "Farm", "default_url": "not a url"}, format="json")
    assert response.status_code == 400
    assert "default_url" in response.json()


# Channels


def test_manager_creates_a_channel(client, organization):
    response = client.post("/api/v1/channels/", {"name": "Social"}, format="json")
    assert response.status_code == 201
    assert Channel.objects.get(organization=organization).name == "Social"


def test_channels_filter_by_part_of_the_name(client, organization):
    social = ChannelFactory(organization=organization, name="Social")
    ChannelFactory(organization=organization, name="Search")
    assert _ids(client.get("/api/v1/channels/", {"name": "soc"})) == [social.pk]


def test_channel_with_a_taken_name_is_refused_with_a_field_error(client, organization):
    ChannelFactory(organization=organization, name="Social")
    response = client.post("/api/v1/channels/", {"name": "Social"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


# Partners


def test_manager_creates_a_partner_with_a_default_channel(client, organization):
    channel = ChannelFactory(organization=organization)
    response = client.post(
        "/api/v1/partners/", {"name": "AdNet One", "default_channel": channel.pk}, format="json"
    )
    assert response.status_code == 201
    partner = Partner.objects.get(pk=response.json()["id"])
    assert (partner.organization, partner.default_channel) == (organization, channel)


def test_partner_with_another_organizations_channel_is_refused(client, other_organization):
    foreign = ChannelFactory(organization=other_organization)
    response = client.post(
        "/api/v1/partners/", {"name": "AdNet One", "default_channel": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["default_channel"]


def test_partners_filter_by_kind_status_and_name(client, organization):
    wanted = PartnerFactory(organization=organization, name="AdNet One", kind="builtin")
    PartnerFactory(organization=organization, name="AdNet Two", kind="builtin", status="paused")
    PartnerFactory(organization=organization, name="AdNet Three", kind="custom")
    response = client.get("/api/v1/partners/", {"kind": "builtin", "status": "active", "name": "adnet"})
    assert _ids(response) == [wanted.pk]


def test_partner_preset_postback_with_an_unknown_macro_is_refused_naming_it(client):
    response = client.post(
        "/api/v1/partners/",
        {"name": "AdNet", "preset_postback_url": "https://adnet.example/pb?c={clikid}"},
        format="json",
    )
    assert response.status_code == 400
    assert "{clikid}" in response.json()["preset_postback_url"][0]


def test_partner_preset_parameters_are_stored_as_rows(client):
    rows = [{"name": "sub2", "placeholder": "{campaign}", "in_click": True, "in_impression": False}]
    response = client.post("/api/v1/partners/", {"name": "AdNet", "preset_parameters": rows}, format="json")
    assert response.status_code == 201
    assert response.json()["preset_parameters"] == rows
    assert Partner.objects.get(pk=response.json()["id"]).preset_parameters == rows


def test_deleting_a_partner_connected_to_an_app_answers_conflict(client, organization):
    integration = IntegrationFactory(organization=organization)
    response = client.delete(f"/api/v1/partners/{integration.partner_id}/")
    assert response.status_code == 409
    assert "integrations" in response.json()["detail"]
    assert Partner.objects.filter(pk=integration.partner_id).exists()


# Integrations


def test_connecting_a_new_partner_answers_the_integration_with_urls(client, organization):
    app = AppFactory(organization=organization, name="Space Farm")
    offer = OfferFactory(organization=organization, app=app)
    response = client.post(
        "/api/v1/integrations/",
        {
            "app": app.pk,
            "partner_name": "AdNet One",
            "new_channel_name": "Social",
            "postback_url": "https://adnet.example/pb?click={partner_click_id}&p={payout}",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["app"], body["app_name"], body["partner_name"], body["channel_name"]) == (
        app.pk,
        "Space Farm",
        "AdNet One",
        "Social",
    )
    assert body["status"] == "active"
    assert body["parameters"] == [dict(row) for row in DEFAULT_PARAMETER_ROWS]
    assert [t["url"] for t in body["postback_templates"]] == [
        "https://adnet.example/pb?click={partner_click_id}&p={payout}"
    ]
    [link] = body["links"]
    assert link["offer"] == offer.pk
    assert link["click_url"].endswith(f"/c/{link['code']}?partner_click_id={{click_id}}&sub1={{source}}")
    assert link["impression_url"].endswith(f"/i/{link['code']}?partner_click_id={{click_id}}&sub1={{source}}")


def test_connecting_through_the_api_makes_the_rows_the_wizard_makes(client, organization, manager):
    offer = OfferFactory(organization=organization)
    LandingFactory(offer=offer)
    rows = [
        {"name": "partner_click_id", "placeholder": "{clickid}", "in_click": True, "in_impression": False},
        {"name": "sub1", "placeholder": "{site}", "in_click": True, "in_impression": True},
        {"name": "sub2", "placeholder": "{campaign}", "in_click": True, "in_impression": True},
    ]
    postback = "https://adnet.example/pb?click={partner_click_id}"
    response = client.post(
        "/api/v1/integrations/",
        {"app": offer.app_id, "partner_name": "AdNet", "postback_url": postback, "parameters": rows},
        format="json",
    )
    by_api = Integration.objects.get(pk=response.json()["id"])
    other_offer = OfferFactory(organization=organization)
    LandingFactory(offer=other_offer)
    by_wizard = integration_connect(
        organization=organization,
        app=other_offer.app,
        partner_name="AdNet Wizard",
        postback_url=postback,
        parameters=rows,
        actor=manager,
    )

    def made(integration: Integration) -> dict:
        return {
            "partner_kind": integration.partner.kind,
            "created_by": integration.created_by,
            "parameters": list(
                integration.parameters.values_list(
                    "name", "placeholder", "in_click", "in_impression", "position"
                )
            ),
            "postbacks": list(integration.postback_templates.values_list("goal", "event", "url")),
            "links": [(link.status, link.landing is not None) for link in integration.links.all()],
        }

    assert made(by_api) == made(by_wizard)


def test_connecting_an_existing_partner_with_an_existing_channel(client, organization):
    app = AppFactory(organization=organization)
    partner = PartnerFactory(organization=organization)
    channel = ChannelFactory(organization=organization)
    response = client.post(
        "/api/v1/integrations/", {"app": app.pk, "partner": partner.pk, "channel": channel.pk}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["partner"], response.json()["channel"]) == (partner.pk, channel.pk)


def test_connecting_with_the_name_of_an_existing_channel_picks_that_channel(client, organization):
    social = ChannelFactory(organization=organization, name="Social")
    app = AppFactory(organization=organization)
    response = client.post(
        "/api/v1/integrations/",
        {"app": app.pk, "partner_name": "AdNet", "new_channel_name": "social"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["channel"] == social.pk
    assert Channel.objects.filter(organization=organization).count() == 1


def test_connecting_with_both_a_partner_and_a_new_partners_name_is_refused(client, organization):
    app = AppFactory(organization=organization)
    partner = PartnerFactory(organization=organization)
    response = client.post(
        "/api/v1/integrations/",
        {"app": app.pk, "partner": partner.pk, "partner_name": "AdNet"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["partner_name"]


def test_connecting_with_an_unknown_postback_macro_is_refused_naming_it(client, organization):
    app = AppFactory(organization=organization)
    response = client.post(
        "/api/v1/integrations/",
        {"app": app.pk, "partner_name": "AdNet", "postback_url": "https://adnet.example/pb?c={clikid}"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["postback_url"]
    assert "{clikid}" in response.json()["postback_url"][0]
    assert not Partner.objects.filter(name="AdNet").exists()


def test_connecting_without_the_required_parameters_is_refused(client, organization):
    app = AppFactory(organization=organization)
    rows = [{"name": "sub1", "placeholder": "{site}"}]
    response = client.post(
        "/api/v1/integrations/", {"app": app.pk, "partner_name": "AdNet", "parameters": rows}, format="json"
    )
    assert response.status_code == 400
    assert "partner_click_id" in response.json()["parameters"][0]


def test_connecting_another_organizations_app_is_refused_with_a_field_error(client, other_organization):
    foreign = AppFactory(organization=other_organization)
    response = client.post(
        "/api/v1/integrations/", {"app": foreign.pk, "partner_name": "AdNet"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["app"]


def test_connecting_a_partner_twice_to_one_app_is_refused(client, organization):
    integration = IntegrationFactory(organization=organization)
    response = client.post(
        "/api/v1/integrations/",
        {"app": integration.app_id, "partner": integration.partner_id},
        format="json",
    )
    assert response.status_code == 400
    assert "already connected" in response.json()["partner"][0]


def test_connecting_without_a_partner_or_a_name_is_refused(client, organization):
    app = AppFactory(organization=organization)
    response = client.post("/api/v1/integrations/", {"app": app.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["partner_name"]


def test_integrations_filter_by_app_partner_channel_and_status(client, organization):
    channel = ChannelFactory(organization=organization)
    wanted = IntegrationFactory(organization=organization, channel=channel)
    IntegrationFactory(organization=organization, app=wanted.app, channel=channel, status="paused")
    IntegrationFactory(organization=organization, partner=wanted.partner, channel=channel)
    query = {"app": wanted.app_id, "partner": wanted.partner_id, "channel": channel.pk, "status": "active"}
    assert _ids(client.get("/api/v1/integrations/", query)) == [wanted.pk]


def test_filtering_by_another_organizations_app_is_refused(client, other_organization):
    foreign = AppFactory(organization=other_organization)
    response = client.get("/api/v1/integrations/", {"app": foreign.pk})
    assert response.status_code == 400
    assert list(response.json()) == ["app"]


def test_pausing_an_integration(client, organization):
    integration = IntegrationFactory(organization=organization)
    response = client.patch(f"/api/v1/integrations/{integration.pk}/", {"status": "paused"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "paused"
    integration.refresh_from_db()
    assert integration.status == Status.PAUSED


def test_integration_allow_list_with_a_bad_address_is_refused(client, organization):
    integration = IntegrationFactory(organization=organization)
    response = client.patch(
        f"/api/v1/integrations/{integration.pk}/", {"allowed_ips": "10.0.0.0/8\nnot-an-ip"}, format="json"
    )
    assert response.status_code == 400
    assert "not-an-ip" in response.json()["allowed_ips"][0]


# Offers


def test_manager_creates_an_offer_for_an_app(client, organization):
    app = AppFactory(organization=organization)
    response = client.post(
        "/api/v1/offers/",
        {"app": app.pk, "name": "Farm CPA", "type": "cpa", "rate": "3.50", "currency": "eur"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["rate"], body["currency"]) == ("cpa", "3.5000", "EUR")
    assert Offer.objects.get(pk=body["id"]).organization == organization


def test_offer_shows_its_landings_and_creatives_with_a_file_url(client, organization, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    offer = OfferFactory(organization=organization)
    landing = LandingFactory(offer=offer, name="Main", url="https://example.com/?c={click_id}")
    Creative.objects.create(
        offer=offer, name="Banner", file=SimpleUploadedFile("banner.png", b"png", content_type="image/png")
    )
    body = client.get(f"/api/v1/offers/{offer.pk}/").json()
    assert body["landings"] == [
        {
            "id": landing.pk,
            "name": "Main",
            "kind": "landing",
            "url": "https://example.com/?c={click_id}",
            "allowed_countries": "",
            "blocked_countries": "",
            "device_types": "",
            "operating_systems": "",
        }
    ]
    [creative] = body["creatives"]
    assert creative["name"] == "Banner"
    assert re.fullmatch(r"http://testserver/media/creatives/\d{4}/\d{2}/banner\w*\.png", creative["file"])


def test_offer_with_a_name_its_app_uses_is_refused_with_a_field_error(client, organization):
    offer = OfferFactory(organization=organization)
    response = client.post("/api/v1/offers/", {"app": offer.app_id, "name": offer.name}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_offer_for_another_organizations_app_is_refused(client, other_organization):
    foreign = AppFactory(organization=other_organization)
    response = client.post("/api/v1/offers/", {"app": foreign.pk, "name": "Offer"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["app"]


def test_offers_filter_by_app_type_status_visibility_and_category(client, organization):
    app = AppFactory(organization=organization)
    wanted = OfferFactory(
        organization=organization, app=app, type="cpa", category="Games", visibility="private"
    )
    OfferFactory(organization=organization, app=app, type="cpa", category="Games")
    OfferFactory(organization=organization, app=app, type="cpi", category="Games", visibility="private")
    OfferFactory(organization=organization, type="cpa", category="Games", visibility="private")
    query = {"app": app.pk, "type": "cpa", "status": "active", "visibility": "private", "category": "games"}
    assert _ids(client.get("/api/v1/offers/", query)) == [wanted.pk]


# Goals


def test_manager_creates_a_goal_with_aliases(client, organization):
    offer = OfferFactory(organization=organization)
    response = client.post(
        "/api/v1/goals/",
        {"offer": offer.pk, "code": "registration", "name": "Registration", "aliases": ["reg", "signup"]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["aliases"] == ["reg", "signup"]
    goal = Goal.objects.get(pk=response.json()["id"])
    assert sorted(goal.aliases.values_list("offer", "code")) == [(offer.pk, "reg"), (offer.pk, "signup")]


def test_goal_alias_that_is_another_goals_code_is_refused(client, organization):
    offer = OfferFactory(organization=organization)
    GoalFactory(offer=offer, code="reg")
    response = client.post(
        "/api/v1/goals/",
        {"offer": offer.pk, "code": "registration", "name": "Registration", "aliases": ["reg"]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["aliases"]


def test_goal_code_that_is_another_goals_alias_is_refused(client, organization):
    offer = OfferFactory(organization=organization)
    GoalAliasFactory(goal=GoalFactory(offer=offer, code="registration"), code="reg")
    response = client.post("/api/v1/goals/", {"offer": offer.pk, "code": "reg", "name": "Reg"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["code"]


def test_goal_code_used_twice_in_an_offer_is_refused(client, organization):
    offer = OfferFactory(organization=organization)
    GoalFactory(offer=offer, code="install")
    response = client.post(
        "/api/v1/goals/", {"offer": offer.pk, "code": "install", "name": "Install"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["code"]


def test_goal_code_may_repeat_in_another_offer(client, organization):
    GoalFactory(offer=OfferFactory(organization=organization), code="install")
    offer = OfferFactory(organization=organization)
    response = client.post(
        "/api/v1/goals/", {"offer": offer.pk, "code": "install", "name": "Install"}, format="json"
    )
    assert response.status_code == 201


def test_second_default_goal_of_an_offer_is_refused(client, organization):
    offer = OfferFactory(organization=organization)
    GoalFactory(offer=offer, is_default=True)
    response = client.post(
        "/api/v1/goals/",
        {"offer": offer.pk, "code": "install", "name": "Install", "is_default": True},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["is_default"]


def test_patching_aliases_replaces_them(client, organization):
    goal = GoalFactory(offer=OfferFactory(organization=organization), code="registration")
    GoalAliasFactory(goal=goal, code="reg")
    GoalAliasFactory(goal=goal, code="signup")
    response = client.patch(f"/api/v1/goals/{goal.pk}/", {"aliases": ["reg", "sign_up"]}, format="json")
    assert response.status_code == 200
    assert response.json()["aliases"] == ["reg", "sign_up"]
    assert sorted(GoalAlias.objects.filter(goal=goal).values_list("code", flat=True)) == ["reg", "sign_up"]


def test_patching_other_fields_keeps_the_aliases(client, organization):
    goal = GoalFactory(offer=OfferFactory(organization=organization))
    GoalAliasFactory(goal=goal, code="reg")
    response = client.patch(f"/api/v1/goals/{goal.pk}/", {"payout": "4.25"}, format="json")
    assert response.status_code == 200
    assert (response.json()["payout"], response.json()["aliases"]) == ("4.2500", ["reg"])


def test_goals_filter_by_code_find_a_goal_by_its_alias(client, organization):
    offer = OfferFactory(organization=organization)
    registration = GoalFactory(offer=offer, code="registration")
    GoalAliasFactory(goal=registration, code="reg")
    GoalAliasFactory(goal=registration, code="signup")
    GoalFactory(offer=offer, code="install")
    assert _ids(client.get("/api/v1/goals/", {"offer": offer.pk, "code": "reg"})) == [registration.pk]
    assert _ids(client.get("/api/v1/goals/", {"code": "registration"})) == [registration.pk]


def test_goal_for_another_organizations_offer_is_refused(client, other_organization):
    foreign = OfferFactory(organization=other_organization)
    response = client.post(
        "/api/v1/goals/", {"offer": foreign.pk, "code": "install", "name": "Install"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["offer"]


# Tracking links


def test_manager_creates_a_link_for_a_connected_partner(client, organization):
    integration = _connected(organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    landing = LandingFactory(offer=offer)
    response = client.post(
        "/api/v1/links/",
        {"partner": integration.partner_id, "offer": offer.pk, "sub1": "site42"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", body["code"])
    assert (body["integration"], body["landing"], body["sub1"]) == (integration.pk, landing.pk, "site42")
    assert body["click_url"].endswith(f"/c/{body['code']}?partner_click_id={{click_id}}&sub1={{source}}")
    assert TrackingLink.objects.get(pk=body["id"]).organization == organization


def test_link_for_a_partner_not_connected_to_the_app_is_refused(client, organization):
    partner = PartnerFactory(organization=organization)
    offer = OfferFactory(organization=organization)
    response = client.post("/api/v1/links/", {"partner": partner.pk, "offer": offer.pk}, format="json")
    assert response.status_code == 400
    assert "Connect the partner to the app" in response.json()["partner"][0]


def test_link_with_another_offers_landing_is_refused(client, organization):
    integration = IntegrationFactory(organization=organization)
    offer = OfferFactory(organization=organization, app=integration.app)
    elsewhere = LandingFactory(offer=OfferFactory(organization=organization, app=integration.app))
    response = client.post(
        "/api/v1/links/",
        {"partner": integration.partner_id, "offer": offer.pk, "landing": elsewhere.pk},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["landing"]


def test_link_for_another_organizations_offer_is_refused(client, organization, other_organization):
    partner = PartnerFactory(organization=organization)
    foreign = OfferFactory(organization=other_organization)
    response = client.post("/api/v1/links/", {"partner": partner.pk, "offer": foreign.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["offer"]


def test_links_filter_by_partner_offer_status_and_code(client, organization):
    integration = IntegrationFactory(organization=organization)
    wanted = TrackingLinkFactory(integration=integration)
    TrackingLinkFactory(integration=integration, offer=wanted.offer, status="paused")
    TrackingLinkFactory(integration=integration)
    query = {"partner": integration.partner_id, "offer": wanted.offer_id, "status": "active"}
    assert _ids(client.get("/api/v1/links/", query)) == [wanted.pk]
    assert _ids(client.get("/api/v1/links/", {"code": wanted.code.lower()})) == [wanted.pk]


def test_pausing_a_link(client, organization):
    link = TrackingLinkFactory(integration=IntegrationFactory(organization=organization))
    response = client.patch(f"/api/v1/links/{link.pk}/", {"status": "paused"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "paused"


def test_a_links_partner_cannot_be_changed(client, organization):
    link = TrackingLinkFactory(integration=IntegrationFactory(organization=organization))
    other = PartnerFactory(organization=organization)
    response = client.patch(f"/api/v1/links/{link.pk}/", {"partner": other.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["partner"]


# Sessions and query counts


def test_a_logged_in_staff_session_reads_the_api(manager, organization):
    app = AppFactory(organization=organization)
    session = APIClient()
    session.force_login(manager)
    assert _ids(session.get("/api/v1/apps/")) == [app.pk]


def _integration_row(organization: Organization) -> None:
    integration = _connected(organization)
    OfferFactory(organization=organization, app=integration.app)
    TrackingLinkFactory(integration=integration)


def _link_row(organization: Organization) -> None:
    TrackingLinkFactory(integration=_connected(organization), landing=None)


def _offer_row(organization: Organization) -> None:
    offer = OfferFactory(organization=organization)
    LandingFactory(offer=offer)
    LandingFactory(offer=offer)


def _goal_row(organization: Organization) -> None:
    goal = GoalFactory(offer=OfferFactory(organization=organization))
    GoalAliasFactory(goal=goal)
    GoalAliasFactory(goal=goal)


def _partner_row(organization: Organization) -> None:
    PartnerFactory(organization=organization, default_channel=ChannelFactory(organization=organization))


@pytest.mark.parametrize(
    ("url", "make_row"),
    [
        ("/api/v1/integrations/", _integration_row),
        ("/api/v1/links/", _link_row),
        ("/api/v1/offers/", _offer_row),
        ("/api/v1/goals/", _goal_row),
        ("/api/v1/partners/", _partner_row),
    ],
)
def test_a_list_costs_the_same_queries_for_five_rows_as_for_ten(
    client, organization, django_assert_num_queries, url: str, make_row: Callable[[Organization], None]
):
    for _ in range(5):
        make_row(organization)
    with CaptureQueriesContext(connection) as five_rows:
        assert client.get(url).status_code == 200
    for _ in range(5):
        make_row(organization)
    with django_assert_num_queries(len(five_rows.captured_queries)):
        response = client.get(url)
    assert response.json()["count"] >= 10
