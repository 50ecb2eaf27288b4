"""The configuration side: channels, apps, partners, integrations, offers, goals, links."""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from config import crypto
from config.i18n import admin_text
from currencies.codes import validate_currency
from partners import targeting
from partners.macros import errors_of
from partners.urlsafety import validate_outbound


def new_token() -> str:
    """An unguessable, URL-safe inbound token."""
    return secrets.token_urlsafe(24)


def new_inbound_secret() -> str:
    """A fresh secret for signing inbound requests (HMAC-SHA256): 32 random bytes in hex."""
    return secrets.token_hex(32)


def new_link_code() -> str:
    """A short symbolic tracking-link code such as `5FAC-D4E8`."""
    raw = secrets.token_hex(4).upper()
    return f"{raw[:4]}-{raw[4:]}"


class Status(models.TextChoices):
    ACTIVE = "active", admin_text("Active")
    PAUSED = "paused", admin_text("Paused")


class Channel(models.Model):
    """A marketing channel (Social, Search, Affiliate, Display, …) of one organization."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="channels",
        verbose_name=admin_text("organization"),
    )
    name = models.CharField(max_length=100, verbose_name=admin_text("name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("channel")
        verbose_name_plural = admin_text("channels")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="channel_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Platform(models.TextChoices):
    ANDROID = "android", admin_text("Android")
    IOS = "ios", admin_text("iOS")
    WEB = "web", admin_text("Web")
    CROSS = "cross", admin_text("Android and iOS")


def allow_list_lines(text: str) -> list[str]:
    """The entries of a source-IP allow list: one per line, blank lines and spaces dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def validate_allow_list(text: str) -> None:
    """Every line must be an IP address or a network in CIDR notation (IPv4 or IPv6)."""
    bad = []
    for line in allow_list_lines(text):
        try:
            ipaddress.ip_network(line, strict=False)
        except ValueError:
            bad.append(line)
    if bad:
        raise ValidationError(
            [
                f"“{line}” is not an IP address or network: write one per line, e.g. 203.0.113.7, "
                "198.51.100.0/24 or 2001:db8::/32."
                for line in bad
            ]
        )


class InboundCredentials(models.Model):
    """What an inbound token's requests must show besides the token (SPEC 4, "Signed postbacks").

    An app (lead and status postbacks, conversions) and an integration (click, impression and
    conversion APIs) each have a token; a rotated token keeps its predecessor valid until
    `previous_token_valid_until` (compared on each look-up, so nothing has to expire it). When
    `signing_required`, requests carry `ts` and `sig` (ingest.signing); `allowed_ips` limits
    the source addresses. The signing secret is stored encrypted (config.crypto).
    """

    previous_token = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False, verbose_name=admin_text("previous token")
    )
    previous_token_valid_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=admin_text("previous token valid until")
    )
    signing_required = models.BooleanField(
        default=False,
        verbose_name=admin_text("signing required"),
        help_text=admin_text(
            "Refuse requests without a valid ts and sig (HMAC-SHA256 with the signing secret)."
        ),
    )
    inbound_secret_encrypted = models.TextField(
        blank=True, editable=False, verbose_name=admin_text("inbound secret encrypted")
    )
    allowed_ips = models.TextField(
        blank=True,
        validators=[validate_allow_list],
        verbose_name=admin_text("allowed ips"),
        help_text=admin_text(
            "Optional source-IP allow list for inbound calls: IPs or networks (CIDR), IPv4 or "
            "IPv6, one per line. Empty: any source."
        ),
    )

    class Meta:
        abstract = True

    @property
    def inbound_secret(self) -> str:
        """The plain secret inbound requests are signed with ("" until one is generated)."""
        return crypto.decrypt(self.inbound_secret_encrypted)

    @inbound_secret.setter
    def inbound_secret(self, value: str) -> None:
        self.inbound_secret_encrypted = crypto.encrypt(value)

    def readable_inbound_secret(self) -> str:
        """The plain secret for a page or an answer: "" when none, or when no key decrypts it any more."""
        try:
            return self.inbound_secret
        except crypto.UndecryptableSecret:
            return ""

    def accepts_token(self, token: str, now: datetime) -> bool:
        """Whether `token` opens this owner now: its token, or the previous one inside its overlap."""
        if token == self.token:  # type: ignore[attr-defined]
            return True
        until = self.previous_token_valid_until
        return bool(token) and token == self.previous_token and until is not None and now < until


