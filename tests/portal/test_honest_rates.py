"""A campaign shows what its conversions pay the viewing publisher, goal by goal (issue 13).

Each figure is read off the campaign page, then a real conversion on that goal arrives by
postback and its payout is compared with the figure: fixed amounts, percentages of revenue
and the publisher's own override.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from leads.clicks import click_record
from leads.linkcache import link_data
from leads.models import Lead
from partners.models import Goal, GoalPartnerPayout, PayoutType

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced_offer(world):
    """The CPI offer with three goals: install fixed 1.20, deposit 30 % of revenue, and
    registration 2.00 for everyone but 3.50 for Alpha (its override)."""
    offer = world.offers[0]
    Goal.objects.filter(offer=offer, code="install").update(payout=Decimal("1.20"), revenue=Decimal("2"))
    Goal.objects.create(
        offer=offer,
        code="deposit",
        name="Deposit",
        payout_type=PayoutType.PERCENT,
        payout=Decimal("30"),
        revenue=Decimal("20"),
        position=2,
    )
    registration = Goal.objects.create(
        offer=offer, code="registration", name="Registration", payout=Decimal("2.00"), position=1
    )
    GoalPartnerPayout.objects.create(goal=registration, partner=world.a.partner, payout=Decimal("3.50"))
    return offer


def _shown_rates(client: Client, offer) -> dict[str, str]:
    page = client.get(reverse("portal:campaign", args=[offer.pk])).content.decode()
    rows = re.findall(r'<tr data-goal="([\w-]+)">.*?<td class="num">([^<]+)</td></tr>', page)
    return dict(rows)


def _convert(world, offer, goal: str, **money: str) -> Lead:
    link = next(link for link in world.a.links if link.offer_id == offer.pk)
    click = click_record(
        link=link_data(link.code), fields={"ip": "198.51.100.4", "user_agent": "Mozilla/5.0"}
    )
    params = {"token": offer.app.token, "click": click.click_id, "goal": goal, **money}
    response = Client().get("/postback/lead", params)
    assert response.status_code == 200, response.content
    return Lead.objects.get(click=click)


def test_fixed_percent_and_override_figures_are_what_conversions_pay(world, client_a, priced_offer):
    shown = _shown_rates(client_a, priced_offer)
    assert shown == {"install": "$1.20", "registration": "$3.50", "deposit": "30 % of revenue"}

    install = _convert(world, priced_offer, "install")
    assert f"${install.payout:.2f}" == shown["install"]

    registration = _convert(world, priced_offer, "registration")
    assert f"${registration.payout:.2f}" == shown["registration"]  # Alpha's own 3.50, not 2.00

    deposit = _convert(world, priced_offer, "deposit", pay="45.00")
    assert deposit.payout == Decimal("45.00") * 30 / 100  # 30 % of the revenue the postback named


def test_another_publisher_sees_the_goal_payout_not_alphas_override(world, client_b, priced_offer):
    assert _shown_rates(client_b, priced_offer)["registration"] == "$2.00"


def test_the_campaign_list_shows_the_default_goal_rate_not_the_offer_rate(world, client_a, priced_offer):
    priced_offer.rate = Decimal("9.99")
    priced_offer.save()
    page = client_a.get(reverse("portal:campaigns")).content.decode()
    row = re.search(rf'{priced_offer.name}</a>.*?<td class="num" data-rate>(.*?)</td>', page, re.S).group(1)
    assert row.startswith("$1.20")
    assert "9.99" not in row
