"""IP privacy: no page, API answer or export shows a full IP when it is on; "at rest" never stores it."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ingest.models import InboundPostback
from leads.models import Click, Impression, Lead
from leads.privacy import display_ip, stored_ip, truncate_ip
from partners.models import IpPrivacy, ScreeningRule
from tests.factories import IntegrationFactory
from tests.ingest.test_postback_support import make_world

FULL_IP = "203.0.113.57"
SHOWN_IP = "203.0.113.xxx"
CONVERSION_IP = "198.51.100.234"
SHOWN_CONVERSION_IP = "198.51.100.xxx"


def _traffic(client, world) -> Lead:
    """A screened click through /c/, an impression, and a conversion carrying the user's IP."""
    ScreeningRule.objects.create(
        integration=world.integration, kind="clicks_per_ip", threshold=1, action="flag", reason_code="ip"
    )
    client.get(
        f"/c/{world.link.code}?sub1=s1&ip={FULL_IP}", REMOTE_ADDR=FULL_IP, HTTP_USER_AGENT="Mozilla/5.0"
    )
    client.get(f"/i/{world.link.code}", REMOTE_ADDR=FULL_IP)
    click = Click.objects.get()
    response = client.post(
        "/api/v1/conversions",
        {"token": world.app.token, "sub_id": click.click_id, "conversion_ip": CONVERSION_IP, "exto": "p1"},
    )
    assert response.status_code == 200, response.content
    return Lead.objects.get()


@pytest.fixture
def private_world(organization):
    world = make_world(organization)
    world.integration.ip_privacy = IpPrivacy.REPORTS
    world.integration.save()
    return world


@pytest.fixture
def at_rest_world(organization):
    world = make_world(organization)
    world.integration.ip_privacy = IpPrivacy.AT_REST
    world.integration.save()
    return world


def _pages(client, lead: Lead) -> dict[str, str]:
    click, impression = Click.objects.get(), Impression.objects.get()
    urls = {
        "click list": reverse("admin:leads_click_changelist"),
        "click page": reverse("admin:leads_click_change", args=[click.pk]),
        "impression list": reverse("admin:leads_impression_changelist"),
        "impression page": reverse("admin:leads_impression_change", args=[impression.pk]),
        "lead list": reverse("admin:leads_lead_changelist"),
        "lead page": reverse("admin:leads_lead_change", args=[lead.pk]),
        "screening report": reverse("admin:leads_lead_screening_report"),
        "screening export": reverse("admin:leads_lead_screening_report") + "?export=csv",
    }
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        pages[name] = response.content.decode()
    return pages


def test_the_admin_pages_show_no_full_ip_when_privacy_is_on(client, manager, private_world):
    lead = _traffic(client, private_world)
    client.force_login(manager)

    pages = _pages(client, lead)

    for name, html in pages.items():
        assert FULL_IP not in html, name
        assert CONVERSION_IP not in html, name
    for name in ("click list", "click page", "impression list", "impression page"):
        assert SHOWN_IP in pages[name], name
    assert SHOWN_CONVERSION_IP in pages["lead page"]  # the lead's parameters and its postback's


def test_the_click_page_says_why_it_was_screened(client, manager, private_world):
    lead = _traffic(client, private_world)
    client.force_login(manager)

    html = client.get(reverse("admin:leads_click_change", args=[Click.objects.get().pk])).content.decode()

    assert "Flagged" in html and "<code>ip</code>" in html
    assert lead.verdict == "ok"