class App(InboundCredentials):
    """The advertised product: a mobile app or a site. Managers start from its hub."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="apps",
        verbose_name=admin_text("organization"),
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    platform = models.CharField(
        max_length=10, choices=Platform.choices, default=Platform.ANDROID, verbose_name=admin_text("platform")
    )
    store_id = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=admin_text("store id"),
        help_text=admin_text("Bundle id or package name, e.g. com.example.game."),
    )
    default_url = models.URLField(
        max_length=2000,
        verbose_name=admin_text("default url"),
        help_text=admin_text("Where clicks land when an offer has no landing of its own."),
    )
    token = models.CharField(
        max_length=64,
        unique=True,
        default=new_token,
        verbose_name=admin_text("token"),
        help_text=admin_text("The advertiser's inbound token for lead and status postbacks."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("app")
        verbose_name_plural = admin_text("apps")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="app_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A traffic supplier (ad network, affiliate, publisher), reusable across apps."""

    class Kind(models.TextChoices):
        CUSTOM = "custom", admin_text("Custom")
        BUILTIN = "builtin", admin_text("Built-in")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="partners",
        verbose_name=admin_text("organization"),
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.CUSTOM, verbose_name=admin_text("kind")
    )
    default_channel = models.ForeignKey(
        Channel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="partners",
        verbose_name=admin_text("default channel"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=admin_text("status")
    )
    contact_name = models.CharField(max_length=200, blank=True, verbose_name=admin_text("contact name"))
    contact_email = models.EmailField(blank=True, verbose_name=admin_text("contact email"))
    website = models.URLField(blank=True, verbose_name=admin_text("website"))
    preset_postback_url = models.CharField(
        max_length=2000,
        blank=True,
        validators=[validate_outbound],
        verbose_name=admin_text("preset postback url"),
        help_text=admin_text("Built-in partners: the install postback template the wizard starts from."),
    )
    preset_parameters = models.JSONField(
        default=list,
        blank=True,
        verbose_name=admin_text("preset parameters"),
        help_text=admin_text(
            "Built-in partners: tracking parameters the wizard starts from "
            '([{"name": "sub1", "placeholder": "{campaign}", "in_click": true, "in_impression": true}]).'
        ),
    )
    publisher_postback_url = models.CharField(
        max_length=2000,
        blank=True,
        validators=[validate_outbound],
        verbose_name=admin_text("publisher postback url"),
        help_text=admin_text(
            "The publisher's own postback URL, e.g. https://pub.example/pb?clickid={ref_id}"
        ),
    )
    publisher_postback_secret_encrypted = models.TextField(
        blank=True, editable=False, verbose_name=admin_text("publisher postback secret encrypted")
    )
    publisher_postback_paused_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("publisher postback paused at"),
        help_text=admin_text("Set when the publisher postback failed too often in a row."),
    )
    publisher_postback_pause_reason = models.TextField(
        blank=True, verbose_name=admin_text("publisher postback pause reason")
    )
    payout_currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_currency],
        verbose_name=admin_text("payout currency"),
        help_text=admin_text(
            "The currency the publisher is paid in; empty: the organization's base currency. "
            "Its balance converts each approved lead at the rate of the day it was approved."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("partner")
        verbose_name_plural = admin_text("partners")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="partner_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def publisher_postback_secret(self) -> str:
        """The plain signing secret of the publisher postback ("" when calls are not signed)."""
        return crypto.decrypt(self.publisher_postback_secret_encrypted)

    @publisher_postback_secret.setter
    def publisher_postback_secret(self, value: str) -> None:
        self.publisher_postback_secret_encrypted = crypto.encrypt(value)


class IpPrivacy(models.TextChoices):
    """How an integration's user IPs are kept and shown (leads.privacy does both)."""

    OFF = "off", admin_text("Off")
    REPORTS = "reports", admin_text("Obfuscate in pages, reports and exports")
    AT_REST = "at_rest", admin_text("Obfuscate, and store only the truncated IP (IPv4 /24, IPv6 /48)")


class Integration(InboundCredentials):
    """One partner connected to one app: what the wizard creates."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="integrations",
        verbose_name=admin_text("organization"),
    )
    app = models.ForeignKey(
        App, on_delete=models.CASCADE, related_name="integrations", verbose_name=admin_text("app")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="integrations", verbose_name=admin_text("partner")
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="integrations",
        verbose_name=admin_text("channel"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=admin_text("status")
    )
    token = models.CharField(
        max_length=64,
        unique=True,
        default=new_token,
        verbose_name=admin_text("token"),
        help_text=admin_text("The partner's inbound token for server-to-server clicks and impressions."),
    )
    ip_privacy = models.CharField(
        max_length=10,
        choices=IpPrivacy.choices,
        default=IpPrivacy.OFF,
        verbose_name=admin_text("ip privacy"),
        help_text=admin_text(
            "On: IPs show as 203.0.113.xxx in pages, API answers, reports and exports. "
            "“Store only the truncated IP” keeps 203.0.113.0 (IPv6: the /48) instead of the full IP, "
            "from the next click on; per-IP filters then count per /24 network."
        ),
    )
    inbound_mapping = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=admin_text("inbound mapping"),
        help_text=admin_text("Our parameter name → the name this partner sends (server-to-server APIs)."),
    )
    status_sync_url = models.CharField(
        max_length=2000,
        blank=True,
        validators=[validate_outbound],
        verbose_name=admin_text("status sync url"),
        help_text=admin_text("Optional URL called on every status change of this integration's leads."),
    )
    status_sync_secret_encrypted = models.TextField(
        blank=True, editable=False, verbose_name=admin_text("status sync secret encrypted")
    )
    status_sync_paused_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("status sync paused at"),
        help_text=admin_text("Set when the status sync failed too often in a row."),
    )
    status_sync_pause_reason = models.TextField(
        blank=True, verbose_name=admin_text("status sync pause reason")
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

    class Meta:
        verbose_name = admin_text("integration")
        verbose_name_plural = admin_text("integrations")
        ordering = ["app__name", "partner__name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "partner"], name="integration_unique_app_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} → {self.app}"

    @property
    def status_sync_secret(self) -> str:
        """The plain signing secret of the status sync ("" when calls are not signed)."""
        return crypto.decrypt(self.status_sync_secret_encrypted)

    @status_sync_secret.setter
    def status_sync_secret(self, value: str) -> None:
        self.status_sync_secret_encrypted = crypto.encrypt(value)


class ScreeningRule(models.Model):
    """One filter of an integration's screening: what it checks, when it fires, what it does.

    Count rules fire when the count *reaches* the threshold within a fixed window (threshold 3:
    the third click from one IP is flagged, the first two pass). The click-to-conversion time
    rule fires when a conversion comes *less* than `threshold` seconds after its click.
    """

    class Kind(models.TextChoices):
        CTIT = "ctit", admin_text("Click-to-conversion time too short (seconds)")
        CLICKS_PER_IP = "clicks_per_ip", admin_text("Too many clicks per IP")
        CLICKS_PER_DEVICE = "clicks_per_device", admin_text("Too many clicks per device")
        CONVERSIONS_PER_IP = "conversions_per_ip", admin_text("Too many conversions per IP")
        CONVERSIONS_PER_DEVICE = "conversions_per_device", admin_text("Too many conversions per device")
        COUNTRY = "country", admin_text("Country not allowed")
        BOT_USER_AGENT = "bot_user_agent", admin_text("Bot or empty user agent")
        DUPLICATE_DEVICE = (
            "duplicate_device",
            admin_text("Duplicate device id on the same offer (conversions)"),
        )
        CLICK_TOO_OLD = "click_too_old", admin_text("Click older than the offer's attribution window")
        DATACENTER = "datacenter", admin_text("Data-centre network (hosting, cloud, VPN exits)")

    class Action(models.TextChoices):
        FLAG = "flag", admin_text("Flag (kept and paid, marked for review)")
        REJECT = "reject", admin_text("Reject (kept, not paid, not posted back)")

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="screening_rules",
        verbose_name=admin_text("integration"),
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, verbose_name=admin_text("kind"))
    threshold = models.PositiveIntegerField(
        default=0,
        verbose_name=admin_text("threshold"),
        help_text=admin_text(
            "Count rules: the count at which the rule fires. Click-to-conversion time: the "
            "fewest seconds a real user takes. Not used by country, user-agent, attribution and "
            "data-centre rules."
        ),
    )
    window_seconds = models.PositiveIntegerField(
        default=3600,
        verbose_name=admin_text("window seconds"),
        help_text=admin_text("Count rules: the length of the counting window, in seconds."),
    )
    action = models.CharField(
        max_length=10, choices=Action.choices, default=Action.FLAG, verbose_name=admin_text("action")
    )
    reason_code = models.SlugField(
        max_length=50,
        verbose_name=admin_text("reason code"),
        help_text=admin_text("Stored on every screened click or lead and shown in reports, e.g. ctit."),
    )
    countries = models.CharField(
        max_length=500,
        blank=True,
        verbose_name=admin_text("countries"),
        help_text=admin_text(
            "Country rule: the two-letter codes not allowed, separated by commas or spaces."
        ),
    )
    is_active = models.BooleanField(default=True, verbose_name=admin_text("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("screening rule")
        verbose_name_plural = admin_text("screening rules")
        ordering = ["integration", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_seconds__gt=0), name="screeningrule_window_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.action} ({self.reason_code})"

    @property
    def country_codes(self) -> list[str]:
        """The not-allowed countries as upper-case codes."""
        return sorted({code.upper() for code in self.countries.replace(",", " ").split() if code})

    def clean(self) -> None:
        """A threshold where the kind needs one, and two-letter codes for the country rule."""
        errors: dict[str, str] = {}
        if self.kind in THRESHOLD_KINDS and not self.threshold:
            errors["threshold"] = "This filter needs a threshold of at least 1."
        if self.kind == self.Kind.COUNTRY:
            bad = [code for code in self.country_codes if not re.fullmatch(r"[A-Z]{2}", code)]
            if not self.country_codes:
                errors["countries"] = "List the countries not allowed, e.g. CN, RU."
            elif bad:
                errors["countries"] = f"Not two-letter country codes: {', '.join(bad)}."
        if errors:
            raise ValidationError(errors)


THRESHOLD_KINDS = frozenset(
    {
        ScreeningRule.Kind.CTIT,
        ScreeningRule.Kind.CLICKS_PER_IP,
        ScreeningRule.Kind.CLICKS_PER_DEVICE,
        ScreeningRule.Kind.CONVERSIONS_PER_IP,
        ScreeningRule.Kind.CONVERSIONS_PER_DEVICE,
        ScreeningRule.Kind.DUPLICATE_DEVICE,
    }
)


class DatacenterNetwork(models.Model):
    """An organization's change to the shipped list of data-centre networks (`leads.datacenters`).

    The `datacenter` screening rule fires for traffic whose network is on the organization's
    effective list: the networks shipped with the product, minus the ones it excludes here,
    plus the ones it adds here. A network is named by its AS number, by its organization name
    as the IP lookup answers it, or both (the shipped GeoIP data has names but no numbers).
    """

    class Change(models.TextChoices):
        ADD = "add", admin_text("Add: traffic from this network is data-centre traffic")
        EXCLUDE = "exclude", admin_text("Exclude: a shipped network that is not data-centre traffic for us")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="datacenter_networks",
        verbose_name=admin_text("organization"),
    )
    change = models.CharField(
        max_length=10, choices=Change.choices, default=Change.ADD, verbose_name=admin_text("change")
    )
    asn = models.PositiveIntegerField(
        null=True,
        blank=True,
        verbose_name=admin_text("AS number"),
        help_text=admin_text(
            "The network's AS number, e.g. 16509 (without “AS”). Matches only when the IP "
            "lookup knows numbers (an ASN .mmdb database is configured)."
        ),
    )
    as_org = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("Organization name"),
        help_text=admin_text(
            "The network's name exactly as Admin › IP lookup shows it, e.g. “Hetzner Online GmbH”; "
            "* stands for any characters (“Hetzner*”). Case does not matter. To exclude a shipped "
            "network, give its AS number or its name as the shipped list writes it."
        ),
    )
    note = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("note"),
        help_text=admin_text("Why, for the next person who reads this."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        ordering = ["change", "as_org", "asn"]
        verbose_name = admin_text("data-centre network")
        verbose_name_plural = admin_text("data-centre networks")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(asn__isnull=False) | ~models.Q(as_org=""),
                name="datacenternetwork_names_a_network",
            ),
        ]

    def __str__(self) -> str:
        named = " ".join(part for part in (f"AS{self.asn}" if self.asn else "", self.as_org) if part)
        return f"{self.get_change_display().split(':')[0]} {named}"

    def clean(self) -> None:
        """A network needs a number or a name."""
        self.as_org = self.as_org.strip()
        if self.asn is None and not self.as_org:
            raise ValidationError("Give the network's AS number, its organization name, or both.")


class SourceListEntry(models.Model):
    """A source (the partner's sub id: `sub1`) on an integration's blacklist or whitelist.

    Blacklisted sources are not imported; with any whitelist entry, only whitelisted sources
    are. An empty whitelist means no restriction, and the blacklist wins over the whitelist.
    """

    class List(models.TextChoices):
        BLACK = "black", admin_text("Blacklist")
        WHITE = "white", admin_text("Whitelist")

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="source_entries",
        verbose_name=admin_text("integration"),
    )
    list = models.CharField(max_length=5, choices=List.choices, verbose_name=admin_text("list"))
    source = models.CharField(max_length=255, verbose_name=admin_text("source"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        ordering = ["integration", "list", "source"]
        verbose_name = admin_text("source list entry")
        verbose_name_plural = admin_text("source list entries")
        constraints = [
            models.UniqueConstraint(fields=["integration", "list", "source"], name="sourcelistentry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_list_display()}: {self.source}"


class TrackingParameter(models.Model):
    """A row of the wizard's tracking-URL table: our parameter, the partner's macro for it."""

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="parameters",
        verbose_name=admin_text("integration"),
    )
    name = models.CharField(
        max_length=50,
        verbose_name=admin_text("name"),
        help_text=admin_text("Our parameter name, e.g. partner_click_id."),
    )
    placeholder = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=admin_text("placeholder"),
        help_text=admin_text("The partner's own macro, e.g. {clickid}."),
    )
    in_click = models.BooleanField(default=True, verbose_name=admin_text("in click"))
    in_impression = models.BooleanField(default=True, verbose_name=admin_text("in impression"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=admin_text("position"))

    class Meta:
        verbose_name = admin_text("tracking parameter")
        verbose_name_plural = admin_text("tracking parameters")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "name"], name="trackingparameter_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.placeholder}"


class TargetingFields(models.Model):
    """Who may see an offer or a landing (SPEC 4.5); `partners.targeting` checks and compiles it.

    A click outside it is recorded as redirected with the reason and sent to the offer's fallback.
    """

    allowed_countries = models.CharField(
        max_length=1000,
        blank=True,
        verbose_name=admin_text("allowed countries"),
        help_text=admin_text(
            "Only these countries (two-letter codes separated by commas or spaces, e.g. US, CA); "
            "empty: every country."
        ),
    )
    blocked_countries = models.CharField(
        max_length=1000,
        blank=True,
        verbose_name=admin_text("blocked countries"),
        help_text=admin_text("Never these countries (two-letter codes), e.g. CN, RU."),
    )
    device_types = models.CharField(
        max_length=100,
        blank=True,
        verbose_name=admin_text("device types"),
        help_text=format_lazy(
            admin_text("Only these device types: {}; empty: every device."), ", ".join(targeting.DEVICE_TYPES)
        ),
    )
    operating_systems = models.CharField(
        max_length=300,
        blank=True,
        verbose_name=admin_text("operating systems"),
        help_text=admin_text(
            "Only these OS families, separated by commas (Android, iOS, Windows, Mac OS X, "
            "Linux…); a family takes all its versions. Empty: every OS."
        ),
    )

    class Meta:
        abstract = True

    @property
    def targeting_words(self) -> list[str]:
        """The targeting in words, for pages (empty: open to everyone)."""
        return targeting.describe(self)

    def clean_targeting(self) -> dict[str, str]:
        """Errors of the targeting fields by field; without errors, the values in one spelling."""
        errors = targeting.targeting_errors(self)
        if not errors:
            targeting.normalize(self)
        return errors


class Offer(TargetingFields):
    """What a partner can promote for an app; publishers see it as a campaign."""

    class Type(models.TextChoices):
        CPI = "cpi", gettext_lazy("CPI")
        CPA = "cpa", gettext_lazy("CPA")
        CPL = "cpl", gettext_lazy("CPL")
        CPS = "cps", gettext_lazy("CPS")
        REVSHARE = "revshare", gettext_lazy("RevShare")

    class Visibility(models.TextChoices):
        PUBLIC = "public", admin_text("Public")
        APPROVAL = "approval", admin_text("By approval")
        PRIVATE = "private", admin_text("Private")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=admin_text("organization"),
    )
    app = models.ForeignKey(
        App, on_delete=models.CASCADE, related_name="offers", verbose_name=admin_text("app")
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    type = models.CharField(
        max_length=10, choices=Type.choices, default=Type.CPI, verbose_name=admin_text("type")
    )
    rate = models.DecimalField(
        max_digits=14, decimal_places=4, default=Decimal("0"), verbose_name=admin_text("rate")
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[validate_currency],
        verbose_name=admin_text("currency"),
        help_text=admin_text("The currency its goals' payouts and revenues are in."),
    )
    category = models.CharField(max_length=100, blank=True, verbose_name=admin_text("category"))
    description = models.TextField(blank=True, verbose_name=admin_text("description"))
    visibility = models.CharField(
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        verbose_name=admin_text("visibility"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=admin_text("status")
    )
    attribution_window_days = models.PositiveIntegerField(
        default=30, verbose_name=admin_text("attribution window days")
    )
    fallback_offer = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fallback_for",
        verbose_name=admin_text("fallback offer"),
        help_text=admin_text(
            "Clicks outside the targeting (or while a cap is full) go to this offer of the same "
            "app instead, and count for it."
        ),
    )
    fallback_url = models.CharField(
        max_length=2000,
        blank=True,
        verbose_name=admin_text("fallback url"),
        help_text=admin_text(
            "Or send those clicks to this URL (our macros work, e.g. {click_id}). With neither, "
            "they see a plain “offer not available” page."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("offer")
        verbose_name_plural = admin_text("offers")
        ordering = ["app__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="offer_unique_name_per_app"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Targeting in known terms, and a fallback that is one thing, of the same app, not itself."""
        errors: dict[str, str] = self.clean_targeting()
        fallback = self.fallback_offer
        if fallback is not None and self.fallback_url:
            errors["fallback_url"] = "Choose a fallback offer or a fallback URL, not both."
        elif fallback is not None and self.pk is not None and fallback.pk == self.pk:
            errors["fallback_offer"] = "An offer cannot be its own fallback: choose another offer."
        elif fallback is not None and self.app_id is not None and fallback.app_id != self.app_id:
            errors["fallback_offer"] = (
                f"The fallback must be an offer of the same app ({self.app}): “{fallback}” belongs to "
                f"{fallback.app}."
            )
        if self.fallback_url and "fallback_url" not in errors:
            problems = errors_of(self.fallback_url)
            if problems:
                errors["fallback_url"] = " ".join(problems)
        if errors:
            raise ValidationError(errors)


class Landing(TargetingFields):
    """A destination URL of an offer: a landing page or an app deeplink.

    Its own targeting (optional) narrows the offer's: a click on this landing outside it goes to
    the offer's fallback, like a click outside the offer's targeting.
    """

    class Kind(models.TextChoices):
        LANDING = "landing", gettext_lazy("Landing")
        DEEPLINK = "deeplink", gettext_lazy("Deeplink")

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="landings", verbose_name=admin_text("offer")
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.LANDING, verbose_name=admin_text("kind")
    )
    url = models.CharField(
        max_length=2000,
        verbose_name=admin_text("url"),
        help_text=admin_text("May carry our macros, e.g. https://example.com/?cid={click_id}"),
    )

    class Meta:
        verbose_name = admin_text("landing")
        verbose_name_plural = admin_text("landings")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = self.clean_targeting()
        if errors:
            raise ValidationError(errors)


class Creative(models.Model):
    """An uploaded banner, video or text a publisher can download."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="creatives", verbose_name=admin_text("offer")
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    file = models.FileField(upload_to="creatives/%Y/%m/", verbose_name=admin_text("file"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("creative")
        verbose_name_plural = admin_text("creatives")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PayoutType(models.TextChoices):
    FIXED = "fixed", admin_text("Fixed amount")
    PERCENT = "percent", admin_text("Percent of revenue")


class Goal(models.Model):
    """A step that pays (install, registration, deposit…), found by its code or an alias."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="goals", verbose_name=admin_text("offer")
    )
    code = models.SlugField(
        max_length=50,
        verbose_name=admin_text("code"),
        help_text=admin_text("The main code postbacks send, e.g. install."),
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    payout_type = models.CharField(
        max_length=10,
        choices=PayoutType.choices,
        default=PayoutType.FIXED,
        verbose_name=admin_text("payout type"),
    )
    payout = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("payout"),
        help_text=admin_text("The publisher's payout: an amount, or a percent of revenue."),
    )
    revenue = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        verbose_name=admin_text("revenue"),
        help_text=admin_text("What the advertiser pays us for this goal."),
    )
    is_default = models.BooleanField(
        default=False,
        verbose_name=admin_text("is default"),
        help_text=admin_text("Used when a postback names no goal."),
    )
    position = models.PositiveSmallIntegerField(default=0, verbose_name=admin_text("position"))

    class Meta:
        verbose_name = admin_text("goal")
        verbose_name_plural = admin_text("goals")
        ordering = ["offer", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "code"], name="goal_unique_code_per_offer"),
            models.UniqueConstraint(
                fields=["offer"],
                condition=models.Q(is_default=True),
                name="goal_one_default_per_offer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class GoalAlias(models.Model):
    """Another code for the same goal (`reg` and `registration`)."""

    goal = models.ForeignKey(
        Goal, on_delete=models.CASCADE, related_name="aliases", verbose_name=admin_text("goal")
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="goal_aliases", verbose_name=admin_text("offer")
    )
    code = models.SlugField(max_length=50, verbose_name=admin_text("code"))

    class Meta:
        ordering = ["code"]
        verbose_name = admin_text("goal alias")
        verbose_name_plural = admin_text("goal aliases")
        constraints = [
            models.UniqueConstraint(fields=["offer", "code"], name="goalalias_unique_code_per_offer"),
        ]

    def __str__(self) -> str:
        return self.code


class GoalPartnerPayout(models.Model):
    """A partner-specific payout that overrides the goal's own."""

    goal = models.ForeignKey(
        Goal, on_delete=models.CASCADE, related_name="partner_payouts", verbose_name=admin_text("goal")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="goal_payouts", verbose_name=admin_text("partner")
    )
    payout_type = models.CharField(
        max_length=10,
        choices=PayoutType.choices,
        default=PayoutType.FIXED,
        verbose_name=admin_text("payout type"),
    )
    payout = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=admin_text("payout"))

    class Meta:
        verbose_name = admin_text("goal partner payout")
        verbose_name_plural = admin_text("goal partner payouts")
        constraints = [
            models.UniqueConstraint(fields=["goal", "partner"], name="goalpartnerpayout_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.payout}"


class TrackingLink(models.Model):
    """A flow: one partner promoting one offer, with a numeric id and a symbolic code."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="links",
        verbose_name=admin_text("organization"),
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="links", verbose_name=admin_text("integration")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="links", verbose_name=admin_text("partner")
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="links", verbose_name=admin_text("offer")
    )
    landing = models.ForeignKey(
        Landing,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="links",
        verbose_name=admin_text("landing"),
    )
    code = models.CharField(
        max_length=20, unique=True, default=new_link_code, verbose_name=admin_text("code")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=admin_text("status")
    )
    sub1 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub1"))
    sub2 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub2"))
    sub3 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub3"))
    sub4 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub4"))
    sub5 = models.CharField(max_length=255, blank=True, verbose_name=admin_text("sub5"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = admin_text("tracking link")
        verbose_name_plural = admin_text("tracking links")
        indexes = [models.Index(fields=["partner", "offer"], name="trackinglink_partner_offer")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.code}"


# A template without a goal: the install postback, also sent for goals that have none of their own.
INSTALL_POSTBACK_LABEL = "Install, and every goal without a postback of its own"


class PostbackTemplate(models.Model):
    """A partner's postback URL for one integration, optionally for one goal.

    The template without a goal is the integration's install postback: it fires for
    every conversion whose goal has no template of its own.
    """

    class Event(models.TextChoices):
        CONVERSION = "conversion", admin_text("Conversion")
        STATUS = "status", admin_text("Status change")

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="postback_templates",
        verbose_name=admin_text("integration"),
    )
    goal = models.ForeignKey(
        Goal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="postback_templates",
        verbose_name=admin_text("goal"),
    )
    event = models.CharField(
        max_length=20, choices=Event.choices, default=Event.CONVERSION, verbose_name=admin_text("event")
    )
    url = models.CharField(max_length=2000, validators=[validate_outbound], verbose_name=admin_text("url"))
    is_active = models.BooleanField(default=True, verbose_name=admin_text("is active"))
    signing_secret_encrypted = models.TextField(
        blank=True, editable=False, verbose_name=admin_text("signing secret encrypted")
    )
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=admin_text("paused at"),
        help_text=admin_text("Set when this postback failed too often in a row."),
    )
    pause_reason = models.TextField(blank=True, verbose_name=admin_text("pause reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("postback template")
        verbose_name_plural = admin_text("postback templates")
        db_table = "postbacks_postbacktemplate"
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
        return f"{self.integration} · {self.label}"

    @property
    def label(self) -> str:
        """Which conversions it is sent for, and when: how pages name a template."""
        what = f"{self.goal.name} ({self.goal.code})" if self.goal_id else INSTALL_POSTBACK_LABEL
        when = "on conversion" if self.event == self.Event.CONVERSION else "on a status change"
        return f"{what} · {when}"

    @property
    def signing_secret(self) -> str:
        """The plain signing secret ("" when calls are not signed)."""
        return crypto.decrypt(self.signing_secret_encrypted)

    @signing_secret.setter
    def signing_secret(self, value: str) -> None:
        self.signing_secret_encrypted = crypto.encrypt(value)


class SmartLink(models.Model):
    """One tracking URL (`/s/<code>`) that sends each click to one of several of a partner's links.

    Each entry is one of the partner's tracking links (an offer, its integration, its landing):
    a click is recorded as a click on the chosen entry's link, with `Click.smart_link` set.
    Entries the click is not targeted for, or whose offer is capped, are skipped; when none is
    left the click goes to the catch-all URL (or a plain 404 page without one).
    """

    class Mode(models.TextChoices):
        PRIORITY = "priority", admin_text("By priority (the first eligible entry)")
        WEIGHT = "weight", admin_text("By weight (a weighted random choice among eligible entries)")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="smart_links",
        verbose_name=admin_text("organization"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="smart_links", verbose_name=admin_text("partner")
    )
    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    code = models.CharField(
        max_length=20, unique=True, default=new_link_code, verbose_name=admin_text("code")
    )
    mode = models.CharField(
        max_length=10, choices=Mode.choices, default=Mode.PRIORITY, verbose_name=admin_text("mode")
    )
    catch_all_url = models.CharField(
        max_length=2000,
        blank=True,
        verbose_name=admin_text("catch all url"),
        help_text=admin_text(
            "Where a click goes when no entry takes it; empty: a plain “not available” page."
        ),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=admin_text("status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("smart link")
        verbose_name_plural = admin_text("smart links")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="smartlink_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SmartLinkEntry(models.Model):
    """One of a smart link's destinations: a tracking link of the same partner."""

    smart_link = models.ForeignKey(
        SmartLink, on_delete=models.CASCADE, related_name="entries", verbose_name=admin_text("smart link")
    )
    link = models.ForeignKey(
        TrackingLink,
        on_delete=models.CASCADE,
        related_name="smart_link_entries",
        verbose_name=admin_text("link"),
    )
    priority = models.PositiveSmallIntegerField(
        default=1,
        verbose_name=admin_text("priority"),
        help_text=admin_text("Priority mode: lower goes first."),
    )
    weight = models.PositiveIntegerField(
        default=1,
        verbose_name=admin_text("weight"),
        help_text=admin_text("Weight mode: the share of clicks."),
    )

    class Meta:
        ordering = ["smart_link", "priority", "id"]
        verbose_name = admin_text("smart link entry")
        verbose_name_plural = admin_text("smart link entries")
        constraints = [
            models.UniqueConstraint(fields=["smart_link", "link"], name="smartlinkentry_unique_link"),
        ]

    def __str__(self) -> str:
        return f"{self.smart_link} → {self.link}"

    def clean(self) -> None:
        """An entry is one of the smart link's partner's own links."""
        try:
            smart_link, link = self.smart_link, self.link
        except ObjectDoesNotExist:  # the form reports the missing choice itself
            return
        if smart_link.partner_id is not None and link.partner_id != smart_link.partner_id:
            raise ValidationError(
                {"link": f"Choose a link of {smart_link.partner}: this one is {link.partner}'s."}
            )


class Cap(models.Model):
    """A limit on an offer's conversions or payout per day, month or in total.

    Without a partner it counts every partner's conversions of the offer; with one, only that
    partner's (partner × offer). With a goal it counts only conversions of that goal. Days and
    months start at midnight and on the 1st in the organization's time zone. The count of each
    period is a `leads.CapUse` row, claimed by a conditional UPDATE (`leads.caps`), so the
    database decides between racing conversions.
    """

    class Metric(models.TextChoices):
        CONVERSIONS = "conversions", admin_text("Conversions (count)")
        PAYOUT = "payout", admin_text("Payout (publisher's, in the offer's currency)")

    class Period(models.TextChoices):
        DAILY = "daily", gettext_lazy("Daily")
        MONTHLY = "monthly", gettext_lazy("Monthly")
        TOTAL = "total", gettext_lazy("Total")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="caps",
        verbose_name=admin_text("organization"),
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="caps", verbose_name=admin_text("offer")
    )
    partner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="caps",
        verbose_name=admin_text("partner"),
        help_text=admin_text(
            "Only this partner's conversions count (partner × offer); empty: every partner's."
        ),
    )
    goal = models.ForeignKey(
        Goal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="caps",
        verbose_name=admin_text("goal"),
        help_text=admin_text("Only conversions of this goal count; empty: every goal's."),
    )
    metric = models.CharField(
        max_length=12, choices=Metric.choices, default=Metric.CONVERSIONS, verbose_name=admin_text("metric")
    )
    period = models.CharField(
        max_length=10, choices=Period.choices, default=Period.DAILY, verbose_name=admin_text("period")
    )
    limit = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        verbose_name=admin_text("limit"),
        help_text=admin_text(
            "Conversions: how many. Payout: how much publisher payout, in the offer's currency."
        ),
    )
    is_active = models.BooleanField(default=True, verbose_name=admin_text("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("cap")
        verbose_name_plural = admin_text("caps")
        ordering = ["offer", "id"]
        indexes = [models.Index(fields=["offer", "is_active"], name="cap_offer_active")]
        constraints = [
            models.CheckConstraint(condition=models.Q(limit__gte=0), name="cap_limit_not_negative"),
        ]

    def __str__(self) -> str:
        scope = [
            f"partner {self.partner}" if self.partner_id else "",
            f"goal {self.goal}" if self.goal_id else "",
        ]
        where = ", ".join(part for part in scope if part)
        # A cap made in code may still hold the int or str it was given (the audit log names it then).
        limit = Decimal(str(self.limit)).normalize()
        return f"{self.get_period_display()} {self.metric} cap {limit:f}" + (f" ({where})" if where else "")

    def clean(self) -> None:
        """The goal must be the offer's, a conversion count whole, the partner the offer's organization's."""
        errors: dict[str, str] = {}
        if self.goal_id and self.offer_id and self.goal.offer_id != self.offer_id:
            errors["goal"] = "Choose a goal of this offer."
        if (
            self.metric == self.Metric.CONVERSIONS
            and self.limit is not None
            and self.limit != int(self.limit)
        ):
            errors["limit"] = "A conversions cap counts whole conversions: enter a whole number."
        if self.partner_id and self.offer_id and self.partner.organization_id != self.offer.organization_id:
            errors["partner"] = "Choose a partner of this offer's organization."
        if errors:
            raise ValidationError(errors)
