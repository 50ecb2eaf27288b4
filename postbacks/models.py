"""What goes out: deliveries (the outbox), their attempts, and analytics destinations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from config import crypto
from partners.models import PostbackTemplate
from postbacks.clevertap import DEFAULT_REGION, REGION_CHOICES
from postbacks.outbound import mask_url


def new_message_id() -> str:
    """A delivery's idempotency key, in the Standard Webhooks `webhook-id` style."""
    return f"msg_{uuid.uuid4().hex}"


class Delivery(models.Model):
    """One outbound call (the outbox): written with the lead change that causes it, sent by workers.

    The row is the truth: `state` and `next_attempt_at` say what is left to do, a worker holds
    the row while it sends (`claimed_until` / `claimed_by`, a lease that expires if the worker
    dies) and every attempt is kept as a `DeliveryAttempt`. `url` is kept whole, to be sent; it
    is shown masked (`url_masked`) wherever a person sees it. A CleverTap URL carries its
    passcode as `***`: the passcode stays encrypted on the destination and is put in at send time.
    """

    class Kind(models.TextChoices):
        PARTNER = "partner", "Partner postback"
        PUBLISHER = "publisher", "Publisher postback"
        STATUS_SYNC = "status_sync", "Status sync"
        CLEVERTAP = "clevertap", "CleverTap"
        TEST = "test", "Test"

    class State(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        SENDING = "sending", gettext_lazy("Sending")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Skipped (not sendable)")
        PAUSED = "paused", gettext_lazy("Paused (destination paused)")

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    event = models.CharField(
        max_length=100, help_text="What fired it: conversion, status, test, or the CleverTap event type."
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    lead_event = models.ForeignKey(
        "leads.LeadEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        help_text="The change of the lead that caused this delivery.",
    )
    integration = models.ForeignKey(
        "partners.Integration", on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    app = models.ForeignKey(
        "partners.App", on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    template = models.ForeignKey(
        PostbackTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    destination = models.ForeignKey(
        "postbacks.CleverTapDestination",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    url = models.TextField(blank=True, help_text="The rendered URL, as it is sent.")
    message_id = models.CharField(
        max_length=64,
        blank=True,
        default=new_message_id,
        help_text="The idempotency key: every call of this delivery carries it "
        "(Idempotency-Key and webhook-id headers), so a receiver can drop a repeat.",
    )
    destination_key = models.CharField(
        max_length=40,
        blank=True,
        help_text="Which destination it goes to (template:12, publisher:5, status_sync:7, clevertap:3): "
        "its failures in a row pause that destination.",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, help_text="When the next attempt is due."
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="The last attempt's error, or why it was skipped.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The sweep's question: what is due, or held by a lease that may have expired.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "sending"]),
                name="delivery_due",
            ),
            models.Index(fields=["organization", "created_at"], name="delivery_org_time"),
            models.Index(fields=["organization", "state", "kind"], name="delivery_org_state"),
            models.Index(fields=["partner", "created_at"], name="delivery_partner_time"),
            # A destination's latest final outcomes: do its failures in a row pause it?
            models.Index(
                fields=["destination_key", "-updated_at"],
                condition=models.Q(state__in=["done", "failed"]),
                name="delivery_destination_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display().lower()})"

    @property
    def url_masked(self) -> str:
        """The URL with every secret replaced by `***`: what people see."""
        return mask_url(self.url) if self.url else ""

    @property
    def idempotency_key(self) -> str:
        """The key every call of this delivery carries (rows older than the field use their id)."""
        return self.message_id or f"msg_pd{self.pk}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery, as an admin sees it: what was called, what came back."""

    class Outcome(models.TextChoices):
        SENDING = "sending", "Sending"
        IN_DOUBT = "in_doubt", "In doubt (the worker stopped mid-call)"
        DONE = "done", "Done"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    url_masked = models.TextField(help_text="The URL called, secrets masked.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_start = models.TextField(blank=True, help_text="The first kilobyte of the answer.")
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    started_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who asked for it (a manual re-send); empty for the workers' attempts.",
    )

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            # Two workers can never both record attempt n of one delivery.
            models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_unique_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class CleverTapDestination(models.Model):
    """An app's CleverTap project, which receives the app's attribution events (SPEC 5.4).

    The passcode is kept encrypted (`passcode_encrypted`, see config.crypto) and never
    shown back. Inorganic installs are sent by default; organic installs and custom events
    are sent only when switched on (as they must be in CleverTap's dashboard, too).
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    app = models.OneToOneField("partners.App", on_delete=models.CASCADE, related_name="clevertap")
    account_id = models.CharField("project ID", max_length=100)
    account_token = models.CharField("project token", max_length=100)
    passcode_encrypted = models.TextField(editable=False)
    region = models.CharField(max_length=4, choices=REGION_CHOICES, default=DEFAULT_REGION)
    partner_name = models.CharField(
        max_length=100, help_text="Our partner name exactly as CleverTap whitelisted it."
    )
    send_inorganic_installs = models.BooleanField(default=True)
    send_organic_installs = models.BooleanField(
        default=False, help_text="Leads that arrive with organic=1; enable them in CleverTap first."
    )
    send_custom_events = models.BooleanField(
        default=False, help_text="Leads of other goals, sent as an event named after the goal's code."
    )
    utm_source_template = models.CharField(
        "utm_source", max_length=500, default="{partner_name}", blank=True, help_text="Macros allowed."
    )
    utm_medium_template = models.CharField(
        "utm_medium", max_length=500, default="{channel}", blank=True, help_text="Macros allowed."
    )
    utm_campaign_template = models.CharField(
        "utm_campaign", max_length=500, default="{campaign_name}", blank=True, help_text="Macros allowed."
    )
    is_active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when this destination failed too often in a row."
    )
    pause_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app__name"]
        verbose_name = "CleverTap destination"

    def __str__(self) -> str:
        return f"CleverTap for {self.app}"

    @property
    def passcode(self) -> str:
        """The plain passcode, for sending only."""
        return crypto.decrypt(self.passcode_encrypted)

    @passcode.setter
    def passcode(self, value: str) -> None:
        self.passcode_encrypted = crypto.encrypt(value)
