"""The demo organization `manage.py seed_demo` creates, and the summary it prints.

Configuration goes through the same services the wizard and the admin use (logins,
channels, integrations, tracking links); traffic and leads are demo data and go in with
`bulk_create`. Every choice comes from one `random.Random(seed)`, so a seed always gives
the same organization and the same shape of traffic. Tokens, click ids and link codes
stay unguessable: they come from `secrets`, as everywhere else.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts.models import Membership, Organization, Role
from accounts.services import membership_create
from accounts.twofactor import authenticator_key, authenticator_set
from leads import datacenters, geoip
from leads.caprules import CapRule
from leads.models import CapUse, Click, Impression, Lead, LeadEvent, LeadStatus, Verdict, click_facts
from leads.outbound import lead_for_delivery, lead_macro_values
from leads.rollups import rollup_rebuild
from leads.services import Terms, lead_freeze_base
from partners.macros import render
from partners.models import (
    App,
    Cap,
    Creative,
    Goal,
    GoalAlias,
    GoalPartnerPayout,
    Integration,
    IpPrivacy,
    Landing,
    Offer,
    Partner,
    PayoutType,
    Platform,
    PostbackTemplate,
    ScreeningRule,
    SmartLink,
    SmartLinkEntry,
    Status,
    TrackingLink,
)
from partners.services import ParameterRow, channel_get_or_create, integration_connect, tracking_link_create
from postbacks.models import Delivery, DeliveryAttempt

DEMO_NAME = "Northwind Mobile"
DEMO_SLUG = "northwind"
DEMO_PASSWORD = "demo-pass-2026"
# The demo admin's authenticator secret (hex), public like the demo password: admins sign in
# with a second factor, and a first look must get through without a phone (`make demo-code`).
DEMO_TOTP_KEY = "706172746e65726465736b2d64656d6f2d326661"
ADMIN_USERNAME = "admin"
DEFAULT_SEED = 2026
DEFAULT_CLICKS = 4000
TRAFFIC_DAYS = 60
LEAD_RATE = 0.08
SECOND_LEAD_RATE = 0.15
BOT_RATE = 0.02
# Clicks from cloud servers: the data-centre screening rule flags them.
DATACENTER_RATE = 0.04
BATCH_SIZE = 1000

# (username, role, the partner of a publisher login)
LOGINS: tuple[tuple[str, str, str | None], ...] = (
    ("admin", Role.ADMIN, None),
    ("manager", Role.MANAGER, None),
    ("analyst", Role.ANALYST, None),
    ("publisher1", Role.PUBLISHER, "Publisher Alpha"),
    ("publisher2", Role.PUBLISHER, "Publisher Beta"),
)
DEMO_USERNAMES = frozenset(username for username, _, _ in LOGINS)
# The manager connected the integrations and holds the API key.
MANAGER_USERNAME = "manager"
CHANNELS = ("Social", "Search", "Affiliate", "Display", "Video")


class DemoSeedError(Exception):
    """The database is not one the demo may be put into; the message says why."""


def _rows(**placeholders: str) -> tuple[ParameterRow, ...]:
    """Tracking-parameter rows, our name → the partner's macro, in both URLs."""
    return tuple(
        {"name": name, "placeholder": placeholder, "in_click": True, "in_impression": True}
        for name, placeholder in placeholders.items()
    )


@dataclass(frozen=True)
class AppSpec:
    name: str
    platform: str
    store_id: str
    default_url: str


@dataclass(frozen=True)
class PartnerSpec:
    """A partner of the demo, its wizard presets and the sub1 sources its traffic comes from."""

    name: str
    kind: str
    channel: str
    sources: tuple[str, ...]
    postback_url: str
    parameters: tuple[ParameterRow, ...]
    contact_name: str = ""
    publisher_postback_url: str = ""

    @property
    def is_publisher(self) -> bool:
        return bool(self.publisher_postback_url)


@dataclass(frozen=True)
class GoalSpec:
    code: str
    name: str
    payout: str
    revenue: str
    aliases: tuple[str, ...] = ()
    is_default: bool = False
    payout_type: str = PayoutType.FIXED


@dataclass(frozen=True)
class OfferSpec:
    """An offer; `landings` are (name, kind, url) and the first is the links' default."""

    app: str
    name: str
    type: str
    rate: str
    visibility: str
    description: str
    landings: tuple[tuple[str, str, str], ...]
    goals: tuple[GoalSpec, ...]
    category: str = "Games"
    status: str = Status.ACTIVE


_PLAY = "https://play.example.com/store/apps/details?id=com.northwind.spacefarm"
_APP_STORE = "https://apps.example.com/app/space-farm/id6450001234"
_SHOP = "https://shop.example.com/"

APPS: tuple[AppSpec, ...] = (
    AppSpec("Space Farm", Platform.ANDROID, "com.northwind.spacefarm", _PLAY),
    AppSpec("Space Farm iOS", Platform.IOS, "com.northwind.spacefarm", _APP_STORE),
    AppSpec("Northwind Shop", Platform.WEB, "", _SHOP),
)

_BUILTIN, _CUSTOM = Partner.Kind.BUILTIN, Partner.Kind.CUSTOM
_PUBLISHER_ROWS = _rows(partner_click_id="{transaction_id}", sub1="{source}", ref_id="{replace_me}")

