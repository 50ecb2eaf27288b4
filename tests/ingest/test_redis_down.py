"""Redis is optional at runtime: with it gone, every ingestion endpoint answers 2xx from the database.

The cache, the screening counters and the Celery broker are pointed at a port nothing listens
on (refused at once), at a socket that accepts and never answers (a hung Redis), or at a
`redis-server` of the test's own that it kills (tests/ingest/conftest.py).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from config import hotcache
from leads.linkcache import link_cache_key
from leads.models import Click, Impression, Lead, LeadEvent, LeadStatus
from leads.services import lead_create
from postbacks.models import Delivery, PostbackTemplate
from postbacks.services import deliveries_due
from tests.factories import LandingFactory
from tests.ingest.test_postback_support import World, make_world


class SilentRedis:
    """A socket that accepts connections and never answers, like a stopped or hung Redis."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_redis(point_redis_at) -> Iterator[SilentRedis]:
    server = SilentRedis()
    point_redis_at(f"redis://127.0.0.1:{server.port}/0")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _outbound(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True


@pytest.fixture
def world(organization) -> World:
    return make_world(organization)


def _click_on(client, world: World) -> None:
    response = client.get(f"/c/{world.link.code}?sub1=s")
    assert response.status_code == 302


# -- every ingestion endpoint -----------------------------------------------------------------


def test_a_lead_postback_creates_the_lead_and_leaves_its_delivery_to_the_sweep(
    client, world, redis_down, django_capture_on_commit_callbacks
):
    PostbackTemplate.objects.create(
        integration=world.integration, url="http://127.0.0.1:9/pb", event=PostbackTemplate.Event.CONVERSION
    )
    click = world.click()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(world.url("/postback/lead", click=click.click_id, exto="E-1"))

    assert response.status_code == 200 and response.json()["created"] is True
    lead = Lead.objects.get()
    assert (lead.click, lead.exto) == (click, "E-1")
    delivery = Delivery.objects.get()
    assert deliveries_due() == [delivery.pk]


def test_a_status_postback_changes_the_status(client, world, redis_down):
    click = world.click()
    lead, _ = lead_create(app=world.app, link=world.link, click=click)

    response = client.get(world.url("/postback/status", click=click.click_id, status="approved"))

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPROVED
    assert lead.events.filter(kind=LeadEvent.Kind.STATUS).exists()


def test_a_tracking_click_redirects_and_is_recorded(client, world, redis_down):
    LandingFactory(offer=world.offer, url="https://shop.example/?c={click_id}")

    response = client.get(f"/c/{world.link.code}?sub1=s")

    click = Click.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"https://shop.example/?c={click.click_id}"


def test_the_impression_pixel_answers_and_is_recorded(client, world, redis_down):
    response = client.get(f"/i/{world.link.code}")

    assert response.status_code == 200
    assert Impression.objects.filter(link=world.link).count() == 1


def test_the_click_api_answers_the_click_id(client, world, redis_down):
    response = client.get(
        "/api/v1/clicks",
        {"token": world.integration.token, "offer": world.offer.pk, "no_redirect": "true"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "click_id": Click.objects.get().click_id,
        "country": "",
        "asn": None,
        "as_org": "",
    }


def test_the_impression_api_answers_the_impression_id(client, world, redis_down):
    response = client.get("/api/v1/impressions", {"token": world.integration.token, "offer": world.offer.pk})

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "impression_id": Impression.objects.get().pk,
        "country": "",
        "asn": None,
        "as_org": "",
    }


def test_the_conversion_api_creates_the_lead(client, world, redis_down):
    click = world.click()

    response = client.get(
        world.url(
            "/api/v1/conversions",
            publisher=world.link.partner_id,
            offer=world.offer.pk,
            sub_id=click.click_id,
            external_transaction_id="T-1",
        )
    )

    assert response.status_code == 200 and response.json()["created"] is True
    assert Lead.objects.get().exto == "T-1"


def test_count_rules_are_skipped_and_the_click_kept(client, world, redis_down):
    world.integration.screening_rules.create(
        kind="clicks_per_ip", threshold=1, window_seconds=60, action="reject", reason_code="ip"
    )

    _click_on(client, world)

    assert Click.objects.get().verdict == "ok"


# -- the breaker ------------------------------------------------------------------------------


def test_a_hung_redis_costs_one_timeout_then_nothing_within_the_window(client, world, silent_redis):
    started = time.monotonic()
    _click_on(client, world)
    first = time.monotonic() - started
    tried = len(silent_redis.accepted)
    hotcache.clear()

    started = time.monotonic()
    _click_on(client, world)
    second = time.monotonic() - started

    assert tried >= 1 and first < 2
    assert len(silent_redis.accepted) == tried  # the second click did not even connect
    assert second < 0.2
    assert Click.objects.count() == 2


def test_a_lead_postback_to_a_hung_redis_and_broker_is_answered_within_a_second(
    client, world, silent_redis, django_capture_on_commit_callbacks
):
    PostbackTemplate.objects.create(
        integration=world.integration, url="http://127.0.0.1:9/pb", event=PostbackTemplate.Event.CONVERSION
    )
    click = world.click()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(world.url("/postback/lead", click=click.click_id))
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < 1.5
    assert deliveries_due() == [Delivery.objects.get().pk]


def test_redis_killed_mid_test_is_skipped_then_used_again_once_back(client, world, redis_server, settings):
    settings.CACHE_BREAKER_SECONDS = 0.5
    key = f"pd-test:1:{link_cache_key(world.link.code)}"
    _click_on(client, world)
    assert redis_server.client().exists(key)

    redis_server.kill()
    hotcache.clear()
    _click_on(client, world)
    redis_server.start()
    received = redis_server.connections_received()
    hotcache.clear()
    _click_on(client, world)
    skipped = redis_server.connections_received() == received

    time.sleep(0.6)
    hotcache.clear()
    _click_on(client, world)

    assert Click.objects.count() == 4
    assert skipped
    assert redis_server.client().exists(key)
