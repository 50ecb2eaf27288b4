"""Caps (SPEC 4.5): what counts toward a cap, when it resets, what a conversion over it does.

Single-threaded, so they run on SQLite as well; the races are in test_cap_concurrency.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from leads import linkcache
from leads.models import CapUse, Lead, LeadEvent
from leads.services import lead_set_verdict
from partners.models import Cap, PostbackTemplate, ScreeningRule
from postbacks.models import Delivery
from tests.factories import IntegrationFactory, TrackingLinkFactory
from tests.ingest.test_postback_support import get_json, make_click, make_world

CONVERSIONS = "/api/v1/conversions"


@pytest.fixture
def world(organization):
    organization.time_zone = "Europe/Berlin"
    organization.save()
    return make_world(organization)


def cap(world, limit: str = "1", **fields) -> Cap:
    fields.setdefault("organization", world.offer.organization)
    return Cap.objects.create(offer=world.offer, limit=Decimal(limit), **fields)


def convert(client, world, link=None, **params) -> Lead:
    """A lead postback for a new click on the link (the world's by default)."""
    click = make_click(link or world.link)
    status, body = get_json(client, world.url("/postback/lead", click=click.click_id, **params))
    assert status == 200, body
    return Lead.objects.get(pk=body["lead"]["id"])


def convert_at(client, world, when: str, exto: str) -> Lead:
    """A conversion the advertiser reports at `when` (UTC) through the conversion API."""
    click = world.click()
    url = world.url(CONVERSIONS, sub_id=click.click_id, external_transaction_id=exto, conversion_time=when)
    status, body = get_json(client, url)
    assert status == 200, body
    return Lead.objects.get(pk=body["lead"]["id"])


def test_a_conversion_over_the_cap_is_kept_as_cap_reached_and_pays_nothing(client, world):
    daily = cap(world, "2")

    first, second, third = (convert(client, world) for _ in range(3))

    assert [first.verdict, second.verdict, third.verdict] == ["ok", "ok", "cap_reached"]
    assert [first.payout, second.payout, third.payout] == [Decimal("1.5"), Decimal("1.5"), Decimal("0")]
    assert third.verdict_reason == "cap_reached"
    details = third.verdict_details
    assert (details["cap_id"], details["metric"], details["period"]) == (daily.pk, "conversions", "daily")
    assert (details["limit"], details["used"], details["withheld_payout"]) == ("2", "2", "1.5000")
    assert LeadEvent.objects.filter(lead=third, kind="verdict").get().note.startswith("cap reached: daily")


def test_the_answer_of_a_postback_over_the_cap_says_it_pays_nothing(client, world):
    cap(world, "0")
    click = world.click()

    status, body = get_json(client, world.url("/postback/lead", click=click.click_id))

    assert status == 200
    assert (body["created"], body["lead"]["payout"]) == (True, "0.00")


def test_a_rejected_conversion_does_not_consume_the_cap(client, world):
    daily = cap(world, "1")
    ScreeningRule.objects.create(
        integration=world.integration, kind="bot_user_agent", action="reject", reason_code="bot"
    )

    rejected = convert(client, world, conversion_ip="203.0.113.7", user_agent="curl/8.0")
    passed = convert(client, world, user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")

    assert (rejected.verdict, rejected.verdict_reason) == ("rejected", "bot")
    assert passed.verdict == "ok"
    assert CapUse.objects.get(cap=daily).used == Decimal("1")


def test_a_payout_cap_counts_the_publisher_payout(client, world):
    money = cap(world, "4.50", metric="payout")

    leads = [convert(client, world, goal="registration") for _ in range(2)]  # 3.00 each

    assert [lead.verdict for lead in leads] == ["ok", "cap_reached"]
    assert CapUse.objects.get(cap=money).used == Decimal("3.00")
    assert leads[1].verdict_details["withheld_payout"] == "3.0000"


def test_a_daily_cap_resets_at_midnight_in_the_organizations_time_zone(client, world):
    cap(world, "1")

    # 23:59:59 and 00:00:00 in Berlin (UTC+1 in November): two days, so both pay.
    before = convert_at(client, world, "2026-11-28 22:59:59", "a")
    after = convert_at(client, world, "2026-11-28 23:00:00", "b")
    again = convert_at(client, world, "2026-11-29 22:00:00", "c")

    assert [before.verdict, after.verdict, again.verdict] == ["ok", "ok", "cap_reached"]
    starts = sorted(str(day) for day in CapUse.objects.values_list("period_start", flat=True))
    assert starts == ["2026-11-28", "2026-11-29"]


def test_a_monthly_cap_resets_on_the_first_in_the_organizations_time_zone(client, world):
    cap(world, "1", period="monthly")

    # 30 November 23:30 in Berlin is still November; 1 December 00:30 is not.
    november = convert_at(client, world, "2026-11-30 22:30:00", "a")
    late_november = convert_at(client, world, "2026-11-30 22:45:00", "b")
    december = convert_at(client, world, "2026-11-30 23:30:00", "c")

    assert [november.verdict, late_november.verdict, december.verdict] == ["ok", "cap_reached", "ok"]


def test_a_total_cap_never_resets(client, world):
    cap(world, "1", period="total")

    first = convert_at(client, world, "2026-01-01 12:00:00", "a")
    a_year_later = convert_at(client, world, "2027-01-01 12:00:00", "b")

    assert [first.verdict, a_year_later.verdict] == ["ok", "cap_reached"]


def test_a_partner_offer_cap_counts_only_its_partners_conversions(client, world):
    cap(world, "1", partner=world.link.partner)
    other = TrackingLinkFactory(
        integration=IntegrationFactory(organization=world.offer.organization, app=world.app),
        offer=world.offer,
    )

    mine = [convert(client, world) for _ in range(2)]
    theirs = [convert(client, world, link=other) for _ in range(2)]

    assert [lead.verdict for lead in mine] == ["ok", "cap_reached"]
    assert [lead.verdict for lead in theirs] == ["ok", "ok"]


def test_a_goal_cap_counts_only_its_goals_conversions(client, world):
    cap(world, "1", goal=world.registration)

    registrations = [convert(client, world, goal="registration") for _ in range(2)]
    installs = [convert(client, world) for _ in range(2)]

    assert [lead.verdict for lead in registrations] == ["ok", "cap_reached"]
    assert [lead.verdict for lead in installs] == ["ok", "ok"]


def test_a_conversion_one_cap_refuses_consumes_no_other_cap(client, world):
    offer_cap = cap(world, "10")
    partner_cap = cap(world, "1", partner=world.link.partner)

    leads = [convert(client, world) for _ in range(2)]

    assert [lead.verdict for lead in leads] == ["ok", "cap_reached"]
    assert leads[1].verdict_details["cap_id"] == partner_cap.pk
    assert CapUse.objects.get(cap=offer_cap).used == Decimal("1")
    assert CapUse.objects.get(cap=partner_cap).refused == 1


def test_an_inactive_cap_counts_nothing(client, world):
    cap(world, "0", is_active=False)

    assert convert(client, world).verdict == "ok"
    assert not CapUse.objects.exists()


def test_a_managers_override_restores_the_payout(client, world, manager):
    cap(world, "0")
    lead = convert(client, world)
    client.force_login(manager)

    client.post(
        reverse("admin:leads_lead_changelist"),
        {"action": "verdict_ok_leads", "_selected_action": [lead.pk]},
        follow=True,
    )

    lead.refresh_from_db()
    assert (lead.verdict, lead.payout) == ("ok", Decimal("1.5"))
    assert "withheld_payout" not in lead.verdict_details
    event = LeadEvent.objects.filter(lead=lead, kind="verdict").latest("id")
    assert (event.note, event.from_payout, event.to_payout) == (
        "verdict cap_reached → ok",
        Decimal("0"),
        Decimal("1.5"),
    )


def test_rejecting_a_cap_reached_lead_keeps_its_payout_withheld(client, world):
    cap(world, "0")
    lead = convert(client, world)

    lead_set_verdict(lead=lead, verdict="rejected", source=LeadEvent.Source.API)
    lead_set_verdict(lead=lead, verdict="ok", source=LeadEvent.Source.API)

    assert (lead.verdict, lead.payout) == ("ok", Decimal("1.5"))


def test_the_lead_page_shows_the_cap_reached_verdict(client, world, manager):
    cap(world, "0")
    lead = convert(client, world)
    client.force_login(manager)

    html = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()

    assert "Cap reached" in html and "<code>cap_reached</code>" in html


def test_a_template_with_the_reason_macro_hears_of_a_conversion_over_the_cap(client, world, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    cap(world, "0")
    PostbackTemplate.objects.create(
        integration=world.integration, url="https://partner.example/pb?s={status}&why={reject_reason}"
    )

    convert(client, world)

    assert Delivery.objects.get().url == "https://partner.example/pb?s=rejected&why=cap_reached"


def test_a_template_without_the_reason_macro_hears_nothing_of_it(client, world):
    cap(world, "0")
    PostbackTemplate.objects.create(
        integration=world.integration, url="https://partner.example/pb?s={status}"
    )

    convert(client, world)

    assert not Delivery.objects.exists()


# -- clicks on a capped offer (link data's `capped_until`) ---------------------------------------


def test_link_data_says_capped_until_the_period_ends_once_the_cap_fills(client, world):
    cap(world, "1")
    assert linkcache.link_data(world.link.code)["capped_until"] is None

    convert(client, world)

    until = linkcache.link_data(world.link.code)["capped_until"]
    assert until is not None
    assert datetime.fromtimestamp(until, UTC).astimezone(
        world.offer.organization.zone
    ).time().isoformat() == ("00:00:00")


def test_a_full_cap_no_longer_caps_clicks_after_the_period_boundary(world):
    daily = cap(world, "1")
    CapUse.objects.create(cap=daily, period_start="2026-11-28", used=Decimal("1"))

    just_before = datetime(2026, 11, 28, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Berlin
    just_after = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # 00:00 in Berlin

    until = linkcache.capped_until(world.offer.pk, world.link.partner_id, now=just_before)
    assert until == just_after.timestamp()
    assert linkcache.capped_until(world.offer.pk, world.link.partner_id, now=just_after) is None


def test_a_goal_cap_does_not_cap_clicks(world):
    goal_cap = cap(world, "1", goal=world.registration, period="total")
    CapUse.objects.create(cap=goal_cap, period_start="1970-01-01", used=Decimal("1"))

    assert linkcache.link_data(world.link.code)["capped_until"] is None


def test_another_partners_full_cap_does_not_cap_this_partners_clicks(world):
    other = IntegrationFactory(organization=world.offer.organization, app=world.app).partner
    theirs = cap(world, "1", partner=other, period="total")
    CapUse.objects.create(cap=theirs, period_start="1970-01-01", used=Decimal("1"))

    assert linkcache.capped_until(world.offer.pk, world.link.partner_id) is None
    assert linkcache.capped_until(world.offer.pk, other.pk) is not None


def test_raising_the_limit_uncaps_the_offers_clicks(client, world):
    daily = cap(world, "1")
    convert(client, world)
    assert linkcache.link_data(world.link.code)["capped_until"] is not None

    daily.limit = Decimal("5")
    daily.save()

    assert linkcache.link_data(world.link.code)["capped_until"] is None


def test_a_lead_under_one_cap_costs_two_more_statements(client, world, django_assert_num_queries):
    cap(world, "10")
    click = world.click()
    client.get(world.url("/postback/lead", click=click.click_id, exto="warm"))  # warms the caches

    # The four of a lead's creation (see tests/ingest/test_postback_errors.py) plus the cap's two:
    # the period's counter row (INSERT … ON CONFLICT DO NOTHING) and the conditional UPDATE.
    with django_assert_num_queries(4 + 2 + 2):
        response = client.get(world.url("/postback/lead", click=click.click_id, exto="q1"))

    assert response.json()["lead"]["payout"] == "1.50"
