"""Screening rules: below the threshold passes, at it a rule flags or rejects, with reason and values."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from config import hotcache
from leads.models import Click, Lead, LeadEvent
from partners.models import ScreeningRule
from tests.factories import TrackingLinkFactory
from tests.ingest.test_postback_support import get_json, make_click, make_world

Kind, Action = ScreeningRule.Kind, ScreeningRule.Action
LEAD = "/postback/lead"
CONVERSIONS = "/api/v1/conversions"
BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


@pytest.fixture
def world(organization):
    return make_world(organization)


def rule(world, kind: str, *, threshold: int = 0, action: str = Action.FLAG, **fields) -> ScreeningRule:
    return ScreeningRule.objects.create(
        integration=world.integration,
        kind=kind,
        threshold=threshold,
        action=action,
        reason_code=kind,
        **fields,
    )


def visit(client, world, **headers) -> Click:
    client.get(f"/c/{world.link.code}", **{"HTTP_USER_AGENT": BROWSER, **headers})
    return Click.objects.latest("id")


def convert(client, world, click: Click, exto: str, **params) -> Lead:
    status, body = get_json(client, world.url(LEAD, click=click.click_id, exto=exto, **params))
    assert status == 200, body
    return Lead.objects.get(pk=body["lead"]["id"])


def test_clicks_per_ip_pass_below_the_threshold_and_flag_at_it(client, world):
    ip_rule = rule(world, Kind.CLICKS_PER_IP, threshold=3)

    first, second = visit(client, world), visit(client, world)
    third = visit(client, world)

    assert (first.verdict, second.verdict) == ("ok", "ok")
    assert (third.verdict, third.verdict_reason, third.verdict_rule_id) == (
        "flagged",
        "clicks_per_ip",
        ip_rule.pk,
    )
    assert third.verdict_details == {"ip": "127.0.0.1", "count": 3, "threshold": 3, "window_seconds": 3600}


def test_clicks_per_ip_count_each_ip_apart(client, world):
    rule(world, Kind.CLICKS_PER_IP, threshold=2, action=Action.REJECT)

    visit(client, world, REMOTE_ADDR="198.51.100.1")
    other = visit(client, world, REMOTE_ADDR="198.51.100.2")
    again = visit(client, world, REMOTE_ADDR="198.51.100.1")

    assert other.verdict == "ok"
    assert (again.verdict, again.verdict_reason) == ("rejected", "clicks_per_ip")


def test_clicks_per_device_pass_below_the_threshold_and_flag_at_it(client, world):
    device_rule = rule(world, Kind.CLICKS_PER_DEVICE, threshold=2)
    url = f"/c/{world.link.code}?gaid=dev-1"

    client.get(url, HTTP_USER_AGENT=BROWSER)
    client.get(url, HTTP_USER_AGENT=BROWSER)

    first, second = Click.objects.order_by("id")
    assert first.verdict == "ok"
    assert (second.verdict, second.verdict_reason, second.verdict_rule_id) == (
        "flagged",
        "clicks_per_device",
        device_rule.pk,
    )
    assert second.verdict_details == {
        "device_id": "dev-1",
        "count": 2,
        "threshold": 2,
        "window_seconds": 3600,
    }


def test_a_rejected_click_is_still_recorded_and_redirected(client, world):
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="CN, RU")

    response = client.get(f"/c/{world.link.code}?country=ru", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    click = Click.objects.get()
    assert (click.verdict, click.verdict_reason, click.verdict_details) == (
        "rejected",
        "country",
        {"country": "RU"},
    )


def test_an_allowed_country_passes(client, world):
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="CN RU")

    assert visit(client, world, HTTP_CF_IPCOUNTRY="DE").verdict == "ok"


def test_bot_and_empty_user_agents_are_flagged(client, world):
    rule(world, Kind.BOT_USER_AGENT)

    browser = visit(client, world)
    bot = visit(client, world, HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)")
    empty = visit(client, world, HTTP_USER_AGENT="")

    assert browser.verdict == "ok"
    assert (bot.verdict, bot.verdict_reason, bot.verdict_details["user_agent"]) == (
        "flagged",
        "bot_user_agent",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    )
    assert empty.verdict == "flagged"


def test_a_reject_beats_a_flag_and_the_other_reasons_are_listed(client, world):
    rule(world, Kind.BOT_USER_AGENT)
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="CN")

    click = visit(client, world, HTTP_USER_AGENT="curl/8.0", HTTP_CF_IPCOUNTRY="CN")

    assert (click.verdict, click.verdict_reason, click.verdict_details["also"]) == (
        "rejected",
        "country",
        ["bot_user_agent"],
    )


def test_an_inactive_rule_does_nothing(client, world):
    rule(world, Kind.BOT_USER_AGENT, is_active=False)

    assert visit(client, world, HTTP_USER_AGENT="").verdict == "ok"


def test_a_new_rule_applies_from_the_next_click_on_a_warm_cache(client, world):
    visit(client, world, HTTP_USER_AGENT="")
    rule(world, Kind.BOT_USER_AGENT)

    assert visit(client, world, HTTP_USER_AGENT="").verdict == "flagged"


# -- conversions ----------------------------------------------------------------------------------


@pytest.fixture
def converted_at(monkeypatch):
    """The creation time of every lead made in the test: pinned, so a CTIT is exact to the microsecond."""
    moment = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(Lead._meta.get_field("created_at"), "_get_default", lambda: moment)
    return moment


def test_ctit_exactly_at_the_threshold_passes(client, world, converted_at):
    rule(world, Kind.CTIT, threshold=30, action=Action.REJECT)
    click = world.click(created_at=converted_at - timedelta(seconds=30))

    lead = convert(client, world, click, "on-time")

    assert (lead.created_at, lead.verdict, lead.verdict_reason) == (converted_at, "ok", "")


def test_ctit_one_second_below_the_threshold_rejects(client, world, converted_at):
    ctit_rule = rule(world, Kind.CTIT, threshold=30, action=Action.REJECT)
    click = world.click(created_at=converted_at - timedelta(seconds=29))

    lead = convert(client, world, click, "early")

    assert (lead.verdict, lead.verdict_reason, lead.verdict_rule_id) == ("rejected", "ctit", ctit_rule.pk)
    assert lead.verdict_details == {"ctit_seconds": 29, "threshold": 30, "withheld_payout": "1.5000"}


def test_ctit_at_or_above_the_threshold_passes_below_it_rejects(client, world):
    rule(world, Kind.CTIT, threshold=30, action=Action.REJECT)
    slow = world.click(created_at=timezone.now() - timedelta(seconds=31))
    fast = world.click(created_at=timezone.now() - timedelta(seconds=5))

    passed = convert(client, world, slow, "slow")
    rejected = convert(client, world, fast, "fast")

    assert passed.verdict == "ok"
    assert (rejected.verdict, rejected.verdict_reason) == ("rejected", "ctit")
    assert rejected.verdict_details["threshold"] == 30
    assert 4 <= rejected.verdict_details["ctit_seconds"] <= 6


def test_a_rejected_lead_pays_nothing_and_keeps_what_it_would_pay(client, world):
    rule(world, Kind.CTIT, threshold=60, action=Action.REJECT)

    lead = convert(client, world, world.click(), "quick")

    assert lead.payout == Decimal("0")
    assert lead.revenue == Decimal("2.00")
    assert lead.verdict_details["withheld_payout"] == "1.5000"
    event = LeadEvent.objects.get(lead=lead, kind="verdict")
    assert (event.source, event.from_payout, event.to_payout) == ("postback", Decimal("1.5"), Decimal("0"))


def test_a_rejected_lead_stays_unpaid_when_a_later_postback_sets_money(client, world):
    rule(world, Kind.CTIT, threshold=60, action=Action.REJECT)
    click = world.click()
    convert(client, world, click, "quick")

    get_json(
        client, world.url("/postback/status", click=click.click_id, exto="quick", status="approved", wm="9")
    )

    lead = Lead.objects.get()
    assert (lead.status, lead.payout, lead.verdict_details["withheld_payout"]) == ("approved", 0, "9.0000")


def test_conversions_per_ip_flag_at_the_threshold(client, world):
    rule(world, Kind.CONVERSIONS_PER_IP, threshold=2)
    first = convert(client, world, world.click(ip="192.0.2.9"), "a")
    second = convert(client, world, world.click(ip="192.0.2.9"), "b")

    assert first.verdict == "ok"
    assert (second.verdict, second.verdict_reason, second.verdict_details["ip"]) == (
        "flagged",
        "conversions_per_ip",
        "192.0.2.9",
    )


def test_conversions_per_device_use_the_sent_device_id(client, world):
    rule(world, Kind.CONVERSIONS_PER_DEVICE, threshold=2)

    convert(client, world, world.click(), "a", device_id="phone-1")
    other = convert(client, world, world.click(), "b", device_id="phone-2")
    again = convert(client, world, world.click(), "c", device_id="phone-1")

    assert other.verdict == "ok"
    assert (again.verdict, again.verdict_details["device_id"]) == ("flagged", "phone-1")


def test_conversions_per_device_pass_below_the_threshold_and_flag_at_it(client, world):
    device_rule = rule(world, Kind.CONVERSIONS_PER_DEVICE, threshold=2, window_seconds=600)

    first = convert(client, world, world.click(), "a", device_id="phone-1")
    second = convert(client, world, world.click(), "b", device_id="phone-1")

    assert first.verdict == "ok"
    assert (second.verdict, second.verdict_reason, second.verdict_rule_id) == (
        "flagged",
        "conversions_per_device",
        device_rule.pk,
    )
    assert second.verdict_details == {
        "device_id": "phone-1",
        "count": 2,
        "threshold": 2,
        "window_seconds": 600,
    }
    assert second.payout == Decimal("1.5")


def test_a_repeated_creation_postback_is_not_counted_twice(client, world):
    rule(world, Kind.CONVERSIONS_PER_IP, threshold=2)
    click = world.click(ip="192.0.2.10")

    convert(client, world, click, "same")
    convert(client, world, click, "same")

    assert Lead.objects.get().verdict == "ok"


def test_a_duplicate_device_on_the_same_offer_is_rejected(client, world):
    rule(world, Kind.DUPLICATE_DEVICE, threshold=2, action=Action.REJECT, window_seconds=86400)

    first = convert(client, world, world.click(gaid="g-1"), "a")
    second = convert(client, world, world.click(gaid="g-1"), "b")

    assert first.verdict == "ok"
    assert (second.verdict, second.verdict_reason, second.verdict_details["count"]) == (
        "rejected",
        "duplicate_device",
        2,
    )


def test_a_duplicate_device_on_another_offer_passes(client, world):
    rule(world, Kind.DUPLICATE_DEVICE, threshold=2, action=Action.REJECT, window_seconds=86400)
    other_link = TrackingLinkFactory(integration=world.integration, offer__currency="USD")

    first = convert(client, world, world.click(gaid="g-1"), "a")
    elsewhere = convert(client, world, make_click(other_link, gaid="g-1"), "b")
    again = convert(client, world, world.click(gaid="g-1"), "c")

    assert (first.offer_id, elsewhere.offer_id) == (world.offer.pk, other_link.offer_id)
    assert (first.verdict, elsewhere.verdict) == ("ok", "ok")
    assert (again.verdict, again.verdict_reason, again.verdict_details["count"]) == (
        "rejected",
        "duplicate_device",
        2,
    )


def test_a_click_older_than_the_attribution_window_is_flagged(client, world):
    world.offer.attribution_window_days = 7
    world.offer.save()
    rule(world, Kind.CLICK_TOO_OLD)

    fresh = convert(client, world, world.click(created_at=timezone.now() - timedelta(days=6)), "fresh")
    old = convert(client, world, world.click(created_at=timezone.now() - timedelta(days=8)), "old")

    assert fresh.verdict == "ok"
    assert (old.verdict, old.verdict_reason, old.verdict_details["window_days"]) == (
        "flagged",
        "click_too_old",
        7,
    )


def test_conversion_country_and_user_agent_come_from_the_conversion_api(client, world):
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="CN")
    rule(world, Kind.BOT_USER_AGENT)
    click = world.click(country="DE", user_agent=BROWSER)

    _, body = get_json(
        client, world.url(CONVERSIONS, sub_id=click.click_id, country="CN", user_agent="python-requests/2.31")
    )

    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert (lead.verdict, lead.verdict_reason, lead.verdict_details["also"]) == (
        "rejected",
        "country",
        ["bot_user_agent"],
    )


def test_a_conversion_without_country_is_placed_by_its_own_ip(client, world):
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="US")
    click = world.click(country="DE", user_agent=BROWSER)

    # 8.8.8.8 is in the United States in the GeoIP data shipped with geoip2fast.
    _, body = get_json(client, world.url(CONVERSIONS, sub_id=click.click_id, conversion_ip="8.8.8.8"))

    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert (lead.verdict, lead.verdict_reason) == ("rejected", "country")


def test_a_conversion_without_country_or_ip_has_its_clicks_country(client, world):
    rule(world, Kind.COUNTRY, action=Action.REJECT, countries="DE")
    click = world.click(country="DE", user_agent=BROWSER)

    _, body = get_json(client, world.url(CONVERSIONS, sub_id=click.click_id))

    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert (lead.verdict, lead.verdict_reason) == ("rejected", "country")


def test_a_conversion_of_a_rejected_click_is_rejected_with_it(client, world):
    click = world.click(verdict="rejected", verdict_reason="country")

    lead = convert(client, world, click, "x")

    assert (lead.verdict, lead.verdict_reason, lead.payout) == ("rejected", "country", 0)
    assert lead.verdict_details["screened"] == "click"


def test_status_changes_of_an_existing_lead_are_not_screened_again(client, world):
    click = world.click(created_at=timezone.now() - timedelta(seconds=5))
    convert(client, world, click, "x")
    rule(world, Kind.CTIT, threshold=60, action=Action.REJECT)

    get_json(client, world.url("/postback/status", click=click.click_id, exto="x", status="approved"))

    assert Lead.objects.get().verdict == "ok"


def test_a_rule_without_a_threshold_is_refused_by_the_api(api_client_for, manager, world):
    client = api_client_for(manager)

    response = client.post(
        "/api/v1/screening-rules/",
        {"integration": world.integration.pk, "kind": "clicks_per_ip", "action": "flag", "reason_code": "ip"},
        format="json",
    )

    assert response.status_code == 400
    assert "threshold" in response.json()


def test_rules_are_editable_in_the_api(api_client_for, manager, world):
    client = api_client_for(manager)

    created = client.post(
        "/api/v1/screening-rules/",
        {
            "integration": world.integration.pk,
            "kind": "country",
            "countries": "cn, ru",
            "action": "reject",
            "reason_code": "geo",
        },
        format="json",
    )
    changed = client.patch(
        f"/api/v1/screening-rules/{created.json()['id']}/", {"is_active": False}, format="json"
    )

    assert created.status_code == 201
    assert changed.status_code == 200
    assert ScreeningRule.objects.get().is_active is False


def test_another_organizations_integration_is_refused_for_a_rule(api_client_for, manager, other_organization):
    foreign = make_world(other_organization)
    client = api_client_for(manager)

    response = client.post(
        "/api/v1/screening-rules/",
        {
            "integration": foreign.integration.pk,
            "kind": "bot_user_agent",
            "action": "flag",
            "reason_code": "bot",
        },
        format="json",
    )

    assert response.status_code == 400
    assert not ScreeningRule.objects.exists()


needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)")


@needs_redis
def test_click_counters_in_redis_expire_with_their_window(client, world):
    rule(world, Kind.CLICKS_PER_IP, threshold=5, window_seconds=600)

    visit(client, world)

    redis = hotcache.redis_client(settings.REDIS_URL)
    [key] = redis.keys(cache.make_key("scr:n:*"))
    assert 0 < redis.ttl(key) <= 601
    assert int(redis.get(key)) == 1


@needs_redis
def test_counting_goes_on_when_redis_has_forgotten_its_scripts(client, world):
    rule(world, Kind.CLICKS_PER_IP, threshold=2)
    visit(client, world)

    hotcache.redis_client(settings.REDIS_URL).script_flush()
    second = visit(client, world)

    assert (second.verdict, second.verdict_details["count"]) == ("flagged", 2)


def test_clicks_are_kept_unscreened_by_count_rules_when_the_counters_are_down(client, world, settings):
    rule(world, Kind.CLICKS_PER_IP, threshold=1)
    rule(world, Kind.BOT_USER_AGENT)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    kept = visit(client, world)
    bot = visit(client, world, HTTP_USER_AGENT="curl/8.0")

    assert kept.verdict == "ok"
    assert (bot.verdict, bot.verdict_reason) == ("flagged", Kind.BOT_USER_AGENT)
