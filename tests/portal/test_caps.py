"""The campaign page tells a publisher what its caps still take, never another publisher's numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.caprules import CapRule
from leads.models import CapUse
from partners.models import Cap

pytestmark = pytest.mark.django_db


def _cap(world, offer, limit: str, used: str = "0", **fields) -> Cap:
    cap = Cap.objects.create(organization=world.organization, offer=offer, limit=Decimal(limit), **fields)
    start = CapRule.of(cap, world.organization.time_zone).period_start(timezone.now())
    CapUse.objects.create(cap=cap, period_start=start, used=Decimal(used))
    return cap


def _caps_table(client, offer) -> str:
    html = client.get(reverse("portal:campaign", args=[offer.pk])).content.decode()
    start = html.index('id="caps"')
    return html[start : html.index("</table>", start)]


def test_the_campaign_page_shows_what_the_offer_cap_and_the_publishers_own_cap_leave(world, client_a):
    offer = world.offers[0]
    _cap(world, offer, "100", used="40")
    _cap(world, offer, "10", used="7", partner=world.a.partner, period="monthly")

    table = _caps_table(client_a, offer)

    assert "This campaign (all publishers)" in table and "<td>60</td><td>100</td>" in table
    assert "This campaign (yours)" in table and "<td>3</td><td>10</td>" in table
    assert "UTC" in table  # resets at midnight in the organization's time zone, named


def test_another_publishers_own_cap_never_shows(world, client_a):
    offer = world.offers[0]
    _cap(world, offer, "55", used="54", partner=world.b.partner)

    html = client_a.get(reverse("portal:campaign", args=[offer.pk])).content.decode()

    assert 'id="caps"' not in html
    assert "55" not in html


def test_a_goal_cap_is_shown_per_goal_and_a_payout_cap_in_money(world, client_a):
    offer = world.offers[0]
    goal = offer.goals.first()
    _cap(world, offer, "25.00", used="10.50", goal=goal, metric="payout", period="total")

    table = _caps_table(client_a, offer)

    assert f"{goal.name} (all publishers)" in table
    assert f"<td>14.50 {offer.currency}</td><td>25.00 {offer.currency}</td><td>Never</td>" in table