PARTNERS: tuple[PartnerSpec, ...] = (
    PartnerSpec(
        "Meta Ads",
        _BUILTIN,
        "Social",
        ("facebook", "instagram", "audience_network", "messenger"),
        "https://meta-ads.example.com/v1/conversions?fbclid={partner_click_id}&event={event_name}"
        "&value={revenue}&currency={currency}&ts={timestamp}",
        _rows(partner_click_id="{{fbclid}}", sub1="{{site_source_name}}", sub2="{{campaign.name}}"),
    ),
    PartnerSpec(
        "Google Ads",
        _BUILTIN,
        "Search",
        ("search", "youtube", "display", "discover"),
        "https://google-ads.example.com/pagead/conversion?gclid={partner_click_id}&conversion={goal}"
        "&value={revenue}&currency_code={currency}&time={conversion_time}",
        _rows(partner_click_id="{gclid}", sub1="{network}", sub2="{campaignid}", creative_id="{creative}"),
    ),
    PartnerSpec(
        "Unity Ads",
        _BUILTIN,
        "Video",
        ("game-4821", "game-5310", "game-7702", "game-9055"),
        "https://unity-ads.example.com/v2/install?click_id={partner_click_id}&ifa={device_id}"
        "&platform={platform}&ts={timestamp}",
        _rows(partner_click_id="{click_id}", sub1="{source_game_id}", idfa="{ifa}", gaid="{gaid}"),
    ),
    PartnerSpec(
        "AppLovin",
        _BUILTIN,
        "Video",
        ("app-1187", "app-2204", "app-3391"),
        "https://applovin.example.com/postback?clickid={partner_click_id}&event={event_name}"
        "&revenue={revenue}&idfa={idfa}&gaid={gaid}",
        _rows(partner_click_id="{CLICK_ID}", sub1="{APP_ID}", sub2="{CAMPAIGN_NAME}", idfa="{IDFA}"),
    ),
    PartnerSpec(
        "AdNet One",
        _CUSTOM,
        "Display",
        ("site101", "site102", "site117", "site123", "site130"),
        "https://adnet-one.example.com/pb?cid={partner_click_id}&goal={goal}&payout={payout}&status={status}",
        _rows(partner_click_id="{clickid}", sub1="{source}", sub2="{campaign}"),
        contact_name="Dana Kowalski",
    ),
    PartnerSpec(
        "ClickFlow Media",
        _CUSTOM,
        "Affiliate",
        ("cf-coupons", "cf-cashback", "cf-email"),
        "https://clickflow.example.com/postback?txn={partner_click_id}&amount={payout}&sub={sub1}",
        _rows(partner_click_id="[CLICK_ID]", sub1="[SOURCE]", sub2="[PLACEMENT]"),
        contact_name="Luis Ortega",
    ),
    # Publishers hear back through their own postback URL, so their integrations have none.
    PartnerSpec(
        "Publisher Alpha",
        _CUSTOM,
        "Affiliate",
        ("blog", "telegram", "youtube"),
        "",
        _PUBLISHER_ROWS,
        contact_name="Alpha Media",
        publisher_postback_url="https://pub-alpha.example.com/pb?clickid={ref_id}&payout={aff_payout}",
    ),
    PartnerSpec(
        "Publisher Beta",
        _CUSTOM,
        "Affiliate",
        ("email", "push", "reviews"),
        "",
        _PUBLISHER_ROWS,
        contact_name="Beta Traffic",
        publisher_postback_url="https://pub-beta.example.com/postback?id={ref_id}&sum={aff_payout}&st={status}",
    ),
)

_DEEPLINK = ("Open in app", "deeplink", "spacefarm://play?cid={click_id}&src={sub1}")
_REG = GoalSpec("registration", "Registration", "0.40", "0.60", ("reg",))
_PERCENT = PayoutType.PERCENT

OFFERS: tuple[OfferSpec, ...] = (
    OfferSpec(
        "Space Farm",
        "Space Farm — CPI Worldwide",
        Offer.Type.CPI,
        "1.20",
        Offer.Visibility.PUBLIC,
        "Casual farming game in space. Incentivized traffic not allowed.",
        (("Play Store", "landing", f"{_PLAY}&referrer=cid%3D{{click_id}}"), _DEEPLINK),
        (GoalSpec("install", "Install", "0.90", "1.20", is_default=True), _REG),
    ),
    OfferSpec(
        "Space Farm",
        "Space Farm — First Deposit",
        Offer.Type.CPA,
        "12.00",
        Offer.Visibility.APPROVAL,
        "Pays on the player's first in-game deposit. Tier 1 countries only.",
        (("Play Store", "landing", _PLAY),),
        (_REG, GoalSpec("deposit", "First deposit", "8.00", "12.00", ("dep", "ftd"), is_default=True)),
    ),
    OfferSpec(
        "Space Farm",
        "Space Farm — Spring Event",
        Offer.Type.CPI,
        "1.50",
        Offer.Visibility.PRIVATE,
        "Seasonal event campaign, paused until the next season.",
        (("Play Store", "landing", _PLAY),),
        (GoalSpec("install", "Install", "1.10", "1.50", is_default=True),),
        status=Status.PAUSED,
    ),
    OfferSpec(
        "Space Farm iOS",
        "Space Farm iOS — CPI Tier 1",
        Offer.Type.CPI,
        "2.50",
        Offer.Visibility.PUBLIC,
        "iPhone and iPad installs from US, GB, DE, FR, CA and AU.",
        (("App Store", "landing", f"{_APP_STORE}?cid={{click_id}}"), _DEEPLINK),
        (GoalSpec("install", "Install", "1.80", "2.50", is_default=True), _REG),
    ),
    OfferSpec(
        "Space Farm iOS",
        "Space Farm iOS — RevShare",
        Offer.Type.REVSHARE,
        "30",
        Offer.Visibility.PRIVATE,
        "30% of the player's deposits and purchases for the first 90 days.",
        (("App Store", "landing", f"{_APP_STORE}?cid={{click_id}}"),),
        (
            GoalSpec(
                "deposit", "Deposit", "30", "20.00", ("dep", "ftd"), is_default=True, payout_type=_PERCENT
            ),
            GoalSpec("purchase", "Purchase", "30", "9.99", payout_type=_PERCENT),
        ),
    ),
    OfferSpec(
        "Northwind Shop",
        "Northwind Shop — Sign-up",
        Offer.Type.CPL,
        "3.00",
        Offer.Visibility.PUBLIC,
        "A confirmed account on Northwind Shop. Double opt-in, no co-registration.",
        (
            ("Home", "landing", f"{_SHOP}?cid={{click_id}}"),
            ("Sale", "landing", f"{_SHOP}sale?cid={{click_id}}"),
        ),
        (GoalSpec("registration", "Registration", "2.00", "3.00", ("reg",), is_default=True),),
        category="E-commerce",
    ),
    OfferSpec(
        "Northwind Shop",
        "Northwind Shop — Sales",
        Offer.Type.CPS,
        "8",
        Offer.Visibility.APPROVAL,
        "8% of every order; returns are cancelled within 30 days.",
        (("Home", "landing", f"{_SHOP}?cid={{click_id}}"),),
        (GoalSpec("purchase", "Purchase", "8", "45.00", is_default=True, payout_type=_PERCENT), _REG),
        category="E-commerce",
    ),
)

