"""The data-centre screening rule: hosting networks flagged or rejected (SPEC 4.4, issue 12)."""

from __future__ import annotations

import pytest

from leads import datacenters, geoip, linkcache
from leads.models import Click, Lead
from partners.models import DatacenterNetwork, ScreeningRule
from tests.ingest.test_postback_support import get_json, make_world
from tests.leads.test_geoip import mmdb_files  # noqa: F401  (a fixture)

Kind, Action, Change = ScreeningRule.Kind, ScreeningRule.Action, DatacenterNetwork.Change
BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"
# Well-known addresses, as the GeoIP data shipped with geoip2fast names their networks.
AWS = "52.95.110.1"  # AMAZON-02
HETZNER = "88.198.1.1"  # Hetzner Online GmbH
DIGITALOCEAN = "167.99.1.1"  # DIGITALOCEAN-ASN
RESIDENTIAL = "80.187.1.1"  # a German mobile operator


@pytest.fixture(autouse=True)
def _fresh_readers():
    geoip.reset()
    yield
    geoip.reset()


@pytest.fixture
def world(organization):
    return make_world(organization)


def datacenter_rule(world, action: str = Action.FLAG) -> ScreeningRule:
    return ScreeningRule.objects.create(
        integration=world.integration, kind=Kind.DATACENTER, action=action, reason_code="datacenter"
    )


