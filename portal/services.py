"""Writes of the publisher portal: postback URL, payment method, payouts, access requests, sign-ups.

Portal views and admin actions both call these; each takes the partner it acts for, so a
publisher only ever writes its own rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Organization, Role
from accounts.services import membership_create
from audit.tracking import update_recorded
from config.money import format_money, in_minor_units
from partners.models import Integration, Offer, Partner, Status
from partners.services import tracking_link_create
from partners.urlsafety import validate_outbound_url
from portal.models import OfferAccessRequest, PaymentMethod, Payout, PayoutLead, PayoutRun, PublisherSignup
from portal.selectors import balance_of, minimum_payout_in, unpaid_by_partner, unpaid_lines

# Stored on a payout in English; the Payments tab translates it as it shows it.
NO_PAYMENT_METHOD = gettext_noop("(no payment method)")


def publisher_postback_errors(url: str) -> list[str]:
    """Why this postback URL cannot be saved: the rule of every outbound URL (macros, host, address)."""
    return validate_outbound_url(url)


@transaction.atomic
def publisher_postback_set(*, partner: Partner, url: str) -> Partner:
    """Save the publisher's postback URL (empty turns it off); ValidationError on bad macros or targets."""
    url = url.strip()
    if url:
        errors = publisher_postback_errors(url)
        if errors:
            raise ValidationError({"url": errors})
    partner.publisher_postback_url = url
    # Saved (not a bare UPDATE) so the cached outbound configuration of its integrations is
    # dropped: the next lead already posts back to the new URL.
    partner.save(update_fields=["publisher_postback_url"])
    return partner


@transaction.atomic
def payment_method_set(*, partner: Partner, kind: str, **details: str) -> PaymentMethod:
    """Replace the publisher's payment method; only the chosen kind's details are kept."""
    fields = {name: "" for names in PaymentMethod.DETAILS.values() for name in names}
    kept = PaymentMethod.DETAILS.get(kind, ())
    fields.update({name: (details.get(name) or "").strip() for name in kept})
    method, _ = PaymentMethod.objects.update_or_create(partner=partner, defaults={"kind": kind, **fields})
    return method


@transaction.atomic
def payout_request(
    *, partner: Partner, organization: Organization, amount: Decimal, user: Any = None
) -> Payout:
    """Ask to be paid `amount`: at least the organization's minimum, at most the available balance.

    The partner row is locked so two requests at once cannot both spend the same balance.
    """
    Partner.objects.select_for_update().get(pk=partner.pk)
    method = PaymentMethod.objects.filter(partner=partner).first()
    if method is None:
        raise ValidationError(_("Set a payment method first: we need to know where to send the money."))
    balance = balance_of(partner, organization)
    minimum = minimum_payout_in(organization, balance.currency)
    if amount < minimum:
        raise ValidationError(
            _("The minimum payout is %(amount)s: request at least that much.")
            % {"amount": format_money(minimum, balance.currency)}
        )
    if amount > balance.available:
        raise ValidationError(
            _("You can request at most your available balance, %(amount)s.")
            % {"amount": format_money(balance.available, balance.currency)}
        )
    return Payout.objects.create(
        organization=organization,
        partner=partner,
        amount=amount,
        currency=balance.currency,
        method=f"{method.get_kind_display()}: {method.summary}",
        requested_by=user,
    )


def payout_mark_paid(*, payout: Payout, actor: Any, reference: str = "") -> bool:
    """Mark a requested payout paid; False when it was not waiting (already paid or cancelled)."""
    updated = update_recorded(
        Payout.objects.filter(pk=payout.pk, status=Payout.Status.REQUESTED),
        status=Payout.Status.PAID,
        paid_at=timezone.now(),
        paid_by=actor,
        reference=reference,
    )
    return bool(updated)


# --- Payout runs -------------------------------------------------------------------------------


class RunRefused(ValidationError):
    """A payout run cannot do what was asked; the message says what to do instead."""


