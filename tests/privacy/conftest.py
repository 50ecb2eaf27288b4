"""Fixtures of the privacy tests: publishers A and B with traffic; a device's clicks, lead, log row."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from ingest.models import InboundPostback
from leads.models import Click, Impression, Lead
from leads.rollups import rollup_rebuild
from portal.models import PaymentMethod, Payout
from postbacks.models import Delivery, DeliveryAttempt
from reports.selectors import report_totals
from tests.factories import MembershipFactory
from tests.reports.builders import make_traffic, make_world

DEVICE = "38400000-8cf0-11bd-b23e-10b96e40000d"
DEVICE_IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _settled_at_once(settings):
    settings.ROLLUP_SETTLE_SECONDS = 0


@pytest.fixture
def world(db):
    world = make_world()
    make_traffic(world)
    # Every third click of A's with the shared IP is the device's: its groups of (day, link, IP)
    # are partly the device's and partly other people's, the hard case for unique clicks.
    shared = [c for c in world.a.clicks if c.ip == DEVICE_IP]
    device_clicks = shared[::3]
    Click.objects.filter(pk__in=[c.pk for c in device_clicks]).update(
        gaid=DEVICE,
        user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0.0.0 Mobile Safari/537.36",
    )
    impression = Impression.objects.filter(partner=world.a.partner).first()
    Impression.objects.filter(pk=impression.pk).update(device_id=DEVICE, ip=DEVICE_IP)
    lead = (
        Lead.objects.filter(click__in=[c.pk for c in device_clicks]).first()
        or Lead.objects.filter(partner=world.a.partner, click__isnull=False).first()
    )
    Click.objects.filter(pk=lead.click_id).update(gaid=DEVICE, ip=DEVICE_IP)
    Lead.objects.filter(pk=lead.pk).update(params={"ct_id": DEVICE, "ip": DEVICE_IP, "campaign": "spring"})
    InboundPostback.objects.create(
        organization=world.organization,
        endpoint=InboundPostback.Endpoint.LEAD,
        method="GET",
        path=f"/postback/lead?ct_id={DEVICE}&ip={DEVICE_IP}",
        params={"ct_id": DEVICE, "ip": DEVICE_IP, "token": "abc"},
        body="",
        source_ip=DEVICE_IP,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
        outcome=InboundPostback.Outcome.CREATED,
        http_status=200,
        lead=lead,
    )
    delivery = Delivery.objects.create(
        organization=world.organization,
        kind=Delivery.Kind.PARTNER,
        event="conversion",
        lead=lead,
        partner=world.a.partner,
        url=f"https://pb.example/postback?gaid={DEVICE}&ip={DEVICE_IP}&status=1",
        state=Delivery.State.DONE,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, url_masked=delivery.url, outcome=DeliveryAttempt.Outcome.DONE
    )
    PaymentMethod.objects.create(
        partner=world.a.partner,
        kind=PaymentMethod.Kind.BANK,
        account_holder="Alice Alpha",
        iban="DE89370400440532013000",
    )
    PaymentMethod.objects.create(partner=world.b.partner, paypal_email="beta-pay@example.com")
    Payout.objects.create(
        organization=world.organization,
        partner=world.a.partner,
        amount=Decimal("12.34"),
        method="Alice Alpha · DE89",
    )
    world.lead = lead
    rollup_rebuild()
    return world


@pytest.fixture
def org_admin(world):
    return MembershipFactory(organization=world.organization, role=Role.ADMIN, user__username="boss").user


@pytest.fixture
def org_manager(world):
    return MembershipFactory(organization=world.organization, role=Role.MANAGER, user__username="mgr").user


def totals(world):
    """Each publisher's report totals over the traffic's period, as the dashboard shows them."""
    today = timezone.now().date()
    start, end = today - timedelta(days=30), today + timedelta(days=1)
    return {
        publisher.partner.pk: report_totals(partner_id=publisher.partner.pk, start=start, end=end).counters
        for publisher in (world.a, world.b)
    }