_ALL_PUBLISHERS = ("Publisher Alpha", "Publisher Beta")
INTEGRATIONS: dict[str, tuple[str, ...]] = {
    "Space Farm": ("Meta Ads", "Google Ads", "Unity Ads", "AppLovin", "AdNet One", *_ALL_PUBLISHERS),
    "Space Farm iOS": ("Meta Ads", "Unity Ads", "AppLovin", "ClickFlow Media", "Publisher Alpha"),
    "Northwind Shop": ("Google Ads", "Meta Ads", "AdNet One", "ClickFlow Media", *_ALL_PUBLISHERS),
}
# (offer, goal code, partner, payout type, payout): publishers with a better deal.
PAYOUT_OVERRIDES: tuple[tuple[str, str, str, str, str], ...] = (
    ("Space Farm — CPI Worldwide", "install", "Publisher Alpha", PayoutType.FIXED, "1.00"),
    ("Northwind Shop — Sales", "purchase", "Publisher Beta", PayoutType.PERCENT, "10"),
)
IP_PRIVACY_PARTNERS = ("ClickFlow Media",)
# (offer, allowed countries, device types, operating systems, fallback offer): offers that take
# only some traffic (SPEC 4.5); clicks outside go to the fallback offer of the same app.
TARGETING: tuple[tuple[str, str, str, str, str], ...] = (
    ("Space Farm — First Deposit", "US GB DE FR CA AU", "", "", "Space Farm — CPI Worldwide"),
    ("Space Farm iOS — CPI Tier 1", "US GB DE FR CA AU", "mobile, tablet", "iOS", ""),
)
# (offer, partner or "", metric, period, limit): caps as a network sets them.
CAPS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Space Farm — First Deposit", "", "conversions", "daily", "40"),
    ("Northwind Shop — Sales", "Publisher Beta", "payout", "monthly", "500"),
)
# A publisher's smart link: (name, partner, mode, ((offer, weight), …)).
SMART_LINK = (
    "Alpha — all games",
    "Publisher Alpha",
    SmartLink.Mode.WEIGHT,
    (("Space Farm — CPI Worldwide", 3), ("Space Farm iOS — CPI Tier 1", 1)),
)
SMART_LINK_SHARE = 0.3  # of the smart link's partner's clicks on its entries' links

# Country → (language, share of the traffic).
COUNTRIES: dict[str, tuple[str, int]] = {
    "US": ("en", 30),
    "GB": ("en", 10),
    "DE": ("de", 10),
    "FR": ("fr", 7),
    "BR": ("pt", 9),
    "IN": ("hi", 9),
    "CA": ("en", 6),
    "AU": ("en", 5),
    "ES": ("es", 5),
    "MX": ("es", 5),
    "JP": ("ja", 4),
}
# Country → /16 networks of its consumer ISPs: the demo's visitors come from real public
# ranges, so the GeoIP data shipped with the product places them (country and organization),
# as it would real traffic. Checked against leads.geoip.lookup().
VISITOR_NETWORKS: dict[str, tuple[str, ...]] = {
    "US": ("73.15", "73.170", "98.210", "172.56", "99.100"),  # Comcast, T-Mobile, AT&T
    "GB": ("86.150", "82.10", "2.100", "81.100"),  # BT, Virgin Media, TalkTalk
    "DE": ("87.150", "79.200", "91.50", "188.100"),  # Deutsche Telekom, Vodafone
    "FR": ("90.50", "86.200", "78.200", "82.65"),  # Orange, Free
    "BR": ("177.100", "189.40", "179.100", "191.200"),  # Claro, TIM, Vivo
    "IN": ("49.36", "122.170", "106.200"),  # Jio, Airtel
    "CA": ("99.230", "70.30", "174.90"),  # Rogers, Bell
    "AU": ("120.150", "1.130", "101.180"),  # Telstra
    "ES": ("83.40", "88.20", "79.150"),  # Telefónica
    "MX": ("187.140", "189.200"),  # Telmex, Megacable
    "JP": ("153.200", "106.150", "126.100"),  # NTT, KDDI, SoftBank
}
# Cloud providers' networks (AWS, Google Cloud, Azure, DigitalOcean, Hetzner, OVH, Vultr, Linode).
DATACENTER_NETWORKS = ("52.95", "34.102", "20.190", "167.99", "88.198", "51.38", "45.32", "139.162")
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4"
_PIXEL = f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36"
_GALAXY = f"Mozilla/5.0 (Linux; Android 13; SM-S911B) {_WEBKIT} SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile"
_TAB = f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36"
_IPHONE = f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {_SAFARI} Mobile/15E148 Safari/604.1"
_IPHONE_16 = _IPHONE.replace("17_4", "16_7").replace("17.4", "16.6")
_IPAD = f"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) {_SAFARI} Mobile/15E148 Safari/604.1"
_WINDOWS = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36"
_MAC = f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) {_SAFARI} Safari/605.1.15"
# (device type, os, browser, user agent) per app platform.
DEVICES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    Platform.ANDROID: (
        ("mobile", "Android 14", "Chrome Mobile", _PIXEL),
        ("mobile", "Android 13", "Samsung Internet", _GALAXY),
        ("tablet", "Android 14", "Chrome", _TAB),
    ),
    Platform.IOS: (
        ("mobile", "iOS 17.4", "Mobile Safari", _IPHONE),
        ("mobile", "iOS 16.7", "Mobile Safari", _IPHONE_16),
        ("tablet", "iPadOS 17.4", "Mobile Safari", _IPAD),
    ),
    Platform.WEB: (
        ("desktop", "Windows 11", "Chrome", _WINDOWS),
        ("desktop", "macOS 14", "Safari", _MAC),
        ("mobile", "Android 14", "Chrome Mobile", _PIXEL),
        ("mobile", "iOS 17.4", "Mobile Safari", _IPHONE),
    ),
}
BOT_AGENTS = ("Mozilla/5.0 (compatible; AhrefsBot/7.0)", "python-requests/2.31.0")
REFERERS = ("https://news.example.com/tech/space-farm-review", "https://deals.example.com/spring", "")
CAMPAIGNS = ("spring_launch", "retarget_q2", "lookalike_1pct", "broad_tier1", "brand_always_on")
STATUS_WEIGHTS: dict[str, int] = {
    LeadStatus.APPROVED: 70,
    LeadStatus.NEW: 9,
    LeadStatus.PROCESSING: 3,
    LeadStatus.HOLD: 7,
    LeadStatus.CANCELLED: 7,
    LeadStatus.TRASH: 4,
}


