"""Outbound postback templates, the inbound log, deliveries (the outbox) and destinations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from postbacks import crypto
from postbacks.clevertap import DEFAULT_REGION, REGION_CHOICES
from postbacks.outbound import mask_url
from postbacks.urlsafety import validate_outbound


class PostbackTemplate(models.Model):
    """A partner's postback URL for one integration, optionally for one goal.

    The template without a goal is the integration's install postback: it fires for
    every conversion whose goal has no template of its own.
    """

    class Event(models.TextChoices):
        CONVERSION = "conversion", "Conversion"
        STATUS = "status", "Status change"

    integration = models.ForeignKey(
        "partners.Integration", on_delete=models.CASCADE, related_name="postback_templates"
    )
    goal = models.ForeignKey(
        "partners.Goal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="postback_templates",
    )
    event = models.CharField(max_length=20, choices=Event.choices, default=Event.CONVERSION)
    url = models.CharField(max_length=2000, validators=[validate_outbound])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "goal", "event"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "goal", "event"],
                name="postbacktemplate_unique_goal",
                condition=models.Q(goal__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["integration", "event"],
                name="postbacktemplate_unique_install",
                condition=models.Q(goal__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        goal = self.goal.code if self.goal_id else "install"
        return f"{self.integration} · {goal} · {self.get_event_display()}"


class InboundPostback(models.Model):
    """Every request that reached an ingestion endpoint, as received, with its outcome.

    Nothing that arrives is dropped silently: a rejected request stays here with the
    reason the partner was given, and can be replayed once the configuration is fixed.
    """

    class Endpoint(models.TextChoices):
        LEAD = "lead", "Lead creation"
        STATUS = "status", "Status change"
        CONVERSION = "conversion", "Conversion API"
        CLICK = "click", "Click API"
        IMPRESSION = "impression", "Impression API"

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DUPLICATE = "duplicate", "Duplicate"
        UNCHANGED = "unchanged", "Unchanged"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the token matched no organization.",
    )
    app = models.ForeignKey(
        "partners.App", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    integration = models.ForeignKey(
        "partners.Integration", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    endpoint = models.CharField(max_length=12, choices=Endpoint.choices)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    params = models.JSONField(default=dict, help_text="Query and body parameters as received.")
    body = models.TextField(blank=True, help_text="The raw body (first 10 kB).")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=500, blank=True, help_text="What the partner was told.")
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="postbacks"
    )
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays"
    )
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound postback"
        indexes = [
            models.Index(fields=["organization", "received_at"], name="inbound_org_time"),
            models.Index(fields=["organization", "outcome"], name="inbound_org_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_endpoint_display()} {self.get_outcome_display()} #{self.pk}"


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

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (not sendable)"

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
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display().lower()})"

    @property
    def url_masked(self) -> str:
        """The URL with every secret replaced by `***`: what people see."""
        return mask_url(self.url) if self.url else ""


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery, as an admin sees it: what was called, what came back."""

    class Outcome(models.TextChoices):
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

    The passcode is kept encrypted (`passcode_encrypted`, see postbacks.crypto) and never
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
    is_active = models.BooleanField(default=True)
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
