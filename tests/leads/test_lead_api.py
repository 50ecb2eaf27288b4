"""The management API of clicks and leads: scoped lists, filters, status actions by role."""

from __future__ import annotations

import pytest

from leads.models import LeadEvent
from leads.services import lead_create, lead_set_status
from tests.ingest.test_postback_support import make_world


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def lead(world):
    return lead_create(app=world.app, link=world.link, click=world.click(), exto="api-1")[0]


def test_leads_list_shows_the_organizations_leads_only(api_client_for, manager, lead, other_organization):
    other = make_world(other_organization)
    lead_create(app=other.app, link=other.link, click=other.click())

    response = api_client_for(manager).get("/api/v1/leads/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [lead.pk]


def test_leads_filter_by_status_and_goal(api_client_for, analyst, lead, world):
    approved = lead_create(app=world.app, link=world.link, click=world.click(), goal=world.registration)[0]
    lead_set_status(lead=approved, status="approved", source="api")
    client = api_client_for(analyst)

    by_status = client.get("/api/v1/leads/", {"status": "approved"}).json()["results"]
    by_goal = client.get("/api/v1/leads/", {"goal_code": "registration"}).json()["results"]

    assert [row["id"] for row in by_status] == [approved.pk]
    assert [row["id"] for row in by_goal] == [approved.pk]


def test_leads_filter_by_date_range(api_client_for, analyst, lead):
    response = api_client_for(analyst).get("/api/v1/leads/", {"created_at_after": "2000-01-01T00:00:00Z"})

    assert response.json()["count"] == 1
    assert (
        api_client_for(analyst).get("/api/v1/leads/", {"created_at_before": "2000-01-01"}).json()["count"]
        == 0
    )


def test_lead_detail_has_its_events(api_client_for, analyst, lead):
    response = api_client_for(analyst).get(f"/api/v1/leads/{lead.pk}/")

    assert [event["kind"] for event in response.json()["events"]] == ["created"]


def test_manager_sets_a_status_through_the_service(api_client_for, manager, lead):
    response = api_client_for(manager).post(f"/api/v1/leads/{lead.pk}/set_status/", {"status": "approved"})

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    event = LeadEvent.objects.get(kind="status")
    assert (event.source, event.actor) == ("api", manager)


def test_analyst_cannot_set_a_status(api_client_for, analyst, lead):
    response = api_client_for(analyst).post(f"/api/v1/leads/{lead.pk}/set_status/", {"status": "approved"})

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == "new"


def test_unknown_status_is_400(api_client_for, manager, lead):
    response = api_client_for(manager).post(f"/api/v1/leads/{lead.pk}/set_status/", {"status": "sale"})

    assert response.status_code == 400


def test_another_organizations_lead_is_404(api_client_for, manager, other_organization):
    other = make_world(other_organization)
    foreign = lead_create(app=other.app, link=other.link, click=other.click())[0]

    response = api_client_for(manager).post(f"/api/v1/leads/{foreign.pk}/set_status/", {"status": "approved"})

    assert response.status_code == 404


def test_bulk_set_status_reports_changed_and_not_found(api_client_for, manager, lead, world):
    second = lead_create(app=world.app, link=world.link, click=world.click())[0]

    response = api_client_for(manager).post(
        "/api/v1/leads/bulk_set_status/",
        {"ids": [lead.pk, second.pk, 999999], "status": "trash"},
        format="json",
    )

    assert response.json() == {"changed": sorted([lead.pk, second.pk]), "not_found": [999999]}


def test_set_goal_recalculates_the_money(api_client_for, manager, lead, world):
    response = api_client_for(manager).post(
        f"/api/v1/leads/{lead.pk}/set_goal/", {"goal": world.registration.pk}
    )

    assert (response.json()["goal_code"], response.json()["payout"]) == ("registration", "3.0000")


def test_clicks_list_is_scoped_and_filterable(api_client_for, analyst, world, other_organization):
    mine = world.click(partner_click_id="p-1")
    world.click(partner_click_id="p-2")
    other = make_world(other_organization)
    other.click(partner_click_id="p-1")

    response = api_client_for(analyst).get("/api/v1/clicks/", {"partner_click_id": "p-1"})

    assert [row["click_id"] for row in response.json()["results"]] == [mine.click_id]


def test_clicks_are_read_only(api_client_for, manager, world):
    response = api_client_for(manager).post("/api/v1/clicks/", {})

    assert response.status_code == 405


def test_lead_list_costs_the_same_for_few_and_many_leads(
    api_client_for, analyst, world, django_assert_num_queries
):
    for _ in range(5):
        lead_create(app=world.app, link=world.link, click=world.click())
    client = api_client_for(analyst)

    # Token with its user, membership, organization, count, the page with its relations.
    with django_assert_num_queries(5):
        client.get("/api/v1/leads/")