@dataclass(frozen=True)
class SeedResult:
    """What `demo_seed` made: the organization and how much traffic it got."""

    organization: Organization
    clicks: int
    impressions: int
    leads: int


class _Seeder:
    """Builds the demo organization step by step; one instance per run."""

    def __init__(self, *, seed: int, clicks: int) -> None:
        self.rng = random.Random(seed)
        self.click_count = clicks
        self.now = timezone.now()
        self.partners: dict[str, Partner] = {}
        self.specs = {spec.name: spec for spec in PARTNERS}
        self.link_weights: dict[int, float] = {}
        self.exto_counter = 0
        self.datacenter_rules: dict[int, ScreeningRule] = {}
        self.datacenters = datacenters.networks_of(list(datacenters.shipped()))

    def run(self) -> SeedResult:
        self.organization = Organization.objects.create(name=DEMO_NAME, slug=DEMO_SLUG, currency="USD")
        self.create_channels()
        self.create_partners()
        self.create_logins()
        self.create_apps()
        self.create_offers()
        self.create_integrations()
        self.create_traffic_rules()
        links = list(
            TrackingLink.objects.filter(organization=self.organization)
            .select_related("integration", "partner", "offer__app", "landing")
            .order_by("pk")
        )
        self.links = {link.pk: link for link in links}
        clicks = self.create_clicks(links)
        impressions = self.create_impressions(links)
        leads = self.create_leads(clicks)
        self.count_caps()
        create_demo_deliveries(self.organization, self.rng, self.now)
        # The traffic was bulk-inserted: fold it into the report rollups in one go.
        rollup_rebuild()
        return SeedResult(self.organization, len(clicks), impressions, leads)

    # -- configuration -------------------------------------------------------------

    def create_channels(self) -> None:
        self.channels = {
            name: channel_get_or_create(organization=self.organization, name=name) for name in CHANNELS
        }

    def create_partners(self) -> None:
        for spec in PARTNERS:
            slug = spec.name.lower().replace(" ", "-")
            self.partners[spec.name] = Partner.objects.create(
                organization=self.organization,
                name=spec.name,
                kind=spec.kind,
                default_channel=self.channels[spec.channel],
                contact_name=spec.contact_name,
                contact_email=f"partners@{slug}.example.com" if spec.contact_name else "",
                website=f"https://{slug}.example.com/",
                preset_postback_url=spec.postback_url if spec.kind == Partner.Kind.BUILTIN else "",
                preset_parameters=list(spec.parameters) if spec.kind == Partner.Kind.BUILTIN else [],
                publisher_postback_url=spec.publisher_postback_url,
            )

    def create_logins(self) -> None:
        for username, role, partner_name in LOGINS:
            membership_create(
                organization=self.organization,
                username=username,
                email=f"{username}@northwind.example.com",
                password=DEMO_PASSWORD,
                role=role,
                partner=self.partners[partner_name] if partner_name else None,
            )
        users = get_user_model().objects.filter(membership__organization=self.organization)
        self.users = {user.username: user for user in users}
        Token.objects.create(user=self.users[MANAGER_USERNAME])
        authenticator_set(user=self.users[ADMIN_USERNAME], key=DEMO_TOTP_KEY)

    def create_apps(self) -> None:
        self.apps = {
            spec.name: App.objects.create(
                organization=self.organization,
                name=spec.name,
                platform=spec.platform,
                store_id=spec.store_id,
                default_url=spec.default_url,
            )
            for spec in APPS
        }

    def create_offers(self) -> None:
        self.offers: dict[str, Offer] = {}
        for spec in OFFERS:
            offer = Offer.objects.create(
                organization=self.organization,
                app=self.apps[spec.app],
                name=spec.name,
                type=spec.type,
                rate=Decimal(spec.rate),
                currency=self.organization.currency,
                category=spec.category,
                description=spec.description,
                visibility=spec.visibility,
                status=spec.status,
            )
            Landing.objects.bulk_create(
                Landing(offer=offer, name=name, kind=kind, url=url) for name, kind, url in spec.landings
            )
            for position, goal_spec in enumerate(spec.goals):
                self.create_goal(offer, goal_spec, position)
            self.create_creatives(offer)
            self.offers[spec.name] = offer
        self.create_payout_overrides()

    def create_creatives(self, offer: Offer) -> None:
        """Two banners per offer, drawn as SVG, for the portal's campaign page to offer for download."""
        for label, (width, height) in CREATIVE_SIZES.items():
            file = ContentFile(
                banner_svg(offer.name, width, height), name=f"{slugify(offer.name)}-{width}x{height}.svg"
            )
            Creative.objects.create(offer=offer, name=f"{label} {width}×{height} (SVG)", file=file)

    def create_goal(self, offer: Offer, spec: GoalSpec, position: int) -> None:
        goal = Goal.objects.create(
            offer=offer,
            code=spec.code,
            name=spec.name,
            payout_type=spec.payout_type,
            payout=Decimal(spec.payout),
            revenue=Decimal(spec.revenue),
            is_default=spec.is_default,
            position=position,
        )
        GoalAlias.objects.bulk_create(GoalAlias(goal=goal, offer=offer, code=code) for code in spec.aliases)

    def create_payout_overrides(self) -> None:
        for offer_name, code, partner_name, payout_type, payout in PAYOUT_OVERRIDES:
            GoalPartnerPayout.objects.create(
                goal=Goal.objects.get(offer=self.offers[offer_name], code=code),
                partner=self.partners[partner_name],
                payout_type=payout_type,
                payout=Decimal(payout),
            )

    def create_integrations(self) -> None:
        for app_name, partner_names in INTEGRATIONS.items():
            for partner_name in partner_names:
                spec = self.specs[partner_name]
                integration = integration_connect(
                    organization=self.organization,
                    app=self.apps[app_name],
                    partner=self.partners[partner_name],
                    postback_url=spec.postback_url,
                    parameters=spec.parameters,
                    actor=self.users[MANAGER_USERNAME],
                )
                if spec.is_publisher:
                    self.add_deeplink_links(integration)
        Integration.objects.filter(
            organization=self.organization, partner__name__in=IP_PRIVACY_PARTNERS
        ).update(ip_privacy=IpPrivacy.REPORTS)
        for integration in Integration.objects.filter(organization=self.organization):
            self.datacenter_rules[integration.pk] = ScreeningRule.objects.create(
                integration=integration,
                kind=ScreeningRule.Kind.DATACENTER,
                action=ScreeningRule.Action.FLAG,
                reason_code="datacenter",
            )

    def create_traffic_rules(self) -> None:
        """Targeting with a fallback, caps and a smart link, so each has something to show."""
        self.fallbacks: dict[int, tuple[frozenset[str], Offer | None]] = {}
        for name, countries, devices, systems, fallback in TARGETING:
            offer = self.offers[name]
            offer.allowed_countries, offer.device_types, offer.operating_systems = countries, devices, systems
            offer.fallback_offer = self.offers[fallback] if fallback else None
            offer.save()
            self.fallbacks[offer.pk] = (frozenset(countries.split()), offer.fallback_offer)
        self.caps = [
            Cap.objects.create(
                organization=self.organization,
                offer=self.offers[offer],
                partner=self.partners[partner] if partner else None,
                metric=metric,
                period=period,
                limit=Decimal(limit),
            )
            for offer, partner, metric, period, limit in CAPS
        ]
        name, partner_name, mode, entries = SMART_LINK
        partner = self.partners[partner_name]
        self.smart_link = SmartLink.objects.create(
            organization=self.organization, partner=partner, name=name, mode=mode, catch_all_url=_SHOP
        )
        self.smart_link_links: set[int] = set()
        for priority, (offer_name, weight) in enumerate(entries, start=1):
            link = TrackingLink.objects.filter(
                partner=partner, offer=self.offers[offer_name], landing=None
            ).first()
            link = link or TrackingLink.objects.filter(partner=partner, offer=self.offers[offer_name]).first()
            SmartLinkEntry.objects.create(
                smart_link=self.smart_link, link=link, priority=priority, weight=weight
            )
            self.smart_link_links.add(link.pk)

    def route(self, click: Click, link: TrackingLink) -> None:
        """What the click path does with the demo's targeting: outside it, the fallback offer."""
        allowed, fallback = self.fallbacks.get(link.offer_id, (None, None))
        if allowed is not None and click.country not in allowed and fallback is not None:
            click.redirect_reason = "country"
            click.offer_id = fallback.pk
            click.landing_id = fallback.landings.values_list("pk", flat=True).first()
            click.params = {**click.params, "redirected_from_offer": link.offer_id}
        if link.pk in self.smart_link_links and self.rng.random() < SMART_LINK_SHARE:
            click.smart_link = self.smart_link

    def add_deeplink_links(self, integration: Integration) -> None:
        """Publishers get a second link per mobile offer that opens the app directly."""
        deeplinks = Landing.objects.filter(
            offer__app=integration.app, offer__status=Status.ACTIVE, kind=Landing.Kind.DEEPLINK
        ).select_related("offer")
        for landing in deeplinks:
            tracking_link_create(
                integration=integration, offer=landing.offer, landing=landing, sub1="deeplink"
            )

    # -- traffic ---------------------------------------------------------------------

    def moment(self) -> datetime:
        """A time in the last TRAFFIC_DAYS, more of them lately: the demo is growing."""
        age = timedelta(days=TRAFFIC_DAYS) * (self.rng.random() ** 1.3) * 0.999
        return self.now - age

    def later(self, after: datetime, within: timedelta) -> datetime:
        """A time at most `within` after `after`, never in the future."""
        return min(after + within * self.rng.random() + timedelta(seconds=30), self.now)

    def weighted_links(self, links: Sequence[TrackingLink], count: int) -> list[TrackingLink]:
        """`count` links drawn with a fixed, per-link popularity (some flows carry most traffic)."""
        weights = [self.link_weights.setdefault(link.pk, self.rng.uniform(0.2, 3.0)) for link in links]
        return self.rng.choices(links, weights=weights, k=count)

    def device_fields(self, link: TrackingLink) -> dict[str, Any]:
        """What one visitor of this link looks like: device, ids, place, sub ids."""
        rng = self.rng
        platform = link.offer.app.platform
        device_type, os_name, browser, user_agent = rng.choice(DEVICES[platform])
        country, language = self.country()
        ip = self.visitor_ip(country)
        where = geoip.lookup(ip)
        fields: dict[str, Any] = {
            "device_type": device_type,
            "os": os_name,
            "browser": browser,
            "user_agent": user_agent,
            "country": where.country,
            "asn": where.asn,
            "as_org": where.as_org,
            "language": language,
            "ip": ip,
            "sub1": link.sub1 or rng.choice(self.specs[link.partner.name].sources),
            "sub2": rng.choice(CAMPAIGNS),
            "sub3": f"adset{rng.randint(1, 12)}",
            "referer": rng.choice(REFERERS) if platform == Platform.WEB else "",
        }
        device_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if platform == Platform.ANDROID:
            fields["gaid"] = device_id
        elif platform == Platform.IOS:
            fields["idfa"] = device_id.upper()
        return fields

    def visitor_ip(self, country: str) -> str:
        """A public address of the country's ISPs, now and then a cloud server's instead."""
        rng = self.rng
        networks = DATACENTER_NETWORKS if rng.random() < DATACENTER_RATE else VISITOR_NETWORKS[country]
        return f"{rng.choice(networks)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def link_ids(self, link: TrackingLink) -> dict[str, int]:
        """The foreign keys every traffic row copies from its link (ids: thousands of rows)."""
        return {
            "organization_id": self.organization.pk,
            "integration_id": link.integration_id,
            "link_id": link.pk,
            "partner_id": link.partner_id,
            "offer_id": link.offer_id,
        }

    def country(self) -> tuple[str, str]:
        code = self.rng.choices(list(COUNTRIES), weights=[share for _, share in COUNTRIES.values()])[0]
        return code, COUNTRIES[code][0]

    def create_clicks(self, links: Sequence[TrackingLink]) -> list[Click]:
        clicks = [self.click(link) for link in self.weighted_links(links, self.click_count)]
        clicks.sort(key=lambda click: click.created_at)
        return Click.objects.bulk_create(clicks, batch_size=BATCH_SIZE)

    def click(self, link: TrackingLink) -> Click:
        rng = self.rng
        spec = self.specs[link.partner.name]
        click = Click(
            **self.link_ids(link),
            landing_id=link.landing_id,
            partner_click_id=f"{rng.getrandbits(64):016x}",
            ref_id=f"p{rng.getrandbits(48):012x}" if spec.is_publisher else "",
            creative_id="" if spec.is_publisher else f"cr-{rng.randint(1, 40)}",
            created_at=self.moment(),
            **self.device_fields(link),
        )
        if rng.random() < BOT_RATE:
            click.user_agent = rng.choice(BOT_AGENTS)
            click.device_type, click.os, click.browser = "bot", "", ""
            click.verdict, click.verdict_reason = Verdict.REJECTED, "Bot user agent"
        matched = self.datacenters.match(click.asn, click.as_org)
        if matched is not None and click.verdict == Verdict.OK:  # what the demo's data-centre rule says
            click.verdict, click.verdict_reason = Verdict.FLAGGED, "datacenter"
            click.verdict_rule = self.datacenter_rules[link.integration_id]
            click.verdict_details = {"asn": click.asn, "as_org": click.as_org, "matched": matched}
        self.route(click, link)
        return click

    def count_caps(self) -> None:
        """The caps' use this period, as the bulk-made leads would have claimed it."""
        for cap in self.caps:
            rule = CapRule.of(cap, self.organization.time_zone)
            start = rule.period_start(self.now)
            opened = datetime.combine(start, time(0), tzinfo=ZoneInfo(self.organization.time_zone))
            leads = Lead.objects.filter(offer=cap.offer, verdict=Verdict.OK, created_at__gte=opened)
            if cap.partner_id:
                leads = leads.filter(partner=cap.partner)
            used = (
                leads.count() if cap.metric == Cap.Metric.CONVERSIONS else sum(lead.payout for lead in leads)
            )
            CapUse.objects.create(cap=cap, period_start=start, used=min(used, cap.limit))

    def create_impressions(self, links: Sequence[TrackingLink]) -> int:
        count = self.click_count * 3 // 2
        impressions = [
            Impression(
                **self.link_ids(link),
                created_at=self.moment(),
                **self.device_fields(link),
            )
            for link in self.weighted_links(links, count)
        ]
        Impression.objects.bulk_create(impressions, batch_size=BATCH_SIZE)
        return count

    # -- leads -----------------------------------------------------------------------

    def create_leads(self, clicks: Sequence[Click]) -> int:
        goals = self.goals_by_offer()
        overrides = {
            (o.goal_id, o.partner_id): o
            for o in GoalPartnerPayout.objects.filter(partner__in=self.partners.values())
        }
        leads: list[Lead] = []
        for click in clicks:
            if click.verdict != Verdict.OK or self.rng.random() >= LEAD_RATE:
                continue
            offer_goals = goals[click.offer_id]
            first = self.pick_goal(offer_goals)
            leads.append(self.lead(click, first, overrides.get((first.pk, click.partner_id))))
            # Some users go on to a later step of the funnel: a second lead, its own exto.
            later = [goal for goal in offer_goals if goal.position > first.position]
            if later and self.rng.random() < SECOND_LEAD_RATE:
                second = self.rng.choice(later)
                leads.append(self.lead(click, second, overrides.get((second.pk, click.partner_id))))
        leads = Lead.objects.bulk_create(leads, batch_size=BATCH_SIZE)
        LeadEvent.objects.bulk_create(self.events(leads), batch_size=BATCH_SIZE)
        return len(leads)

    def goals_by_offer(self) -> dict[int, list[Goal]]:
        goals: dict[int, list[Goal]] = {}
        for goal in Goal.objects.filter(offer__organization=self.organization).order_by(
            "offer", "position", "pk"
        ):
            goals.setdefault(goal.offer_id, []).append(goal)
        return goals

    def pick_goal(self, goals: Sequence[Goal]) -> Goal:
        """The default goal most of the time; deeper goals now and then."""
        return self.rng.choices(goals, weights=[4 if goal.is_default else 1 for goal in goals])[0]

    def lead(self, click: Click, goal: Goal, override: GoalPartnerPayout | None) -> Lead:
        rng = self.rng
        self.exto_counter += 1
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        created_at = self.later(click.created_at, timedelta(hours=36))
        changed_at = None
        if status != LeadStatus.NEW:
            changed_at = self.later(created_at, timedelta(days=3))
        payout, revenue = lead_money(goal, override)
        link = self.links[click.link_id]
        lead = Lead(
            **self.link_ids(link),
            app_id=link.offer.app_id,
            click=click,
            click_facts=click_facts(click),
            goal=goal,
            exto=f"nw-{self.exto_counter:06d}",
            status=status,
            payout=payout,
            revenue=revenue,
            currency=link.offer.currency,
            country=click.country,
            asn=click.asn,
            as_org=click.as_org,
            created_at=created_at,
            status_changed_at=changed_at,
        )
        lead_freeze_base(lead)
        return lead

    def events(self, leads: Sequence[Lead]) -> list[LeadEvent]:
        """A "created" event per lead, and the status change for those no longer new."""
        events: list[LeadEvent] = []
        for lead in leads:
            events.append(
                LeadEvent(
                    lead=lead,
                    kind=LeadEvent.Kind.CREATED,
                    source=LeadEvent.Source.POSTBACK,
                    to_status=LeadStatus.NEW,
                    to_goal=lead.goal.code,
                    to_payout=lead.payout,
                    to_revenue=lead.revenue,
                    to_payout_base=lead.payout_base,
                    to_revenue_base=lead.revenue_base,
                    created_at=lead.created_at,
                )
            )
            if lead.status != LeadStatus.NEW:
                events.append(self.status_event(lead))
        return events

    def status_event(self, lead: Lead) -> LeadEvent:
        """Trash is a manager's call in the admin; every other change came by postback."""
        by_admin = lead.status == LeadStatus.TRASH
        return LeadEvent(
            lead=lead,
            kind=LeadEvent.Kind.STATUS,
            source=LeadEvent.Source.ADMIN if by_admin else LeadEvent.Source.POSTBACK,
            actor=self.users[MANAGER_USERNAME] if by_admin else None,
            from_status=LeadStatus.NEW,
            to_status=lead.status,
            created_at=lead.status_changed_at,
        )


