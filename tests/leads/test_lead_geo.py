"""A lead's country and network: the conversion's own IP, else its click's (SPEC 4.1, issue 12)."""

from __future__ import annotations

import pytest

from leads import geoip
from leads.models import Lead, LeadStatus
from leads.services import lead_create
from partners.models import IpPrivacy
from tests.ingest.test_postback_support import get_json, make_world
from tests.leads.test_geoip import mmdb_files  # noqa: F401  (a fixture)

# In the GeoIP data shipped with geoip2fast: 8.8.8.8 is Google's, in the United States.
GOOGLE_V4 = "8.8.8.8"
LEAD, STATUS, CONVERSIONS = "/postback/lead", "/postback/status", "/api/v1/conversions"


@pytest.fixture(autouse=True)
def _fresh_readers():
    geoip.reset()
    yield
    geoip.reset()


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def click(world):
    return world.click(country="DE", asn=3320, as_org="Deutsche Telekom AG")


def _lead(client, world, path: str, **params) -> Lead:
    status, body = get_json(client, world.url(path, **params))
    assert status == 200, body
    return Lead.objects.get(pk=body["lead"]["id"])


def _where(lead: Lead) -> tuple[str, int | None, str]:
    return lead.country, lead.asn, lead.as_org


def test_a_lead_postback_is_placed_by_its_own_ip(client, world, click):
    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", ip=GOOGLE_V4)

    assert _where(lead) == ("US", None, "GOOGLE")


def test_a_lead_postback_without_an_ip_has_its_clicks_country_and_network(client, world, click):
    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1")

    assert _where(lead) == ("DE", 3320, "Deutsche Telekom AG")


def test_a_sent_country_without_an_ip_keeps_the_clicks_network(client, world, click):
    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", country="fr")

    assert _where(lead) == ("FR", 3320, "Deutsche Telekom AG")


def test_a_sent_country_is_weighed_against_the_lookup_in_the_settings_order(client, world, click, settings):
    settings.GEOIP_COUNTRY_SOURCES = ["lookup", "param"]

    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", country="FR", ip=GOOGLE_V4)

    assert _where(lead) == ("US", None, "GOOGLE")


def test_a_status_postback_creating_with_stn_places_the_lead(client, world, click):
    lead = _lead(client, world, STATUS, click=click.click_id, status="fresh", stn="fresh", ip=GOOGLE_V4)

    assert (lead.status, *_where(lead)) == (LeadStatus.NEW, "US", None, "GOOGLE")


def test_a_status_postback_creating_with_auto_places_the_lead(client, world, click):
    lead = _lead(client, world, STATUS, click=click.click_id, status="approved", auto=1)

    assert (lead.status, *_where(lead)) == (LeadStatus.APPROVED, "DE", 3320, "Deutsche Telekom AG")


def test_the_conversions_api_places_the_lead_by_its_conversion_ip(client, world, click):
    lead = _lead(client, world, CONVERSIONS, sub_id=click.click_id, conversion_ip=GOOGLE_V4)

    assert _where(lead) == ("US", None, "GOOGLE")


def test_a_lead_by_flow_without_a_click_is_placed_by_its_ip_alone(client, world):
    lead = _lead(client, world, LEAD, flow=world.link.pk, exto="f1", ip=GOOGLE_V4)

    assert _where(lead) == ("US", None, "GOOGLE")


def test_the_ip_is_looked_up_before_ip_privacy_truncates_it(client, world, click):
    world.integration.ip_privacy = IpPrivacy.AT_REST
    world.integration.save()

    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", ip=GOOGLE_V4)

    assert lead.params["ip"] != GOOGLE_V4
    assert _where(lead) == ("US", None, "GOOGLE")


def test_an_asn_database_gives_the_lead_its_as_number(client, world, click, settings, mmdb_files):  # noqa: F811
    settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB = map(str, mmdb_files)

    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", ip=GOOGLE_V4)

    assert _where(lead) == ("NZ", 64512, "Test Network")


def test_a_lead_created_by_a_manager_has_its_clicks_country_and_network(world, click):
    lead, created = lead_create(app=world.app, link=world.link, click=click)

    assert created
    assert _where(lead) == ("DE", 3320, "Deutsche Telekom AG")


def test_the_management_api_shows_a_leads_country_and_network(client, world, click, api_client_for, analyst):
    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1", ip=GOOGLE_V4)

    body = api_client_for(analyst).get(f"/api/v1/leads/{lead.pk}/").json()

    assert (body["country"], body["asn"], body["as_org"]) == ("US", None, "GOOGLE")


def test_the_lead_admin_page_shows_its_country_and_network(client, world, click, manager):
    lead = _lead(client, world, LEAD, click=click.click_id, exto="a1")
    client.force_login(manager)

    page = client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()

    assert "Deutsche Telekom AG" in page
    assert "3320" in page
