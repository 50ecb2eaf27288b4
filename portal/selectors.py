"""Reads of the publisher portal: every query starts from the logged-in publisher's partner.

A view never filters by an id alone: it asks here for "this partner's offer 7", so another
publisher's object is exactly as absent (404) as a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Organization
from config.money import MoneySum, format_money, format_percent, in_minor_units
from currencies.selectors import cross_rate, cross_rates
from leads.caps import cap_uses
from leads.models import Lead, LeadStatus
from leads.privacy import display_ip
from leads.selectors import approved_payout_by_day
from leads.services import Terms
from partners.models import (
    Cap,
    Creative,
    Goal,
    GoalPartnerPayout,
    Landing,
    Offer,
    Partner,
    PayoutType,
    Status,
    TrackingLink,
)
from portal import banking
from portal.models import (
    OfferAccessRequest,
    PaymentMethod,
    Payout,
    PayoutLead,
    PayoutRun,
    PublisherSignup,
)
from postbacks.models import Delivery
from reports.selectors import earnings_by_partner, earnings_total

ZERO = Decimal("0")
CENT = Decimal("0.01")
OPEN_PAYOUTS = (Payout.Status.REQUESTED, Payout.Status.PAID)


# --- Campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """What a publisher earns for one goal: a fixed amount in the offer's currency, or a percent.

    Made by `leads.services.Terms.of`, the function that prices every conversion, so the figure
    a campaign shows is the figure its conversions pay, the publisher's own override included.
    """

    goal_name: str
    goal_code: str
    payout_type: str
    amount: Decimal
    currency: str
    is_default: bool = False

    def __str__(self) -> str:
        if self.payout_type == PayoutType.PERCENT:
            return _("%(percent)s of revenue") % {"percent": format_percent(self.amount)}
        return format_money(self.amount, self.currency)


def _goals_priced_for(partner: Partner) -> QuerySet[Goal]:
    """Goals annotated with this partner's own payout, the way `Terms.of` reads an override."""
    override = GoalPartnerPayout.objects.filter(goal=OuterRef("pk"), partner=partner)
    return Goal.objects.annotate(
        partner_payout=Subquery(override.values("payout")[:1]),
        partner_payout_type=Subquery(override.values("payout_type")[:1]),
    ).order_by("position", "id")


def rates_of(offer: Offer, partner: Partner) -> list[Rate]:
    """Per goal, what the partner earns on this offer; an offer without goals pays its rate."""
    goals = getattr(offer, "priced_goals", None)
    if goals is None:
        goals = list(_goals_priced_for(partner).filter(offer=offer))
    if not goals:
        return [Rate(offer.name, "", PayoutType.FIXED, offer.rate, offer.currency, is_default=True)]
    rates = []
    for goal in goals:
        terms = Terms.of(goal, partner_id=partner.pk, offer=offer)
        rates.append(
            Rate(goal.name, goal.code, terms.payout_type, terms.payout, offer.currency, goal.is_default)
        )
    return rates


def headline_rate(rates: list[Rate]) -> Rate:
    """The rate a campaign list shows: the default goal's, else the first."""
    return next((rate for rate in rates if rate.is_default), rates[0])


def with_rates(offers: Iterable[Offer], partner: Partner) -> list[Offer]:
    """The offers with `rates` and `headline` set for this partner (one query for all goals)."""
    offers = list(offers)
    goals: dict[int, list[Goal]] = {offer.pk: [] for offer in offers}
    for goal in _goals_priced_for(partner).filter(offer_id__in=list(goals)):
        goals[goal.offer_id].append(goal)
    for offer in offers:
        offer.priced_goals = goals[offer.pk]
        offer.rates = rates_of(offer, partner)
        offer.headline = headline_rate(offer.rates)
    return offers


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
    return format_money(value, currency)


def _cap_metric(cap: Cap) -> str:
    return _("conversions") if cap.metric == Cap.Metric.CONVERSIONS else _("payout")


