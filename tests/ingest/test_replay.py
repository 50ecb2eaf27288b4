"""Replaying a rejected postback once the configuration is fixed: the service, the admin, the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ingest.models import InboundPostback
from ingest.services import ReplayRefused, inbound_replay
from leads.models import Lead, LeadEvent
from partners.models import GoalAlias
from tests.ingest.test_postback_support import get_json, make_world


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def rejected(client, world):
    """A lead postback refused for a goal code the offer did not know yet."""
    click = world.click()
    status, _ = get_json(client, world.url("/postback/lead", click=click.click_id, goal="signup"))
    assert status == 422
    return InboundPostback.objects.get()


def _add_alias(world) -> None:
    GoalAlias.objects.create(goal=world.registration, offer=world.offer, code="signup")


def test_replay_after_adding_the_alias_creates_the_lead(world, rejected, manager):
    _add_alias(world)

    replay = inbound_replay(inbound=rejected, actor=manager)

    assert (replay.outcome, replay.http_status, replay.replay_of) == ("created", 200, rejected)
    assert Lead.objects.get().goal == world.registration
    rejected.refresh_from_db()
    assert rejected.replayed_at is not None


def test_replay_records_the_actor_on_the_created_event(world, rejected, manager):
    _add_alias(world)

    replay = inbound_replay(inbound=rejected, actor=manager)

    event = LeadEvent.objects.get()
    assert (event.actor, event.inbound) == (manager, replay)


def test_replay_before_the_fix_is_rejected_again_and_logged(world, rejected, manager):
    replay = inbound_replay(inbound=rejected, actor=manager)

    assert (replay.outcome, replay.http_status) == ("rejected", 422)
    assert replay.reason == rejected.reason
    assert not Lead.objects.exists()


def test_replaying_an_accepted_postback_is_refused(client, world, manager):
    get_json(client, world.url("/postback/lead", click=world.click().click_id))

    with pytest.raises(ReplayRefused, match="Only rejected or failed requests"):
        inbound_replay(inbound=InboundPostback.objects.get(), actor=manager)


def test_a_postback_is_replayed_once(world, rejected, manager):
    _add_alias(world)
    inbound_replay(inbound=rejected, actor=manager)

    with pytest.raises(ReplayRefused, match="already replayed"):
        inbound_replay(inbound=rejected, actor=manager)


def test_a_postback_with_a_wrong_token_cannot_be_replayed(client, world, manager):
    get_json(client, "/postback/lead?token=wrong&click=x")

    with pytest.raises(ReplayRefused, match="matched no app"):
        inbound_replay(inbound=InboundPostback.objects.get(), actor=manager)


def test_admin_action_replays_the_selected_postbacks(client, world, rejected, manager):
    _add_alias(world)
    client.force_login(manager)

    response = client.post(
        reverse("admin:ingest_inboundpostback_changelist"),
        {"action": "replay", "_selected_action": [rejected.pk]},
        follow=True,
    )

    assert Lead.objects.count() == 1
    assert "replayed as" in response.content.decode()


def test_analyst_cannot_replay_from_the_admin(client, world, rejected, analyst):
    _add_alias(world)
    client.force_login(analyst)

    client.post(
        reverse("admin:ingest_inboundpostback_changelist"),
        {"action": "replay", "_selected_action": [rejected.pk]},
    )

    assert not Lead.objects.exists()


def test_api_replay_answers_the_new_outcome(api_client_for, world, rejected, manager):
    _add_alias(world)

    response = api_client_for(manager).post(f"/api/v1/postbacks/{rejected.pk}/replay/")

    assert response.status_code == 201
    assert (response.json()["outcome"], response.json()["replay_of"]) == ("created", rejected.pk)


def test_api_replay_of_an_accepted_postback_is_409(api_client_for, client, world, manager):
    get_json(client, world.url("/postback/lead", click=world.click().click_id))
    inbound = InboundPostback.objects.get()

    response = api_client_for(manager).post(f"/api/v1/postbacks/{inbound.pk}/replay/")

    assert response.status_code == 409
    assert "Only rejected or failed requests" in response.json()["detail"]


def test_api_replay_is_forbidden_to_analysts(api_client_for, world, rejected, analyst):
    response = api_client_for(analyst).post(f"/api/v1/postbacks/{rejected.pk}/replay/")

    assert response.status_code == 403


def test_api_lists_postbacks_filtered_by_outcome(api_client_for, world, rejected, analyst):
    response = api_client_for(analyst).get("/api/v1/postbacks/", {"outcome": "rejected", "endpoint": "lead"})

    assert [row["id"] for row in response.json()["results"]] == [rejected.pk]
