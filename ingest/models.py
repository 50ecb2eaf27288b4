"""The inbound log: every request that reached an ingestion endpoint, as received."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from config.i18n import admin_text


class InboundPostback(models.Model):
    """Every request that reached an ingestion endpoint, as received, with its outcome.

    Nothing that arrives is dropped silently: a rejected request stays here with the
    reason the partner was given, and can be replayed once the configuration is fixed.
    """

    class Endpoint(models.TextChoices):
        LEAD = "lead", admin_text("Lead creation")
        STATUS = "status", admin_text("Status change")
        CONVERSION = "conversion", admin_text("Conversion API")
        CLICK = "click", admin_text("Click API")
        IMPRESSION = "impression", admin_text("Impression API")

    class Outcome(models.TextChoices):
        CREATED = "created", admin_text("Created")
        UPDATED = "updated", admin_text("Updated")
        DUPLICATE = "duplicate", admin_text("Duplicate")
        UNCHANGED = "unchanged", admin_text("Unchanged")
        REJECTED = "rejected", admin_text("Rejected")
        FAILED = "failed", admin_text("Failed on our side")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("organization"),
        help_text=admin_text("Empty when the token matched no organization."),
    )
    app = models.ForeignKey(
        "partners.App",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("app"),
    )
    integration = models.ForeignKey(
        "partners.Integration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("integration"),
    )
    endpoint = models.CharField(max_length=12, choices=Endpoint.choices, verbose_name=admin_text("endpoint"))
    method = models.CharField(max_length=8, verbose_name=admin_text("method"))
    path = models.CharField(max_length=300, verbose_name=admin_text("path"))
    params = models.JSONField(
        default=dict,
        verbose_name=admin_text("params"),
        help_text=admin_text("Query and body parameters as received."),
    )
    body = models.TextField(
        blank=True, verbose_name=admin_text("body"), help_text=admin_text("The raw body (first 10 kB).")
    )
    source_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=admin_text("source ip"))
    user_agent = models.CharField(max_length=512, blank=True, verbose_name=admin_text("user agent"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("received at"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, verbose_name=admin_text("outcome"))
    http_status = models.PositiveSmallIntegerField(verbose_name=admin_text("http status"))
    reason = models.CharField(
        max_length=500,
        blank=True,
        verbose_name=admin_text("reason"),
        help_text=admin_text("What the partner was told."),
    )
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="postbacks",
        verbose_name=admin_text("lead"),
    )
    # No database constraint: the log is partitioned (a foreign key to it would need its
    # partition key) and its old partitions dropped by the retention.
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="replays",
        verbose_name=admin_text("replay of"),
    )
    replayed_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("replayed at"))
    spool_id = models.CharField(
        max_length=32,
        null=True,
        blank=True,
        editable=False,
        verbose_name=admin_text("spool id"),
        help_text=admin_text(
            "Set when the request was kept on disk first (the database was down): its spool key."
        ),
    )

    class Meta:
        db_table = "postbacks_inboundpostback"
        ordering = ["-received_at", "-id"]
        verbose_name = admin_text("inbound postback")
        verbose_name_plural = admin_text("inbound postbacks")
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
        AUTHENTICATION = "auth", admin_text("Refused by authentication")
        RATE_LIMIT = "rate_limit", admin_text("Over the rate limit")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("organization"),
        help_text=admin_text("Empty when the token matched no organization."),
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=admin_text("kind"))
    source_ip = models.CharField(
        max_length=45,
        blank=True,
        verbose_name=admin_text("source ip"),
        help_text=admin_text("The sender's address."),
    )
    window_start = models.DateTimeField(verbose_name=admin_text("window start"))
    count = models.PositiveIntegerField(
        default=0,
        verbose_name=admin_text("count"),
        help_text=admin_text("Requests of this window that have no inbound log row of their own."),
    )
    first_seen = models.DateTimeField(default=timezone.now, verbose_name=admin_text("first seen"))
    last_seen = models.DateTimeField(default=timezone.now, verbose_name=admin_text("last seen"))
    http_status = models.PositiveSmallIntegerField(
        verbose_name=admin_text("http status"), help_text=admin_text("What they were answered.")
    )
    reason = models.CharField(
        max_length=500,
        blank=True,
        verbose_name=admin_text("reason"),
        help_text=admin_text("What the sample was told."),
    )
    endpoint = models.CharField(
        max_length=12, choices=InboundPostback.Endpoint.choices, verbose_name=admin_text("endpoint")
    )
    method = models.CharField(max_length=8, verbose_name=admin_text("method"))
    path = models.CharField(max_length=300, verbose_name=admin_text("path"))
    params = models.JSONField(
        default=dict,
        verbose_name=admin_text("params"),
        help_text=admin_text("The sample's parameters, secrets masked."),
    )
    user_agent = models.CharField(max_length=512, blank=True, verbose_name=admin_text("user agent"))

    class Meta:
        ordering = ["-window_start", "-id"]
        verbose_name = admin_text("refused request tally")
        verbose_name_plural = admin_text("refused request tallies")
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

    owner = models.CharField(
        max_length=40,
        verbose_name=admin_text("owner"),
        help_text=admin_text("Whose secret signed it: app:<id> or integration:<id>."),
    )
    sig = models.CharField(max_length=64, verbose_name=admin_text("sig"))
    signed_at = models.DateTimeField(
        verbose_name=admin_text("signed at"), help_text=admin_text("The request's ts.")
    )

    class Meta:
        verbose_name = admin_text("signature use")
        verbose_name_plural = admin_text("signature uses")
        constraints = [models.UniqueConstraint(fields=["owner", "sig"], name="signature_use_unique")]
        indexes = [models.Index(fields=["signed_at"], name="signature_use_signed_at")]

    def __str__(self) -> str:
        return f"{self.owner} {self.sig[:8]}…"