def _cap_resets(resets_at: Any, organization: Organization) -> str:
    """When a cap resets, as the pages write a time, in the organization's zone (named)."""
    if resets_at is None:
        return _("Never")
    local = timezone.localtime(resets_at, organization.zone)
    return f"{date_format(local, 'DATETIME_FORMAT')} {organization.time_zone}"


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
        whose = _("yours") if cap.partner_id else _("all publishers")
        scope = f"{cap.goal.name} ({whose})" if cap.goal_id else _("This campaign") + f" ({whose})"
        resets = _cap_resets(use.resets_at, cap.organization)
        rows.append(
            CapLeft(
                scope=scope,
                period=_("%(period)s %(metric)s")
                % {"period": cap.get_period_display(), "metric": _cap_metric(cap)},
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
    return display_ip(getattr(lead.click_seen, "ip", ""), lead.integration.ip_privacy)


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


def payout_currency_of(partner: Partner, organization: Organization) -> str:
    """The currency a publisher is paid in: its own, else the organization's base currency."""
    return partner.payout_currency or organization.currency


def balance_of(partner: Partner, organization: Organization) -> Balance:
    """Approved payouts minus paid and requested payouts, and the referral share, in the payout currency.

    In the base currency the approved payouts come from the rollups; in another currency each
    approval day's sum is converted at that day's rate (`earned_in`).
    """
    currency = payout_currency_of(partner, organization)
    sums = Payout.objects.filter(partner=partner).aggregate(
        paid=MoneySum("amount", places=2, filter=Q(status=Payout.Status.PAID)),
        requested=MoneySum("amount", places=2, filter=Q(status=Payout.Status.REQUESTED)),
    )
    referred = earned_in(referred_partner_ids(partner), organization.currency, currency)
    return Balance(
        earned=earned_in([partner.pk], organization.currency, currency),
        paid=sums["paid"] or ZERO,
        requested=sums["requested"] or ZERO,
        referral=in_minor_units(referred * organization.referral_share / 100, currency),
        currency=currency,
    )


def earned_in(partner_ids: Any, base: str, currency: str) -> Decimal:
    """These partners' approved payouts in `currency`: at the rate of each lead's approval day.

    A day whose rate is unknown (a currency the ECB stopped publishing) counts nothing rather
    than counting base amounts as if they were the payout currency.
    """
    if currency == base:
        return earnings_total(partner_ids=partner_ids)
    by_day = approved_payout_by_day(partner_ids=partner_ids)
    rates = cross_rates(base, currency, by_day)
    total = sum(
        (amount * rates[day].rate for day, amount in by_day.items() if rates.get(day) is not None), ZERO
    )
    return in_minor_units(total, currency)


def payouts_of(partner: Partner) -> QuerySet[Payout]:
    return Payout.objects.filter(partner=partner)


def payment_method_of(partner: Partner) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(partner=partner).first()


def payout_of(partner: Partner, pk: int) -> Payout:
    """One of the publisher's own payouts; another publisher's is a 404 like a missing one."""
    return get_object_or_404(payouts_of(partner), pk=pk)


def statement_lines(payout: Payout) -> QuerySet[PayoutLead]:
    """The leads a payout pays, oldest first, with their campaign and goal: its statement."""
    return (
        PayoutLead.objects.filter(payout=payout)
        .select_related("lead__offer", "lead__goal")
        .order_by("lead__created_at", "lead_id")
    )


# --- Payout runs -------------------------------------------------------------------------------


def unpaid_leads(organization: Organization) -> QuerySet[Lead]:
    """Approved leads that no payout pays yet, in any currency: their base amounts add up."""
    paid = PayoutLead.objects.filter(lead=OuterRef("pk"))
    return Lead.objects.filter(
        organization=organization, status=LeadStatus.APPROVED, payout_base__gt=0
    ).exclude(Exists(paid))


def unpaid_by_partner(organization: Organization) -> dict[int, Decimal]:
    """Each partner's unpaid approved amount in the base currency (what the threshold is in), to the cent."""
    rows = unpaid_leads(organization).values("partner_id").annotate(total=MoneySum("payout_base")).order_by()
    return {row["partner_id"]: Decimal(row["total"]).quantize(CENT, ROUND_HALF_UP) for row in rows}


def unpaid_lines(organization: Organization, partner: Partner) -> tuple[str, list[tuple[int, Decimal]]]:
    """The partner's payout currency and each unpaid lead with what it pays in it.

    A lead's base amount is converted at the rate of its approval day, as the balance is
    (`earned_in`); a day without a rate leaves its leads unpaid rather than guess.
    """
    currency = payout_currency_of(partner, organization)
    rows = unpaid_leads(organization).filter(partner=partner)
    rows = rows.values_list("pk", "payout_base", "status_changed_at", "created_at").order_by("pk")
    if currency == organization.currency:
        return currency, [(pk, base) for pk, base, _changed, _created in rows]
    days = {pk: (changed or created).date() for pk, _base, changed, created in rows}
    rates = cross_rates(organization.currency, currency, days.values())
    lines = [
        (pk, (base * rates[days[pk]].rate).quantize(Decimal("0.0001")))
        for pk, base, _changed, _created in rows
        if rates.get(days[pk]) is not None
    ]
    return currency, lines


def run_candidates(organization: Organization) -> list[tuple[Partner, Decimal, bool]]:
    """Publishers with an unpaid balance: (partner, amount, at or above the threshold), largest first."""
    totals = unpaid_by_partner(organization)
    partners = Partner.objects.filter(organization=organization, pk__in=totals).order_by("name")
    rows = [
        (partner, totals[partner.pk], totals[partner.pk] >= organization.min_payout) for partner in partners
    ]
    return sorted(rows, key=lambda row: -row[1])


def runs_of(organization: Organization) -> QuerySet[PayoutRun]:
    return PayoutRun.objects.filter(organization=organization)


@dataclass
class RunPayout:
    """A payout as the run page shows it: its method now, the file it goes into and what is wrong."""

    payout: Payout
    method: PaymentMethod | None
    channel: str  # "paypal", "sepa" or "manual"
    warnings: list[str]


def run_payouts(run: PayoutRun) -> list[RunPayout]:
    """The run's payouts with their publishers' payment methods and warnings, in three queries."""
    payouts = list(
        run.payouts.exclude(status=Payout.Status.CANCELLED)
        .select_related("partner__payment_method")
        .order_by("partner__name", "id")
    )
    overdrawn = _overdrawn(run.organization, [payout.partner_id for payout in payouts])
    rows = []
    for payout in payouts:
        method = getattr(payout.partner, "payment_method", None)
        channel, warnings = payout_channel(payout, method)
        currency = run.organization.currency
        if payout.amount < run.organization.min_payout:
            warnings.append(f"Below the threshold of {format_money(run.organization.min_payout, currency)}.")
        if payout.partner_id in overdrawn:
            left = format_money(overdrawn[payout.partner_id], currency)
            warnings.append(
                "Earlier payouts not linked to leads already cover part of this: "
                f"the balance left is {left}. Check before paying."
            )
        rows.append(RunPayout(payout=payout, method=method, channel=channel, warnings=warnings))
    return rows


def payout_channel(payout: Payout, method: PaymentMethod | None) -> tuple[str, list[str]]:
    """Which export pays this payout, and why it cannot be exported when it cannot."""
    if method is None:
        return "manual", ["No payment method: ask the publisher to set one in Payments."]
    if method.kind == PaymentMethod.Kind.PAYPAL:
        if not method.paypal_email:
            return "manual", ["No PayPal e-mail in the payment method."]
        return "paypal", []
    if method.kind == PaymentMethod.Kind.BANK:
        problems = [
            error
            for error in (
                banking.iban_error(method.iban),
                method.bic and banking.bic_error(method.bic, method.iban),
            )
            if error
        ]
        if not method.account_holder:
            problems.append("No account holder in the payment method.")
        if payout.currency != "EUR":
            problems.append(
                f"SEPA transfers are in EUR and this payout is in {payout.currency}: pay it by hand."
            )
        return ("manual" if problems else "sepa"), [
            f"Invalid IBAN: {p}" if p.startswith("The IBAN") else p for p in problems
        ]
    return "manual", ["Crypto wallets are in no export file: send this one by hand."]


def _overdrawn(organization: Organization, partner_ids: list[int]) -> dict[int, Decimal]:
    """Partners whose approved earnings are less than their paid and waiting payouts.

    Payouts from before payout runs pay no leads, so a run could pay those leads again; this
    is the warning that says so.
    """
    earned = earnings_by_partner(partner_ids=partner_ids)
    owed = (
        Payout.objects.filter(partner_id__in=partner_ids, status__in=OPEN_PAYOUTS)
        .values("partner_id")
        .annotate(total=MoneySum("amount", places=2))
        .order_by()
    )
    left = {row["partner_id"]: earned.get(row["partner_id"], ZERO) - row["total"] for row in owed}
    return {pk: amount.quantize(CENT) for pk, amount in left.items() if amount < 0}


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


def minimum_payout_in(organization: Organization, currency: str) -> Decimal:
    """The organization's minimum payout (in its base currency) in a payout currency, at today's rate."""
    if currency == organization.currency:
        return organization.min_payout
    rate = cross_rate(organization.currency, currency, timezone.now().date())
    return in_minor_units(organization.min_payout * rate.rate, currency) if rate else organization.min_payout
