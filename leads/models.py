"""Traffic and leads: clicks, impressions, leads and the history of every lead."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from config.i18n import admin_text


def new_click_id() -> str:
    """An opaque, unguessable, URL-safe click id (128 bits)."""
    return secrets.token_urlsafe(16)


class Verdict(models.TextChoices):
    """The screening verdict of a click or a lead."""

    OK = "ok", admin_text("Passed")
    FLAGGED = "flagged", admin_text("Flagged")
    REJECTED = "rejected", admin_text("Rejected")
    CAP_REACHED = "cap_reached", admin_text("Cap reached")
    # A tracking URL opened with its {placeholders} unfilled: someone trying the link, not traffic.
    TEST = "test", admin_text("Test (unfilled placeholders)")


# Verdicts under which a lead pays nothing and is not posted back as a conversion: its payout is
# withheld (leads.services) and restored when a manager overrides the verdict.
WITHHOLDING_VERDICTS = frozenset({Verdict.REJECTED, Verdict.CAP_REACHED})


class ScreenedFields(models.Model):
    """A screening verdict with the rule that gave it and the values that triggered it."""

    verdict = models.CharField(
        max_length=12, choices=Verdict.choices, default=Verdict.OK, verbose_name=admin_text("verdict")
    )
    verdict_reason = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=admin_text("verdict reason"),
        help_text=admin_text("The reason code of the rule that screened it."),
    )
    verdict_rule = models.ForeignKey(
        "partners.ScreeningRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("verdict rule"),
    )
    verdict_details = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=admin_text("verdict details"),
        help_text=admin_text("The values that triggered the rule (threshold, count, …)."),
    )

    class Meta:
        abstract = True


class DeviceFields(models.Model):
    """What a click and an impression both carry about the user and the source."""

    sub1 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub1"))
    sub2 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub2"))
    sub3 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub3"))
    sub4 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub4"))
    sub5 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub5"))
    idfa = models.CharField(max_length=64, blank=True, verbose_name=admin_text("idfa"))
    gaid = models.CharField(max_length=64, blank=True, verbose_name=admin_text("gaid"))
    android_id = models.CharField(max_length=64, blank=True, verbose_name=admin_text("android id"))
    device_id = models.CharField(max_length=128, blank=True, verbose_name=admin_text("device id"))
    ip = models.CharField(
        max_length=64,
        blank=True,
        verbose_name=admin_text("ip"),
        help_text=admin_text(
            "The user's IP; only its /24 (IPv6 /48) network when the integration's IP privacy "
            "is “store only the truncated IP” (see leads.privacy)."
        ),
    )
    user_agent = models.CharField(max_length=512, blank=True, verbose_name=admin_text("user agent"))
    device_type = models.CharField(max_length=20, blank=True, verbose_name=admin_text("device type"))
    os = models.CharField(max_length=50, blank=True, verbose_name=admin_text("os"))
    browser = models.CharField(max_length=50, blank=True, verbose_name=admin_text("browser"))
    country = models.CharField(max_length=2, blank=True, verbose_name=admin_text("country"))
    asn = models.PositiveIntegerField(
        null=True,
        blank=True,
        verbose_name=admin_text("ASN"),
        help_text=admin_text("The network's AS number (leads.geoip)."),
    )
    as_org = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("AS organization"),
        help_text=admin_text("Who runs it (leads.geoip)."),
    )
    language = models.CharField(max_length=35, blank=True, verbose_name=admin_text("language"))
    referer = models.CharField(max_length=2000, blank=True, verbose_name=admin_text("referer"))

    class Meta:
        abstract = True


class Click(ScreenedFields, DeviceFields):
    """One click on a tracking link (or reported server to server)."""

    # Unique with created_at, as PostgreSQL wants of a table partitioned by it (config.partitions);
    # 128 random bits keep it unique alone. The index also serves look-ups by click_id.
    click_id = models.CharField(max_length=32, default=new_click_id, verbose_name=admin_text("click id"))
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    integration = models.ForeignKey(
        "partners.Integration",
        on_delete=models.PROTECT,
        related_name="clicks",
        verbose_name=admin_text("integration"),
    )
    link = models.ForeignKey(
        "partners.TrackingLink",
        on_delete=models.PROTECT,
        related_name="clicks",
        verbose_name=admin_text("link"),
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        "partners.Offer", on_delete=models.PROTECT, related_name="+", verbose_name=admin_text("offer")
    )
    landing = models.ForeignKey(
        "partners.Landing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("landing"),
    )
    partner_click_id = models.CharField(
        max_length=255, blank=True, verbose_name=admin_text("partner click id")
    )
    ref_id = models.CharField(max_length=255, blank=True, verbose_name=admin_text("ref id"))
    creative_id = models.CharField(max_length=100, blank=True, verbose_name=admin_text("creative id"))
    redirect_reason = models.CharField(
        max_length=30,
        blank=True,
        verbose_name=admin_text("redirect reason"),
        help_text=admin_text(
            "Why the click was sent to its offer's fallback instead of its landing "
            "(outside the targeting: country, device_type, os; cap: the offer's cap is full). "
            "Empty when it went where its link sends."
        ),
    )
    smart_link = models.ForeignKey(
        "partners.SmartLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clicks",
        verbose_name=admin_text("smart link"),
    )
    params = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=admin_text("params"),
        help_text=admin_text("Other parameters the tracking URL carried."),
    )
    redacted_unique = models.BooleanField(
        null=True,
        blank=True,
        editable=False,
        verbose_name=admin_text("redacted unique"),
        help_text=admin_text(
            "Set when a privacy operation or the retention removed the click's IP: whether it "
            "counts as a unique click, so the rollups (and a rebuild) count it as they did."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("click")
        verbose_name_plural = admin_text("clicks")
        constraints = [
            models.UniqueConstraint(fields=["click_id", "created_at"], name="click_unique_id_time"),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="click_org_time"),
            models.Index(fields=["link", "created_at"], name="click_link_time"),
            # The screening report reads only screened clicks: a small partial index.
            models.Index(
                fields=["organization", "created_at"],
                condition=~models.Q(verdict="ok"),
                name="click_screened_time",
            ),
        ]

    def __str__(self) -> str:
        return self.click_id


class Impression(DeviceFields):
    """One impression of a tracking link's ad."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    integration = models.ForeignKey(
        "partners.Integration",
        on_delete=models.PROTECT,
        related_name="impressions",
        verbose_name=admin_text("integration"),
    )
    link = models.ForeignKey(
        "partners.TrackingLink",
        on_delete=models.PROTECT,
        related_name="impressions",
        verbose_name=admin_text("link"),
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        "partners.Offer", on_delete=models.PROTECT, related_name="+", verbose_name=admin_text("offer")
    )
    partner_click_id = models.CharField(
        max_length=255, blank=True, verbose_name=admin_text("partner click id")
    )
    params = models.JSONField(default=dict, blank=True, verbose_name=admin_text("params"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("impression")
        verbose_name_plural = admin_text("impressions")
        indexes = [
            models.Index(fields=["organization", "created_at"], name="impression_org_time"),
            models.Index(fields=["link", "created_at"], name="impression_link_time"),
        ]

    def __str__(self) -> str:
        return f"impression {self.pk}"


# What a lead copies of its click when it is created (`Lead.click_facts`): everything the
# rollups, macros, deliveries, exports and pages read of it, so that none of them needs the
# click's row, which the retention drops with its partition (leads.partitions).
CLICK_FACTS = (
    "click_id",
    "partner_click_id",
    "ref_id",
    "creative_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "idfa",
    "gaid",
    "android_id",
    "device_id",
    "ip",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "country",
    "language",
    "asn",
    "as_org",
    "landing_id",
    "smart_link_id",
    "redirect_reason",
    "created_at",
)


def click_facts(click: Click | None) -> dict[str, Any]:
    """The facts a lead keeps of its click (JSON: the click time as ISO 8601).

    Empty values (None) are left out: a missing key reads as NULL alike on PostgreSQL and on
    SQLite, where a JSON null would read as the text 'null'.
    """
    if click is None:
        return {}
    facts = {name: getattr(click, name) for name in CLICK_FACTS}
    facts["created_at"] = click.created_at.isoformat()
    return {name: value for name, value in facts.items() if value is not None}


class LeadStatus(models.TextChoices):
    NEW = "new", gettext_lazy("New")
    PROCESSING = "processing", gettext_lazy("Processing")
    HOLD = "hold", gettext_lazy("Hold")
    APPROVED = "approved", gettext_lazy("Approved")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    TRASH = "trash", gettext_lazy("Trash")


class Lead(ScreenedFields):
    """A conversion, found by its key: (click, exto), (flow, exto), or the click alone.

    A rejected lead does not pay: its payout is held at 0 (the amount it would have paid is
    kept in `verdict_details["withheld_payout"]` and restored if a manager overrides the
    verdict), and it is not posted back as a conversion.
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    app = models.ForeignKey(
        "partners.App", on_delete=models.PROTECT, related_name="leads", verbose_name=admin_text("app")
    )
    integration = models.ForeignKey(
        "partners.Integration",
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name=admin_text("integration"),
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="leads", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        "partners.Offer", on_delete=models.PROTECT, related_name="leads", verbose_name=admin_text("offer")
    )
    link = models.ForeignKey(
        "partners.TrackingLink",
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name=admin_text("link"),
    )
    # No database constraint: clicks are partitioned and their old partitions dropped (retention),
    # so a lead outlives its click's row and reads what it needs of it from `click_facts`.
    click = models.ForeignKey(
        Click,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=admin_text("click"),
    )
    click_facts = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        verbose_name=admin_text("click facts"),
        help_text=admin_text(
            "What the lead's click said (device, sub ids, place, network), copied when the lead "
            "was created: the click's row is dropped with its partition after RAW_RETENTION_DAYS."
        ),
    )
    goal = models.ForeignKey(
        "partners.Goal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=admin_text("goal"),
    )
    exto = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("exto"),
        help_text=admin_text("The advertiser's unique id of the lead."),
    )
    status = models.CharField(
        max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW, verbose_name=admin_text("status")
    )
    payout = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("payout"),
        help_text=admin_text("The publisher's payout."),
    )
    revenue = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("revenue"),
        help_text=admin_text("The advertiser's revenue."),
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        verbose_name=admin_text("currency"),
        help_text=admin_text("The currency of payout and revenue."),
    )
    # Frozen at conversion time (leads.services): the rate into the organization's base currency
    # on the conversion's day and the base amounts; later money changes recompute them at this rate.
    base_currency = models.CharField(
        max_length=3,
        blank=True,
        verbose_name=admin_text("base currency"),
        help_text=admin_text("The organization's base currency."),
    )
    fx_rate = models.DecimalField(
        max_digits=24,
        decimal_places=10,
        null=True,
        blank=True,
        verbose_name=admin_text("exchange rate"),
        help_text=admin_text("One unit of the lead's currency in the base currency (ECB reference rates)."),
    )
    fx_date = models.DateField(
        null=True,
        blank=True,
        verbose_name=admin_text("rate date"),
        help_text=admin_text("The ECB publication the rate is from."),
    )
    payout_base = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("payout base"),
        help_text=admin_text("The payout in the base currency."),
    )
    revenue_base = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("revenue base"),
        help_text=admin_text("The revenue in the base currency."),
    )
    payout_set_by_postback = models.BooleanField(
        default=False,
        verbose_name=admin_text("payout set by postback"),
        help_text=admin_text(
            "The publisher's payout came from the postback's wm parameter, not from the goal."
        ),
    )
    revenue_set_by_postback = models.BooleanField(
        default=False,
        verbose_name=admin_text("revenue set by postback"),
        help_text=admin_text("The revenue came from the postback's pay parameter, not from the goal."),
    )
    source = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("source"),
        help_text=admin_text("The partner's source (sub1) the lead came from."),
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        verbose_name=admin_text("country"),
        help_text=admin_text("The conversion's country (its IP's, else its click's)."),
    )
    asn = models.PositiveIntegerField(null=True, blank=True, verbose_name=admin_text("ASN"))
    as_org = models.CharField(max_length=255, blank=True, verbose_name=admin_text("AS organization"))
    third_party_status = models.CharField(
        max_length=100, blank=True, verbose_name=admin_text("third party status")
    )
    third_party_rejected_reason = models.CharField(
        max_length=255, blank=True, verbose_name=admin_text("third party rejected reason")
    )
    params = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=admin_text("params"),
        help_text=admin_text("Other parameters of the creating request."),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=admin_text("status changed at")
    )

    class Meta:
        verbose_name = admin_text("lead")
        verbose_name_plural = admin_text("leads")
        constraints = [
            # With a click the key is (click, exto); exto '' makes the click alone the key.
            models.UniqueConstraint(
                fields=["click", "exto"],
                condition=models.Q(click__isnull=False),
                name="lead_unique_click_exto",
            ),
            # Without a click, (flow, exto) is the key when exto is given.
            models.UniqueConstraint(
                fields=["link", "exto"],
                condition=models.Q(click__isnull=True) & ~models.Q(exto=""),
                name="lead_unique_flow_exto",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="lead_org_time"),
            models.Index(fields=["organization", "status"], name="lead_org_status"),
            models.Index(fields=["link", "exto"], name="lead_link_exto"),
            # A balance in a payout currency sums a partner's approved leads per approval day.
            models.Index(
                fields=["partner", "status_changed_at"],
                condition=models.Q(status="approved"),
                name="lead_partner_approved",
            ),
            models.Index(
                fields=["organization", "created_at"],
                condition=~models.Q(verdict="ok"),
                name="lead_screened_time",
            ),
        ]

    def __str__(self) -> str:
        return f"lead {self.pk}"

    @property
    def click_seen(self) -> Click | None:
        """The lead's click as its copied facts tell it (an unsaved Click), else its row; None
        without a click. What readers use instead of `click`, whose row may be gone."""
        if self.click_facts:
            facts = {name: value for name, value in self.click_facts.items() if name in CLICK_FACTS}
            created = facts.pop("created_at", None)
            when = datetime.fromisoformat(created) if created else None
            return Click(id=self.click_id, created_at=when, **facts)
        if self.click_id is None:
            return None
        try:
            return self.click
        except Click.DoesNotExist:
            return None


class LeadEvent(models.Model):
    """One change of a lead's status, goal or money: who or what, from, to, when.

    Events are also the feed of the report rollups: `leads.rollups` adds each event's move
    (from its `from_*` to its `to_*` status and money) to the lead's rollup rows and stamps
    `folded_at` in the same transaction, so every event counts exactly once, whatever order
    the transactions that wrote them committed in. The request that changes a lead only
    inserts the event (`folded_at` NULL); it never writes a rollup row.
    """

    class Kind(models.TextChoices):
        CREATED = "created", admin_text("Created")
        STATUS = "status", admin_text("Status changed")
        GOAL = "goal", admin_text("Goal changed")
        MONEY = "money", admin_text("Money changed")
        VERDICT = "verdict", admin_text("Verdict changed")

    class Source(models.TextChoices):
        POSTBACK = "postback", admin_text("Postback")
        ADMIN = "admin", admin_text("Admin")
        API = "api", admin_text("API")
        SYSTEM = "system", admin_text("System")

    lead = models.ForeignKey(
        Lead, on_delete=models.PROTECT, related_name="events", verbose_name=admin_text("lead")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=admin_text("kind"))
    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=admin_text("source"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("actor"),
    )
    # No database constraint: the inbound log is partitioned and its old partitions dropped.
    inbound = models.ForeignKey(
        "ingest.InboundPostback",
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="lead_events",
        verbose_name=admin_text("inbound"),
    )
    from_status = models.CharField(max_length=12, blank=True, verbose_name=admin_text("from status"))
    to_status = models.CharField(max_length=12, blank=True, verbose_name=admin_text("to status"))
    from_goal = models.CharField(max_length=50, blank=True, verbose_name=admin_text("from goal"))
    to_goal = models.CharField(max_length=50, blank=True, verbose_name=admin_text("to goal"))
    from_payout = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("from payout")
    )
    to_payout = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("to payout")
    )
    from_revenue = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("from revenue")
    )
    to_revenue = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("to revenue")
    )
    # The same moves in the organization's base currency: what the rollups add up.
    from_payout_base = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("from payout base")
    )
    to_payout_base = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("to payout base")
    )
    from_revenue_base = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("from revenue base")
    )
    to_revenue_base = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=admin_text("to revenue base")
    )
    note = models.CharField(max_length=255, blank=True, verbose_name=admin_text("note"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("created at"))
    folded_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("folded at"),
        help_text=admin_text("When the report rollups counted this event; empty until then."),
    )

    class Meta:
        verbose_name = admin_text("lead event")
        verbose_name_plural = admin_text("lead events")
        ordering = ["created_at", "id"]
        indexes = [
            # The fold's work list: only the few events not yet counted, so it stays small.
            models.Index(
                fields=["id"], condition=models.Q(folded_at__isnull=True), name="leadevent_unfolded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of lead {self.lead_id}"


class CapUse(models.Model):
    """How much of a cap one period has used: the counter conversions claim.

    One row per cap and period (`period_start`: the local date a day or month starts on in the
    organization's time zone; `TOTAL_PERIOD_START` for a total cap). A conversion claims it with
    `UPDATE … SET used = used + amount WHERE used + amount <= limit` (`leads.caps`): the row
    count decides, so racing conversions never overshoot. A new period is a new row, so caps
    reset at the boundary with no job. `refused` counts conversions the cap turned away.
    """

    cap = models.ForeignKey(
        "partners.Cap", on_delete=models.CASCADE, related_name="uses", verbose_name=admin_text("cap")
    )
    period_start = models.DateField(verbose_name=admin_text("period start"))
    used = models.DecimalField(
        max_digits=16, decimal_places=4, default=Decimal("0"), verbose_name=admin_text("used")
    )
    refused = models.PositiveIntegerField(default=0, verbose_name=admin_text("refused"))

    class Meta:
        verbose_name = admin_text("cap use")
        verbose_name_plural = admin_text("cap uses")
        constraints = [
            models.UniqueConstraint(fields=["cap", "period_start"], name="capuse_unique_period"),
        ]

    def __str__(self) -> str:
        return f"cap {self.cap_id} from {self.period_start}: {self.used}"


class RawPartitionDrop(models.Model):
    """A partition of a raw table (clicks, impressions, the inbound log) dropped by the retention.

    The record of what went and the source of `leads.partitions.raw_horizon()`: before the
    newest `range_end` of the click and impression tables, raw traffic is gone, so the report
    rollups of those days can no longer be rebuilt from it and must be kept.
    """

    table = models.CharField(max_length=63, verbose_name=admin_text("table"))
    partition = models.CharField(max_length=63, verbose_name=admin_text("partition"))
    range_start = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("range start"),
        help_text=admin_text("Empty for the legacy partition."),
    )
    range_end = models.DateTimeField(
        verbose_name=admin_text("range end"), help_text=admin_text("Rows before this instant are gone.")
    )
    dropped_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("dropped at"))

    class Meta:
        verbose_name = admin_text("raw partition drop")
        verbose_name_plural = admin_text("raw partition drops")
        ordering = ["-dropped_at", "-id"]
        indexes = [models.Index(fields=["table", "range_end"], name="rawdrop_table_end")]

    def __str__(self) -> str:
        return f"{self.partition} (before {self.range_end:%Y-%m-%d})"
