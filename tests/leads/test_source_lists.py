"""Source black/white lists: what is not imported, precedence, and editing by paste."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ingest.models import InboundPostback
from ingest.services import inbound_replay
from leads.models import Click, Impression, Lead
from partners.models import SourceListEntry
from tests.ingest.test_postback_support import get_json, make_world

BLACK, WHITE = SourceListEntry.List.BLACK, SourceListEntry.List.WHITE


@pytest.fixture
def world(organization):
    return make_world(organization)


def listed(world, kind: str, *sources: str) -> None:
    for source in sources:
        SourceListEntry.objects.create(integration=world.integration, list=kind, source=source)


def api_click(client, world, sub_id: str):
    params = {
        "token": world.integration.token,
        "no_redirect": "true",
        "offer": world.offer.pk,
        "sub_id": sub_id,
    }
    response = client.get("/api/v1/clicks", params)
    return response.status_code, response.json()


def test_a_blacklisted_source_is_refused_by_the_click_api_and_kept_in_the_log(client, world):
    listed(world, BLACK, "spam-site")

    status, body = api_click(client, world, "spam-site")

    assert status == 422
    assert body == {
        "ok": False,
        "error": "Source “spam-site” is blacklisted for this integration: it is not imported.",
    }
    assert not Click.objects.exists()
    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.http_status, inbound.integration) == ("rejected", 422, world.integration)


def test_a_refused_click_is_imported_by_its_replay_once_the_source_is_allowed(
    client, world, api_client_for, manager
):
    listed(world, BLACK, "spam-site")
    api_click(client, world, "spam-site")
    refused = InboundPostback.objects.get()
    SourceListEntry.objects.all().delete()

    response = api_client_for(manager).post(f"/api/v1/postbacks/{refused.pk}/replay/")

    assert response.status_code in (200, 201), response.content
    click = Click.objects.get()
    assert (click.sub1, click.integration) == ("spam-site", world.integration)
    replay = InboundPostback.objects.exclude(pk=refused.pk).get()
    assert (replay.outcome, replay.http_status, replay.replay_of) == ("created", 200, refused)


def test_replaying_a_click_still_refused_logs_the_refusal_again(client, world, manager):
    listed(world, BLACK, "spam-site")
    api_click(client, world, "spam-site")
    refused = InboundPostback.objects.get()

    replay = inbound_replay(inbound=refused, actor=manager)

    assert (replay.outcome, replay.http_status, replay.replay_of) == ("rejected", 422, refused)
    assert "blacklisted" in replay.reason
    assert not Click.objects.exists()


def test_an_empty_whitelist_means_no_restriction(client, world):
    listed(world, BLACK, "spam-site")

    status, _ = api_click(client, world, "any-site")

    assert status == 200
    assert Click.objects.get().sub1 == "any-site"


def test_with_a_whitelist_only_listed_sources_are_imported(client, world):
    listed(world, WHITE, "good-site")

    allowed, _ = api_click(client, world, "good-site")
    refused, body = api_click(client, world, "other-site")

    assert (allowed, refused) == (200, 422)
    assert "not on this integration's whitelist" in body["error"]
    assert list(Click.objects.values_list("sub1", flat=True)) == ["good-site"]


def test_the_blacklist_wins_over_the_whitelist(client, world):
    listed(world, WHITE, "both-site")
    listed(world, BLACK, "both-site")

    status, body = api_click(client, world, "both-site")

    assert status == 422
    assert "blacklisted" in body["error"]


def test_a_blacklisted_redirect_click_is_kept_only_in_the_log_and_the_user_still_lands(client, world):
    listed(world, BLACK, "spam-site")

    response = client.get(f"/c/{world.link.code}?sub1=spam-site")

    assert response.status_code == 302
    assert response["Location"].startswith("https://example.com/")
    assert not Click.objects.exists()
    inbound = InboundPostback.objects.get()
    assert (inbound.endpoint, inbound.outcome, inbound.http_status, inbound.integration) == (
        "click",
        "rejected",
        422,
        world.integration,
    )
    assert inbound.reason == "Source “spam-site” is blacklisted for this integration: it is not imported."


def test_a_refused_redirect_click_replays_as_the_click_it_would_have_been(client, world, manager):
    listed(world, BLACK, "spam-site")
    client.get(
        f"/c/{world.link.code}?sub1=spam-site&gaid=g-7",
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14)",
        REMOTE_ADDR="198.51.100.23",
    )
    SourceListEntry.objects.all().delete()

    replay = inbound_replay(inbound=InboundPostback.objects.get(), actor=manager)

    click = Click.objects.get()
    assert (replay.outcome, click.link_id, click.sub1, click.gaid) == (
        "created",
        world.link.pk,
        "spam-site",
        "g-7",
    )
    assert (click.ip, click.user_agent) == ("198.51.100.23", "Mozilla/5.0 (Linux; Android 14)")


def test_a_blacklisted_impression_pixel_records_nothing_but_the_log_row(client, world):
    listed(world, BLACK, "spam-site")

    response = client.get(f"/i/{world.link.code}?sub1=spam-site")

    assert response.status_code == 200
    assert not Impression.objects.exists()
    inbound = InboundPostback.objects.get()
    assert (inbound.endpoint, inbound.outcome, inbound.http_status) == ("impression", "rejected", 422)


def test_a_list_change_applies_to_the_next_click_on_a_warm_cache(client, world):
    client.get(f"/c/{world.link.code}?sub1=late")
    listed(world, BLACK, "late")

    client.get(f"/c/{world.link.code}?sub1=late")

    assert Click.objects.count() == 1


def test_a_conversion_from_a_blacklisted_source_is_refused_with_422(client, world):
    listed(world, BLACK, "spam-site")
    click = world.click(sub1="spam-site")

    status, body = get_json(client, world.url("/postback/lead", click=click.click_id))

    assert status == 422
    assert "blacklisted" in body["error"]
    assert not Lead.objects.exists()
    assert InboundPostback.objects.get().outcome == "rejected"


def test_a_conversion_api_sub1_is_its_source(client, world):
    listed(world, WHITE, "good-site")

    refused, _ = get_json(client, world.url("/api/v1/conversions", flow=world.link.pk, exto="1", sub1="bad"))
    taken, _ = get_json(
        client, world.url("/api/v1/conversions", flow=world.link.pk, exto="2", sub1="good-site")
    )

    assert (refused, taken) == (422, 200)
    assert Lead.objects.get().source == "good-site"


def test_paste_in_the_api_adds_sources_one_per_line(api_client_for, manager, world):
    listed(world, BLACK, "old")
    client = api_client_for(manager)

    response = client.post(
        "/api/v1/source-lists/paste/",
        {"integration": world.integration.pk, "list": "black", "sources": "a\n  b \n\na\n"},
        format="json",
    )

    assert response.json() == {"added": 2, "removed": 0, "total": 3}
    assert sorted(SourceListEntry.objects.values_list("source", flat=True)) == ["a", "b", "old"]


def test_paste_with_replace_makes_the_list_exactly_the_pasted_sources(api_client_for, manager, world, client):
    listed(world, BLACK, "old", "kept")
    client.get(f"/c/{world.link.code}?sub1=new")  # warms the link cache
    api = api_client_for(manager)

    response = api.post(
        "/api/v1/source-lists/paste/",
        {"integration": world.integration.pk, "list": "black", "sources": "kept\nnew", "replace": True},
        format="json",
    )
    client.get(f"/c/{world.link.code}?sub1=new")

    assert response.json() == {"added": 1, "removed": 1, "total": 2}
    assert Click.objects.count() == 1  # the paste reached the cached link at once


def test_analysts_cannot_paste(api_client_for, analyst, world):
    response = api_client_for(analyst).post(
        "/api/v1/source-lists/paste/",
        {"integration": world.integration.pk, "list": "black", "sources": "a"},
        format="json",
    )

    assert response.status_code == 403


def test_the_integration_page_edits_both_lists_by_paste(client, manager, world):
    listed(world, WHITE, "w-old")
    client.force_login(manager)
    url = reverse("admin:partners_integration_change", args=[world.integration.pk])
    page = client.get(url)
    assert "w-old" in page.content.decode()

    response = client.post(url, _integration_form(world, blacklist="b1\nb2", whitelist=""))

    assert response.status_code == 302, response.content.decode()[:2000]
    entries = sorted(SourceListEntry.objects.values_list("list", "source"))
    assert entries == [("black", "b1"), ("black", "b2")]


def _integration_form(world, **lists: str) -> dict[str, str]:
    """The integration change form as the browser posts it, inlines empty."""
    data = {
        "channel": "",
        "status": "active",
        "ip_privacy": "off",
        "inbound_mapping": "{}",
        "allowed_ips": "",
        "status_sync_url": "",
        **lists,
    }
    for prefix in ("screening_rules", "postback_templates", "links"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    # The required tracking parameters cannot be left out of the form.
    data |= {"parameters-TOTAL_FORMS": "2", "parameters-INITIAL_FORMS": "0"}
    for index, name in enumerate(("partner_click_id", "sub1")):
        data |= {
            f"parameters-{index}-name": name,
            f"parameters-{index}-placeholder": f"{{{name}}}",
            f"parameters-{index}-in_click": "on",
            f"parameters-{index}-position": str(index),
        }
    return data