# -- deliveries --------------------------------------------------------------------

DEMO_DELIVERY_LEADS = 320
# (state, share): most postbacks went through; some failed for good, some wait for a retry.
DELIVERY_STATES = ((Delivery.State.DONE, 80), (Delivery.State.FAILED, 8), (Delivery.State.PENDING, 12))


def create_demo_deliveries(organization: Organization, rng: random.Random, now: datetime) -> int:
    """Partner and publisher postbacks, with attempts, for the latest demo leads.

    The URLs are the integrations' own templates filled by `lead_macro_values`, as a real
    conversion would send them; the demo receivers (*.example.com) are never dialed for done
    or failed rows, and pending ones wait hours for their retry.
    """
    leads = Lead.objects.filter(organization=organization).order_by("-created_at")[:DEMO_DELIVERY_LEADS]
    templates = {
        t.integration_id: t
        for t in PostbackTemplate.objects.filter(
            integration__organization=organization, goal__isnull=True, event=PostbackTemplate.Event.CONVERSION
        )
    }
    deliveries: list[Delivery] = []
    for lead_id in leads.values_list("pk", flat=True):
        lead = lead_for_delivery(lead_id)
        values = lead_macro_values(lead)
        template = templates.get(lead.integration_id)
        if template is not None:
            deliveries.append(
                _demo_delivery(lead, Delivery.Kind.PARTNER, render(template.url, values), template)
            )
        if lead.partner.publisher_postback_url:
            url = render(lead.partner.publisher_postback_url, values)
            deliveries.append(_demo_delivery(lead, Delivery.Kind.PUBLISHER, url, None))
    # The attempts set their delivery's state and counters, so they are drawn first.
    attempts = [attempt for delivery in deliveries for attempt in _demo_attempts(delivery, rng, now)]
    Delivery.objects.bulk_create(deliveries, batch_size=BATCH_SIZE)
    DeliveryAttempt.objects.bulk_create(attempts, batch_size=BATCH_SIZE)
    return len(deliveries)


