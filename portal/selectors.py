"""Reads of the publisher portal: every query starts from the logged-in publisher's partner.

A view never filters by an id alone: it asks here for "this partner's offer 7", so another
publisher's object is exactly as absent (404) as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import Organization
from config.money import money_text
from leads.caps import cap_uses
from leads.models import Lead
from leads.privacy import display_ip
from partners.models import Cap, Creative, Landing, Offer, Partner, Status, TrackingLink
from portal.models import OfferAccessRequest, PaymentMethod, Payout, PublisherSignup
from postbacks.models import Delivery
from reports.selectors import earnings_total

ZERO = Decimal("0")
OPEN_PAYOUTS = (Payout.Status.REQUESTED, Payout.Status.PAID)


# --- Campaigns -------------------------------------------------------------------------------


def offers_visible(partner: Partner) -> QuerySet[Offer]:
    """The campaigns a publisher sees: public and by-approval ones, private ones only with a link."""
    own_links = TrackingLink.objects.filter(partner=partner, offer=OuterRef("pk"), status=Status.ACTIVE)
    pending = OfferAccessRequest.objects.filter(
        partner=partner, offer=OuterRef("pk"), status=OfferAccessRequest.Status.PENDING
    )
    return (
        Offer.objects.filter(organization_id=partner.organization_id, status=Status.ACTIVE)
        .annotate(has_link=Exists(own_links), access_pending=Exists(pending))
        .filter(Q(visibility__in=[Offer.Visibility.PUBLIC, Offer.Visibility.APPROVAL]) | Q(has_link=True))
        .select_related("app")
        .order_by("app__name", "name")
    )


def offer_of(partner: Partner, pk: int) -> Offer:
    """One visible campaign with its landings, creatives and the publisher's own links; 404 otherwise."""
    queryset = offers_visible(partner).prefetch_related(
        Prefetch("landings", queryset=Landing.objects.order_by("kind", "id")),
        "creatives",
        Prefetch(
            "links",
            queryset=TrackingLink.objects.filter(partner=partner, status=Status.ACTIVE).select_related(
                "landing"
            ),
            to_attr="own_links",
        ),
    )
    return get_object_or_404(queryset, pk=pk)


@dataclass(frozen=True)
class CapLeft:
    """What a publisher may still convert on a campaign under one cap, ready to show."""

    scope: str
    period: str
    left: str
    limit: str
    resets: str


def _cap_amount(cap: Cap, value: Decimal, currency: str) -> str:
    if cap.metric == Cap.Metric.CONVERSIONS:
        return f"{value.normalize():f}"
    return f"{money_text(value)} {currency}"


def caps_left(partner: Partner, offer: Offer) -> list[CapLeft]:
    """The campaign's caps a publisher is subject to: the offer's, its own, and per goal.

    Another partner's own caps are never read, so their numbers cannot show. Resets are in
    the organization's time zone, named.
    """
    caps = list(
        Cap.objects.filter(offer=offer, is_active=True)
        .filter(Q(partner__isnull=True) | Q(partner=partner))
        .select_related("organization", "goal")
        .order_by("goal__position", "goal_id", "partner_id", "id")
    )
    uses = cap_uses(caps)
    rows = []
    for cap in caps:
        use = uses[cap.pk]
        whose = "yours" if cap.partner_id else "all publishers"
        scope = f"{cap.goal.name} ({whose})" if cap.goal_id else f"This campaign ({whose})"
        resets = f"{use.resets_at:%Y-%m-%d %H:%M} {cap.organization.time_zone}" if use.resets_at else "Never"
        rows.append(
            CapLeft(
                scope=scope,
                period=f"{cap.get_period_display()} {cap.metric}",
                left=_cap_amount(cap, use.remaining, offer.currency),
                limit=_cap_amount(cap, use.limit, offer.currency),
                resets=resets,
            )
        )
    return rows


def creative_of(partner: Partner, pk: int) -> Creative:
    """A creative of a campaign the publisher runs (has a link to) or may see publicly; 404 otherwise."""
    runnable = offers_visible(partner).filter(Q(has_link=True) | Q(visibility=Offer.Visibility.PUBLIC))
    return get_object_or_404(Creative.objects.filter(offer__in=runnable), pk=pk)


