"""`manage.py seed_demo`: a believable demo organization in an empty database, and nothing else."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from rest_framework.authtoken.models import Token

from accounts.models import Membership, Organization, Role
from demo.seed import DEMO_PASSWORD, lead_money
from leads import datacenters, geoip
from leads.models import Click, Impression, Lead, LeadEvent, LeadStatus
from partners.macros import errors_of
from partners.models import (
    App,
    Channel,
    Goal,
    GoalAlias,
    GoalPartnerPayout,
    Integration,
    Offer,
    Partner,
    PostbackTemplate,
    ScreeningRule,
)

pytestmark = pytest.mark.django_db

CLICKS = 300
LOGINS = {
    "admin": Role.ADMIN,
    "manager": Role.MANAGER,
    "analyst": Role.ANALYST,
    "publisher1": Role.PUBLISHER,
    "publisher2": Role.PUBLISHER,
}


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """The demo's five logins need five password hashes; the slow hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--clicks", str(CLICKS), *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (
        Organization,
        Membership,
        App,
        Partner,
        Integration,
        Offer,
        Goal,
        Click,
        Impression,
        Lead,
        LeadEvent,
    )
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_creates_the_northwind_organization_with_channels_apps_and_partners():
    seed_demo()

    organization = Organization.objects.get()
    assert (organization.name, organization.slug, organization.currency) == (
        "Northwind Mobile",
        "northwind",
        "USD",
    )
    assert set(Channel.objects.values_list("name", flat=True)) == {
        "Social",
        "Search",
        "Affiliate",
        "Display",
        "Video",
    }
    assert App.objects.count() == 3
    assert set(App.objects.values_list("platform", flat=True)) == {"android", "ios", "web"}
    assert Partner.objects.filter(kind=Partner.Kind.BUILTIN).exclude(preset_postback_url="").count() == 4
    assert Partner.objects.filter(kind=Partner.Kind.CUSTOM).count() == 4