def _demo_delivery(lead: Lead, kind: str, url: str, template: PostbackTemplate | None) -> Delivery:
    return Delivery(
        organization_id=lead.organization_id,
        kind=kind,
        event=PostbackTemplate.Event.CONVERSION,
        lead=lead,
        integration_id=lead.integration_id,
        partner_id=lead.partner_id,
        app_id=lead.app_id,
        template=template,
        url=url,
        created_at=lead.created_at,
    )


def _demo_attempts(delivery: Delivery, rng: random.Random, now: datetime) -> list[DeliveryAttempt]:
    """The delivery's attempts for its drawn state; sets its counters to match."""
    state = rng.choices([s for s, _ in DELIVERY_STATES], weights=[w for _, w in DELIVERY_STATES])[0]
    failures = {Delivery.State.DONE: rng.choice((0, 0, 0, 1)), Delivery.State.PENDING: rng.randint(1, 3)}
    answers = [(503, DeliveryAttempt.Outcome.RETRY)] * failures.get(state, 0)
    if state == Delivery.State.DONE:
        answers.append((200, DeliveryAttempt.Outcome.DONE))
    elif state == Delivery.State.FAILED:
        answers.append((rng.choice((400, 401, 404)), DeliveryAttempt.Outcome.FAILED))
    attempts = []
    for number, (status, outcome) in enumerate(answers, start=1):
        started = min(delivery.created_at + timedelta(minutes=2 ** (number - 1) - 1, seconds=2), now)
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                number=number,
                url_masked=delivery.url_masked,
                status_code=status,
                duration_ms=rng.randint(40, 900),
                response_start="ok" if status == 200 else f"Error {status}",
                error="" if status == 200 else f"The receiver answered {status}.",
                outcome=outcome,
                started_at=started,
            )
        )
    delivery.state, delivery.attempt_count = state, len(attempts)
    delivery.last_status_code = answers[-1][0]
    delivery.last_error = attempts[-1].error
    delivery.next_attempt_at = (
        now + timedelta(hours=rng.randint(1, 6)) if state == Delivery.State.PENDING else None
    )
    return attempts


