"""SSRF safety: outbound URLs may only reach the public internet, at save time and at send time."""

from __future__ import annotations

import socket

import pytest

from partners.urlsafety import UnsafeURL, check_url, validate_outbound_url
from postbacks.outbound import POLICIES, Outcome, send
from tests.unsafe_urls import LOOPBACK_HOSTS, MALFORMED_URLS, METADATA_URLS, NON_PUBLIC_URLS


@pytest.fixture
def no_dialing(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was opened to {args[0]!r}")

    monkeypatch.setattr("urllib3.util.connection.create_connection", refuse)


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for made-up host names; any other name is resolved as usual."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("url", NON_PUBLIC_URLS + METADATA_URLS)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(UnsafeURL, match="public"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
def test_non_public_addresses_are_allowed_when_private_addresses_are_allowed(url):
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", METADATA_URLS)
def test_cloud_metadata_is_refused_even_when_private_addresses_are_allowed(url):
    with pytest.raises(UnsafeURL, match=r"169\.254\.169\.254"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", MALFORMED_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_malformed_urls_are_refused_whatever_the_setting(url, allow_private):
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2130706433/", "“2130706433” means 127.0.0.1, a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1, a private network address"),
        ("ftp://partner.example/", "Only http:// and https://"),
        ("http://user:pass@example.com/", "user name or password"),
    ],
)
def test_refusal_explains_what_the_url_is(url, reason):
    with pytest.raises(UnsafeURL, match=reason):
        check_url(url, allow_private=False)


def test_refusal_of_a_private_address_names_the_development_setting():
    with pytest.raises(UnsafeURL, match="OUTBOUND_ALLOW_PRIVATE"):
        check_url("http://192.168.1.1/", allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://93.184.216.34/pb?click=1", "https://93.184.216.34:8443/pb", "http://[2606:4700::1]/"]
)
def test_public_ip_addresses_pass(url):
    check_url(url, allow_private=False)


def test_the_setting_decides_when_no_choice_is_given(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    check_url("http://10.0.0.1/")
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURL):
        check_url("http://10.0.0.1/")


def test_a_host_name_resolving_to_a_private_address_is_refused(fake_dns):
    fake_dns["intranet.example"] = ["10.1.2.3"]
    with pytest.raises(UnsafeURL, match=r"“intranet\.example” resolves to 10\.1\.2\.3"):
        check_url("https://intranet.example/pb", allow_private=False)


def test_a_host_name_with_any_private_address_among_its_answers_is_refused(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UnsafeURL, match="resolves to ::1"):
        check_url("https://mixed.example/pb", allow_private=False)


def test_a_host_name_resolving_to_a_public_address_passes(fake_dns):
    fake_dns["partner.example"] = ["93.184.216.34"]
    check_url("https://partner.example/pb", allow_private=False)


def test_a_host_name_that_does_not_resolve_passes_the_check(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    check_url("https://gone.example/pb", allow_private=False)


def test_validate_outbound_url_fills_macros_and_returns_no_error_for_a_safe_template():
    assert validate_outbound_url("https://93.184.216.34/pb?click={click_id}&sum={payout}") == []


def test_validate_outbound_url_returns_the_refusal_as_text():
    errors = validate_outbound_url("http://10.0.0.1/pb?click={click_id}", allow_private=False)
    assert len(errors) == 1
    assert "private network" in errors[0]


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_send_refuses_loopback_spellings_without_dialing(httpserver, host):
    url = f"http://{host}:{httpserver.port}/pb"
    result = send(url, policy=POLICIES["partner"], allow_private=False)
    assert result.outcome == Outcome.FAILED
    assert result.status_code is None
    assert "public internet addresses" in result.error
    assert httpserver.log == []


@pytest.mark.parametrize("url", NON_PUBLIC_URLS + METADATA_URLS + MALFORMED_URLS)
def test_send_refuses_unsafe_urls_without_opening_a_connection(no_dialing, url):
    result = send(url, policy=POLICIES["partner"], allow_private=False)
    assert result.outcome == Outcome.FAILED
    assert result.error


def test_send_refuses_by_default_when_the_setting_is_off(settings, httpserver):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    result = send(httpserver.url_for("/pb"), policy=POLICIES["partner"])
    assert result.outcome == Outcome.FAILED
    assert httpserver.log == []


def test_send_reaches_a_loopback_receiver_when_private_addresses_are_allowed(httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    result = send(f"http://127.0.0.1:{httpserver.port}/pb", policy=POLICIES["partner"], allow_private=True)
    assert result.outcome == Outcome.DONE
    assert len(httpserver.log) == 1


def test_dns_rebinding_between_check_and_connect_is_caught_at_connect(fake_dns, httpserver):
    # The first answer (to the check) is public, the second (to the connection) is loopback.
    fake_dns["rebind.example"] = ["93.184.216.34", "127.0.0.1"]
    result = send(
        f"http://rebind.example:{httpserver.port}/pb", policy=POLICIES["partner"], allow_private=False
    )
    assert result.outcome == Outcome.FAILED
    assert "127.0.0.1, a non-public address, when connecting" in result.error
    assert httpserver.log == []
