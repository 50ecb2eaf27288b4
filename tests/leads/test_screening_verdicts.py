"""Verdicts: the lead page says why, managers override them (an event records it), the report counts them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Click, Lead, LeadEvent
from leads.services import lead_create, lead_set_verdict
from partners.models import ScreeningRule
from tests.ingest.test_postback_support import get_json, make_world

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def rejected(client, world):
    """A lead rejected for a click-to-conversion time of about 5 seconds."""
    ScreeningRule.objects.create(
        integration=world.integration, kind="ctit", threshold=60, action="reject", reason_code="too_fast"
    )
    click = world.click(sub1="site-7", created_at=timezone.now() - timedelta(seconds=5))
    status, body = get_json(client, world.url("/postback/lead", click=click.click_id, exto="r1"))
    assert status == 200
    return Lead.objects.get(pk=body["lead"]["id"])


def test_the_lead_page_shows_why_it_was_rejected(client, manager, rejected):
    client.force_login(manager)

    html = client.get(reverse("admin:leads_lead_change", args=[rejected.pk])).content.decode()

    assert "Rejected" in html
    assert "<code>too_fast</code>" in html
    assert "ctit_seconds" in html and "withheld_payout" in html


def test_an_admin_override_records_a_verdict_event_and_restores_the_payout(client, manager, rejected):
    client.force_login(manager)

    client.post(
        reverse("admin:leads_lead_changelist"),
        {"action": "verdict_ok_leads", "_selected_action": [rejected.pk]},
        follow=True,
    )

    rejected.refresh_from_db()
    assert (rejected.verdict, rejected.payout, rejected.verdict_reason) == ("ok", Decimal("1.5"), "too_fast")
    event = LeadEvent.objects.filter(kind="verdict").latest("id")
    assert (event.source, event.actor, event.note) == ("admin", manager, "verdict rejected → ok")
    assert (event.from_payout, event.to_payout) == (Decimal("0"), Decimal("1.5"))


def test_an_api_override_records_a_verdict_event(api_client_for, manager, world):
    lead, _ = lead_create(app=world.app, link=world.link, click=world.click(), exto="a1")

    response = api_client_for(manager).post(
        f"/api/v1/leads/{lead.pk}/set_verdict/", {"verdict": "rejected", "note": "chargeback"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["verdict"], body["payout"], body["verdict_details"]) == (
        "rejected",
        "0.0000",
        {"withheld_payout": "2.0000"},  # the offer's rate: no goal named
    )
    event = LeadEvent.objects.get(kind="verdict")
    assert (event.source, event.actor, event.note) == ("api", manager, "verdict ok → rejected: chargeback")


def test_the_same_verdict_twice_records_nothing(world):
    lead, _ = lead_create(app=world.app, link=world.link, click=world.click(), exto="a1")

    assert lead_set_verdict(lead=lead, verdict="ok", source="admin") is False
    assert not LeadEvent.objects.filter(kind="verdict").exists()


def test_analysts_cannot_override_a_verdict(api_client_for, analyst, rejected):
    response = api_client_for(analyst).post(f"/api/v1/leads/{rejected.pk}/set_verdict/", {"verdict": "ok"})

    assert response.status_code == 403
    rejected.refresh_from_db()
    assert rejected.verdict == "rejected"


def test_the_screening_report_counts_by_partner_offer_source_and_reason(
    client, api_client_for, manager, world, rejected
):
    world.click(sub1="site-7", verdict="flagged", verdict_reason="bot")
    world.click(sub1="site-7", verdict="rejected", verdict_reason="too_fast")
    world.click(sub1="site-7")  # passed: not in the report

    rows = api_client_for(manager).get("/api/v1/leads/screening-report/").json()

    partner, offer = world.integration.partner.name, world.offer.name
    assert rows == [
        {
            "partner": partner,
            "offer": offer,
            "source": "site-7",
            "reason": "bot",
            "clicks_flagged": 1,
            "clicks_rejected": 0,
            "leads_flagged": 0,
            "leads_rejected": 0,
        },
        {
            "partner": partner,
            "offer": offer,
            "source": "site-7",
            "reason": "too_fast",
            "clicks_flagged": 0,
            "clicks_rejected": 1,
            "leads_flagged": 0,
            "leads_rejected": 1,
        },
    ]


def test_the_screening_report_keeps_to_its_period(api_client_for, manager, world):
    world.click(verdict="flagged", verdict_reason="old", created_at=timezone.now() - timedelta(days=30))

    rows = api_client_for(manager).get("/api/v1/leads/screening-report/").json()
    older = api_client_for(manager).get(
        "/api/v1/leads/screening-report/",
        {"since": (timezone.now() - timedelta(days=31)).date().isoformat()},
    )

    assert rows == []
    assert [row["reason"] for row in older.json()] == ["old"]


def test_the_screening_report_exports_csv_from_the_admin(client, manager, world, rejected):
    client.force_login(manager)

    response = client.get(reverse("admin:leads_lead_screening_report"), {"export": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Partner,Offer,Source (sub1),Reason code")
    assert lines[1].endswith("site-7,too_fast,0,0,0,1")


def test_the_screening_report_exports_csv_from_the_api(api_client_for, manager, world, rejected):
    world.click(sub1="site-9", verdict="flagged", verdict_reason="bot")

    response = api_client_for(manager).get("/api/v1/leads/screening-report/", {"export": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Partner,Offer,Source (sub1),Reason code")
    assert [line.split(",")[2:] for line in lines[1:]] == [
        ["site-7", "too_fast", "0", "0", "0", "1"],
        ["site-9", "bot", "1", "0", "0", "0"],
    ]


def test_the_lead_changelist_links_the_screening_report(client, analyst, world):
    client.force_login(analyst)

    html = client.get(reverse("admin:leads_lead_changelist")).content.decode()

    assert reverse("admin:leads_lead_screening_report") in html
    assert client.get(reverse("admin:leads_lead_screening_report")).status_code == 200


def test_a_click_with_two_rules_on_a_warm_cache_costs_one_query(client, world, django_assert_num_queries):
    """Budget: 1 query (the INSERT); the rules come with the cached link, counters from the cache."""
    ScreeningRule.objects.create(
        integration=world.integration, kind="clicks_per_ip", threshold=2, action="flag", reason_code="ip"
    )
    ScreeningRule.objects.create(
        integration=world.integration, kind="bot_user_agent", action="reject", reason_code="bot"
    )
    client.get(f"/c/{world.link.code}", HTTP_USER_AGENT=BROWSER)

    with django_assert_num_queries(1) as context:
        response = client.get(f"/c/{world.link.code}?sub1=a", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')
    assert Click.objects.latest("id").verdict == "flagged"


def test_a_blacklisted_redirect_on_a_warm_cache_costs_two_queries(client, world, django_assert_num_queries):
    """Budget: 2 queries, the integration and the inbound log row that keeps the refused visit."""
    world.integration.source_entries.create(list="black", source="bad")
    client.get(f"/c/{world.link.code}")

    with django_assert_num_queries(2):
        response = client.get(f"/c/{world.link.code}?sub1=bad")

    assert response.status_code == 302
