"""The publisher portal: payouts, payment methods, access requests, sign-ups through referrals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from config.i18n import admin_text


class PaymentMethod(models.Model):
    """How a publisher wants to be paid: one method per partner, changed in the Payments tab."""

    class Kind(models.TextChoices):
        PAYPAL = "paypal", gettext_lazy("PayPal")
        BANK = "bank", gettext_lazy("Bank transfer (IBAN)")
        CRYPTO = "crypto", gettext_lazy("Crypto wallet")

    partner = models.OneToOneField(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="payment_method",
        verbose_name=admin_text("partner"),
    )
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.PAYPAL, verbose_name=admin_text("kind")
    )
    paypal_email = models.EmailField(blank=True, verbose_name=admin_text("paypal email"))
    account_holder = models.CharField(max_length=200, blank=True, verbose_name=admin_text("account holder"))
    iban = models.CharField(max_length=34, blank=True, verbose_name=admin_text("iban"))
    bic = models.CharField(max_length=11, blank=True, verbose_name=admin_text("bic"))
    wallet_network = models.CharField(
        max_length=30,
        blank=True,
        verbose_name=admin_text("wallet network"),
        help_text=admin_text("e.g. USDT-TRC20, BTC."),
    )
    wallet_address = models.CharField(max_length=120, blank=True, verbose_name=admin_text("wallet address"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))

    # The detail fields of each kind: the only ones a method of that kind keeps.
    DETAILS = {
        Kind.PAYPAL: ("paypal_email",),
        Kind.BANK: ("account_holder", "iban", "bic"),
        Kind.CRYPTO: ("wallet_network", "wallet_address"),
    }

    class Meta:
        verbose_name = admin_text("payment method")
        verbose_name_plural = admin_text("payment methods")

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
        DRAFT = "draft", admin_text("Draft")
        EXPORTED = "exported", admin_text("Exported")
        PAID = "paid", admin_text("Paid")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="payout_runs",
        verbose_name=admin_text("organization"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, verbose_name=admin_text("status")
    )
    debtor_name = models.CharField(
        max_length=70,
        blank=True,
        verbose_name=admin_text("debtor name"),
        help_text=admin_text("The account the SEPA transfers are paid from: its holder."),
    )
    debtor_iban = models.CharField(max_length=34, blank=True, verbose_name=admin_text("debtor IBAN"))
    debtor_bic = models.CharField(max_length=11, blank=True, verbose_name=admin_text("debtor BIC"))
    reference = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=admin_text("reference"),
        help_text=admin_text("The payment batch's reference, copied onto each payout."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))
    exported_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("exported at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("paid at"))

    class Meta:
        verbose_name = admin_text("payout run")
        verbose_name_plural = admin_text("payout runs")
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
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="payouts",
        verbose_name=admin_text("organization"),
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.PROTECT,
        related_name="payouts",
        verbose_name=admin_text("partner"),
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=admin_text("amount"))
    currency = models.CharField(max_length=3, default="USD", verbose_name=admin_text("currency"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.REQUESTED, verbose_name=admin_text("status")
    )
    method = models.CharField(
        max_length=300,
        verbose_name=admin_text("method"),
        help_text=admin_text("The payment method when the payout was requested."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("requested by"),
    )
    requested_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("requested at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("paid at"))
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("paid by"),
    )
    reference = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=admin_text("reference"),
        help_text=admin_text("The transfer's reference."),
    )
    run = models.ForeignKey(
        PayoutRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payouts",
        verbose_name=admin_text("run"),
    )

    class Meta:
        verbose_name = admin_text("payout")
        verbose_name_plural = admin_text("payouts")
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

    payout = models.ForeignKey(
        Payout, on_delete=models.CASCADE, related_name="lines", verbose_name=admin_text("payout")
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="+", verbose_name=admin_text("lead")
    )
    amount = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=admin_text("amount"))

    class Meta:
        verbose_name = admin_text("payout lead")
        verbose_name_plural = admin_text("payout leads")
        ordering = ["lead_id"]
        constraints = [models.UniqueConstraint(fields=["lead"], name="payoutlead_lead_paid_once")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} in payout {self.payout_id}"


class OfferAccessRequest(models.Model):
    """A publisher asks to run a campaign; approving it creates the publisher's tracking link."""

    class Status(models.TextChoices):
        PENDING = "pending", admin_text("Pending")
        APPROVED = "approved", admin_text("Approved")
        REJECTED = "rejected", admin_text("Rejected")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="offer_access_requests",
        verbose_name=admin_text("organization"),
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="access_requests",
        verbose_name=admin_text("partner"),
    )
    offer = models.ForeignKey(
        "partners.Offer",
        on_delete=models.CASCADE,
        related_name="access_requests",
        verbose_name=admin_text("offer"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=admin_text("status")
    )
    message = models.CharField(
        max_length=500,
        blank=True,
        verbose_name=admin_text("message"),
        help_text=admin_text("What the publisher wrote."),
    )
    note = models.CharField(
        max_length=500,
        blank=True,
        verbose_name=admin_text("note"),
        help_text=admin_text("The manager's answer or why it waits."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("decided by"),
    )

    class Meta:
        verbose_name = admin_text("offer access request")
        verbose_name_plural = admin_text("offer access requests")
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
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="signups",
        verbose_name=admin_text("organization"),
    )
    partner = models.OneToOneField(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="signup",
        verbose_name=admin_text("partner"),
    )
    referrer = models.ForeignKey(
        "partners.Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=admin_text("referrer"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=admin_text("status")
    )
    website = models.CharField(max_length=300, blank=True, verbose_name=admin_text("website"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("decided by"),
    )

    class Meta:
        verbose_name = admin_text("publisher signup")
        verbose_name_plural = admin_text("publisher signups")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "status"], name="signup_referrer_status")]

    def __str__(self) -> str:
        return f"{self.partner} ({self.get_status_display()})"
