"""The admin's offer and goal lists write money as the portal does (issue 13: one formatting helper)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from partners.models import PayoutType
from tests.factories import GoalFactory, OfferFactory

pytestmark = pytest.mark.django_db


def test_offer_rates_and_goal_payouts_read_as_money(client, manager, organization):
    offer = OfferFactory(organization=organization, currency="EUR", rate=Decimal("1.2"))
    GoalFactory(offer=offer, code="install", payout=Decimal("0.9"), revenue=Decimal("1.2"))
    GoalFactory(offer=offer, code="deposit", payout_type=PayoutType.PERCENT, payout=Decimal("30"))
    client.force_login(manager)

    offers = client.get(reverse("admin:partners_offer_changelist")).content.decode()
    goals = client.get(reverse("admin:partners_goal_changelist")).content.decode()

    assert "€1.20" in offers and "1.2000" not in offers
    assert "€0.90" in goals and "30 % of revenue" in goals and "0.9000" not in goals
