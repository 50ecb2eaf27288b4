"""The publisher portal: payouts, payment methods, access requests, sign-ups through referrals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class PaymentMethod(models.Model):
    """How a publisher wants to be paid: one method per partner, changed in the Payments tab."""

    class Kind(models.TextChoices):
        PAYPAL = "paypal", gettext_lazy("PayPal")
        BANK = "bank", gettext_lazy("Bank transfer (IBAN)")
        CRYPTO = "crypto", gettext_lazy("Crypto wallet")

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="payment_method"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAYPAL)
    paypal_email = models.EmailField(blank=True)
    account_holder = models.CharField(max_length=200, blank=True)
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    wallet_network = models.CharField(max_length=30, blank=True, help_text="e.g. USDT-TRC20, BTC.")
    wallet_address = models.CharField(max_length=120, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The detail fields of each kind: the only ones a method of that kind keeps.
    DETAILS = {
        Kind.PAYPAL: ("paypal_email",),
        Kind.BANK: ("account_holder", "iban", "bic"),
        Kind.CRYPTO: ("wallet_network", "wallet_address"),
    }

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"

    @property
    def summary(self) -> str:
        """The method in one line, as it is copied onto each payout."""
        if self.kind == self.Kind.PAYPAL:
            return self.paypal_email
        if self.kind == self.Kind.BANK:
            return f"{self.account_holder} · {self.iban}"
        return f"{self.wallet_network} · {self.wallet_address}"


class PayoutRun(models.Model):
    """A batch of payouts a manager reviews, exports as one mass-payment file and marks paid at once.

    The debtor account (the organization's own bank account) is what the SEPA file pays from.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        EXPORTED = "exported", "Exported"
        PAID = "paid", "Paid"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="payout_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    debtor_name = models.CharField(
        max_length=70, blank=True, help_text="The account the SEPA transfers are paid from: its holder."
    )
    debtor_iban = models.CharField(max_length=34, blank=True, verbose_name="debtor IBAN")
    debtor_bic = models.CharField(max_length=11, blank=True, verbose_name="debtor BIC")
    reference = models.CharField(
        max_length=200, blank=True, help_text="The payment batch's reference, copied onto each payout."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Payout run #{self.pk} ({self.get_status_display()})"


class Payout(models.Model):
    """A payment to a publisher: requested in the portal or made by a payout run, marked paid by a manager."""

    class Status(models.TextChoices):
        REQUESTED = "requested", gettext_lazy("Requested")
        PAID = "paid", gettext_lazy("Paid")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="payouts"
    )
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    method = models.CharField(max_length=300, help_text="The payment method when the payout was requested.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(max_length=200, blank=True, help_text="The transfer's reference.")
    run = models.ForeignKey(
        PayoutRun, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(name="payout_amount_positive", condition=models.Q(amount__gt=0)),
        ]
        indexes = [models.Index(fields=["partner", "status"], name="payout_partner_status")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} to {self.partner_id} ({self.status})"


class PayoutLead(models.Model):
    """An approved lead a payout pays, with its amount as paid: the payout's statement line.

    The unique constraint on the lead is what keeps a lead from being paid twice, whatever
    two managers do at once.
    """

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="lines")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=4)

    class Meta:
        ordering = ["lead_id"]
        constraints = [models.UniqueConstraint(fields=["lead"], name="payoutlead_lead_paid_once")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} in payout {self.payout_id}"


class OfferAccessRequest(models.Model):
    """A publisher asks to run a campaign; approving it creates the publisher's tracking link."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="offer_access_requests"
    )
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="access_requests")
    offer = models.ForeignKey("partners.Offer", on_delete=models.CASCADE, related_name="access_requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.CharField(max_length=500, blank=True, help_text="What the publisher wrote.")
    note = models.CharField(max_length=500, blank=True, help_text="The manager's answer or why it waits.")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "offer"],
                condition=models.Q(status="pending"),
                name="offeraccessrequest_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} → {self.offer} ({self.status})"


class PublisherSignup(models.Model):
    """A publisher who signed up in the portal, possibly through another publisher's referral link.

    Until a manager approves it the login is refused. Publishers created by managers have no
    sign-up row and are approved from the start.
    """

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Awaiting approval")
        APPROVED = "approved", gettext_lazy("Approved")
        REJECTED = "rejected", gettext_lazy("Rejected")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="signups"
    )
    partner = models.OneToOneField("partners.Partner", on_delete=models.CASCADE, related_name="signup")
    referrer = models.ForeignKey(
        "partners.Partner", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    website = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "status"], name="signup_referrer_status")]

    def __str__(self) -> str:
        return f"{self.partner} ({self.get_status_display()})"
