"""Country and network of clicks and impressions from offline GeoIP data (SPEC 4.1)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from leads import geoip
from leads.models import Click, Impression
from tests.factories import TrackingLinkFactory

# Answers verified against the data shipped in geoip2fast 1.2.2 (it names networks, not AS numbers).
GOOGLE_V4 = "8.8.8.8"
GOOGLE_V6 = "2001:4860:4860::8888"
CLOUDFLARE_V4 = "1.1.1.1"


@pytest.fixture(autouse=True)
def _fresh_readers():
    geoip.reset()
    yield
    geoip.reset()


@pytest.fixture
def link(organization):
    return TrackingLinkFactory(integration__organization=organization)


@pytest.mark.parametrize(
    ("ip", "country", "org"),
    [(GOOGLE_V4, "US", "GOOGLE"), (GOOGLE_V6, "US", "GOOGLE"), (CLOUDFLARE_V4, "AU", "CLOUDFLARENET")],
)
def test_public_click_gets_country_and_network_from_the_shipped_data(client, link, ip, country, org):
    client.get(f"/c/{link.code}", REMOTE_ADDR=ip)

    click = Click.objects.get()
    assert (click.ip, click.country, click.as_org, click.asn) == (ip, country, org, None)


def test_impression_gets_country_and_network(client, link):
    client.get(f"/i/{link.code}", REMOTE_ADDR=GOOGLE_V4)

    impression = Impression.objects.get()
    assert (impression.country, impression.as_org) == ("US", "GOOGLE")


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "::1", "fd00::1", "169.254.1.1"])
def test_private_addresses_get_no_country_or_network(client, link, ip):
    client.get(f"/c/{link.code}", REMOTE_ADDR=ip)

    click = Click.objects.get()
    assert (click.country, click.asn, click.as_org) == ("", None, "")
    assert geoip.lookup(ip).private


@pytest.mark.parametrize("ip", ["", "not-an-ip", "999.1.1.1"])
def test_malformed_addresses_answer_nothing(ip):
    assert geoip.lookup(ip) == geoip.Network()


def test_click_api_looks_up_the_ip_the_partner_sent(organization):
    link = TrackingLinkFactory(integration__organization=organization)
    from leads.clicks import click_record
    from leads.linkcache import link_data

    click = click_record(link=link_data(link.code), fields={"ip": GOOGLE_V6})

    assert (click.country, click.as_org) == ("US", "GOOGLE")


def test_lookup_happens_before_ip_privacy_truncates_the_stored_address(client, organization):
    from partners.models import IpPrivacy

    link = TrackingLinkFactory(
        integration__organization=organization, integration__ip_privacy=IpPrivacy.AT_REST
    )
    client.get(f"/c/{link.code}", REMOTE_ADDR=GOOGLE_V4)

    click = Click.objects.get()
    assert click.ip != GOOGLE_V4
    assert (click.country, click.as_org) == ("US", "GOOGLE")


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["header", "param", "lookup"], "DE"),
        (["param", "header", "lookup"], "FR"),
        (["lookup", "header", "param"], "US"),
        (["param", "lookup"], "FR"),
        (["header"], "DE"),
    ],
)
def test_country_precedence_follows_the_setting(client, link, settings, sources, expected):
    settings.GEOIP_COUNTRY_SOURCES = sources
    client.get(f"/c/{link.code}?country=fr", REMOTE_ADDR=GOOGLE_V4, HTTP_CF_IPCOUNTRY="DE")

    click = Click.objects.get()
    assert (click.country, click.as_org) == (expected, "GOOGLE")


def test_cloudflare_unknown_country_falls_through_to_the_lookup(client, link):
    client.get(f"/c/{link.code}", REMOTE_ADDR=GOOGLE_V4, HTTP_CF_IPCOUNTRY="XX")

    assert Click.objects.get().country == "US"


@pytest.fixture
def mmdb_files(tmp_path):
    """A tiny country and ASN database in MaxMind format, written by the test."""
    country = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    country.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"iso_code": "NZ"}})
    country.to_db_file(str(tmp_path / "country.mmdb"))
    asn = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    asn.insert_network(
        IPSet(["8.8.8.0/24", "2001:4860::/32"]),
        {"autonomous_system_number": 64512, "autonomous_system_organization": "Test Network"},
    )
    asn.to_db_file(str(tmp_path / "asn.mmdb"))
    return tmp_path / "country.mmdb", tmp_path / "asn.mmdb"


def test_mmdb_files_answer_when_set(client, link, settings, mmdb_files):
    settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB = map(str, mmdb_files)
    client.get(f"/c/{link.code}", REMOTE_ADDR=GOOGLE_V4)

    click = Click.objects.get()
    assert (click.country, click.asn, click.as_org) == ("NZ", 64512, "Test Network")
    assert geoip.lookup(GOOGLE_V4).database == "mmdb"


def test_mmdb_address_not_in_the_database_answers_nothing(settings, mmdb_files):
    settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB = map(str, mmdb_files)

    assert geoip.lookup(CLOUDFLARE_V4) == geoip.Network(database="mmdb")
    assert geoip.lookup(GOOGLE_V6) == geoip.Network(asn=64512, as_org="Test Network", database="mmdb")


def test_lookups_are_cached_and_stay_off_the_database(db, django_assert_num_queries):
    geoip.lookup(GOOGLE_V4)
    with django_assert_num_queries(0):
        assert geoip.lookup(GOOGLE_V4).country == "US"
    assert geoip.lookup.cache_info().hits >= 1


def test_gunicorn_workers_open_the_data_before_their_first_click():
    hook = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))["post_worker_init"]

    hook(None)

    assert geoip._reader.cache_info().currsize == 1


# -- the admin's IP lookup ---------------------------------------------------------------------

URL = "/admin/ingest/inboundpostback/ip-lookup/"


def test_ip_lookup_page_shows_what_we_know_of_an_address(client, analyst):
    client.force_login(analyst)
    page = client.get(URL, {"ip": GOOGLE_V4}).content.decode()

    assert "geoip2fast (shipped with the package)" in page
    assert "<td>US</td>" in page
    assert "<td>GOOGLE</td>" in page
    assert "<td>no</td>" in page


def test_ip_lookup_page_says_a_private_address_is_private(client, manager):
    client.force_login(manager)
    page = client.get(URL, {"ip": "10.0.0.1"}).content.decode()

    assert "yes: no country or network" in page


def test_ip_lookup_page_explains_a_bad_address(client, manager):
    client.force_login(manager)
    page = client.get(URL, {"ip": "nope"}).content.decode()

    assert "Enter an IPv4 address (203.0.113.7)" in page


def test_ip_lookup_is_refused_to_a_staff_user_of_no_organization(client, organization):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(URL, {"ip": GOOGLE_V4}).status_code == 403
