"""Writes of the publisher portal: postback URL, payment method, payouts, access requests, sign-ups.

Portal views and admin actions both call these; each takes the partner it acts for, so a
publisher only ever writes its own rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization, Role
from accounts.services import membership_create
from partners.models import Integration, Offer, Partner, Status
from partners.services import tracking_link_create
from partners.urlsafety import validate_outbound_url
from portal.models import OfferAccessRequest, PaymentMethod, Payout, PublisherSignup
from portal.selectors import balance_of, minimum_payout_in


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
    """Replace the publisher's payment method; the details of the other kinds are cleared."""
    fields = {
        "paypal_email": "",
        "account_holder": "",
        "iban": "",
        "bic": "",
        "wallet_network": "",
        "wallet_address": "",
    }
    fields.update({name: value.strip() for name, value in details.items() if name in fields})
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
        raise ValidationError("Set a payment method first: we need to know where to send the money.")
    balance = balance_of(partner, organization)
    minimum = minimum_payout_in(organization, balance.currency)
    if amount < minimum:
        raise ValidationError(
            f"The minimum payout is {minimum} {balance.currency}: request at least that much."
        )
    if amount > balance.available:
        raise ValidationError(
            f"You can request at most your available balance, {balance.available} {balance.currency}."
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
    updated = Payout.objects.filter(pk=payout.pk, status=Payout.Status.REQUESTED).update(
        status=Payout.Status.PAID, paid_at=timezone.now(), paid_by=actor, reference=reference
    )
    return bool(updated)


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
        raise ValidationError({"company": "A publisher with this name already exists: pick another name."})
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
    Partner.objects.filter(pk=partner.pk).update(
        contact_name=contact_name.strip(), contact_email=email.strip(), website=website.strip()
    )
    user.email = email.strip()
    user.save(update_fields=["email"])