@transaction.atomic
def payout_run_create(
    *,
    organization: Organization,
    actor: Any,
    partner_ids: Iterable[int] | None = None,
    debtor_name: str = "",
    debtor_iban: str = "",
    debtor_bic: str = "",
) -> PayoutRun:
    """A draft run paying every publisher whose unpaid approved balance reaches the threshold,
    or the publishers picked (any unpaid balance); each payout is linked to the leads it pays.

    Two runs at once cannot take the same lead: the lines' unique constraint refuses the
    second (IntegrityError, the whole run is rolled back).
    """
    totals = unpaid_by_partner(organization)
    if partner_ids is None:
        chosen = sorted(pk for pk, total in totals.items() if total >= organization.min_payout)
    else:
        chosen = sorted(pk for pk in set(partner_ids) if totals.get(pk, Decimal("0")) > 0)
    if not chosen:
        raise RunRefused(
            "No publisher has an unpaid approved balance "
            + ("at or above the threshold." if partner_ids is None else "among those picked.")
        )
    run = PayoutRun.objects.create(
        organization=organization,
        created_by=actor,
        debtor_name=debtor_name.strip() or settings.PAYOUT_DEBTOR_NAME,
        debtor_iban=(debtor_iban or settings.PAYOUT_DEBTOR_IBAN).replace(" ", "").upper(),
        debtor_bic=(debtor_bic or settings.PAYOUT_DEBTOR_BIC).replace(" ", "").upper(),
    )
    for partner in Partner.objects.select_for_update().filter(pk__in=chosen).order_by("pk"):
        _run_payout(run, partner)
    return run


def _run_payout(run: PayoutRun, partner: Partner) -> Payout | None:
    """The partner's payout in the run: its open request taken in, or a new one, with its leads."""
    organization = run.organization
    currency, leads = unpaid_lines(organization, partner)
    amount = in_minor_units(sum((payout for _, payout in leads), Decimal("0")), currency)
    if amount <= 0:
        return None
    method = PaymentMethod.objects.filter(partner=partner).first()
    requests = Payout.objects.filter(partner=partner, status=Payout.Status.REQUESTED, run__isnull=True)
    payout = requests.order_by("requested_at", "pk").first() or Payout(
        organization=organization, partner=partner, currency=currency
    )
    # Other open requests are covered by this payout, which pays the whole unpaid balance.
    update_recorded(
        requests.exclude(pk=payout.pk), status=Payout.Status.CANCELLED, reference=_included_in(run)
    )
    payout.run, payout.amount, payout.currency = run, amount, currency
    payout.method = f"{method.get_kind_display()}: {method.summary}" if method else NO_PAYMENT_METHOD
    payout.save()
    PayoutLead.objects.bulk_create(
        PayoutLead(payout=payout, lead_id=lead_id, amount=lead_amount) for lead_id, lead_amount in leads
    )
    return payout


@transaction.atomic
def payout_run_exported(*, run: PayoutRun) -> None:
    """Note that the run's file was downloaded: it may be paid now, no longer discarded."""
    update_recorded(
        PayoutRun.objects.filter(pk=run.pk, status=PayoutRun.Status.DRAFT),
        status=PayoutRun.Status.EXPORTED,
        exported_at=timezone.now(),
    )


@transaction.atomic
def payout_run_mark_paid(*, run: PayoutRun, actor: Any, reference: str) -> int:
    """Every waiting payout of the run paid with the batch's reference, all or none; their count."""
    locked = PayoutRun.objects.select_for_update().get(pk=run.pk)
    if locked.status == PayoutRun.Status.PAID:
        raise RunRefused("This run is already paid.")
    reference = reference.strip()
    if not reference:
        raise RunRefused("Give the payment's reference (the bank's or PayPal's batch id) to mark it paid.")
    now = timezone.now()
    paid = update_recorded(
        Payout.objects.filter(run=locked, status=Payout.Status.REQUESTED),
        status=Payout.Status.PAID,
        paid_at=now,
        paid_by=actor,
        reference=reference,
    )
    locked.status, locked.paid_at, locked.reference = PayoutRun.Status.PAID, now, reference
    locked.save(update_fields=["status", "paid_at", "reference"])
    return paid


@transaction.atomic
def payout_run_discard(*, run: PayoutRun) -> None:
    """Undo a draft run: its leads are free again, requests it took in wait as requests again."""
    locked = PayoutRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != PayoutRun.Status.DRAFT:
        raise RunRefused("Only a draft run can be discarded: this one's file was already exported.")
    PayoutLead.objects.filter(payout__run=locked).delete()
    payouts = Payout.objects.filter(run=locked)
    update_recorded(payouts.filter(requested_at__lt=locked.created_at), run=None)
    payouts.delete()
    cancelled = Payout.objects.filter(organization=locked.organization, status=Payout.Status.CANCELLED)
    update_recorded(
        cancelled.filter(reference=_included_in(locked)), status=Payout.Status.REQUESTED, reference=""
    )
    locked.delete()


def _included_in(run: PayoutRun) -> str:
    return f"Included in payout run #{run.pk}"