def test_every_demo_login_signs_in_with_the_demo_password_in_its_role():
    seed_demo()

    for username, role in LOGINS.items():
        request = RequestFactory().post("/admin/login/")
        user = authenticate(request=request, username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert user.membership.role == role
        assert user.is_staff == (role != Role.PUBLISHER)
    publishers = Membership.objects.filter(role=Role.PUBLISHER).values_list("partner__name", flat=True)
    assert set(publishers) == {"Publisher Alpha", "Publisher Beta"}


def test_the_demo_admin_gets_through_the_second_factor_with_the_printed_key_or_make_demo_code(client):
    output = seed_demo()
    key = output.split("or add the key\n", 1)[1].split(" to an authenticator", 1)[0].strip()
    code = io.StringIO()
    call_command("demo_code", stdout=code)
    from_key = totp(base64.b32decode(key.replace(" ", "")))

    client.post("/admin/login/", {"username": "admin", "password": DEMO_PASSWORD, "next": "/admin/"})
    gated = client.get("/admin/")
    answer = client.post("/admin/2fa/verify/", {"code": code.getvalue().strip(), "next": "/admin/"})

    assert code.getvalue().strip() == f"{from_key:06d}"
    assert gated.status_code == 302 and gated["Location"].startswith("/admin/2fa/verify/")
    assert answer.status_code == 302 and client.get("/admin/").status_code == 200


def test_the_manager_has_the_api_key():
    seed_demo()

    assert Token.objects.get().user.username == "manager"


def test_integrations_have_parameters_an_install_postback_and_tracking_links():
    seed_demo()

    integrations = Integration.objects.all()
    assert integrations.count() >= 9
    assert {i.partner.name for i in integrations} >= {
        "Meta Ads",
        "AdNet One",
        "Publisher Alpha",
        "Publisher Beta",
    }
    for integration in integrations:
        assert integration.parameters.filter(name__in=["partner_click_id", "sub1"]).count() == 2
        assert integration.links.exists(), integration
    assert (
        PostbackTemplate.objects.filter(goal=None).count()
        == integrations.exclude(partner__publisher_postback_url__gt="").count()
    )


def test_every_seeded_postback_url_passes_the_macro_validation():
    seed_demo()

    for url in PostbackTemplate.objects.values_list("url", flat=True):
        assert errors_of(url) == [], url
    for partner in Partner.objects.all():
        for url in (partner.preset_postback_url, partner.publisher_postback_url):
            assert not url or errors_of(url) == [], url


def test_offers_cover_every_type_with_goals_aliases_and_one_default_goal():
    seed_demo()

    assert set(Offer.objects.values_list("type", flat=True)) == set(Offer.Type.values)
    for offer in Offer.objects.all():
        assert offer.goals.filter(is_default=True).count() == 1, offer
        assert offer.landings.exists(), offer
    aliases = set(GoalAlias.objects.values_list("goal__code", "code"))
    assert {("registration", "reg"), ("deposit", "dep"), ("deposit", "ftd")} <= aliases
    assert GoalPartnerPayout.objects.exists()


def test_clicks_impressions_and_leads_lie_within_the_last_60_days():
    seed_demo()
    since = timezone.now() - timedelta(days=60)

    assert Click.objects.count() == CLICKS
    assert Impression.objects.exists()
    assert Lead.objects.exists()
    for model in (Click, Impression, Lead):
        assert not model.objects.filter(created_at__lt=since).exists(), model
        assert not model.objects.filter(created_at__gt=timezone.now()).exists(), model


def test_leads_are_priced_from_their_goal_and_carry_their_events():
    seed_demo()

    for lead in Lead.objects.select_related("goal"):
        override = GoalPartnerPayout.objects.filter(goal=lead.goal, partner_id=lead.partner_id).first()
        assert (lead.payout, lead.revenue) == lead_money(lead.goal, override)
        assert lead.events.filter(kind=LeadEvent.Kind.CREATED).count() == 1
        status_events = lead.events.filter(kind=LeadEvent.Kind.STATUS)
        assert status_events.count() == (0 if lead.status == LeadStatus.NEW else 1)
    assert Lead.objects.filter(status=LeadStatus.APPROVED).count() > Lead.objects.count() / 2


def test_json_output_parses_and_its_tokens_match_the_database():
    summary = json.loads(seed_demo("--json"))

    assert summary["organization"] == "Northwind Mobile"
    assert {(x["username"], x["role"], x["password"]) for x in summary["logins"]} == {
        (username, role, DEMO_PASSWORD) for username, role in LOGINS.items()
    }
    assert summary["api_key"] == Token.objects.get(user__username="manager").key
    assert {(a["name"], a["token"]) for a in summary["apps"]} == set(App.objects.values_list("name", "token"))
    assert {(i["app"], i["partner"], i["token"]) for i in summary["integrations"]} == set(
        Integration.objects.values_list("app__name", "partner__name", "token")
    )


def test_the_example_postback_names_a_real_click_and_its_apps_token():
    summary = json.loads(seed_demo("--json"))

    url = urlsplit(summary["example_postback"])
    assert f"{url.scheme}://{url.netloc}" == settings.PUBLIC_BASE_URL
    assert url.path == "/postback/lead"
    query = parse_qs(url.query)
    click = Click.objects.select_related("offer__app").get(click_id=query["click"][0])
    assert query["token"] == [click.offer.app.token]
    assert query["exto"] == ["demo-1"]


def test_text_output_shows_the_urls_logins_api_key_and_tokens():
    output = seed_demo()

    assert f"{settings.PUBLIC_BASE_URL}/admin/" in output
    assert f"{settings.PUBLIC_BASE_URL}/api/docs/" in output
    assert f"{settings.PUBLIC_BASE_URL}/admin/macros/" in output
    assert all(username in output for username in LOGINS)
    assert Token.objects.get().key in output
    assert all(token in output for token in App.objects.values_list("token", flat=True))
    assert all(token in output for token in Integration.objects.values_list("token", flat=True))


def test_if_empty_on_a_seeded_database_changes_nothing_and_prints_the_same_summary():
    first = json.loads(seed_demo("--json"))
    before = counts()

    again = json.loads(seed_demo("--if-empty", "--json"))

    assert counts() == before
    assert {k: v for k, v in again.items() if k != "example_postback"} == {
        k: v for k, v in first.items() if k != "example_postback"
    }


def test_json_on_a_seeded_database_prints_its_summary_and_changes_nothing():
    first = json.loads(seed_demo("--json"))
    before = counts()

    again = json.loads(seed_demo("--json"))

    assert counts() == before
    assert again["organization"] == first["organization"]
    assert again["apps"] == first["apps"] and again["integrations"] == first["integrations"]
    assert again["api_key"] == first["api_key"]


def test_the_example_postback_and_urls_use_the_servers_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8123"
    seed_demo()

    summary = json.loads(seed_demo("--json"))
    text = seed_demo("--if-empty")

    assert summary["example_postback"].startswith("http://127.0.0.1:8123/postback/lead?token=")
    assert "http://127.0.0.1:8123/admin/" in text
    assert "localhost:8000" not in text + json.dumps(summary)


def test_the_public_base_url_defaults_to_this_machine_on_port():
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    env["PORT"] = "8123"
    code = "import django; django.setup(); from django.conf import settings; print(settings.PUBLIC_BASE_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "http://localhost:8123"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_prints_its_urls_on_the_port_it_serves():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123"],
        env={k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "PORT")},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "http://127.0.0.1:8123/admin/" in result.stdout
    assert "http://127.0.0.1:8123/portal/" in result.stdout
    assert ":8000" not in result.stdout


