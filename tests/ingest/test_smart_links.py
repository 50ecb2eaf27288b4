"""Smart links `/s/<code>`: each click goes to one entry, by priority or weight, skipping the ineligible."""

from __future__ import annotations

import random
import time

import pytest

from ingest.models import InboundPostback
from ingest.services import inbound_replay
from leads import clicks, linkcache, routing
from leads.models import Click
from partners.models import SmartLink, SmartLinkEntry, Status
from tests.factories import IntegrationFactory, LandingFactory, OfferFactory, TrackingLinkFactory
from tests.ingest.test_failures import _break
from tests.ingest.test_targeting import ANDROID, IPHONE


@pytest.fixture
def integration(organization):
    return IntegrationFactory(organization=organization)


def make_link(integration, name: str):
    offer = OfferFactory(organization=integration.organization, app=integration.app, name=name)
    landing = LandingFactory(offer=offer, url=f"https://{name}.example/?cid={{click_id}}")
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing)


@pytest.fixture
def links(integration):
    return [make_link(integration, name) for name in ("first", "second", "third")]


def smart(integration, links, mode=SmartLink.Mode.PRIORITY, weights=None, catch_all_url=""):
    smart_link = SmartLink.objects.create(
        organization=integration.organization,
        partner=integration.partner,
        name="Smart",
        mode=mode,
        catch_all_url=catch_all_url,
    )
    for position, link in enumerate(links, start=1):
        SmartLinkEntry.objects.create(
            smart_link=smart_link, link=link, priority=position, weight=(weights or {}).get(position, 1)
        )
    return smart_link


def visit(client, smart_link, country="DE", agent=ANDROID):
    return client.get(f"/s/{smart_link.code}", {"country": country}, HTTP_USER_AGENT=agent)


def test_priority_mode_sends_clicks_to_the_first_entry_and_records_it(client, integration, links):
    smart_link = smart(integration, links)

    response = visit(client, smart_link)

    click = Click.objects.get()
    assert response["Location"] == f"https://first.example/?cid={click.click_id}"
    assert (click.link_id, click.offer_id, click.smart_link_id) == (
        links[0].pk,
        links[0].offer_id,
        smart_link.pk,
    )
    assert click.redirect_reason == ""


def test_priority_mode_skips_an_entry_the_click_is_not_targeted_for(client, integration, links):
    links[0].offer.allowed_countries = "US"
    links[0].offer.save()
    smart_link = smart(integration, links)

    response = visit(client, smart_link, country="DE")

    assert response["Location"].startswith("https://second.example/")
    assert Click.objects.get().link_id == links[1].pk


def test_priority_mode_skips_a_paused_link(client, integration, links):
    links[0].status = Status.PAUSED
    links[0].save()
    smart_link = smart(integration, links)

    assert visit(client, smart_link)["Location"].startswith("https://second.example/")


def test_an_entry_whose_offer_is_capped_is_skipped_until_the_cap_ends(
    client, integration, links, monkeypatch
):
    build = linkcache._build_link_data
    until = {links[0].code: time.time() + 3600, links[1].code: time.time() - 5}
    monkeypatch.setattr(
        linkcache, "_build_link_data", lambda link: {**build(link), "capped_until": until.get(link.code)}
    )
    smart_link = smart(integration, links)

    response = visit(client, smart_link)

    assert response["Location"].startswith("https://second.example/")


def test_no_eligible_entry_sends_the_click_to_the_catch_all_with_macros(client, integration, links):
    for link in links:
        link.offer.operating_systems = "iOS"
        link.offer.save()
    smart_link = smart(integration, links, catch_all_url="https://catch.example/?c={click_id}&os={os}")

    response = visit(client, smart_link, agent=ANDROID)

    click = Click.objects.get()
    assert response["Location"] == f"https://catch.example/?c={click.click_id}&os=Android%2014"
    assert (click.redirect_reason, click.link_id, click.smart_link_id) == (
        "smartlink_catch_all",
        links[0].pk,
        smart_link.pk,
    )


def test_no_eligible_entry_and_no_catch_all_shows_the_not_available_page(client, integration, links):
    for link in links:
        link.offer.device_types = "desktop"
        link.offer.save()
    smart_link = smart(integration, links)

    response = visit(client, smart_link, agent=IPHONE)

    assert response.status_code == 404
    assert "This offer is not available" in response.content.decode()
    assert Click.objects.get().redirect_reason == "smartlink_catch_all"


def test_weights_split_clicks_within_statistical_bounds(integration, links):
    smart_link = smart(integration, links[:2], mode=SmartLink.Mode.WEIGHT, weights={1: 1, 2: 3})
    data = linkcache.smart_link_data(smart_link.code)
    rng = random.Random(12)

    picks = [routing.choose(data, "DE", "mobile", "Android 14", rng).link["link_id"] for _ in range(5000)]

    share = picks.count(links[1].pk) / len(picks)
    assert abs(share - 0.75) <= 0.03


def test_weight_mode_sends_nothing_to_an_ineligible_heavy_entry(client, integration, links):
    links[1].offer.blocked_countries = "DE"
    links[1].offer.save()
    smart_link = smart(integration, links[:2], mode=SmartLink.Mode.WEIGHT, weights={1: 1, 2: 1000})

    for _ in range(20):
        visit(client, smart_link, country="DE")

    assert set(Click.objects.values_list("link_id", flat=True)) == {links[0].pk}


def test_an_unknown_or_paused_smart_link_is_not_found(client, integration, links):
    smart_link = smart(integration, links)
    smart_link.status = Status.PAUSED
    smart_link.save()

    assert visit(client, smart_link).status_code == 404
    assert client.get("/s/NOPE-0000").status_code == 404
    assert not Click.objects.exists()


def test_a_new_entry_takes_effect_on_the_next_click(client, integration, links):
    smart_link = smart(integration, links[1:])
    visit(client, smart_link)

    SmartLinkEntry.objects.create(smart_link=smart_link, link=links[0], priority=0)

    assert visit(client, smart_link)["Location"].startswith("https://first.example/")


def test_pausing_an_entrys_link_takes_effect_on_the_next_click(client, integration, links):
    smart_link = smart(integration, links)
    visit(client, smart_link)

    links[0].status = Status.PAUSED
    links[0].save()

    assert visit(client, smart_link)["Location"].startswith("https://second.example/")


def test_a_smart_click_we_fail_to_record_is_replayed_on_the_same_link_and_smart_link(
    client, integration, links, manager, monkeypatch
):
    links[0].offer.allowed_countries = "US"
    links[0].offer.save()
    smart_link = smart(integration, links)
    real_insert = clicks.insert_click
    _break(monkeypatch, clicks, "insert_click", RuntimeError("the database is gone"))
    response = visit(client, smart_link, country="DE")
    monkeypatch.setattr(clicks, "insert_click", real_insert)

    inbound_replay(inbound=InboundPostback.objects.get(outcome="failed"), actor=manager)

    click = Click.objects.get()
    assert response["Location"] == f"https://second.example/?cid={click.click_id}"
    assert (click.link_id, click.smart_link_id, click.redirect_reason) == (links[1].pk, smart_link.pk, "")


def test_a_smart_click_on_a_warm_cache_costs_one_insert(
    client, integration, links, django_assert_num_queries
):
    links[0].offer.allowed_countries = "US"
    links[0].offer.save()
    smart_link = smart(integration, links, mode=SmartLink.Mode.WEIGHT)
    visit(client, smart_link)

    with django_assert_num_queries(1) as context:
        response = visit(client, smart_link)

    assert response.status_code == 302
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')
