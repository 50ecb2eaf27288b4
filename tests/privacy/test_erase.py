"""Erasing or anonymizing by device id, IP or publisher: personal fields go, every count and amount stays."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client
from django.urls import reverse

from ingest.models import InboundPostback
from leads.models import Click, Impression, Lead
from leads.rollups import rollup_rebuild, rollup_refresh
from partners.models import Partner
from portal.models import PaymentMethod, Payout
from postbacks.models import Delivery, DeliveryAttempt
from privacy.models import PrivacyOperation
from privacy.redaction import criterion_parse
from privacy.services import privacy_preview, privacy_run
from reports.models import ClickFingerprint
from tests.privacy.conftest import DEVICE, DEVICE_IP, totals
from tests.reports.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _run(world, kind, value, action="erase"):
    criterion = criterion_parse(
        kind=kind, value=value, partner_ids=Partner.objects.values_list("pk", flat=True)
    )
    return privacy_run(
        organization=world.organization,
        criterion=criterion,
        action=action,
        channel="command",
        actor_name="test",
    )


def _signs_in(username):
    response = Client().post(reverse("portal:login"), {"username": username, "password": PASSWORD})
    return response.status_code == 302


def _assert_totals_kept(world, before):
    rollup_refresh(settle_seconds=0)
    assert totals(world) == before
    rollup_rebuild()
    assert totals(world) == before


def test_erase_by_device_id_leaves_report_totals_unchanged_and_the_device_id_gone_everywhere(world):
    before = totals(world)
    assert before[world.a.partner.pk]["unique_clicks"] < before[world.a.partner.pk]["clicks"]
    device_leads = Lead.objects.filter(click__gaid=DEVICE).count()

    operation = _run(world, "device_id", DEVICE)

    _assert_totals_kept(world, before)
    assert not Click.objects.filter(gaid=DEVICE).exists()
    assert not Impression.objects.filter(device_id=DEVICE).exists()
    assert not any(DEVICE in str(params) for params in Lead.objects.values_list("params", flat=True))
    assert Lead.objects.get(pk=world.lead.pk).params == {"campaign": "spring"}
    inbound = InboundPostback.objects.get(lead=world.lead)
    assert DEVICE not in str(inbound.params) and DEVICE not in inbound.path and inbound.source_ip is None
    assert DEVICE not in Delivery.objects.get(lead=world.lead).url
    assert DEVICE not in DeliveryAttempt.objects.get(delivery__lead=world.lead).url_masked
    assert operation.counts["clicks"] >= 2 and operation.counts["impressions"] == 1
    assert (
        operation.counts["leads"] == device_leads
        and operation.counts["inbound"] == 1
        and operation.counts["deliveries"] == 1
    )


def test_small_batches_count_the_same_when_a_group_of_clicks_spans_batches(world, monkeypatch):
    monkeypatch.setattr("privacy.services.BATCH", 2)
    before = totals(world)

    operation = _run(world, "ip", "203.0.113.0/24", action="anonymize")

    _assert_totals_kept(world, before)
    assert operation.counts["clicks"] == Click.objects.filter(ip="203.0.113.0").count() > 2


def test_erasing_twice_changes_no_count_either(world):
    before = totals(world)
    _run(world, "device_id", DEVICE)
    _run(world, "ip", DEVICE_IP)

    _assert_totals_kept(world, before)


def test_erase_by_ip_blanks_the_address_and_keeps_report_totals(world):
    before = totals(world)

    _run(world, "ip", DEVICE_IP)

    _assert_totals_kept(world, before)
    assert not Click.objects.filter(ip=DEVICE_IP).exists()
    assert not ClickFingerprint.objects.filter(ip=DEVICE_IP).exists()
    assert not InboundPostback.objects.filter(source_ip=DEVICE_IP).exists()
    assert DEVICE_IP not in Delivery.objects.get(lead=world.lead).url
    assert Click.objects.filter(ip="198.51.100.4").exists()  # another address is untouched


def test_anonymize_by_network_truncates_the_addresses_and_reduces_user_agents(world):
    before = totals(world)

    _run(world, "ip", "203.0.113.0/24", action="anonymize")

    _assert_totals_kept(world, before)
    ips = set(Click.objects.filter(partner=world.a.partner).values_list("ip", flat=True))
    assert DEVICE_IP not in ips and "203.0.113.0" in ips
    assert not any(
        ip and ipaddress.ip_address(ip) in ipaddress.ip_network("203.0.113.0/24") and ip != "203.0.113.0"
        for ip in ips
    )
    agents = set(
        Click.objects.filter(gaid="", ip="203.0.113.0")
        .exclude(user_agent="")
        .values_list("user_agent", flat=True)
    )
    assert agents <= {"Chrome Mobile on Android"}


def test_erase_by_publisher_erases_its_account_and_traffic_and_stops_its_logins(world):
    before = totals(world)
    signed_in = Client()
    signed_in.force_login(world.a.user)

    operation = _run(world, "publisher", str(world.a.partner.pk))

    _assert_totals_kept(world, before)
    partner = Partner.objects.get(pk=world.a.partner.pk)
    assert partner.name == f"Erased publisher #{partner.pk}" and partner.contact_email == ""
    method = PaymentMethod.objects.get(partner=partner)
    assert method.iban == "" and method.account_holder == ""
    assert Payout.objects.get(partner=partner).method == "(erased)"
    assert not _signs_in("alpha")
    assert signed_in.get("/portal/").status_code == 302
    assert (
        not Click.objects.filter(partner=partner)
        .exclude(ip="")
        .exclude(redacted_unique__isnull=False)
        .exists()
    )
    assert operation.counts["accounts"] == 2
    # Publisher B keeps everything.
    assert _signs_in("beta")
    assert PaymentMethod.objects.get(partner=world.b.partner).paypal_email == "beta-pay@example.com"
    assert Click.objects.filter(partner=world.b.partner, ip=DEVICE_IP).exists()


def test_anonymize_by_publisher_keeps_its_account(world):
    _run(world, "publisher", str(world.a.partner.pk), action="anonymize")

    assert _signs_in("alpha")
    assert PaymentMethod.objects.get(partner=world.a.partner).iban == "DE89370400440532013000"
    assert not Click.objects.filter(partner=world.a.partner, ip=DEVICE_IP).exists()


def test_the_operation_is_recorded_with_the_identifier_masked(world):
    preview = privacy_preview(
        organization=world.organization,
        criterion=criterion_parse(kind="device_id", value=DEVICE),
        action="erase",
    )
    operation = _run(world, "device_id", DEVICE)

    recorded = PrivacyOperation.objects.get()
    assert recorded == operation and recorded.finished_at is not None
    assert recorded.kind == "device_id" and recorded.action == "erase" and recorded.channel == "command"
    assert DEVICE not in recorded.criteria and recorded.criteria.startswith("sha256:")
    assert recorded.counts == preview


def test_an_ip_is_recorded_as_its_network_only(world):
    assert _run(world, "ip", DEVICE_IP).criteria == "203.0.113.xxx"


def test_erase_by_device_id_reaches_the_leads_copy_of_its_click_when_the_click_is_gone(world):
    lead = Lead.objects.get(pk=world.lead.pk)
    facts = {**lead.click_facts, "gaid": DEVICE, "ip": DEVICE_IP, "user_agent": "Mozilla/5.0 (X11)"}
    Lead.objects.filter(pk=lead.pk).update(click_facts=facts)
    # As after the retention dropped the click's partition.
    Click.objects.filter(pk=lead.click_id).delete()

    _run(world, "device_id", DEVICE)

    kept = Lead.objects.get(pk=lead.pk).click_facts
    assert DEVICE not in str(kept) and DEVICE_IP not in str(kept) and kept["user_agent"] == ""
    assert kept["click_id"] == facts["click_id"]
