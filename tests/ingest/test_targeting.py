"""Targeting and fallbacks on the click path (SPEC 4.5): who is redirected where, and what is recorded."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from ingest.models import InboundPostback
from ingest.services import inbound_replay
from leads import clicks, linkcache
from leads.models import Click, Lead
from partners.models import Status
from tests.factories import (
    GoalFactory,
    IntegrationFactory,
    LandingFactory,
    OfferFactory,
    TrackingLinkFactory,
)
from tests.ingest.test_failures import _break

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture
def integration(organization):
    return IntegrationFactory(organization=organization)


@pytest.fixture
def offer(integration):
    return OfferFactory(organization=integration.organization, app=integration.app, name="Main")


@pytest.fixture
def link(integration, offer):
    landing = LandingFactory(offer=offer, url="https://main.example/?cid={click_id}")
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing)


@pytest.fixture
def backup(integration):
    """Another offer of the same app, with a landing: a fallback offer."""
    backup = OfferFactory(organization=integration.organization, app=integration.app, name="Backup")
    LandingFactory(offer=backup, url="https://backup.example/?cid={click_id}&camp={campaign_id}")
    return backup


def target(offer, **fields):
    for name, value in fields.items():
        setattr(offer, name, value)
    offer.full_clean()
    offer.save()


def visit(client, link, country="DE", agent=ANDROID, path="c"):
    return client.get(f"/{path}/{link.code}", {"country": country}, HTTP_USER_AGENT=agent)


# -- each dimension ---------------------------------------------------------------------------


def test_a_click_from_an_allowed_country_goes_to_the_landing(client, link, offer):
    target(offer, allowed_countries="de, at")

    response = visit(client, link, country="AT")

    click = Click.objects.get()
    assert response["Location"] == f"https://main.example/?cid={click.click_id}"
    assert click.redirect_reason == ""


def test_a_click_from_a_country_outside_the_allowed_ones_is_recorded_as_redirected(client, link, offer):
    target(offer, allowed_countries="DE AT")

    response = visit(client, link, country="FR")

    click = Click.objects.get()
    assert response.status_code == 404
    assert (click.redirect_reason, click.country, click.offer_id) == ("country", "FR", offer.pk)


def test_a_click_from_a_blocked_country_is_redirected_and_others_pass(client, link, offer):
    target(offer, blocked_countries="RU")

    blocked = visit(client, link, country="RU")
    passed = visit(client, link, country="US")

    assert (blocked.status_code, passed.status_code) == (404, 302)
    assert list(Click.objects.order_by("id").values_list("country", "redirect_reason")) == [
        ("RU", "country"),
        ("US", ""),
    ]


def test_a_click_from_another_device_type_is_redirected(client, link, offer):
    target(offer, device_types="desktop")

    phone = visit(client, link, agent=ANDROID)
    desktop = visit(client, link, agent=WINDOWS)

    assert (phone.status_code, desktop.status_code) == (404, 302)
    assert list(Click.objects.order_by("id").values_list("device_type", "redirect_reason")) == [
        ("mobile", "device_type"),
        ("desktop", ""),
    ]


def test_an_os_family_takes_every_version_and_refuses_other_systems(client, link, offer):
    target(offer, operating_systems="android")

    android = visit(client, link, agent=ANDROID)
    iphone = visit(client, link, agent=IPHONE)

    assert (android.status_code, iphone.status_code) == (302, 404)
    assert list(Click.objects.order_by("id").values_list("os", "redirect_reason")) == [
        ("Android 14", ""),
        ("iOS 17.1", "os"),
    ]


def test_an_unknown_country_is_outside_an_allowed_list(client, link, offer):
    target(offer, allowed_countries="DE")

    response = client.get(f"/c/{link.code}", REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 404
    assert Click.objects.get().redirect_reason == "country"


# -- each fallback ----------------------------------------------------------------------------


def test_the_404_fallback_is_a_plain_page_that_says_the_offer_is_not_available(client, link, offer):
    target(offer, allowed_countries="DE")

    response = visit(client, link, country="FR")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    assert "This offer is not available" in response.content.decode()
    assert Click.objects.count() == 1


def test_a_fallback_url_gets_the_clicks_macros(client, link, offer):
    target(
        offer, allowed_countries="DE", fallback_url="https://elsewhere.example/?c={click_id}&geo={country}"
    )

    response = visit(client, link, country="FR")

    click = Click.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"https://elsewhere.example/?c={click.click_id}&geo=FR"
    assert (click.redirect_reason, click.offer_id) == ("country", offer.pk)


def test_a_fallback_offer_takes_the_click_with_its_first_landing(client, link, offer, backup):
    target(offer, allowed_countries="DE", fallback_offer=backup)

    response = visit(client, link, country="FR")

    click = Click.objects.get()
    assert response["Location"] == f"https://backup.example/?cid={click.click_id}&camp={backup.pk}"
    assert click.offer_id == backup.pk
    assert click.landing_id == backup.landings.get().pk
    assert click.link_id == link.pk
    assert click.redirect_reason == "country"
    assert click.params["redirected_from_offer"] == str(offer.pk)


def test_a_conversion_on_a_click_sent_to_the_fallback_offer_credits_the_fallback_offer(
    client, link, offer, backup
):
    GoalFactory(offer=offer, code="install", payout=Decimal("1.00"), is_default=True)
    GoalFactory(offer=backup, code="install", payout=Decimal("4.00"), is_default=True)
    target(offer, allowed_countries="DE", fallback_offer=backup)
    visit(client, link, country="FR")
    click = Click.objects.get()

    response = client.get("/postback/lead", {"token": link.integration.app.token, "click": click.click_id})

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.offer_id, lead.payout) == (backup.pk, Decimal("4.00"))


def test_a_paused_fallback_offer_leaves_the_404_page(client, link, offer, backup):
    target(offer, allowed_countries="DE", fallback_offer=backup)
    backup.status = Status.PAUSED
    backup.save()

    assert visit(client, link, country="FR").status_code == 404


def test_a_new_landing_of_the_fallback_offer_reaches_the_links_pointing_at_it(client, link, offer, backup):
    target(offer, allowed_countries="DE", fallback_offer=backup)
    visit(client, link, country="FR")
    backup.landings.update(url="https://unused.example/")
    first = backup.landings.get()
    first.url = "https://moved.example/?cid={click_id}"
    first.save()

    response = visit(client, link, country="FR")

    assert response["Location"].startswith("https://moved.example/?cid=")


def test_deleting_the_fallback_offer_leaves_the_404_page_at_once(client, link, offer, backup):
    target(offer, allowed_countries="DE", fallback_offer=backup)
    visit(client, link, country="DE")  # the link's data, fallback included, is now cached

    backup.delete()

    assert visit(client, link, country="FR").status_code == 404
    assert list(Click.objects.values_list("offer_id", flat=True)) == [offer.pk, offer.pk]


# -- a landing's own targeting ----------------------------------------------------------------


def test_a_landings_targeting_sends_clicks_outside_it_to_the_offers_fallback(client, link, offer):
    target(offer, fallback_url="https://elsewhere.example/")
    link.landing.operating_systems = "iOS"
    link.landing.full_clean()
    link.landing.save()

    android = visit(client, link, agent=ANDROID)
    iphone = visit(client, link, agent=IPHONE)

    assert android["Location"] == "https://elsewhere.example/"
    assert iphone["Location"].startswith("https://main.example/")
    assert list(Click.objects.order_by("id").values_list("redirect_reason", flat=True)) == ["os", ""]


# -- caps (the caps' cache data puts `capped_until` in the link's data) ------------------------


@pytest.fixture
def capped_until(monkeypatch):
    """Put `capped_until` into every link's cached data, as the caps' loader does."""
    value: dict[str, float | None] = {"until": None}
    build = linkcache._build_link_data

    def with_cap(link):
        return {**build(link), "capped_until": value["until"]}

    monkeypatch.setattr(linkcache, "_build_link_data", with_cap)
    return value


def test_a_click_on_a_capped_offer_goes_to_its_fallback(client, link, offer, backup, capped_until):
    target(offer, fallback_offer=backup)
    capped_until["until"] = time.time() + 3600

    response = visit(client, link)

    click = Click.objects.get()
    assert response["Location"].startswith("https://backup.example/")
    assert (click.redirect_reason, click.offer_id) == ("cap", backup.pk)


def test_a_cap_that_has_ended_sends_clicks_to_the_landing_again(client, link, offer, backup, capped_until):
    target(offer, fallback_offer=backup)
    capped_until["until"] = time.time() - 1

    response = visit(client, link)

    assert response["Location"].startswith("https://main.example/")
    assert Click.objects.get().redirect_reason == ""


def test_a_capped_offer_without_a_fallback_keeps_sending_clicks_to_its_landing(
    client, link, offer, capped_until
):
    capped_until["until"] = time.time() + 3600

    response = visit(client, link)

    assert response["Location"].startswith("https://main.example/")
    assert Click.objects.get().redirect_reason == ""


# -- the server-to-server API and replays -----------------------------------------------------


def test_the_click_api_says_why_and_where_a_redirected_click_goes(client, link, offer):
    target(offer, allowed_countries="DE", fallback_url="https://elsewhere.example/?c={click_id}")

    response = client.get(
        "/api/v1/clicks",
        {"token": link.integration.token, "code": link.code, "no_redirect": "true", "country": "FR"},
    )

    click = Click.objects.get()
    assert response.json() == {
        "ok": True,
        "click_id": click.click_id,
        "country": "FR",
        "asn": None,
        "as_org": "",
        "redirect_reason": "country",
        "redirect_url": f"https://elsewhere.example/?c={click.click_id}",
    }


def test_the_click_api_redirects_a_click_outside_the_targeting_to_the_fallback(client, link, offer, backup):
    target(offer, allowed_countries="DE", fallback_offer=backup)

    response = client.get(
        "/api/v1/clicks", {"token": link.integration.token, "code": link.code, "country": "FR"}
    )

    assert response["Location"].startswith("https://backup.example/")
    assert Click.objects.get().offer_id == backup.pk


def test_a_failed_redirected_visit_is_replayed_with_the_same_routing(
    client, link, offer, backup, manager, monkeypatch, capped_until
):
    target(offer, fallback_offer=backup)
    capped_until["until"] = time.time() + 3600
    real_insert = clicks.insert_click
    _break(monkeypatch, clicks, "insert_click", RuntimeError("the database is gone"))
    response = visit(client, link)
    monkeypatch.setattr(clicks, "insert_click", real_insert)
    capped_until["until"] = None  # the cap has reset by the time the replay runs
    linkcache.link_cache_forget([link.code])

    inbound_replay(inbound=InboundPostback.objects.get(outcome="failed"), actor=manager)

    click = Click.objects.get()
    assert response["Location"] == f"https://backup.example/?cid={click.click_id}&camp={backup.pk}"
    assert (click.redirect_reason, click.offer_id) == ("cap", backup.pk)


# -- speed ------------------------------------------------------------------------------------


def test_a_targeted_click_on_a_warm_cache_costs_one_insert(
    client, link, offer, backup, django_assert_num_queries
):
    target(
        offer, allowed_countries="DE", blocked_countries="RU", device_types="mobile", fallback_offer=backup
    )
    visit(client, link, country="FR")

    with django_assert_num_queries(1) as context:
        response = visit(client, link, country="FR")

    assert response["Location"].startswith("https://backup.example/")
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')
