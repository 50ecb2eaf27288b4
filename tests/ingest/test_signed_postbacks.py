"""Signed inbound requests and source-IP allow lists (issue 14 point 3, SPEC 4 "Signed postbacks").

An app (or an integration) that requires signing refuses, with 401 JSON, a request without
`ts`/`sig`, one whose `ts` is more than 300 s away, a wrong `sig` and a replay of the same
(ts, sig); the replay check is a database row, so it holds without Redis. An allow list refuses
other sources with 403. Every refusal is in the inbound log, `sig` masked.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from ingest.models import InboundPostback, SignatureUse
from ingest.signing import TS, canonical_string, signature, signature_uses_prune
from leads.models import Click, Lead
from partners.services import inbound_secret_generate
from tests.ingest.test_postback_support import make_world

SECRET = "s3cr3t-for-tests"


def signed(secret: str, params: dict[str, str], *, ts: int | None = None) -> dict[str, str]:
    """What a sender sends: the parameters with `ts` (now, unless given) and their `sig`."""
    stamped = {**params, TS: str(int(time.time()) if ts is None else ts)}
    return {**stamped, "sig": signature(secret, stamped)}


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def signing_world(world):
    world.app.signing_required = True
    world.app.inbound_secret = SECRET
    world.app.save()
    return world


def lead_postback(client: Client, params: dict[str, str], **extra):
    response = client.get(f"/postback/lead?{urlencode(params)}", **extra)
    return response.status_code, response.json()


def test_the_canonical_string_sorts_names_and_percent_encodes_as_rfc_3986():
    params = {"token": "abc", "click": "x y", "ts": "1700000000", "sig": "ignored", "ü": "a+b/c~"}

    assert canonical_string(params) == "click=x%20y&token=abc&ts=1700000000&%C3%BC=a%2Bb%2Fc~"


def test_a_correctly_signed_postback_creates_its_lead(client, signing_world):
    click = signing_world.click()
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id, "exto": "s1"})

    status, body = lead_postback(client, params)

    assert (status, body["ok"], body["created"]) == (200, True, True)
    assert Lead.objects.filter(click=click, exto="s1").exists()


def test_a_signed_json_post_is_checked_on_its_body_parameters(client, signing_world):
    click = signing_world.click()
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id, "exto": "j1"})

    response = client.post("/postback/lead", params, content_type="application/json")

    assert response.status_code == 200 and response.json()["created"] is True


def test_an_unsigned_postback_is_refused_when_the_app_requires_signing(client, signing_world):
    click = signing_world.click()

    status, body = lead_postback(client, {"token": signing_world.token, "click": click.click_id})

    assert status == 401 and body["ok"] is False
    assert "add ts and sig" in body["error"]
    assert not Lead.objects.exists()
    logged = InboundPostback.objects.get()
    assert (logged.http_status, logged.app_id) == (401, signing_world.app.pk)


def test_an_expired_signature_is_refused(client, signing_world):
    click = signing_world.click()
    old = int(time.time()) - 301
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id}, ts=old)

    status, body = lead_postback(client, params)

    assert status == 401 and "expired" in body["error"] and "300 s" in body["error"]
    assert not Lead.objects.exists()


def test_a_signature_from_the_future_beyond_the_tolerance_is_refused(client, signing_world):
    params = signed(SECRET, {"token": signing_world.token, "click": "x"}, ts=int(time.time()) + 400)

    status, body = lead_postback(client, params)

    assert status == 401 and "expired" in body["error"]


def test_a_wrong_signature_is_refused(client, signing_world):
    click = signing_world.click()
    params = signed("another secret", {"token": signing_world.token, "click": click.click_id})

    status, body = lead_postback(client, params)

    assert status == 401 and "signature is wrong" in body["error"]
    assert not Lead.objects.exists()


def test_a_changed_parameter_breaks_the_signature(client, signing_world):
    click = signing_world.click()
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id, "pay": "1"})
    params["pay"] = "1000"

    status, body = lead_postback(client, params)

    assert status == 401 and "signature is wrong" in body["error"]


def test_a_replayed_signature_is_refused_and_nothing_more_is_written(client, signing_world):
    click = signing_world.click()
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id, "status": "approved"})
    first, _ = lead_postback(client, params)

    status, body = lead_postback(client, params)

    assert first == 200
    assert status == 401 and "received already" in body["error"]
    assert Lead.objects.count() == 1
    assert SignatureUse.objects.count() == 1


def test_the_replay_check_holds_with_redis_down(client, signing_world, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    click = signing_world.click()
    params = signed(SECRET, {"token": signing_world.token, "click": click.click_id, "exto": "r1"})

    assert lead_postback(client, params)[0] == 200
    assert lead_postback(client, params)[0] == 401


def test_the_inbound_log_keeps_refused_signed_requests_with_the_sig_masked(client, signing_world):
    params = signed("wrong", {"token": signing_world.token, "click": "x"})

    lead_postback(client, params)

    logged = InboundPostback.objects.get()
    assert logged.params["sig"] != params["sig"] and params["sig"][:8] not in str(logged.params)
    assert logged.params["ts"] == params["ts"]
    assert "signature is wrong" in logged.reason


def test_an_app_that_does_not_require_signing_takes_unsigned_postbacks(client, world):
    click = world.click()

    status, body = lead_postback(client, {"token": world.token, "click": click.click_id})

    assert status == 200 and body["created"] is True


def test_old_signatures_are_pruned_and_fresh_ones_kept(signing_world):
    now = timezone.now()
    SignatureUse.objects.create(owner="app:1", sig="a" * 64, signed_at=now - timedelta(minutes=10))
    SignatureUse.objects.create(owner="app:1", sig="b" * 64, signed_at=now - timedelta(seconds=30))

    assert signature_uses_prune(now=now) == 1
    assert list(SignatureUse.objects.values_list("sig", flat=True)) == ["b" * 64]


def test_the_click_api_takes_a_signed_request_from_an_integration_that_requires_it(client, world):
    integration = world.integration
    integration.signing_required = True
    integration.save()
    inbound_secret_generate(owner=integration)
    query = {"token": integration.token, "offer": str(world.offer.pk), "no_redirect": "true"}

    unsigned = client.get("/api/v1/clicks", query)
    accepted = client.get("/api/v1/clicks", signed(integration.inbound_secret, query))

    assert (
        unsigned.status_code == 401 and "integration takes signed requests only" in unsigned.json()["error"]
    )
    assert accepted.status_code == 200 and Click.objects.filter(click_id=accepted.json()["click_id"]).exists()


def test_the_conversion_api_with_an_integration_token_follows_the_integrations_signing(client, world):
    integration = world.integration
    integration.signing_required = True
    integration.inbound_secret = SECRET
    integration.save()
    click = world.click()
    query = {"token": integration.token, "sub_id": click.click_id, "external_transaction_id": "c1"}

    assert client.get("/api/v1/conversions", query).status_code == 401
    assert client.get("/api/v1/conversions", signed(SECRET, query)).status_code == 200


# -- source-IP allow lists ---------------------------------------------------------------------


def test_a_postback_from_an_allowed_network_is_taken(client, world):
    world.app.allowed_ips = "198.51.100.0/24\n2001:db8::/32"
    world.app.save()
    click = world.click()

    status, _ = lead_postback(
        client, {"token": world.token, "click": click.click_id}, REMOTE_ADDR="198.51.100.7"
    )
    v6, _ = lead_postback(
        client, {"token": world.token, "click": click.click_id, "exto": "6"}, REMOTE_ADDR="2001:db8::5"
    )

    assert (status, v6) == (200, 200)


def test_a_postback_from_outside_the_allow_list_is_refused_with_403(client, world):
    world.app.allowed_ips = "198.51.100.7"
    world.app.save()
    click = world.click()

    status, body = lead_postback(
        client, {"token": world.token, "click": click.click_id}, REMOTE_ADDR="203.0.113.9"
    )

    assert status == 403
    assert body["error"].startswith("Source IP 203.0.113.9 is not on this app's allow list")
    assert not Lead.objects.exists()
    assert InboundPostback.objects.get().http_status == 403


def test_the_allow_list_reads_the_client_ip_behind_trusted_proxies(client, world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    world.app.allowed_ips = "198.51.100.7"
    world.app.save()
    click = world.click()

    status, _ = lead_postback(
        client,
        {"token": world.token, "click": click.click_id},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.7",
    )

    assert status == 200


def test_the_click_api_refuses_a_source_outside_the_integrations_allow_list(client, world):
    world.integration.allowed_ips = "198.51.100.0/24"
    world.integration.save()
    query = {"token": world.integration.token, "offer": str(world.offer.pk), "no_redirect": "true"}

    response = client.get("/api/v1/clicks", query, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert "not on this integration's allow list" in response.json()["error"]
    assert not Click.objects.exists()
