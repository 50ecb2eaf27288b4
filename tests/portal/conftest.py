"""Fixtures of the portal tests: an organization with publishers A and B, their traffic and logins."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from accounts.models import Role
from leads.rollups import rollup_rebuild
from partners.models import Creative
from portal.models import PaymentMethod, Payout
from tests.factories import MembershipFactory
from tests.reports.builders import make_traffic, make_world


@pytest.fixture(autouse=True)
def _settled_at_once(settings, tmp_path):
    """Clicks fold into the rollups as soon as they are seen; uploads go to a temporary folder."""
    settings.ROLLUP_SETTLE_SECONDS = 0
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world(db):
    world = make_world(min_payout=Decimal("10.00"))
    make_traffic(world)
    secret = world.offers[2]
    Creative.objects.create(
        offer=secret, name="Secret banner", file=ContentFile(b"GIF89a", name="secret.gif")
    )
    Creative.objects.create(
        offer=world.offers[0], name="Public banner", file=ContentFile(b"GIF89a", name="pub.gif")
    )
    PaymentMethod.objects.create(partner=world.b.partner, paypal_email="beta-pay@example.com")
    Payout.objects.create(
        organization=world.organization,
        partner=world.b.partner,
        amount=Decimal("12.34"),
        method="PayPal: beta",
    )
    rollup_rebuild()
    return world


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_a(world) -> Client:
    return _client_for(world.a.user)


@pytest.fixture
def client_b(world) -> Client:
    return _client_for(world.b.user)


@pytest.fixture
def manager_of(world):
    return MembershipFactory(
        organization=world.organization, role=Role.MANAGER, user__username="manager"
    ).user
