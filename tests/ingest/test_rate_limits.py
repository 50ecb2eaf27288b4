"""Rate limits on the public endpoints and the management API, and tallies of refused requests.

Small limits come from the settings; Redis is the suite's (`REDIS_URL`), none (SQLite runs), a
port nothing listens on, or a `redis-server` of this module's own on a port of 8410-8419,
killed by its pid.
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from config import ratelimit
from ingest.models import InboundPostback, RefusalTally
from ingest.ratelimit import RateLimitMiddleware
from leads.models import Click, Lead
from tests.factories import UserFactory
from tests.ingest.test_postback_support import World, make_world


@pytest.fixture
def world(organization) -> World:
    return make_world(organization)


@pytest.fixture
def redis_ports() -> range:
    return range(8410, 8420)


@pytest.fixture
def own_redis(settings, redis_server):
    """A redis-server of this test's own, every hit synced to it at once."""
    settings.RATE_LIMIT_SYNC_HITS = 1
    return redis_server


def lead_postback(client, world: World, exto: str, **headers: str):
    click = world.click()
    return client.get(world.url("/postback/lead", click=click.click_id, exto=exto), **headers)


def assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["ok"] is False
    assert body["error"].startswith("Rate limit: more than ")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert body["error"].endswith(f"try again in {wait} s.")


# -- public endpoints -----------------------------------------------------------------------------


