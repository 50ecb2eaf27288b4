"""The inbound log: every request that reached an ingestion endpoint, as received."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
        FAILED = "failed", "Failed on our side"

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
    # No database constraint: the log is partitioned (a foreign key to it would need its
    # partition key) and its old partitions dropped by the retention.
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, db_constraint=False, null=True, blank=True, related_name="replays"
    )
    replayed_at = models.DateTimeField(null=True, blank=True)
    spool_id = models.CharField(
        max_length=32,
        null=True,
        blank=True,
        editable=False,
        help_text="Set when the request was kept on disk first (the database was down): its spool key.",
    )

    class Meta:
        db_table = "postbacks_inboundpostback"
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound postback"
        constraints = [
            # Partial: the rows that came through the spool only, so a normal request's INSERT
            # (the hot path) updates no extra index. With received_at, as the partitioning wants:
            # the spool load takes it from the spooled file, so a second load conflicts all the same.
            models.UniqueConstraint(
                fields=["spool_id", "received_at"],
                condition=models.Q(spool_id__isnull=False),
                name="inbound_unique_spool_id",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "received_at"], name="inbound_org_time"),
            models.Index(fields=["organization", "outcome"], name="inbound_org_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_endpoint_display()} {self.get_outcome_display()} #{self.pk}"


class RefusalTally(models.Model):
    """Refused requests from one source in one window, counted here instead of one log row each.

    Past `INGEST_REFUSALS_LOGGED_PER_SOURCE` authentication refusals (a wrong or missing token)
    from one address in a window, and for every request over a rate limit, the inbound log
    keeps no row per request: this row counts them and keeps the first one as a sample (its
    token masked), so a flood neither fills the log nor goes unseen.
    """

    class Kind(models.TextChoices):
        AUTHENTICATION = "auth", "Refused by authentication"
        RATE_LIMIT = "rate_limit", "Over the rate limit"

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the token matched no organization.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_ip = models.CharField(max_length=45, blank=True, help_text="The sender's address.")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(
        default=0, help_text="Requests of this window that have no inbound log row of their own."
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    http_status = models.PositiveSmallIntegerField(help_text="What they were answered.")
    reason = models.CharField(max_length=500, blank=True, help_text="What the sample was told.")
    endpoint = models.CharField(max_length=12, choices=InboundPostback.Endpoint.choices)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    params = models.JSONField(default=dict, help_text="The sample's parameters, secrets masked.")
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-window_start", "-id"]
        verbose_name = "refused request tally"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "source_ip", "window_start"],
                name="tally_unique_source_window",
            ),
            # NULL organizations are distinct to a plain unique constraint: one of their own.
            models.UniqueConstraint(
                fields=["kind", "source_ip", "window_start"],
                condition=models.Q(organization__isnull=True),
                name="tally_unique_source_window_unowned",
            ),
        ]
        indexes = [models.Index(fields=["organization", "window_start"], name="tally_org_window")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.count} from {self.source_ip or 'unknown'}"


class SignatureUse(models.Model):
    """A signature (`sig`) an app or an integration has already been sent: it is taken once.

    The first request with a signature inserts its row (`INSERT … ON CONFLICT DO NOTHING`, the
    unique constraint decides between racing requests); a second one finds it and is refused as
    replayed. A signature is only good for `SIGNED_REQUEST_TOLERANCE_SECONDS` around its `ts`, so
    rows older than that are pruned (`ingest.signature_prune`, beat).
    """

    owner = models.CharField(max_length=40, help_text="Whose secret signed it: app:<id> or integration:<id>.")
    sig = models.CharField(max_length=64)
    signed_at = models.DateTimeField(help_text="The request's ts.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "sig"], name="signature_use_unique")]
        indexes = [models.Index(fields=["signed_at"], name="signature_use_signed_at")]

    def __str__(self) -> str:
        return f"{self.owner} {self.sig[:8]}…"