# The demo's creatives: the two IAB banner sizes publishers ask for first.
CREATIVE_SIZES = {"Banner": (300, 250), "Leaderboard": (728, 90)}


def banner_svg(title: str, width: int, height: int) -> bytes:
    """A plain banner with the offer's name and a call to action, as an SVG file."""
    size = max(14, min(height // 4, width // 18))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#1f4e79"/>'
        f'<text x="50%" y="42%" fill="#ffffff" font-family="sans-serif" font-size="{size}" '
        f'text-anchor="middle">{escape(title)}</text>'
        f'<text x="50%" y="78%" fill="#ffd166" font-family="sans-serif" font-size="{size}" '
        'text-anchor="middle">Play free now</text></svg>'
    ).encode()


def lead_money(goal: Goal, override: GoalPartnerPayout | None = None) -> tuple[Decimal, Decimal]:
    """(publisher payout, advertiser revenue) of a lead on this goal, a partner override first."""
    payout_type, amount = (
        (override.payout_type, override.payout) if override else (goal.payout_type, goal.payout)
    )
    return Terms(payout_type, amount, goal.revenue).payout_on(goal.revenue), goal.revenue


def demo_organization() -> Organization | None:
    """The organization a summary is about: the demo's, else the first one there is."""
    return Organization.objects.filter(slug=DEMO_SLUG).first() or Organization.objects.order_by("pk").first()


@transaction.atomic
def demo_seed(*, seed: int = DEFAULT_SEED, clicks: int = DEFAULT_CLICKS) -> SeedResult:
    """Fill an empty database with the demo organization, all or nothing."""
    if Organization.objects.exists():
        raise DemoSeedError("The database already has an organization; the demo only goes into an empty one.")
    taken = sorted(
        get_user_model().objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True)
    )
    if taken:
        raise DemoSeedError(
            f"Logins the demo needs exist already: {', '.join(taken)}. Use an empty database."
        )
    if clicks < 1:
        raise DemoSeedError("The demo needs at least one click.")
    return _Seeder(seed=seed, clicks=clicks).run()


