"""Reports: rollups kept current as data arrives.

One job writes them: `leads.rollups.rollup_refresh` folds new clicks and impressions and
the lead events (each lead change is one event) in, a few seconds after they arrive. The
click redirect and the lead postbacks write their own rows and never a rollup row, so they
never wait on one. Reports read rollups only.

Key columns are never NULL (a missing landing is 0, a missing country ''), so one unique
constraint per table is the upsert target of `INSERT … ON CONFLICT … DO UPDATE`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.functional import Promise

from config.i18n import admin_text


def _money(verbose_name: Promise) -> models.DecimalField:
    return models.DecimalField(
        max_digits=18,
        decimal_places=4,
        default=Decimal("0"),
        db_default=Decimal("0"),
        verbose_name=verbose_name,
    )


class Counters(models.Model):
    """The additive counters every rollup row carries."""

    # Database defaults: the upserts insert a row naming only the counters they add to.
    impressions = models.BigIntegerField(default=0, db_default=0, verbose_name=admin_text("impressions"))
    clicks = models.BigIntegerField(default=0, db_default=0, verbose_name=admin_text("clicks"))
    unique_clicks = models.BigIntegerField(default=0, db_default=0, verbose_name=admin_text("unique clicks"))
    leads_total = models.BigIntegerField(default=0, db_default=0, verbose_name=admin_text("leads total"))
    leads_approved = models.BigIntegerField(
        default=0, db_default=0, verbose_name=admin_text("leads approved")
    )
    leads_pending = models.BigIntegerField(default=0, db_default=0, verbose_name=admin_text("leads pending"))
    leads_rejected = models.BigIntegerField(
        default=0, db_default=0, verbose_name=admin_text("leads rejected")
    )
    payout_approved = _money(admin_text("payout approved"))
    payout_pending = _money(admin_text("payout pending"))
    revenue_approved = _money(admin_text("revenue approved"))
    revenue_pending = _money(admin_text("revenue pending"))

    class Meta:
        abstract = True


MONEY_FIELDS = frozenset({"payout_approved", "payout_pending", "revenue_approved", "revenue_pending"})
COUNTER_FIELDS: tuple[str, ...] = (
    "impressions",
    "clicks",
    "unique_clicks",
    "leads_total",
    "leads_approved",
    "leads_pending",
    "leads_rejected",
    "payout_approved",
    "payout_pending",
    "revenue_approved",
    "revenue_pending",
)


class DailyStat(Counters):
    """Traffic and conversions per UTC day, partner, offer, landing, country, device type and OS.

    Answers the dashboard and the report grouped by date, campaign, landing, geo, device or OS.
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    day = models.DateField(verbose_name=admin_text("day"))
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="+", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        "partners.Offer", on_delete=models.CASCADE, related_name="+", verbose_name=admin_text("offer")
    )
    landing_id = models.BigIntegerField(
        default=0,
        verbose_name=admin_text("landing id"),
        help_text=admin_text("The landing's id; 0 for none."),
    )
    country = models.CharField(max_length=2, blank=True, verbose_name=admin_text("country"))
    device_type = models.CharField(max_length=20, blank=True, verbose_name=admin_text("device type"))
    os = models.CharField(max_length=50, blank=True, verbose_name=admin_text("os"))

    class Meta:
        verbose_name = admin_text("daily stat")
        verbose_name_plural = admin_text("daily stats")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "day",
                    "partner",
                    "offer",
                    "landing_id",
                    "country",
                    "device_type",
                    "os",
                ],
                name="dailystat_unique_key",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "day"], name="dailystat_partner_day"),
            models.Index(fields=["organization", "day"], name="dailystat_org_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} partner {self.partner_id} offer {self.offer_id}"


KEY_FIELDS_DAILY: tuple[str, ...] = (
    "organization_id",
    "day",
    "partner_id",
    "offer_id",
    "landing_id",
    "country",
    "device_type",
    "os",
)


class SubStat(Counters):
    """Traffic and conversions per UTC day, partner, offer and one more dimension (a slot and its value).

    Slots 1–5 are the sub ids; slot 6 the network ("AS15169 GOOGLE", or the organization alone
    when the GeoIP data has no number); slot 7 the redirect reason of redirected clicks; slot 8
    the smart link (its id) of clicks that came through one. Every click, impression and lead
    counts once in each of slots 1–6, so grouping by sub3 reads slot 3 alone; slots 7 and 8
    hold only what has a value (redirected clicks, smart-link clicks, and their leads).
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=admin_text("organization"),
    )
    day = models.DateField(verbose_name=admin_text("day"))
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="+", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        "partners.Offer", on_delete=models.CASCADE, related_name="+", verbose_name=admin_text("offer")
    )
    slot = models.PositiveSmallIntegerField(verbose_name=admin_text("slot"))
    value = models.CharField(max_length=255, blank=True, verbose_name=admin_text("value"))

    class Meta:
        verbose_name = admin_text("sub stat")
        verbose_name_plural = admin_text("sub stats")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "partner", "offer", "slot", "value"],
                name="substat_unique_key",
            ),
        ]
        indexes = [models.Index(fields=["partner", "slot", "day"], name="substat_partner_slot_day")]

    def __str__(self) -> str:
        return f"{self.day} partner {self.partner_id} sub{self.slot}={self.value}"


KEY_FIELDS_SUB: tuple[str, ...] = ("organization_id", "day", "partner_id", "offer_id", "slot", "value")
SLOT_NETWORK = 6
SLOT_REDIRECT_REASON = 7
SLOT_SMART_LINK = 8
# Slots whose empty value is not kept: most clicks are neither redirected nor smart-link clicks.
SPARSE_SLOTS = (SLOT_REDIRECT_REASON, SLOT_SMART_LINK)


class Watermark(models.Model):
    """How far a raw table has been folded into the rollups (by id), and when.

    `refresh` locks the row, so two refreshes never fold the same ids. Ids are folded only
    once they were seen as the newest id a moment ago (`pending_id`, `pending_at`): an insert
    that took an id but had not committed yet has committed by then. Every fold saves the
    row, so `updated_at` is when the figures were last brought up to date ("as of").
    """

    class Source(models.TextChoices):
        CLICKS = "clicks", admin_text("Clicks")
        IMPRESSIONS = "impressions", admin_text("Impressions")

    source = models.CharField(
        max_length=20, choices=Source.choices, unique=True, verbose_name=admin_text("source")
    )
    folded_id = models.BigIntegerField(default=0, verbose_name=admin_text("folded id"))
    pending_id = models.BigIntegerField(default=0, verbose_name=admin_text("pending id"))
    pending_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("pending at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))

    class Meta:
        verbose_name = admin_text("watermark")
        verbose_name_plural = admin_text("watermarks")

    def __str__(self) -> str:
        return f"{self.source} ≤ {self.folded_id}"


class ClickFingerprint(models.Model):
    """The first click of a (UTC day, link, IP): that click is the day's unique click.

    Inserted with ON CONFLICT DO NOTHING as clicks are folded, so a later batch never counts
    an IP again for the same link and day.
    """

    day = models.DateField(verbose_name=admin_text("day"))
    link_id = models.BigIntegerField(verbose_name=admin_text("link id"))
    ip = models.CharField(max_length=64, verbose_name=admin_text("ip"))
    first_click_id = models.BigIntegerField(unique=True, verbose_name=admin_text("first click id"))

    class Meta:
        verbose_name = admin_text("click fingerprint")
        verbose_name_plural = admin_text("click fingerprints")
        constraints = [
            models.UniqueConstraint(fields=["day", "link_id", "ip"], name="clickfingerprint_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} link {self.link_id} {self.ip}"
