"""Caps under concurrency: 50 conversions at once against a cap of 10 make exactly 10 paying leads.

Real PostgreSQL (SQLite runs one writer at a time, so nothing races there), real lead postbacks
over HTTP, one thread per postback released together.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from leads.models import CapUse, Lead
from partners.models import Cap
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_concurrency import _at_once, _get
from tests.ingest.test_postback_support import make_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time, so nothing races",
    ),
]

CONVERSIONS = 50


def _fifty_conversions_against(metric: str, period: str, limit: Decimal) -> tuple[list[int], Cap]:
    world = make_world(OrganizationFactory(time_zone="Europe/Berlin"))
    cap = Cap.objects.create(
        organization=world.offer.organization, offer=world.offer, metric=metric, period=period, limit=limit
    )
    clicks = [world.click() for _ in range(CONVERSIONS)]
    calls = [
        _get(world.url("/postback/lead", click=click.click_id, exto=f"c{n}"))
        for n, click in enumerate(clicks)
    ]
    return _at_once(calls), cap


@pytest.mark.parametrize("period", ["daily", "monthly", "total"])
def test_fifty_concurrent_conversions_against_a_cap_of_ten_make_exactly_ten_paying_leads(period):
    statuses, cap = _fifty_conversions_against("conversions", period, Decimal("10"))

    assert statuses == [200] * CONVERSIONS
    leads = Lead.objects.filter(offer=cap.offer)
    assert leads.count() == CONVERSIONS  # every conversion is kept
    assert leads.filter(verdict="ok").count() == 10
    over = leads.filter(verdict="cap_reached")
    assert over.count() == 40
    assert set(over.values_list("payout", flat=True)) == {Decimal("0")}
    assert sum(leads.values_list("payout", flat=True)) == Decimal("15.00")  # 10 × the install goal's 1.50
    use = CapUse.objects.get(cap=cap)
    assert (use.used, use.refused) == (Decimal("10"), 40)


def test_fifty_concurrent_conversions_against_a_payout_cap_pay_exactly_up_to_it():
    # The install goal pays 1.50: a payout cap of 15.00 takes ten conversions.
    statuses, cap = _fifty_conversions_against("payout", "daily", Decimal("15.00"))

    assert statuses == [200] * CONVERSIONS
    leads = Lead.objects.filter(offer=cap.offer)
    assert leads.filter(verdict="ok").count() == 10
    assert leads.filter(verdict="cap_reached").count() == 40
    assert sum(leads.values_list("payout", flat=True)) == Decimal("15.00")
    assert CapUse.objects.get(cap=cap).used == Decimal("15.00")