# -- the summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    username: str
    password: str | None
    role: str


@dataclass(frozen=True)
class DemoSummary:
    """Everything a first look needs: where to go, how to log in, which tokens to use."""

    organization: str
    base_url: str
    logins: list[Login]
    api_key: str | None
    apps: list[tuple[str, str]]
    integrations: list[tuple[str, str, str]]
    example_postback: str | None
    admin_authenticator_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "logins": [{"username": x.username, "password": x.password, "role": x.role} for x in self.logins],
            "api_key": self.api_key,
            "apps": [{"name": name, "token": token} for name, token in self.apps],
            "integrations": [
                {"app": app, "partner": partner, "token": token} for app, partner, token in self.integrations
            ],
            "example_postback": self.example_postback,
            "admin_authenticator_key": self.admin_authenticator_key,
        }

    def as_text(self) -> str:
        lines = [
            f"Partnerdesk demo: {self.organization}",
            "",
            f"  Admin (managers):  {self.base_url}/admin/",
            f"  API docs:          {self.base_url}/api/docs/",
            f"  Macro reference:   {self.base_url}/admin/macros/",
            "",
            "Logins (username, role, password)",
            *(f"  {x.username:<12} {x.role:<10} {x.password or '(set by you)'}" for x in self.logins),
            *(
                [
                    f"  {ADMIN_USERNAME} then asks for a code: `make demo-code` prints it, or add the key",
                    f"  {self.admin_authenticator_key} to an authenticator app (time-based, 6 digits).",
                ]
                if self.admin_authenticator_key
                else []
            ),
            "",
            f"API key (Authorization: Token …):  {self.api_key or '(none yet)'}",
            "",
            "App tokens, for lead and status postbacks (token=…)",
            *(f"  {name:<22} {token}" for name, token in self.apps),
            "",
            "Integration tokens, for server-to-server clicks and impressions (token=…)",
            *(f"  {f'{app} ← {partner}':<40} {token}" for app, partner, token in self.integrations),
            "",
            "Example lead postback (a real click; try it with curl)",
            f"  {self.example_postback or '(no clicks yet)'}",
        ]
        return "\n".join(lines)


_ROLE_ORDER = {role: position for position, role in enumerate(Role.values)}


def demo_summary(organization: Organization) -> DemoSummary:
    """The logins, API key and tokens of an organization, read from the database."""
    base_url = settings.PUBLIC_BASE_URL
    memberships = sorted(
        Membership.objects.filter(organization=organization).select_related("user"),
        key=lambda m: (_ROLE_ORDER.get(m.role, 99), m.user.username),
    )
    return DemoSummary(
        organization=organization.name,
        base_url=base_url,
        logins=[
            Login(m.user.username, _known_password(organization, m.user.username), m.role)
            for m in memberships
        ],
        api_key=_api_key(organization),
        apps=list(organization.apps.order_by("name").values_list("name", "token")),
        integrations=list(
            organization.integrations.order_by("app__name", "partner__name").values_list(
                "app__name", "partner__name", "token"
            )
        ),
        example_postback=_example_postback(organization, base_url),
        admin_authenticator_key=_demo_authenticator_key(organization),
    )


def demo_authenticator(organization: Organization) -> TOTPDevice | None:
    """The demo admin's authenticator, while it still has the demo's public secret."""
    if organization.slug != DEMO_SLUG:
        return None
    return TOTPDevice.objects.filter(
        user__username=ADMIN_USERNAME,
        user__membership__organization=organization,
        key=DEMO_TOTP_KEY,
        confirmed=True,
    ).first()


def _demo_authenticator_key(organization: Organization) -> str | None:
    device = demo_authenticator(organization)
    return authenticator_key(device) if device else None


def _known_password(organization: Organization, username: str) -> str | None:
    """The demo's password for the demo's own logins; nobody else's password is known."""
    return DEMO_PASSWORD if organization.slug == DEMO_SLUG and username in DEMO_USERNAMES else None


def _api_key(organization: Organization) -> str | None:
    tokens = Token.objects.filter(
        user__membership__organization=organization, user__membership__role__in=[Role.ADMIN, Role.MANAGER]
    )
    preferred = tokens.filter(user__username=MANAGER_USERNAME).first() or tokens.order_by("created").first()
    return preferred.key if preferred else None


def _example_postback(organization: Organization, base_url: str) -> str | None:
    """A lead postback for the latest click that has no lead yet, with its app's token."""
    click = (
        Click.objects.filter(organization=organization, verdict=Verdict.OK, leads__isnull=True)
        .select_related("offer__app")
        .order_by("-created_at", "-pk")
        .first()
    )
    if click is None:
        return None
    return f"{base_url}/postback/lead?token={click.offer.app.token}&click={click.click_id}&exto=demo-1"