def test_the_api_shows_no_full_ip_when_privacy_is_on(client, api_client_for, manager, private_world):
    lead = _traffic(client, private_world)
    api = api_client_for(manager)

    answers = {
        "clicks": api.get("/api/v1/clicks/"),
        "leads": api.get("/api/v1/leads/"),
        "lead": api.get(f"/api/v1/leads/{lead.pk}/"),
        "report": api.get("/api/v1/leads/screening-report/"),
        "export": api.get("/api/v1/leads/screening-report/?export=csv"),
    }

    for name, response in answers.items():
        assert response.status_code == 200, name
        assert FULL_IP not in response.content.decode(), name
        assert CONVERSION_IP not in response.content.decode(), name
    click = answers["clicks"].json()["results"][0]
    assert (click["ip"], click["params"]["ip"], click["verdict_details"]["ip"]) == (
        SHOWN_IP,
        SHOWN_IP,
        SHOWN_IP,
    )
    assert answers["lead"].json()["params"]["conversion_ip"] == SHOWN_CONVERSION_IP


def test_with_privacy_off_the_full_ip_is_shown(client, api_client_for, manager, organization):
    world = make_world(organization)
    _traffic(client, world)

    click = api_client_for(manager).get("/api/v1/clicks/").json()["results"][0]

    assert click["ip"] == FULL_IP


def test_reports_privacy_still_stores_the_full_ip(client, private_world):
    _traffic(client, private_world)

    assert Click.objects.get().ip == FULL_IP


def _stored_text() -> str:
    """Everything the database holds about the traffic, as one text."""
    rows = [
        *Click.objects.values(),
        *Impression.objects.values(),
        *Lead.objects.values(),
        *InboundPostback.objects.values(),
    ]
    return json.dumps(rows, default=str)


def test_at_rest_the_full_ip_is_never_stored(client, at_rest_world):
    _traffic(client, at_rest_world)

    stored = _stored_text()

    assert FULL_IP not in stored
    assert CONVERSION_IP not in stored
    click = Click.objects.get()
    assert (click.ip, click.params["ip"]) == ("203.0.113.0", "203.0.113.0")
    assert Lead.objects.get().params["conversion_ip"] == "198.51.100.0"


def test_at_rest_the_click_api_log_keeps_no_full_ip(client, at_rest_world):
    url = (
        f"/api/v1/clicks?token={at_rest_world.integration.token}&no_redirect=true"
        f"&offer={at_rest_world.offer.pk}&click_ip={FULL_IP}"
    )

    client.post(url.split("?")[0], dict(pair.split("=") for pair in url.split("?")[1].split("&")))

    assert Click.objects.get().ip == "203.0.113.0"
    assert FULL_IP not in _stored_text()


def test_at_rest_a_refused_postback_keeps_no_full_ip(client, at_rest_world):
    client.get(f"/postback/lead?token={at_rest_world.app.token}&click=nope&conversion_ip={CONVERSION_IP}")

    inbound = InboundPostback.objects.get()
    assert inbound.outcome == "rejected"
    assert inbound.params["conversion_ip"] == "198.51.100.0"


def test_at_rest_per_ip_filters_count_per_network(client, at_rest_world):
    ScreeningRule.objects.create(
        integration=at_rest_world.integration,
        kind="clicks_per_ip",
        threshold=2,
        action="flag",
        reason_code="ip",
    )

    client.get(f"/c/{at_rest_world.link.code}", REMOTE_ADDR="203.0.113.1")
    client.get(f"/c/{at_rest_world.link.code}", REMOTE_ADDR="203.0.113.2")

    second = Click.objects.latest("id")
    assert (second.verdict, second.verdict_details["ip"]) == ("flagged", "203.0.113.0")


@pytest.mark.parametrize(
    ("ip", "privacy", "shown"),
    [
        (FULL_IP, "off", FULL_IP),
        (FULL_IP, "reports", SHOWN_IP),
        ("203.0.113.0", "at_rest", SHOWN_IP),
        ("2001:db8:1:2::9", "reports", "2001:db8:1::/48"),
        ("not an ip", "reports", ""),
        ("", "reports", ""),
    ],
)
def test_display_ip_obfuscates_by_privacy(ip, privacy, shown):
    assert display_ip(ip, privacy) == shown


def test_stored_ip_truncates_only_at_rest():
    assert stored_ip(FULL_IP, "reports") == FULL_IP
    assert stored_ip(FULL_IP, "at_rest") == "203.0.113.0"
    assert truncate_ip("2001:db8:1:2::9") == "2001:db8:1::"


