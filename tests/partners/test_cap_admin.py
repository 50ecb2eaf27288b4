"""Managers see each cap's use in the admin: on its offer's page and in the caps list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.caprules import CapRule
from leads.models import CapUse
from partners.models import Cap
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(organization):
    organization.time_zone = "Europe/Berlin"
    organization.save()
    return OfferFactory(organization=organization, currency="EUR")


def _used(cap: Cap, amount: str) -> None:
    start = CapRule.of(cap, "Europe/Berlin").period_start(timezone.now())
    CapUse.objects.create(cap=cap, period_start=start, used=Decimal(amount))


def _tomorrow_midnight_berlin() -> str:
    today = timezone.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    following = datetime.combine(today, datetime.min.time()) + timezone.timedelta(days=1)
    return f"{following:%Y-%m-%d} 00:00 Europe/Berlin"


def test_the_offer_page_shows_each_caps_use_this_period(client, manager, offer):
    cap = Cap.objects.create(organization=offer.organization, offer=offer, limit=Decimal("10"))
    _used(cap, "7")
    Cap.objects.create(
        organization=offer.organization, offer=offer, limit=Decimal("500"), metric="payout", period="total"
    )
    client.force_login(manager)

    html = client.get(reverse("admin:partners_offer_change", args=[offer.pk])).content.decode()

    assert f"7 / 10 today, resets {_tomorrow_midnight_berlin()}" in html
    assert "0.00 EUR / 500.00 EUR in total, never resets" in html


def test_a_manager_adds_a_cap_for_their_organization(client, manager, offer):
    client.force_login(manager)

    response = client.post(
        reverse("admin:partners_cap_add"),
        {"offer": offer.pk, "metric": "conversions", "period": "daily", "limit": "25", "is_active": "on"},
    )

    assert response.status_code == 302
    cap = Cap.objects.get()
    assert (cap.organization, cap.offer, cap.limit) == (offer.organization, offer, Decimal("25"))
    listing = client.get(reverse("admin:partners_cap_changelist")).content.decode()
    assert "0 / 25 today" in listing


def test_an_organizations_time_zone_must_be_a_real_one(client, admin_user, organization):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_organization_change", args=[organization.pk]),
        {
            "name": organization.name,
            "currency": "USD",
            "time_zone": "Mars/Olympus",
            "min_payout": "50",
            "referral_share": "5",
        },
    )

    assert response.status_code == 200
    assert "is not a time zone" in response.content.decode()


def test_a_cap_added_on_the_offer_page_belongs_to_the_offers_organization(client, manager, offer):
    client.force_login(manager)
    url = reverse("admin:partners_offer_change", args=[offer.pk])
    data = {
        "name": offer.name,
        "app": offer.app_id,
        "type": offer.type,
        "rate": "2",
        "currency": "EUR",
        "visibility": "public",
        "status": "active",
        "attribution_window_days": "30",
    }
    for prefix in ("landings", "creatives", "goals", "caps"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(
        {
            "caps-TOTAL_FORMS": "1",
            "caps-0-offer": offer.pk,
            "caps-0-metric": "conversions",
            "caps-0-period": "monthly",
            "caps-0-limit": "5",
            "caps-0-is_active": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    cap = Cap.objects.get()
    assert (cap.organization, cap.offer, cap.period, cap.limit) == (
        offer.organization,
        offer,
        "monthly",
        Decimal("5"),
    )
