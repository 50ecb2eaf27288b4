"""Traffic for report and portal tests: publishers, links, clicks, impressions and leads.

Rows go in with bulk_create like seeded data; the rollups are then built by the code under test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Membership, Organization, Role
from accounts.services import membership_create
from leads.models import Click, Impression, Lead, LeadStatus, click_facts
from leads.services import lead_freeze_base
from partners.models import Goal, Integration, Landing, Offer, Partner, SmartLink, TrackingLink
from tests.factories import (
    AppFactory,
    GoalFactory,
    IntegrationFactory,
    LandingFactory,
    OfferFactory,
    OrganizationFactory,
    PartnerFactory,
    TrackingLinkFactory,
)

PASSWORD = "pass-word-123"
COUNTRIES = ("DE", "US", "FR", "")
DEVICES = (("mobile", "Android"), ("mobile", "iOS"), ("desktop", "Windows"), ("", ""))
STATUSES = tuple(LeadStatus)
# (ASN, organization): with and without a number (the shipped GeoIP data has none), and unknown.
NETWORKS = ((None, ""), (None, "GOOGLE"), (15169, "GOOGLE"), (24940, "Hetzner Online GmbH"), (64512, ""))
REDIRECT_REASONS = ("", "", "country", "os", "cap")


@dataclass
class Publisher:
    """A partner with a publisher login, its integration, its links and its traffic."""

    partner: Partner
    membership: Membership
    integration: Integration
    links: list[TrackingLink] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    smart_link: SmartLink | None = None

    @property
    def user(self):
        return self.membership.user


@dataclass
class World:
    """An organization with two offers (one by approval, one private) and publishers A and B."""

    organization: Organization
    offers: list[Offer]
    goals: dict[int, Goal]
    a: Publisher
    b: Publisher


def make_publisher(organization: Organization, app, name: str, username: str) -> Publisher:
    partner = PartnerFactory(organization=organization, name=name)
    membership = membership_create(
        organization=organization,
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        role=Role.PUBLISHER,
        partner=partner,
    )
    integration = IntegrationFactory(organization=organization, app=app, partner=partner)
    smart_link = SmartLink.objects.create(
        organization=organization, partner=partner, name=f"{name} smart link"
    )
    return Publisher(partner=partner, membership=membership, integration=integration, smart_link=smart_link)


def make_world(*, min_payout: Decimal = Decimal("50.00")) -> World:
    organization = OrganizationFactory(name="Acme Games", slug="acme", min_payout=min_payout)
    app = AppFactory(organization=organization, name="Space Farm")
    offers = [
        OfferFactory(organization=organization, app=app, name="Space Farm CPI", category="Games"),
        OfferFactory(
            organization=organization, app=app, name="Space Farm CPA", visibility=Offer.Visibility.APPROVAL
        ),
        OfferFactory(
            organization=organization, app=app, name="Secret Deal", visibility=Offer.Visibility.PRIVATE
        ),
    ]
    goals = {}
    for offer in offers:
        LandingFactory(offer=offer, name=f"{offer.name} page")
        LandingFactory(
            offer=offer, name=f"{offer.name} deeplink", kind=Landing.Kind.DEEPLINK, url="app://open"
        )
        goals[offer.pk] = GoalFactory(offer=offer, code="install", name="Install", is_default=True)
    a = make_publisher(organization, app, "Alpha Media", "alpha")
    b = make_publisher(organization, app, "Beta Ads", "beta")
    for publisher in (a, b):
        for offer in offers[:2] if publisher is a else offers:
            publisher.links.append(
                TrackingLinkFactory(
                    integration=publisher.integration, offer=offer, landing=offer.landings.first()
                )
            )
    return World(organization=organization, offers=offers, goals=goals, a=a, b=b)


def _moment(rng: random.Random, days: int) -> datetime:
    return timezone.now() - timedelta(days=rng.randrange(days), minutes=rng.randrange(24 * 60))


def make_clicks(publisher: Publisher, count: int, *, seed: int = 1, days: int = 10) -> list[Click]:
    rng = random.Random(seed)
    # Its own sequence, so the other columns stay what they were before these existed.
    routing = random.Random(seed + 1000)
    clicks = []
    for n in range(count):
        link = rng.choice(publisher.links)
        asn, as_org = routing.choice(NETWORKS)
        device, os_name = rng.choice(DEVICES)
        landing = rng.choice([link.landing_id, None, *link.offer.landings.values_list("pk", flat=True)])
        clicks.append(
            Click(
                organization_id=link.organization_id,
                integration_id=link.integration_id,
                link=link,
                partner_id=link.partner_id,
                offer_id=link.offer_id,
                landing_id=landing,
                ref_id=f"ref-{seed}-{n}",
                ip=rng.choice(["203.0.113.7", "198.51.100.4", "192.0.2.1", ""]),
                country=rng.choice(COUNTRIES),
                device_type=device,
                os=os_name,
                sub1=rng.choice(["siteA", "siteB", ""]),
                sub2=rng.choice(["x", ""]),
                sub5=rng.choice(["p", "q"]),
                asn=asn,
                as_org=as_org,
                redirect_reason=routing.choice(REDIRECT_REASONS),
                smart_link=routing.choice([None, publisher.smart_link]),
                created_at=_moment(rng, days),
            )
        )
    publisher.clicks = Click.objects.bulk_create(clicks)
    return publisher.clicks


def make_impressions(publisher: Publisher, count: int, *, seed: int = 2, days: int = 10) -> None:
    rng = random.Random(seed)
    networks = random.Random(seed + 1000)
    rows = []
    for _ in range(count):
        link = rng.choice(publisher.links)
        asn, as_org = networks.choice(NETWORKS)
        rows.append(
            Impression(
                organization_id=link.organization_id,
                integration_id=link.integration_id,
                link=link,
                partner_id=link.partner_id,
                offer_id=link.offer_id,
                country=rng.choice(COUNTRIES),
                sub1=rng.choice(["siteA", ""]),
                asn=asn,
                as_org=as_org,
                created_at=_moment(rng, days),
            )
        )
    Impression.objects.bulk_create(rows)


def make_leads(world: World, publisher: Publisher, count: int, *, seed: int = 3) -> list[Lead]:
    """Leads on random clicks (each click at most once), plus one lead by flow without a click."""
    rng = random.Random(seed)
    # Some conversions were placed by their own IP (another country or network than their click's).
    places = random.Random(seed + 1000)
    leads = []
    for click in rng.sample(publisher.clicks, min(count, len(publisher.clicks))):
        goal = world.goals[click.offer_id]
        own = places.random() < 0.3
        asn, as_org = places.choice(NETWORKS) if own else (None, "")
        leads.append(
            Lead(
                organization_id=click.organization_id,
                app_id=goal.offer.app_id,
                integration_id=click.integration_id,
                partner_id=click.partner_id,
                offer_id=click.offer_id,
                link_id=click.link_id,
                click=click,
                click_facts=click_facts(click),
                goal=goal,
                status=rng.choice(STATUSES),
                payout=Decimal(rng.choice(["1.50", "2.25", "10.00"])),
                revenue=Decimal("3.00"),
                verdict_reason=rng.choice(["", "too fast"]),
                country=places.choice(COUNTRIES) if own else "",
                asn=asn,
                as_org=as_org,
                created_at=click.created_at + timedelta(minutes=5),
            )
        )
    link = publisher.links[0]
    leads.append(
        Lead(
            organization_id=link.organization_id,
            app_id=link.offer.app_id,
            integration_id=link.integration_id,
            partner_id=link.partner_id,
            offer_id=link.offer_id,
            link=link,
            exto=f"flow-{seed}",
            goal=world.goals[link.offer_id],
            status=LeadStatus.APPROVED,
            payout=Decimal("5.00"),
            revenue=Decimal("6.00"),
        )
    )
    for lead in leads:  # seeded leads keep their base amounts as the lead services would
        lead_freeze_base(lead)
    publisher.leads = Lead.objects.bulk_create(leads)
    return publisher.leads


def make_traffic(world: World, *, clicks: int = 120, leads: int = 40) -> None:
    for n, publisher in enumerate((world.a, world.b)):
        make_clicks(publisher, clicks, seed=10 + n)
        make_impressions(publisher, clicks * 2, seed=20 + n)
        make_leads(world, publisher, leads, seed=30 + n)