def visit(client, world, ip: str) -> Click:
    client.get(f"/c/{world.link.code}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=ip)
    return Click.objects.latest("id")


# -- the shipped list matches what the lookup answers ---------------------------------------------


@pytest.mark.parametrize(
    ("ip", "matched"),
    [
        (AWS, "AMAZON-02"),
        ("2600:1f18::1", "AMAZON-AES"),
        ("34.102.136.180", "GOOGLE-CLOUD-PLATFORM"),
        ("20.190.128.1", "MICROSOFT-CORP-MSN-AS-BLOCK"),
        (DIGITALOCEAN, "DIGITALOCEAN-ASN"),
        ("51.38.1.1", "OVH*"),
        (HETZNER, "Hetzner Online*"),
        ("139.162.1.1", "Akamai Connected Cloud"),
        ("45.32.1.1", "AS-CHOOPA"),
        ("129.146.1.1", "ORACLE-BMC-31898"),
        ("47.88.1.1", "Alibaba US Technology Co., Ltd."),
        ("43.128.1.1", "Tencent Building, Kejizhongyi Avenue"),
        ("173.212.192.1", "Contabo GmbH"),
        ("5.79.64.1", "LeaseWeb*"),
        ("51.15.1.1", "Scaleway*"),
        ("185.156.172.1", "M247*"),
    ],
)
def test_the_shipped_list_names_the_big_hosting_networks_as_the_lookup_does(ip, matched):
    network = geoip.lookup(ip)

    assert datacenters.networks_of(list(datacenters.shipped())).match(network.asn, network.as_org) == matched


@pytest.mark.parametrize("ip", [RESIDENTIAL, "1.1.1.1", "81.2.69.142"])
def test_consumer_networks_are_not_on_the_shipped_list(ip):
    network = geoip.lookup(ip)

    assert datacenters.networks_of(list(datacenters.shipped())).match(network.asn, network.as_org) is None


def test_a_name_pattern_matches_the_whole_name_not_a_prefix():
    networks = datacenters.networks_of([datacenters.Entry(None, "GOOGLE")])

    assert networks.match(None, "google") == "GOOGLE"
    assert networks.match(None, "GOOGLE-FIBER") is None


# -- clicks and conversions -----------------------------------------------------------------------


def test_a_click_from_a_data_centre_is_flagged_with_its_network(client, world):
    datacenter_rule(world)

    click = visit(client, world, AWS)

    assert (click.verdict, click.verdict_reason) == ("flagged", "datacenter")
    assert click.verdict_details == {"asn": None, "as_org": "AMAZON-02", "matched": "AMAZON-02"}


def test_a_click_from_a_consumer_network_passes(client, world):
    datacenter_rule(world)

    assert visit(client, world, RESIDENTIAL).verdict == "ok"


def test_a_rejecting_rule_rejects_the_click_and_still_redirects_it(client, world):
    datacenter_rule(world, Action.REJECT)

    response = client.get(f"/c/{world.link.code}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=HETZNER)

    assert response.status_code == 302
    assert Click.objects.get().verdict == "rejected"


def test_a_conversion_from_a_data_centre_is_rejected_and_pays_nothing(client, world):
    datacenter_rule(world, Action.REJECT)
    click = world.click(country="DE", as_org="Deutsche Telekom AG", user_agent=BROWSER)

    _, body = get_json(client, world.url("/postback/lead", click=click.click_id, exto="x1", ip=DIGITALOCEAN))

    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert (lead.verdict, lead.verdict_reason, str(lead.payout)) == ("rejected", "datacenter", "0.0000")
    assert lead.verdict_details["matched"] == "DIGITALOCEAN-ASN"


def test_a_conversion_without_an_ip_is_screened_by_its_clicks_network(client, world):
    datacenter_rule(world)
    click = world.click(as_org="Hetzner Online GmbH", user_agent=BROWSER)

    _, body = get_json(client, world.url("/postback/lead", click=click.click_id, exto="x1"))

    assert Lead.objects.get(pk=body["lead"]["id"]).verdict_reason == "datacenter"


def test_an_as_number_matches_when_an_asn_database_answers(client, world, settings, mmdb_files):  # noqa: F811
    settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB = map(str, mmdb_files)
    DatacenterNetwork.objects.create(organization=world.integration.organization, asn=64512)
    datacenter_rule(world)

    click = visit(client, world, "8.8.8.8")

    assert click.verdict_details == {"asn": 64512, "as_org": "Test Network", "matched": "AS64512"}


# -- the organization's own list ------------------------------------------------------------------


def test_excluding_a_shipped_network_lets_its_traffic_pass(client, world):
    datacenter_rule(world)
    assert visit(client, world, HETZNER).verdict == "flagged"

    DatacenterNetwork.objects.create(
        organization=world.integration.organization, change=Change.EXCLUDE, as_org="hetzner online*"
    )

    assert visit(client, world, HETZNER).verdict == "ok"
    assert visit(client, world, AWS).verdict == "flagged"


def test_adding_a_network_screens_its_traffic_from_the_next_click(client, world):
    datacenter_rule(world)
    assert visit(client, world, RESIDENTIAL).verdict == "ok"
    name = geoip.lookup(RESIDENTIAL).as_org

    added = DatacenterNetwork.objects.create(organization=world.integration.organization, as_org=name)
    assert visit(client, world, RESIDENTIAL).verdict_details["matched"] == name

    added.delete()
    assert visit(client, world, RESIDENTIAL).verdict == "ok"


def test_another_organizations_list_changes_nothing(client, world, other_organization):
    datacenter_rule(world)
    DatacenterNetwork.objects.create(
        organization=other_organization, change=Change.EXCLUDE, as_org="AMAZON-02"
    )

    assert visit(client, world, AWS).verdict == "flagged"


def test_a_warm_click_reads_no_list_from_the_database(client, world, django_assert_num_queries):
    datacenter_rule(world)
    visit(client, world, AWS)  # warms the link's cached configuration

    with django_assert_num_queries(1):  # the click's INSERT
        client.get(f"/c/{world.link.code}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=AWS)

    assert Click.objects.latest("id").verdict == "flagged"


def test_the_list_is_read_only_when_a_datacenter_rule_is_active(world, django_assert_num_queries):
    with django_assert_num_queries(2):  # the rules, the source lists
        config = linkcache.build_config(world.integration)

    assert config["click_rules"] == []


# -- pages ----------------------------------------------------------------------------------------

LOOKUP = "/admin/ingest/inboundpostback/ip-lookup/"


def test_ip_lookup_says_whether_an_address_is_a_data_centre_for_the_viewer(client, analyst, organization):
    client.force_login(analyst)

    page = client.get(LOOKUP, {"ip": AWS}).content.decode()
    assert "yes: on your organization's list (AMAZON-02)" in page

    DatacenterNetwork.objects.create(organization=organization, change=Change.EXCLUDE, as_org="AMAZON-02")
    page = client.get(LOOKUP, {"ip": AWS}).content.decode()
    assert "no: not on your organization's list" in page


def test_a_manager_adds_a_network_in_the_admin(client, manager, organization):
    client.force_login(manager)

    response = client.post(
        "/admin/partners/datacenternetwork/add/",
        {"change": Change.ADD, "asn": "", "as_org": "Example Hosting*", "note": "our VPN checks"},
    )

    assert response.status_code == 302
    assert DatacenterNetwork.objects.get().organization == organization
    page = client.get("/admin/partners/datacenternetwork/").content.decode()
    assert "Example Hosting*" in page and "AMAZON-02" in page


def test_the_admin_refuses_a_network_without_number_or_name(client, manager):
    client.force_login(manager)

    response = client.post(
        "/admin/partners/datacenternetwork/add/", {"change": Change.ADD, "asn": "", "as_org": " "}
    )

    assert "Give the network&#x27;s AS number, its organization name, or both." in response.content.decode()
    assert not DatacenterNetwork.objects.exists()
