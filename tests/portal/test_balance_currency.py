"""A publisher's balance in its payout currency: each approved lead at the rate of the day it was approved.

The organization's base currency is USD (the builders' offers too); publisher A is paid in EUR.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from config.money import format_money
from currencies.models import ExchangeRate
from leads.models import Lead, LeadStatus
from leads.rollups import rollup_rebuild
from portal.models import PublisherSignup
from portal.selectors import balance_of

pytestmark = pytest.mark.django_db

MONDAY, WEDNESDAY = date(2026, 11, 23), date(2026, 11, 25)
# 1 EUR = 1.25 USD on Monday (1 USD = 0.80 EUR), 1.60 USD on Wednesday (1 USD = 0.625 EUR).
USD_PER_EUR = {MONDAY: Decimal("1.25"), WEDNESDAY: Decimal("1.60")}
CENT = Decimal("0.01")


@pytest.fixture
def approved_on_two_days(world):
    """A's and B's leads approved, every other one on Monday, the rest on Wednesday."""
    for day, usd in USD_PER_EUR.items():
        ExchangeRate.objects.create(day=day, currency="USD", per_eur=usd)
    leads = list(Lead.objects.filter(organization=world.organization).order_by("pk"))
    for index, lead in enumerate(leads):
        lead.status = LeadStatus.APPROVED
        lead.status_changed_at = datetime.combine(
            MONDAY if index % 2 else WEDNESDAY, datetime.min.time(), UTC
        )
    Lead.objects.bulk_update(leads, ["status", "status_changed_at"])
    world.a.partner.payout_currency = "EUR"
    world.a.partner.save()
    return leads


def _in_eur(leads: list[Lead]) -> Decimal:
    """What these leads earned in EUR, each day's sum at its rate, to the cent."""
    total = Decimal("0")
    for day, usd in USD_PER_EUR.items():
        base = sum(lead.payout_base for lead in leads if lead.status_changed_at.date() == day)
        total += base * (1 / usd).quantize(Decimal("1e-10"))
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def test_a_balance_in_eur_converts_each_approval_day_at_its_rate(world, approved_on_two_days):
    own = [lead for lead in approved_on_two_days if lead.partner_id == world.a.partner.pk]
    base_total = sum(lead.payout_base for lead in own)

    balance = balance_of(world.a.partner, world.organization)

    assert balance.currency == "EUR"
    assert balance.earned == _in_eur(own)
    assert balance.earned != base_total.quantize(CENT)  # not the USD figure relabelled


def test_the_referral_share_is_in_the_referrers_payout_currency(world, approved_on_two_days):
    PublisherSignup.objects.create(
        organization=world.organization,
        partner=world.b.partner,
        referrer=world.a.partner,
        status=PublisherSignup.Status.APPROVED,
    )
    referred = [lead for lead in approved_on_two_days if lead.partner_id == world.b.partner.pk]

    balance = balance_of(world.a.partner, world.organization)

    share = world.organization.referral_share
    assert balance.referral == (_in_eur(referred) * share / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def test_a_publisher_paid_in_the_base_currency_keeps_the_rollup_figure(world, approved_on_two_days):
    rollup_rebuild()
    own = [lead for lead in approved_on_two_days if lead.partner_id == world.b.partner.pk]

    balance = balance_of(world.b.partner, world.organization)

    assert (balance.currency, balance.earned) == ("USD", sum(lead.payout_base for lead in own))


def test_the_payments_page_shows_the_balance_in_the_payout_currency(world, client_a, approved_on_two_days):
    page = client_a.get(reverse("portal:payments")).content.decode()

    available = balance_of(world.a.partner, world.organization).available
    assert f'id="available">{format_money(available, "EUR")}<' in page
    assert "€" in page
