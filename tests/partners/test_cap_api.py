"""`/api/v1/caps/`: caps with their use this period, scoped to the organization (SPEC 4.5, 8)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from leads.caprules import CapRule
from leads.models import CapUse
from partners.models import Cap
from tests.factories import GoalFactory, OfferFactory, PartnerFactory

pytestmark = pytest.mark.django_db

CAPS = "/api/v1/caps/"


@pytest.fixture
def client(api_client_for, manager):
    return api_client_for(manager)


@pytest.fixture
def offer(organization):
    organization.time_zone = "Europe/Berlin"
    organization.save()
    return OfferFactory(organization=organization)


def test_a_cap_shows_its_use_remaining_and_reset_in_the_organizations_time_zone(client, offer):
    cap = Cap.objects.create(organization=offer.organization, offer=offer, limit=Decimal("10"))
    rule = CapRule.of(cap, "Europe/Berlin")
    CapUse.objects.create(cap=cap, period_start=rule.period_start(timezone.now()), used=Decimal("7"))

    body = client.get(f"{CAPS}{cap.pk}/").json()

    assert (body["used"], body["remaining"], body["refused"]) == ("7.0000", "3.0000", 0)
    assert body["resets_at"].endswith("T00:00:00+01:00")  # local midnight, Berlin in winter
    assert body["period_start"] == rule.period_start(timezone.now()).isoformat()


def test_a_total_cap_never_resets(client, offer):
    cap = Cap.objects.create(organization=offer.organization, offer=offer, limit=Decimal("5"), period="total")

    body = client.get(f"{CAPS}{cap.pk}/").json()

    assert (body["used"], body["remaining"], body["resets_at"]) == ("0", "5.0000", None)


def test_a_manager_creates_a_partner_offer_cap(client, offer):
    partner = PartnerFactory(organization=offer.organization)

    response = client.post(
        CAPS,
        {
            "offer": offer.pk,
            "partner": partner.pk,
            "metric": "payout",
            "period": "monthly",
            "limit": "250.00",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    cap = Cap.objects.get()
    assert (cap.organization, cap.partner, cap.metric, cap.limit) == (
        offer.organization,
        partner,
        "payout",
        Decimal("250.00"),
    )


def test_a_goal_of_another_offer_is_refused(client, offer):
    elsewhere = GoalFactory(offer=OfferFactory(organization=offer.organization))

    response = client.post(CAPS, {"offer": offer.pk, "goal": elsewhere.pk, "limit": "3"}, format="json")

    assert response.status_code == 400
    assert response.json()["goal"] == ["Choose a goal of this offer."]


def test_a_conversions_cap_must_be_whole(client, offer):
    response = client.post(CAPS, {"offer": offer.pk, "limit": "2.5"}, format="json")

    assert response.status_code == 400
    assert "whole number" in response.json()["limit"][0]


def test_the_list_shows_only_the_organizations_caps_and_reads_their_use_at_once(
    client, offer, other_organization, django_assert_max_num_queries
):
    for limit in (1, 2, 3):
        Cap.objects.create(organization=offer.organization, offer=offer, limit=limit)
    theirs = OfferFactory(organization=other_organization)
    Cap.objects.create(organization=other_organization, offer=theirs, limit=9)

    with django_assert_max_num_queries(8):
        response = client.get(CAPS)

    assert [row["limit"] for row in response.json()["results"]] == ["1.0000", "2.0000", "3.0000"]


def test_another_organizations_offer_cannot_be_capped(client, other_organization):
    theirs = OfferFactory(organization=other_organization)

    response = client.post(CAPS, {"offer": theirs.pk, "limit": "3"}, format="json")

    assert response.status_code == 400
    assert "offer" in response.json()