def test_a_second_run_without_if_empty_refuses_with_a_clear_error():
    seed_demo()
    before = counts()

    with pytest.raises(CommandError, match=r"already has an organization .*--if-empty"):
        seed_demo()

    assert counts() == before


def test_seed_demo_refuses_when_a_demo_username_is_taken(django_user_model):
    django_user_model.objects.create_user(username="admin", password="x-secret-1")

    with pytest.raises(CommandError, match="admin"):
        seed_demo()

    assert not Organization.objects.exists()


class _Undo(Exception):
    """Raised to roll a seeded database back inside a test."""


def test_the_demos_clicks_are_placed_by_the_shipped_geoip_lookup():
    seed_demo()

    clicks = list(Click.objects.values_list("ip", "country", "as_org", "verdict_reason"))
    looked_up = {ip: geoip.lookup(ip) for ip, *_ in clicks}
    assert all(
        (country, org) == (looked_up[ip].country, looked_up[ip].as_org) for ip, country, org, _ in clicks
    )
    assert all(country and org for _ip, country, org, _ in clicks)
    assert len({country for _ip, country, _org, _ in clicks}) >= 8
    assert not Lead.objects.filter(country="").exists()


def test_the_demo_flags_its_data_centre_clicks_with_its_datacenter_rule():
    seed_demo()

    rules = ScreeningRule.objects.filter(kind=ScreeningRule.Kind.DATACENTER)
    assert rules.count() == Integration.objects.count()
    flagged = Click.objects.filter(verdict_reason="datacenter")
    assert 0 < flagged.count() < CLICKS // 10
    assert not flagged.exclude(verdict="flagged").exists()
    assert set(flagged.values_list("verdict_rule__kind", flat=True)) == {"datacenter"}
    assert datacenters.networks_of(list(datacenters.shipped())).match(None, flagged.first().as_org)


def traffic_shape() -> tuple[list[tuple], list[tuple]]:
    clicks = list(
        Click.objects.order_by("pk").values_list("partner__name", "sub1", "country", "device_type", "ip")
    )
    leads = list(Lead.objects.order_by("pk").values_list("goal__code", "status", "payout", "exto"))
    return clicks, leads


def test_the_same_seed_gives_the_same_traffic_and_leads():
    with pytest.raises(_Undo), transaction.atomic():
        seed_demo("--seed", "7")
        first = traffic_shape()
        raise _Undo

    seed_demo("--seed", "7")

    assert traffic_shape() == first


def test_the_demo_shows_targeting_caps_and_a_smart_link_at_work():
    from leads.caps import cap_uses
    from partners.models import Cap, Offer, SmartLink
    from reports.selectors import report_rows

    seed_demo()

    tier1 = Offer.objects.get(name="Space Farm — First Deposit")
    redirected = Click.objects.filter(redirect_reason="country", link__offer=tier1)
    assert redirected.exists()
    # Sent to the fallback offer, from countries outside the targeting only.
    assert set(redirected.values_list("offer_id", flat=True)) == {tier1.fallback_offer_id}
    assert not redirected.filter(country__in=tier1.allowed_countries.split()).exists()

    smart_link = SmartLink.objects.get()
    split = set(smart_link.clicks.values_list("offer__name", flat=True))
    assert split == {"Space Farm — CPI Worldwide", "Space Farm iOS — CPI Tier 1"}

    daily = Cap.objects.select_related("organization").get(period="daily")
    use = cap_uses([daily])[daily.pk]
    opened = use.resets_at - timedelta(days=1)
    today = Lead.objects.filter(offer=daily.offer, verdict="ok", created_at__gte=opened)
    assert use.used == min(today.count(), daily.limit)

    partner = redirected.first().partner
    by_reason = report_rows(
        partner_id=partner.pk,
        start=(timezone.now() - timedelta(days=61)).date(),
        end=timezone.now().date(),
        grouping="redirect",
    )
    assert (
        sum(row.clicks for row in by_reason)
        == Click.objects.filter(partner=partner).exclude(redirect_reason="").count()
    )


def test_every_demo_offer_has_banners_a_publisher_sees_and_downloads_on_its_campaign_page(client):
    from partners.models import Creative, TrackingLink

    seed_demo()
    assert all(offer.creatives.count() == 2 for offer in Offer.objects.all())
    publisher = Membership.objects.get(user__username="publisher1")
    link = TrackingLink.objects.filter(partner=publisher.partner).select_related("offer").first()
    client.force_login(publisher.user)

    page = client.get(reverse("portal:campaign", args=[link.offer_id])).content.decode()

    banner = Creative.objects.filter(offer=link.offer).first()
    assert banner.name in page
    assert reverse("portal:creative", args=[banner.pk]) in page
    download = client.get(reverse("portal:creative", args=[banner.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"<svg")
    assert link.offer.name in banner.file.open("rb").read().decode()