def access_requests_of(partner: Partner) -> QuerySet[OfferAccessRequest]:
    return OfferAccessRequest.objects.filter(partner=partner).select_related("offer")


# --- Conversions -----------------------------------------------------------------------------


def leads_of(partner: Partner) -> QuerySet[Lead]:
    """The publisher's conversions, newest first, with what the log shows."""
    return (
        Lead.objects.filter(partner=partner, organization_id=partner.organization_id)
        .select_related("offer", "goal", "click", "integration")
        .order_by("-created_at", "-id")
    )


def shown_ip(lead: Lead) -> str:
    """The click's IP as the publisher may see it: obfuscated where the integration's IP privacy is on."""
    return display_ip(lead.click.ip if lead.click_id else "", lead.integration.ip_privacy)


# --- Money -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """What a publisher has earned and may still request, and its referral earnings."""

    earned: Decimal
    paid: Decimal
    requested: Decimal
    referral: Decimal
    currency: str

    @property
    def available(self) -> Decimal:
        return (self.earned - self.paid - self.requested).quantize(Decimal("0.01"))


def referred_partner_ids(partner: Partner) -> QuerySet:
    return PublisherSignup.objects.filter(referrer=partner, status=PublisherSignup.Status.APPROVED).values(
        "partner_id"
    )


def balance_of(partner: Partner, organization: Organization) -> Balance:
    """Approved payouts (from the rollups) minus paid and requested payouts; the referral share."""
    sums = Payout.objects.filter(partner=partner).aggregate(
        paid=Sum("amount", filter=Q(status=Payout.Status.PAID)),
        requested=Sum("amount", filter=Q(status=Payout.Status.REQUESTED)),
    )
    referred = earnings_total(partner_ids=referred_partner_ids(partner))
    return Balance(
        earned=earnings_total(partner_ids=[partner.pk]),
        paid=sums["paid"] or ZERO,
        requested=sums["requested"] or ZERO,
        referral=(referred * organization.referral_share / 100).quantize(Decimal("0.01")),
        currency=organization.currency,
    )


def payouts_of(partner: Partner) -> QuerySet[Payout]:
    return Payout.objects.filter(partner=partner)


def payment_method_of(partner: Partner) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(partner=partner).first()


# --- Referrals -------------------------------------------------------------------------------


def referral_code_of(partner: Partner) -> str:
    """The partner's referral code: its id and a signature, so codes cannot be guessed."""
    signature = salted_hmac("portal.referral", str(partner.pk)).hexdigest()[:12]
    return f"{partner.pk}-{signature}"


def referrer_by_code(code: str) -> Partner | None:
    """The partner whose referral code this is, or None for a wrong or tampered code."""
    pk = code.partition("-")[0]
    if not pk.isdigit():
        return None
    partner = Partner.objects.select_related("organization").filter(pk=int(pk)).first()
    if partner is None or not constant_time_compare(referral_code_of(partner), code):
        return None
    return partner


def referrals_of(partner: Partner) -> QuerySet[PublisherSignup]:
    """Publishers who signed up through this partner's link, with what they earned approved."""
    return (
        PublisherSignup.objects.filter(referrer=partner)
        .select_related("partner")
        .order_by("-created_at", "-id")
    )


def signup_of(partner_id: int) -> PublisherSignup | None:
    return PublisherSignup.objects.filter(partner_id=partner_id).first()


# --- Outbound deliveries ------------------------------------------------------------------------


def publisher_deliveries(partner: Partner, limit: int = 20) -> list[Delivery]:
    """The latest publisher-postback deliveries of this partner (its tests included), with their attempts."""
    queryset = Delivery.objects.filter(_publisher_postback_calls(partner)).prefetch_related("attempts")
    return list(queryset.order_by("-created_at", "-id")[:limit])


def publisher_last_test(partner: Partner) -> Delivery | None:
    """The publisher's latest test of its postback, with its attempt."""
    tests = Delivery.objects.filter(partner=partner, kind=Delivery.Kind.TEST, event=Delivery.Kind.PUBLISHER)
    return tests.prefetch_related("attempts").order_by("-created_at", "-id").first()


def _publisher_postback_calls(partner: Partner) -> Q:
    tests = Q(kind=Delivery.Kind.TEST, event=Delivery.Kind.PUBLISHER)
    return Q(partner=partner) & (Q(kind=Delivery.Kind.PUBLISHER) | tests)
