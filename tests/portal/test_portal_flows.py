"""What publishers do in the portal and what managers do for them in the admin."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import tablib
from django.contrib.admin.sites import site
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import Role
from leads.models import Lead
from partners.models import Integration, IpPrivacy, TrackingLink
from portal.admin import OfferAccessRequestAdmin, PayoutAdmin, PublisherSignupAdmin
from portal.models import OfferAccessRequest, Payout, PublisherSignup
from portal.selectors import referral_code_of
from portal.services import AccessNotGranted, access_request_approve, payment_method_set
from tests.factories import MembershipFactory
from tests.reports.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode()


def _admin_request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    request._messages = type("Sink", (), {"add": lambda *a, **k: None})()
    return request


def test_a_publisher_logs_in_and_lands_on_the_dashboard(world):
    client = Client()
    response = client.post(reverse("portal:login"), {"username": "alpha", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:dashboard")
    assert "Alpha Media" in response.content.decode()


def test_staff_who_log_in_to_the_portal_are_sent_to_the_admin(world):
    MembershipFactory(organization=world.organization, role=Role.MANAGER, user__username="maria")
    response = Client().post(reverse("portal:login"), {"username": "maria", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_referral_sign_up_waits_for_approval_before_it_may_log_in(world, manager_of):
    code = referral_code_of(world.a.partner)
    response = Client().post(
        f"{reverse('portal:signup')}?ref={code}",
        {
            "company": "Gamma Clicks",
            "email": "g@example.com",
            "username": "gamma",
            "password": "Long-pass-2026!",
        },
    )
    assert response.status_code == 302
    signup = PublisherSignup.objects.get(partner__name="Gamma Clicks")
    assert signup.referrer == world.a.partner
    refused = Client().post(reverse("portal:login"), {"username": "gamma", "password": "Long-pass-2026!"})
    assert "awaiting a manager" in refused.content.decode()

    PublisherSignupAdmin(PublisherSignup, site).approve(
        _admin_request(manager_of), PublisherSignup.objects.all()
    )
    allowed = Client().post(reverse("portal:login"), {"username": "gamma", "password": "Long-pass-2026!"})
    assert allowed["Location"] == reverse("portal:dashboard")


def test_a_forged_referral_code_offers_no_sign_up_form(world):
    response = Client().get(f"{reverse('portal:signup')}?ref={world.a.partner.pk}-forged")
    assert "works through a referral link" in response.content.decode()


def test_password_reset_sends_a_portal_link(world):
    Client().post(reverse("portal:password_reset"), {"email": "alpha@example.com"})
    assert len(mail.outbox) == 1
    assert "/portal/password-reset/" in mail.outbox[0].body


def test_a_postback_url_with_an_unknown_macro_is_refused_naming_it(world, client_a):
    response = client_a.post(reverse("portal:postback"), {"url": "https://pub.example/pb?c={clickid}"})
    assert "Unknown macro {clickid}" in response.content.decode()
    world.a.partner.refresh_from_db()
    assert world.a.partner.publisher_postback_url == ""


def test_a_postback_url_to_a_private_address_is_refused(world, client_a, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    response = client_a.post(reverse("portal:postback"), {"url": "http://127.0.0.1/pb?c={ref_id}"})
    assert "public internet addresses" in response.content.decode()


def test_a_good_postback_url_is_saved_and_previewed(world, client_a):
    url = "https://93.184.216.34/pb?clickid={ref_id}&payout={aff_payout}"
    response = client_a.post(reverse("portal:postback"), {"url": url}, follow=True)
    assert "clickid=pub-777&amp;payout=1.50" in response.content.decode()
    world.a.partner.refresh_from_db()
    assert world.a.partner.publisher_postback_url == url


def test_a_payout_below_the_minimum_is_refused_with_the_minimum(world, client_a):
    payment_method_set(partner=world.a.partner, kind="paypal", paypal_email="a@example.com")
    response = client_a.post(reverse("portal:payout_request"), {"amount": "5.00"})
    assert "The minimum payout is $10.00" in response.content.decode()
    assert not Payout.objects.filter(partner=world.a.partner).exists()


def test_a_payout_above_the_balance_is_refused(world, client_a):
    payment_method_set(partner=world.a.partner, kind="paypal", paypal_email="a@example.com")
    response = client_a.post(reverse("portal:payout_request"), {"amount": "999999"})
    assert "at most your available balance" in response.content.decode()


def test_a_requested_payout_lowers_the_balance_and_a_manager_marks_it_paid(world, client_a, manager_of):
    payment_method_set(
        partner=world.a.partner, kind="bank", account_holder="Alpha", iban="DE89370400440532013000"
    )
    client_a.post(reverse("portal:payout_request"), {"amount": "10.00"})
    payout = Payout.objects.get(partner=world.a.partner)
    assert payout.method == "Bank transfer (IBAN): Alpha · DE89370400440532013000"
    PayoutAdmin(Payout, site).mark_paid(_admin_request(manager_of), Payout.objects.filter(pk=payout.pk))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    page = client_a.get(reverse("portal:payments")).content.decode()
    assert "Paid" in page


def test_payment_method_needs_the_fields_of_its_kind(world, client_a):
    response = client_a.post(reverse("portal:payment_method"), {"kind": "crypto", "wallet_network": "BTC"})
    assert "Required for this payment method." in response.content.decode()


def test_an_approved_access_request_creates_the_tracking_link(world, client_a, manager_of):
    offer = world.offers[2]
    offer.visibility = "approval"
    offer.save()
    client_a.post(reverse("portal:campaign_request", args=[offer.pk]), {"message": "Please"})
    request = OfferAccessRequest.objects.get(partner=world.a.partner, offer=offer)
    OfferAccessRequestAdmin(OfferAccessRequest, site).approve(
        _admin_request(manager_of), OfferAccessRequest.objects.filter(pk=request.pk)
    )
    assert TrackingLink.objects.filter(partner=world.a.partner, offer=offer).exists()
    page = client_a.get(reverse("portal:campaign", args=[offer.pk])).content.decode()
    assert "ref_id={replace_me}" in page


def test_approval_without_an_integration_explains_what_is_missing(world, manager_of):
    Integration.objects.filter(partner=world.a.partner).update(status="paused")
    request = OfferAccessRequest.objects.create(
        organization=world.organization, partner=world.a.partner, offer=world.offers[1]
    )
    with pytest.raises(AccessNotGranted, match="not connected to the app"):
        access_request_approve(access_request=request, actor=manager_of)


def test_private_campaigns_without_a_link_are_not_listed(world, client_a):
    page = client_a.get(reverse("portal:campaigns")).content.decode()
    assert "Space Farm CPI" in page
    assert "Space Farm CPA" in page
    assert "Secret Deal" not in page


def test_the_report_exports_csv_and_xlsx_with_the_same_rows(world, client_a):
    query = "?period=30d&group_by=geo"
    csv_text = _text(client_a.get(reverse("portal:report_export", args=["csv"]) + query))
    xlsx = client_a.get(reverse("portal:report_export", args=["xlsx"]) + query)
    dataset = tablib.Dataset().load(io.BytesIO(xlsx.content).read(), format="xlsx")
    csv_lines = csv_text.strip().splitlines()
    assert csv_lines[0].startswith("Country,Impressions,Clicks")
    assert len(csv_lines) - 1 == len(dataset)
    assert sum(int(line.split(",")[2]) for line in csv_lines[1:]) == len(world.a.clicks)


def test_ips_are_obfuscated_where_the_integration_keeps_ips_private(world, client_a):
    Integration.objects.filter(pk=world.a.integration.pk).update(ip_privacy=IpPrivacy.REPORTS)
    lead = Lead.objects.filter(partner=world.a.partner, click__ip="203.0.113.7").first()
    text = _text(client_a.get(reverse("portal:conversions_export", args=["csv"])))
    assert "203.0.113.xxx" in text
    assert "203.0.113.7" not in text
    page = client_a.get(reverse("portal:conversions") + f"?status={lead.status}").content.decode()
    assert "203.0.113.7" not in page


def test_the_dashboard_shows_the_periods_clicks(world, client_a):
    page = client_a.get(reverse("portal:dashboard") + "?period=30d").content.decode()
    assert f'id="kpi-clicks">{len(world.a.clicks)}<' in page


def test_the_referral_balance_is_the_share_of_referred_approved_payouts(world, client_a):
    PublisherSignup.objects.create(
        organization=world.organization, partner=world.b.partner, referrer=world.a.partner, status="approved"
    )
    earned = sum(lead.payout for lead in world.b.leads if lead.status == "approved")
    share = (earned * world.organization.referral_share / 100).quantize(Decimal("0.01"))
    page = client_a.get(reverse("portal:referrals")).content.decode()
    assert f"Referral balance<strong>${share:,.2f}<" in page


@pytest.mark.parametrize(
    ("grouping", "header", "label"),
    [
        ("network", "Network (ASN / organization)", "AS24940 Hetzner Online GmbH"),
        ("redirect", "Redirect reason", "The offer's cap is full"),
        ("smartlink", "Smart link → offer", "Alpha Media smart link → Space Farm CPI"),
    ],
)
def test_the_report_groups_by_network_redirect_reason_and_smart_link(
    world, client_a, grouping, header, label
):
    query = f"?period=30d&group_by={grouping}"

    page = client_a.get(reverse("portal:report") + query).content.decode()
    csv_lines = (
        _text(client_a.get(reverse("portal:report_export", args=["csv"]) + query)).strip().splitlines()
    )

    assert label.replace("'", "&#x27;") in page
    assert csv_lines[0].startswith(f'"{header}",Impressions,Clicks') or csv_lines[0].startswith(f"{header},")
    assert any(line.startswith((label, f'"{label}"')) for line in csv_lines[1:])
