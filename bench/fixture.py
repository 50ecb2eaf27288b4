"""The benchmark's data, made through the project's own services: one of everything a click needs.

The bench link's integration screens its clicks with two rules, as a live one would: a count
rule (clicks per IP: one Redis round trip per click) and the bot user-agent rule. Both only
flag, so every click is still recorded and redirected. Its offer is targeted (countries,
devices, systems) with a fallback URL and has a daily cap; a smart link splits the partner's
clicks between it and a second offer. The click sections come from many public addresses
through one trusted proxy, so each click is placed by the GeoIP lookup.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Organization
from bench.wrk import USER_AGENT
from leads.clicks import click_record
from leads.linkcache import link_data
from partners.models import (
    App,
    Cap,
    Goal,
    GoalAlias,
    Integration,
    Landing,
    Offer,
    ScreeningRule,
    SmartLink,
    SmartLinkEntry,
    TrackingLink,
)
from partners.services import integration_connect
from partners.tracking import DEFAULT_PARAMETER_ROWS

LANDING_URL = "https://example.com/landing?cid={click_id}&s1={sub1}&pcid={partner_click_id}"


@dataclass(frozen=True)
class Fixture:
    """What the sections' URLs need: tokens, the link, a click and the baseline's foreign keys."""

    run_id: str
    app_token: str
    integration_token: str
    link_code: str
    smart_link_code: str
    click_id: str
    baseline_query: str


# The bench offer's targeting: the countries of the bench's visitors (bench/lua/click_geo.lua) and
# more, phones and desktops, the usual systems; outside it a click goes to the fallback URL.
TARGET_COUNTRIES = "US CA GB DE FR NL IT ES PL BR MX AR ZA NG KE IN ID PH JP KR AU SG TR"
TARGET_DEVICES = "mobile, tablet, desktop"
TARGET_SYSTEMS = "Android, iOS, Windows, Mac OS X"
FALLBACK_URL = "https://example.com/elsewhere?cid={click_id}"


def _offer(app: App, name: str = "Bench CPA") -> Offer:
    offer = Offer.objects.create(
        organization=app.organization,
        app=app,
        name=name,
        type=Offer.Type.CPA,
        rate=Decimal("2"),
        allowed_countries=TARGET_COUNTRIES,
        device_types=TARGET_DEVICES,
        operating_systems=TARGET_SYSTEMS,
        fallback_url=FALLBACK_URL,
    )
    Goal.objects.create(offer=offer, code="install", name="Install", payout=Decimal("1"), is_default=True)
    registration = Goal.objects.create(
        offer=offer, code="registration", name="Registration", payout=Decimal("2"), position=1
    )
    GoalAlias.objects.create(goal=registration, offer=offer, code="reg")
    Landing.objects.create(offer=offer, name="Main", url=LANDING_URL)
    return offer


def _screening_rules(integration: Integration) -> None:
    Kind, Action = ScreeningRule.Kind, ScreeningRule.Action
    ScreeningRule.objects.create(
        integration=integration,
        kind=Kind.CLICKS_PER_IP,
        threshold=1_000_000,
        window_seconds=3600,
        action=Action.FLAG,
        reason_code="ip_clicks",
    )
    ScreeningRule.objects.create(
        integration=integration, kind=Kind.BOT_USER_AGENT, action=Action.FLAG, reason_code="bot_ua"
    )


def _smart_link(link: TrackingLink) -> SmartLink:
    """A smart link splitting the bench partner's clicks 1:1 between the bench offer and a second one."""
    second = TrackingLink.objects.create(
        organization=link.organization,
        integration=link.integration,
        partner=link.partner,
        offer=_offer(link.offer.app, name="Bench CPA 2"),
    )
    smart_link = SmartLink.objects.create(
        organization=link.organization,
        partner=link.partner,
        name="Bench smart link",
        mode=SmartLink.Mode.WEIGHT,
        catch_all_url=FALLBACK_URL,
    )
    for entry in (link, second):
        SmartLinkEntry.objects.create(smart_link=smart_link, link=entry, weight=1)
    return smart_link


def create_fixture() -> Fixture:
    """A fresh organization per run, so runs never collide on unique keys."""
    run_id = secrets.token_hex(4)
    organization = Organization.objects.create(name=f"Bench {run_id}", slug=f"bench-{run_id}")
    app = App.objects.create(organization=organization, name="Bench App", default_url="https://example.com/")
    _offer(app)
    integration = integration_connect(
        organization=organization, app=app, partner_name="Bench Partner", parameters=DEFAULT_PARAMETER_ROWS
    )
    _screening_rules(integration)
    link = integration.links.get()
    smart_link = _smart_link(link)
    # One cap, as a live offer has: the clicks read its state from the link's cached data, every
    # lead claims it (one conditional UPDATE); it is far from full, so nothing is redirected.
    Cap.objects.create(
        organization=organization,
        offer=link.offer,
        metric=Cap.Metric.CONVERSIONS,
        period=Cap.Period.DAILY,
        limit=Decimal("100000000"),
    )
    click = click_record(
        link=link_data(link.code),
        fields={"ip": "203.0.113.7", "user_agent": USER_AGENT, "partner_click_id": "bench", "sub1": "s"},
    )
    ids = {
        "organization": organization.pk,
        "integration": integration.pk,
        "link": link.pk,
        "partner": link.partner_id,
        "offer": link.offer_id,
    }
    return Fixture(
        run_id=run_id,
        app_token=app.token,
        integration_token=integration.token,
        link_code=link.code,
        smart_link_code=smart_link.code,
        click_id=click.click_id,
        baseline_query="&".join(f"{name}={value}" for name, value in ids.items()),
    )
