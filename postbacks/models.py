"""What goes out: deliveries (the outbox), their attempts, and analytics destinations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from config import crypto
from config.i18n import admin_text
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
        PARTNER = "partner", admin_text("Partner postback")
        PUBLISHER = "publisher", admin_text("Publisher postback")
        STATUS_SYNC = "status_sync", admin_text("Status sync")
        CLEVERTAP = "clevertap", admin_text("CleverTap")
        TEST = "test", admin_text("Test")

    class State(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        SENDING = "sending", gettext_lazy("Sending")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Skipped (not sendable)")
        PAUSED = "paused", gettext_lazy("Paused (destination paused)")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=admin_text("kind"))
    event = models.CharField(
        max_length=100,
        verbose_name=admin_text("event"),
        help_text=admin_text("What fired it: conversion, status, test, or the CleverTap event type."),
    )
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("lead"),
    )
    lead_event = models.ForeignKey(
        "leads.LeadEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("lead event"),
        help_text=admin_text("The change of the lead that caused this delivery."),
    )
    integration = models.ForeignKey(
        "partners.Integration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("integration"),
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("partner"),
    )
    app = models.ForeignKey(
        "partners.App",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("app"),
    )
    template = models.ForeignKey(
        PostbackTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("template"),
    )
    destination = models.ForeignKey(
        "postbacks.CleverTapDestination",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=admin_text("destination"),
    )
    url = models.TextField(
        blank=True, verbose_name=admin_text("url"), help_text=admin_text("The rendered URL, as it is sent.")
    )
    message_id = models.CharField(
        max_length=64,
        blank=True,
        default=new_message_id,
        verbose_name=admin_text("message id"),
        help_text=admin_text(
            "The idempotency key: every call of this delivery carries it "
            "(Idempotency-Key and webhook-id headers), so a receiver can drop a repeat."
        ),
    )
    destination_key = models.CharField(
        max_length=40,
        blank=True,
        verbose_name=admin_text("destination key"),
        help_text=admin_text(
            "Which destination it goes to (template:12, publisher:5, status_sync:7, clevertap:3): "
            "its failures in a row pause that destination."
        ),
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, verbose_name=admin_text("state")
    )
    attempt_count = models.PositiveSmallIntegerField(default=0, verbose_name=admin_text("attempt count"))
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        verbose_name=admin_text("next attempt at"),
        help_text=admin_text("When the next attempt is due."),
    )
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("claimed until"))
    claimed_by = models.CharField(max_length=100, blank=True, verbose_name=admin_text("claimed by"))
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=admin_text("last status code")
    )
    last_error = models.TextField(
        blank=True,
        verbose_name=admin_text("last error"),
        help_text=admin_text("The last attempt's error, or why it was skipped."),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = admin_text("delivery")
        verbose_name_plural = admin_text("deliveries")
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
        SENDING = "sending", admin_text("Sending")
        IN_DOUBT = "in_doubt", admin_text("In doubt (the worker stopped mid-call)")
        DONE = "done", admin_text("Done")
        RETRY = "retry", admin_text("Will retry")
        FAILED = "failed", admin_text("Failed")

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", verbose_name=admin_text("delivery")
    )
    number = models.PositiveSmallIntegerField(verbose_name=admin_text("number"))
    url_masked = models.TextField(
        verbose_name=admin_text("url masked"), help_text=admin_text("The URL called, secrets masked.")
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=admin_text("status code")
    )
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=admin_text("duration ms"))
    response_start = models.TextField(
        blank=True,
        verbose_name=admin_text("response start"),
        help_text=admin_text("The first kilobyte of the answer."),
    )
    error = models.TextField(blank=True, verbose_name=admin_text("error"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, verbose_name=admin_text("outcome"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("started at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("actor"),
        help_text=admin_text("Who asked for it (a manual re-send); empty for the workers' attempts."),
    )

    class Meta:
        verbose_name = admin_text("delivery attempt")
        verbose_name_plural = admin_text("delivery attempts")
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

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    app = models.OneToOneField(
        "partners.App", on_delete=models.CASCADE, related_name="clevertap", verbose_name=admin_text("app")
    )
    account_id = models.CharField(admin_text("project ID"), max_length=100)
    account_token = models.CharField(admin_text("project token"), max_length=100)
    passcode_encrypted = models.TextField(editable=False, verbose_name=admin_text("passcode encrypted"))
    region = models.CharField(
        max_length=4, choices=REGION_CHOICES, default=DEFAULT_REGION, verbose_name=admin_text("region")
    )
    partner_name = models.CharField(
        max_length=100,
        verbose_name=admin_text("partner name"),
        help_text=admin_text("Our partner name exactly as CleverTap whitelisted it."),
    )
    send_inorganic_installs = models.BooleanField(
        default=True, verbose_name=admin_text("send inorganic installs")
    )
    send_organic_installs = models.BooleanField(
        default=False,
        verbose_name=admin_text("send organic installs"),
        help_text=admin_text("Leads that arrive with organic=1; enable them in CleverTap first."),
    )
    send_custom_events = models.BooleanField(
        default=False,
        verbose_name=admin_text("send custom events"),
        help_text=admin_text("Leads of other goals, sent as an event named after the goal's code."),
    )
    utm_source_template = models.CharField(
        admin_text("utm_source"),
        max_length=500,
        default="{partner_name}",
        blank=True,
        help_text=admin_text("Macros allowed."),
    )
    utm_medium_template = models.CharField(
        admin_text("utm_medium"),
        max_length=500,
        default="{channel}",
        blank=True,
        help_text=admin_text("Macros allowed."),
    )
    utm_campaign_template = models.CharField(
        admin_text("utm_campaign"),
        max_length=500,
        default="{campaign_name}",
        blank=True,
        help_text=admin_text("Macros allowed."),
    )
    is_active = models.BooleanField(default=True, verbose_name=admin_text("is active"))
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("paused at"),
        help_text=admin_text("Set when this destination failed too often in a row."),
    )
    pause_reason = models.TextField(blank=True, verbose_name=admin_text("pause reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))

    class Meta:
        ordering = ["app__name"]
        verbose_name = admin_text("CleverTap destination")
        verbose_name_plural = admin_text("CleverTap destinations")

    def __str__(self) -> str:
        return f"CleverTap for {self.app}"

    @property
    def passcode(self) -> str:
        """The plain passcode, for sending only."""
        return crypto.decrypt(self.passcode_encrypted)

    @passcode.setter
    def passcode(self, value: str) -> None:
        self.passcode_encrypted = crypto.encrypt(value)