def access_request_create(*, partner: Partner, offer: Offer, message: str = "") -> OfferAccessRequest:
    """Ask to run a campaign; a second request while one is pending answers the pending one."""
    try:
        with transaction.atomic():
            return OfferAccessRequest.objects.create(
                organization_id=partner.organization_id, partner=partner, offer=offer, message=message.strip()
            )
    except IntegrityError:
        return OfferAccessRequest.objects.get(
            partner=partner, offer=offer, status=OfferAccessRequest.Status.PENDING
        )


class AccessNotGranted(ValueError):
    """An access request cannot be approved yet; the message says what a manager must do first."""


@transaction.atomic
def access_request_approve(*, access_request: OfferAccessRequest, actor: Any) -> OfferAccessRequest:
    """Approve: create the publisher's tracking link through its integration with the offer's app."""
    locked = (
        OfferAccessRequest.objects.select_for_update()
        .select_related("offer", "partner")
        .get(pk=access_request.pk)
    )
    if locked.status != OfferAccessRequest.Status.PENDING:
        return locked
    integration = Integration.objects.filter(
        partner=locked.partner, app_id=locked.offer.app_id, status=Status.ACTIVE
    ).first()
    if integration is None:
        raise AccessNotGranted(
            f"{locked.partner} is not connected to the app {locked.offer.app}: connect it first "
            f"(Apps → {locked.offer.app} → Manage integration → Connect partner), then approve again."
        )
    tracking_link_create(integration=integration, offer=locked.offer)
    return _decide(locked, OfferAccessRequest.Status.APPROVED, actor)


@transaction.atomic
def access_request_reject(
    *, access_request: OfferAccessRequest, actor: Any, note: str = ""
) -> OfferAccessRequest:
    locked = OfferAccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if locked.status != OfferAccessRequest.Status.PENDING:
        return locked
    locked.note = note
    return _decide(locked, OfferAccessRequest.Status.REJECTED, actor)


def _decide(access_request: OfferAccessRequest, status: str, actor: Any) -> OfferAccessRequest:
    access_request.status, access_request.decided_at, access_request.decided_by = (
        status,
        timezone.now(),
        actor,
    )
    access_request.save(update_fields=["status", "note", "decided_at", "decided_by"])
    return access_request


@transaction.atomic
def publisher_signup(
    *,
    referrer: Partner,
    company: str,
    username: str,
    email: str,
    password: str,
    website: str = "",
) -> PublisherSignup:
    """A new publisher (a partner and its login) in the referrer's organization, awaiting approval."""
    organization = referrer.organization
    if Partner.objects.filter(organization=organization, name__iexact=company.strip()).exists():
        raise ValidationError({"company": _("A publisher with this name already exists: pick another name.")})
    partner = Partner.objects.create(
        organization=organization, name=company.strip(), contact_email=email.strip(), website=website.strip()
    )
    membership_create(
        organization=organization,
        username=username,
        email=email,
        password=password,
        role=Role.PUBLISHER,
        partner=partner,
    )
    return PublisherSignup.objects.create(
        organization=organization, partner=partner, referrer=referrer, website=website.strip()
    )


def signup_decide(*, signup: PublisherSignup, approve: bool, actor: Any) -> bool:
    """Approve (or reject) a pending sign-up; False when it was already decided."""
    status = PublisherSignup.Status.APPROVED if approve else PublisherSignup.Status.REJECTED
    updated = PublisherSignup.objects.filter(pk=signup.pk, status=PublisherSignup.Status.PENDING).update(
        status=status, decided_at=timezone.now(), decided_by=actor
    )
    return bool(updated)


@transaction.atomic
def profile_update(*, partner: Partner, user: Any, contact_name: str, email: str, website: str) -> None:
    """The publisher's own contact details and login e-mail."""
    update_recorded(
        Partner.objects.filter(pk=partner.pk),
        contact_name=contact_name.strip(),
        contact_email=email.strip(),
        website=website.strip(),
    )
    user.email = email.strip()
    user.save(update_fields=["email"])


def payout_run_set_debtor(*, run: PayoutRun, name: str, iban: str, bic: str) -> bool:
    """Change the account a run pays from, until it is paid; False when it already is."""
    updated = update_recorded(
        PayoutRun.objects.filter(pk=run.pk).exclude(status=PayoutRun.Status.PAID),
        debtor_name=name.strip(),
        debtor_iban=iban,
        debtor_bic=bic,
    )
    return bool(updated)