def test_a_lead_postback_over_its_tokens_limit_is_answered_429_json_with_retry_after(client, world, settings):
    settings.RATE_LIMIT_PER_TOKEN = 3

    answers = [lead_postback(client, world, f"E-{n}") for n in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert_rate_limited(answers[3])
    assert "for this token" in answers[3].json()["error"]
    assert sorted(Lead.objects.values_list("exto", flat=True)) == ["E-0", "E-1", "E-2"]


def test_a_request_over_the_limit_is_tallied_for_its_organization_not_logged(client, world, settings):
    settings.RATE_LIMIT_PER_TOKEN = 1
    lead_postback(client, world, "E-1")

    for n in range(3):
        assert lead_postback(client, world, f"E-over-{n}").status_code == 429

    assert InboundPostback.objects.count() == 1
    tally = RefusalTally.objects.get()
    assert (tally.kind, tally.count, tally.http_status) == ("rate_limit", 3, 429)
    assert tally.organization == world.app.organization
    assert (tally.endpoint, tally.path, tally.source_ip) == ("lead", "/postback/lead", "127.0.0.1")
    assert tally.params["exto"] == "E-over-0" and tally.params["token"] != world.token
    assert tally.reason.startswith("Rate limit:")


def test_a_click_over_its_links_limit_is_answered_429(client, world, settings):
    settings.RATE_LIMIT_PER_TOKEN = 2
    url = f"/c/{world.link.code}?sub1=s"

    answers = [client.get(url) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert_rate_limited(answers[2])
    assert Click.objects.count() == 2
    tally = RefusalTally.objects.get()
    assert (tally.endpoint, tally.organization_id, tally.count) == ("click", world.link.organization_id, 1)


def test_the_address_limit_holds_whatever_x_forwarded_for_claims(client, world, settings):
    settings.RATE_LIMIT_PER_IP = 2
    url = f"/i/{world.link.code}"

    answers = [client.get(url, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") for n in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert "from this address" in answers[2].json()["error"]


def test_behind_a_trusted_proxy_each_visitor_has_a_limit_of_its_own(client, world, settings):
    settings.RATE_LIMIT_PER_IP = 1
    settings.TRUSTED_PROXY_COUNT = 1
    url = f"/i/{world.link.code}"

    first, second = (client.get(url, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") for n in range(2))
    again = client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.0")

    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


def test_the_click_api_counts_per_integration_token(client, world, settings):
    settings.RATE_LIMIT_PER_TOKEN = 1
    url = f"/api/v1/clicks?token={world.integration.token}&code={world.link.code}&no_redirect=true"

    first, second = client.get(url), client.post(url.split("?")[0], {"token": world.integration.token})

    assert first.status_code == 200
    assert_rate_limited(second)


def test_limits_can_be_turned_off(client, world, settings):
    settings.RATE_LIMIT_ENABLED = False
    settings.RATE_LIMIT_PER_TOKEN = settings.RATE_LIMIT_PER_IP = 1

    answers = [lead_postback(client, world, f"E-{n}") for n in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]


@pytest.mark.django_db
def test_a_partners_burst_of_3000_postbacks_a_minute_passes_with_the_default_limits(settings):
    """The middleware alone (the view answers 200): 3,000 requests of one server and one token."""
    settings.RATE_LIMIT_SYNC_SECONDS = 60  # one window's count, however slow the machine
    middleware = RateLimitMiddleware(lambda request: HttpResponse("ok"))
    factory = RequestFactory()

    statuses = {
        middleware(factory.get(f"/postback/lead?token=partner-token&exto=E-{n}")).status_code
        for n in range(3000)
    }

    assert statuses == {200}


# -- the management API -----------------------------------------------------------------------------


def test_the_management_api_over_a_users_limit_is_answered_429_json_with_retry_after(
    manager, api_client_for, settings
):
    settings.RATE_LIMIT_API_PER_USER = 2
    api = api_client_for(manager)

    answers = [api.get("/api/v1/apps/") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert_rate_limited(answers[2])
    assert "for this user" in answers[2].json()["error"]


def test_the_management_apis_counts_are_its_own(client, world, manager, api_client_for, settings):
    settings.RATE_LIMIT_API_PER_IP = 2
    for n in range(3):
        lead_postback(client, world, f"E-{n}")

    answers = [api_client_for(manager).get("/api/v1/apps/") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]


# -- Redis away ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("redis_down")
def test_with_redis_refusing_connections_requests_are_answered_and_limited_per_process(
    client, world, settings
):
    settings.RATE_LIMIT_PER_TOKEN = 3
    settings.RATE_LIMIT_SYNC_HITS = 1

    answers = [lead_postback(client, world, f"E-{n}") for n in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert Lead.objects.count() == 3


def test_counts_are_shared_through_redis(client, world, settings, own_redis):
    settings.RATE_LIMIT_PER_TOKEN = 3
    url = f"/c/{world.link.code}"
    client.get(url), client.get(url)

    ratelimit.clear()  # another process: nothing counted here, Redis holds the window's two
    third, fourth = client.get(url), client.get(url)

    assert (third.status_code, fourth.status_code) == (302, 429)


def test_redis_killed_mid_window_the_count_goes_on_in_this_process(client, world, settings, own_redis):
    settings.RATE_LIMIT_PER_TOKEN = 4
    url = f"/c/{world.link.code}"
    assert [client.get(url).status_code for _ in range(2)] == [302, 302]

    own_redis.kill()
    answers = [client.get(url).status_code for _ in range(3)]

    assert answers == [302, 302, 429]
    assert Click.objects.count() == 4


# -- wrong tokens -----------------------------------------------------------------------------------


def test_a_wrong_token_flood_past_the_threshold_is_tallied_not_logged_row_by_row(client, world, settings):
    settings.INGEST_REFUSALS_LOGGED_PER_SOURCE = 5
    settings.RATE_LIMIT_PER_IP = 1000

    answers = [client.get(f"/postback/lead?token=wrong-token-{n}&click=abc") for n in range(30)]

    assert {answer.status_code for answer in answers} == {401}
    assert all(answer.json()["error"].startswith("Wrong token") for answer in answers)
    assert InboundPostback.objects.count() == 5
    tally = RefusalTally.objects.get()
    assert (tally.kind, tally.count, tally.organization, tally.source_ip) == ("auth", 25, None, "127.0.0.1")
    assert (tally.endpoint, tally.path, tally.http_status) == ("lead", "/postback/lead", 401)
    assert tally.params == {"token": "wron…", "click": "abc"}
    assert tally.reason.startswith("Wrong token")


def test_wrong_tokens_on_the_click_api_count_toward_the_same_sources_tally(client, db, settings):
    settings.INGEST_REFUSALS_LOGGED_PER_SOURCE = 2

    for n in range(3):
        client.get(f"/postback/status?token=bad-{n}")
    for n in range(3):
        assert client.get(f"/api/v1/clicks?token=bad-{n}&code=x").status_code == 401

    assert InboundPostback.objects.count() == 2
    assert RefusalTally.objects.get().count == 4


def test_each_source_has_its_own_threshold(client, db, settings):
    settings.INGEST_REFUSALS_LOGGED_PER_SOURCE = 1
    settings.TRUSTED_PROXY_COUNT = 1

    for address in ("198.51.100.1", "198.51.100.2"):
        client.get("/postback/lead?token=bad", HTTP_X_FORWARDED_FOR=address)
        client.get("/postback/lead?token=bad", HTTP_X_FORWARDED_FOR=address)

    assert sorted(InboundPostback.objects.values_list("source_ip", flat=True)) == [
        "198.51.100.1",
        "198.51.100.2",
    ]
    assert sorted(RefusalTally.objects.values_list("source_ip", "count")) == [
        ("198.51.100.1", 1),
        ("198.51.100.2", 1),
    ]


# -- the admin --------------------------------------------------------------------------------------


def _tally(organization, source_ip: str) -> RefusalTally:
    return RefusalTally.objects.create(
        organization=organization,
        kind=RefusalTally.Kind.RATE_LIMIT,
        source_ip=source_ip,
        window_start=ratelimit.window_start(timezone.now()),
        count=7,
        http_status=429,
        endpoint="lead",
        method="GET",
        path="/postback/lead",
    )


def test_staff_see_their_organizations_tallies_and_a_superuser_sees_all(
    client, analyst, organization, other_organization
):
    _tally(organization, "192.0.2.1")
    _tally(other_organization, "192.0.2.2")
    _tally(None, "192.0.2.3")

    client.force_login(analyst)
    page = client.get("/admin/ingest/refusaltally/").content.decode()
    assert "192.0.2.1" in page and "192.0.2.2" not in page and "192.0.2.3" not in page

    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    page = client.get("/admin/ingest/refusaltally/").content.decode()
    assert all(address in page for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"))
