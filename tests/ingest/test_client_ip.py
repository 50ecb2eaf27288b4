"""The visitor's address behind our proxies: X-Forwarded-For read from the right, never its first value."""

from __future__ import annotations

import pytest

from ingest.clientip import forwarded_ip
from leads.models import Click, Impression
from tests.factories import TrackingLinkFactory

SPOOF = "6.6.6.6"


@pytest.mark.parametrize(
    ("remote", "xff", "count", "proxies", "expected"),
    [
        # No proxy configured: the socket address, whatever the header claims.
        ("203.0.113.7", f"{SPOOF}", 0, (), "203.0.113.7"),
        # nginx alone (1 hop): it appended the browser's address; the browser's own value is ignored.
        ("10.0.0.2", f"{SPOOF}, 198.51.100.9", 1, (), "198.51.100.9"),
        # CDN then nginx (2 hops).
        ("10.0.0.2", f"{SPOOF}, 198.51.100.9, 172.70.1.1", 2, (), "198.51.100.9"),
        # Fewer hops than proxies: the leftmost hop a proxy of ours wrote.
        ("10.0.0.2", "198.51.100.9", 2, (), "198.51.100.9"),
        # Proxy configured but no header at all: the socket address.
        ("198.51.100.9", "", 1, (), "198.51.100.9"),
        # Malformed entries are dropped before counting.
        ("10.0.0.2", f"{SPOOF}, 198.51.100.9, garbage, ", 1, (), "198.51.100.9"),
        # A port or IPv6 brackets on a hop are tolerated.
        ("10.0.0.2", f"{SPOOF}, 198.51.100.9:5312", 1, (), "198.51.100.9"),
        ("10.0.0.2", f"{SPOOF}, [2001:db8::5]:443", 1, (), "2001:db8::5"),
        # Networks: walk from the right past our proxies (socket included).
        ("172.70.1.1", f"{SPOOF}, 198.51.100.9", 0, ("172.64.0.0/13",), "198.51.100.9"),
        (
            "10.0.0.2",
            f"{SPOOF}, 198.51.100.9, 172.70.1.1",
            0,
            ("172.64.0.0/13", "10.0.0.0/8"),
            "198.51.100.9",
        ),
        # The socket is not one of ours: the header is not believed.
        ("198.51.100.50", f"{SPOOF}", 0, ("172.64.0.0/13",), "198.51.100.50"),
        # IPv6 proxies and visitor.
        ("2400:cb00::1", f"{SPOOF}, 2001:db8:1::7", 0, ("2400:cb00::/32",), "2001:db8:1::7"),
        ("::1", "2001:db8:1::7", 1, (), "2001:db8:1::7"),
    ],
)
def test_forwarded_ip_table(remote, xff, count, proxies, expected):
    assert forwarded_ip(remote, xff, proxy_count=count, proxies=proxies) == expected


@pytest.fixture
def link(organization):
    return TrackingLinkFactory(integration__organization=organization)


def test_click_behind_nginx_records_the_hop_nginx_added_not_the_spoofed_one(client, link, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(f"/c/{link.code}", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{SPOOF}, 198.51.100.9")

    assert Click.objects.get().ip == "198.51.100.9"


def test_click_without_trusted_proxies_ignores_x_forwarded_for(client, link):
    client.get(f"/c/{link.code}", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=SPOOF)

    assert Click.objects.get().ip == "198.51.100.9"


def test_impression_behind_a_cdn_records_the_visitor(client, link, settings):
    settings.TRUSTED_PROXIES = ["172.64.0.0/13"]
    client.get(f"/i/{link.code}", REMOTE_ADDR="172.70.1.1", HTTP_X_FORWARDED_FOR=f"{SPOOF}, 198.51.100.9")

    assert Impression.objects.get().ip == "198.51.100.9"