def _inbound_views(client, api_client_for, manager, inbound: InboundPostback) -> dict[str, str]:
    """The inbound log as a person sees it: the admin list and page, the API list and detail."""
    client.force_login(manager)
    api = api_client_for(manager)
    answers = {
        "admin list": client.get(reverse("admin:ingest_inboundpostback_changelist")),
        "admin page": client.get(reverse("admin:ingest_inboundpostback_change", args=[inbound.pk])),
        "api list": api.get("/api/v1/postbacks/"),
        "api detail": api.get(f"/api/v1/postbacks/{inbound.pk}/"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
    return {name: response.content.decode() for name, response in answers.items()}


def _assert_no_full_ip(views: dict[str, str], full: str, shown: str) -> None:
    for name, text in views.items():
        assert full not in text, name
    for name in ("admin page", "api list", "api detail"):  # the list page shows no parameters
        assert shown in views[name], name


def test_a_conversion_sent_with_the_app_token_shows_no_full_ip_in_the_inbound_log(
    client, api_client_for, manager, private_world
):
    _traffic(client, private_world)
    inbound = InboundPostback.objects.get(endpoint="conversion")
    assert (inbound.integration_id, inbound.lead_id) == (None, Lead.objects.get().pk)

    views = _inbound_views(client, api_client_for, manager, inbound)

    _assert_no_full_ip(views, CONVERSION_IP, SHOWN_CONVERSION_IP)


def test_a_lead_postback_sent_with_the_app_token_shows_no_full_ip_in_the_inbound_log(
    client, api_client_for, manager, private_world
):
    click = private_world.click(ip=FULL_IP)
    client.get(private_world.url("/postback/lead", click=click.click_id, ip=FULL_IP))
    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.integration_id) == ("created", None)

    views = _inbound_views(client, api_client_for, manager, inbound)

    _assert_no_full_ip(views, FULL_IP, SHOWN_IP)


def test_a_rejected_postback_shows_no_full_ip_when_any_integration_of_the_app_has_privacy_on(
    client, api_client_for, manager, private_world
):
    IntegrationFactory(organization=private_world.app.organization, app=private_world.app)  # privacy off
    client.get(private_world.url("/postback/lead", click="nope", conversion_ip=CONVERSION_IP))
    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.integration_id, inbound.lead_id) == ("rejected", None, None)

    views = _inbound_views(client, api_client_for, manager, inbound)

    _assert_no_full_ip(views, CONVERSION_IP, SHOWN_CONVERSION_IP)


def test_a_rejected_postback_shows_the_full_ip_when_no_integration_of_the_app_has_privacy_on(
    client, api_client_for, manager, organization
):
    world = make_world(organization)
    client.get(world.url("/postback/lead", click="nope", conversion_ip=CONVERSION_IP))

    answer = api_client_for(manager).get("/api/v1/postbacks/").json()["results"][0]

    assert answer["params"]["conversion_ip"] == CONVERSION_IP


def test_the_inbound_log_costs_the_same_queries_for_three_rows_as_for_one(
    client, api_client_for, manager, private_world
):
    click = private_world.click()
    api = api_client_for(manager)
    client.force_login(manager)
    pages = (reverse("admin:ingest_inboundpostback_changelist"), "/api/v1/postbacks/")

    def costs() -> list[int]:
        counts = []
        for url in pages:
            with CaptureQueriesContext(connection) as queries:
                assert (api if url.startswith("/api/") else client).get(url).status_code == 200
            counts.append(len(queries.captured_queries))
        return counts

    client.get(private_world.url("/postback/lead", click="nope", conversion_ip=CONVERSION_IP))
    one_row = costs()
    client.get(private_world.url("/postback/lead", click=click.click_id, ip=FULL_IP))
    client.get(private_world.url("/postback/lead", click="nope-2", conversion_ip=CONVERSION_IP))

    assert InboundPostback.objects.count() == 3
    assert costs() == one_row
