"""The postback debugger: what it predicts is what the real endpoint then does, and it writes nothing.

Each protocol test runs the debugger on a URL, checks that no row moved, then sends the same
URL to the real endpoint and compares: status code, JSON answer, the lead's status, goal and
money, its verdict, the deliveries and the inbound log row. Ids given at creation (a new
lead's, a new click's) are the dry run's own and are left out of the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from pytest_httpserver import HTTPServer

from accounts.models import Role
from config import hotcache
from config.celery import app as celery_app
from config.money import money_text
from ingest import protocol
from ingest.debugger import Debugged, DebugRefused, postback_debug
from ingest.models import InboundPostback
from leads import linkcache
from leads.models import Click, Impression, Lead, LeadEvent
from partners.models import PostbackTemplate, ScreeningRule
from postbacks.models import Delivery
from tests.factories import MembershipFactory, OrganizationFactory, PartnerFactory
from tests.ingest.test_postback_support import make_world

LEAD = "/api/site/click.json"
STATUS = "/api/site/status.json"
CONVERSIONS = "/api/v1/conversions"
PAGE = "admin:ingest_inboundpostback_debugger"
API = "/api/v1/postbacks/debug/"
PARTNER_URL = (
    "https://partner.example/pb?click={click_id}&goal={goal}&status={status}&payout={payout}&api_key=s3cr3t"
)


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.INGEST_SPOOL_DIR = tmp_path / "spool"


@pytest.fixture
def world(organization):
    world = make_world(organization)
    for event in (PostbackTemplate.Event.CONVERSION, PostbackTemplate.Event.STATUS):
        PostbackTemplate.objects.create(integration=world.integration, url=PARTNER_URL, event=event)
    return world


@pytest.fixture
def click(world):
    return world.click(user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", ip="203.0.113.9")


def _rows() -> tuple[int, ...]:
    models = (Lead, LeadEvent, Delivery, InboundPostback, Click, Impression)
    return tuple(model.objects.count() for model in models)


def _without_new_ids(answer: Any) -> Any:
    """The answer without the ids a creation gives (the dry run's differ from the real request's)."""
    if not isinstance(answer, dict):
        return answer
    answer = dict(answer)
    if answer.get("created") is True:
        answer["lead"] = {**answer["lead"], "id": "new"}
    if "click_id" in answer:
        answer["click_id"] = "new"
    return answer


def _send(client, url: str, method: str, body: str):
    if method == "POST":
        return client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    return client.get(url)


def debug_then_real(client, organization, url: str, *, method: str = "GET", body: str = "") -> Debugged:
    """Debug the request (asserting it wrote nothing), send it for real, assert both agree."""
    before = _rows()
    predicted = postback_debug(organization=organization, url=url, method=method, body=body)
    assert _rows() == before, "the debugger wrote rows"

    response = _send(client, url, method, body)

    assert predicted.status_code == response.status_code
    assert _without_new_ids(predicted.answer) == _without_new_ids(response.json())
    inbound = InboundPostback.objects.latest("id")
    assert predicted.inbound == {
        "outcome": inbound.outcome,
        "http_status": inbound.http_status,
        "reason": inbound.reason,
    }
    _assert_same_lead(predicted, inbound)
    real_deliveries = Delivery.objects.filter(lead_event__inbound=inbound).order_by("id")
    assert [(d["kind"], d["event"], d["state"], d["url"]) for d in predicted.deliveries] == [
        (d.kind, d.event, d.state, d.url_masked) for d in real_deliveries
    ]
    return predicted


def _assert_same_lead(predicted: Debugged, inbound: InboundPostback) -> None:
    if inbound.lead_id is None:
        assert predicted.lead is None
        return
    lead = Lead.objects.select_related("goal").get(pk=inbound.lead_id)
    assert predicted.lead is not None
    shown = {key: value for key, value in predicted.lead.items() if key not in ("id", "created")}
    assert shown == {
        "status": lead.status,
        "goal": lead.goal.code if lead.goal_id else None,
        "payout": money_text(lead.payout),
        "revenue": money_text(lead.revenue),
        "currency": lead.currency,
        "exto": lead.exto,
        "verdict": lead.verdict,
        "verdict_reason": lead.verdict_reason,
    }


def _spooled(settings) -> list[Path]:
    spool = Path(str(settings.INGEST_SPOOL_DIR))
    return list(spool.iterdir()) if spool.exists() else []


def _step(debugged: Debugged, name: str) -> str:
    return next(step.result for step in debugged.steps if step.name == name)


# -- every protocol rule: the debugger predicts what the endpoint then does ----------------------


def test_a_new_lead_is_predicted_as_created_with_its_delivery(client, organization, world, click):
    debugged = debug_then_real(client, organization, world.url(LEAD, click=click.click_id, exto="e1"))

    assert debugged.answer["created"] is True
    assert "Would be created" in _step(debugged, "Lead")
    assert _step(debugged, "Key") == "(click, exto “e1”)."
    assert f"App “{world.app.name}”" in _step(debugged, "Token and scope")
    assert f"Click {click.click_id}" in _step(debugged, "Target")
    assert _step(debugged, "Goal") == "install: no goal was sent, so the offer's default goal counts."
    assert [delivery["kind"] for delivery in debugged.deliveries] == ["partner"]
    assert debugged.deliveries[0]["url"].endswith("&api_key=***")
    assert "s3cr3t" not in debugged.deliveries[0]["url"]


def test_a_repeated_creation_is_predicted_as_the_existing_lead(client, organization, world, click):
    url = world.url(LEAD, click=click.click_id, exto="e1")
    client.get(url)

    debugged = debug_then_real(client, organization, url)

    assert debugged.answer["created"] is False
    assert debugged.answer["lead"]["id"] == Lead.objects.get().pk
    assert "its key is taken" in _step(debugged, "Lead")
    assert debugged.deliveries == []


def test_a_status_by_synonym_is_predicted_with_the_word_that_matched(client, organization, world, click):
    client.get(world.url(LEAD, click=click.click_id))

    debugged = debug_then_real(
        client, organization, world.url(STATUS, click=click.click_id, status="confirmed")
    )

    assert debugged.lead["status"] == "approved"
    assert _step(debugged, "Status").startswith("“confirmed” → approved, recognized by the synonym table")
    assert [delivery["event"] for delivery in debugged.deliveries] == ["status"]


def test_a_status_by_an_st_override_is_predicted_with_the_parameter_that_matched(
    client, organization, world, click
):
    client.get(world.url(LEAD, click=click.click_id))

    url = world.url(STATUS, click=click.click_id, status="lead_ok", sta="done,lead_ok")
    debugged = debug_then_real(client, organization, url)

    assert debugged.lead["status"] == "approved"
    assert _step(debugged, "Status").startswith("“lead_ok” → approved, recognized by your own word in sta")


def test_the_same_status_twice_is_predicted_as_unchanged(client, organization, world, click):
    client.get(world.url(LEAD, click=click.click_id))
    url = world.url(STATUS, click=click.click_id, status="approved")
    client.get(url)

    debugged = debug_then_real(client, organization, url)

    assert debugged.inbound["outcome"] == "unchanged"
    assert debugged.events == [] and debugged.deliveries == []


def test_an_unknown_goal_is_predicted_as_422(client, organization, world, click):
    debugged = debug_then_real(client, organization, world.url(LEAD, click=click.click_id, goal="purchase"))

    assert debugged.status_code == 422
    assert "Unknown goal “purchase”" in debugged.answer["error"]


def test_a_goal_alias_is_predicted_with_the_alias_that_matched(client, organization, world, click):
    debugged = debug_then_real(client, organization, world.url(LEAD, click=click.click_id, goal="reg"))

    assert debugged.lead["goal"] == "registration"
    assert debugged.lead["payout"] == "3.00"
    assert _step(debugged, "Goal") == "registration, found by the alias “reg”."


def test_an_unrecognized_status_is_predicted_as_422_naming_the_value(client, organization, world, click):
    client.get(world.url(LEAD, click=click.click_id))

    debugged = debug_then_real(client, organization, world.url(STATUS, click=click.click_id, status="weird"))

    assert debugged.status_code == 422
    assert "“weird”" in debugged.answer["error"]


def test_a_wrong_token_is_predicted_as_401(client, organization, world, click):
    url = f"{LEAD}?token=not-a-real-token&click={click.click_id}"

    debugged = debug_then_real(client, organization, url)

    assert debugged.status_code == 401
    assert _step(debugged, "Token and scope").startswith("Unknown")


def test_another_organizations_token_looks_unknown(client, organization, world, click):
    other = make_world(OrganizationFactory(name="Rival Ltd", slug="rival"))
    other_click = other.click()
    url = other.url(LEAD, click=other_click.click_id)
    wrong = postback_debug(
        organization=organization, url=f"{LEAD}?token=not-a-real-token&click={other_click.click_id}"
    )
    before = _rows()

    debugged = postback_debug(organization=organization, url=url)

    assert _rows() == before
    assert (debugged.status_code, debugged.answer) == (wrong.status_code, wrong.answer) == (401, wrong.answer)
    shown = str(debugged.as_json())
    assert other.app.name not in shown and other.offer.name not in shown
    # The token is real: its own organization's debugger (and endpoint) takes it.
    assert postback_debug(organization=other.app.organization, url=url).status_code == 200


def test_an_unknown_click_is_predicted_as_404(client, organization, world):
    debugged = debug_then_real(client, organization, world.url(LEAD, click="nosuchclick"))

    assert debugged.status_code == 404
    assert _step(debugged, "Lead").startswith("None: Click not found")


def test_a_screening_rejection_is_predicted_with_its_reason(client, organization, world):
    ScreeningRule.objects.create(
        integration=world.integration, kind="bot_user_agent", action="reject", reason_code="bot"
    )
    bot_click = world.click(user_agent="curl/8.5.0")

    debugged = debug_then_real(client, organization, world.url(LEAD, click=bot_click.click_id))

    assert (debugged.lead["verdict"], debugged.lead["verdict_reason"], debugged.lead["payout"]) == (
        "rejected",
        "bot",
        "0.00",
    )
    assert _step(debugged, "Screening").startswith("rejected: bot")
    assert debugged.deliveries == []  # a rejected lead is not posted back


def test_a_source_refused_by_the_blacklist_is_predicted_as_422(client, organization, world):
    world.integration.source_entries.create(list="black", source="bad-src")
    refused_click = world.click(sub1="bad-src")

    debugged = debug_then_real(client, organization, world.url(LEAD, click=refused_click.click_id))

    assert debugged.status_code == 422 and "bad-src" in debugged.answer["error"]


def test_a_conversion_api_request_is_predicted(client, organization, world, click):
    url = world.url(
        CONVERSIONS,
        sub_id=click.click_id,
        external_transaction_id="T-1",
        third_party_status="approved",
        revenue="4.00",
        payout="1.20",
    )

    debugged = debug_then_real(client, organization, url)

    assert (debugged.lead["status"], debugged.lead["revenue"], debugged.lead["payout"]) == (
        "approved",
        "4.00",
        "1.20",
    )
    assert "Read by the conversion API as" in _step(debugged, "Parameters")
    assert _step(debugged, "Money").startswith("Payout 1.20 USD (from wm), revenue 4.00 USD (from pay)")


def test_a_post_with_a_form_body_is_predicted(client, organization, world, click):
    body = f"token={world.token}&click={click.click_id}&exto=p1"

    debugged = debug_then_real(
        client, organization, "https://track.example/postback/lead", method="POST", body=body
    )

    assert debugged.status_code == 200 and debugged.answer["lead"]["exto"] == "p1"


def test_a_click_api_request_is_predicted(client, organization, world):
    url = (
        f"/api/v1/clicks?token={world.integration.token}&offer={world.offer.pk}"
        "&no_redirect=true&sub_id=s1&click_ip=203.0.113.7"
    )
    before = _rows()

    debugged = postback_debug(organization=organization, url=url)

    assert _rows() == before
    response = client.get(url)
    assert (debugged.status_code, _without_new_ids(debugged.answer)) == (
        response.status_code,
        _without_new_ids(response.json()),
    )
    assert debugged.inbound["outcome"] == InboundPostback.objects.get().outcome == "created"
    assert f"Integration #{world.integration.pk}" in _step(debugged, "Token and scope")
    assert _step(debugged, "Screening").startswith("The click would be recorded, verdict ok")


def test_an_impression_api_request_with_a_wrong_token_is_predicted_as_401(client, organization, world):
    url = f"/api/v1/impressions?token=nope&offer={world.offer.pk}"

    debugged = postback_debug(organization=organization, url=url)

    response = client.get(url)
    assert (debugged.status_code, debugged.answer) == (401, response.json())


# -- nothing escapes the rollback -------------------------------------------------------------


def test_a_debug_run_moves_no_screening_counter(client, organization, world):
    ScreeningRule.objects.create(
        integration=world.integration,
        kind="conversions_per_ip",
        threshold=2,
        window_seconds=3600,
        action="reject",
        reason_code="too-many",
    )
    first, second = world.click(ip="198.51.100.1"), world.click(ip="198.51.100.1")
    postback_debug(organization=organization, url=world.url(LEAD, click=first.click_id))
    postback_debug(organization=organization, url=world.url(LEAD, click=first.click_id))

    client.get(world.url(LEAD, click=first.click_id))
    assert (
        Lead.objects.get().verdict == "ok"
    )  # would be the 3rd conversion of the IP had the debugger counted
    debugged = debug_then_real(client, organization, world.url(LEAD, click=second.click_id))
    assert debugged.lead["verdict"] == "rejected"  # the 2nd real one: predicted and done alike


@pytest.mark.django_db(transaction=True)
def test_a_debug_run_commits_nothing_and_wakes_no_broker(
    client, organization, world, click, settings, monkeypatch
):
    """Outside any test transaction: the debugger's own transaction is the outermost one, rolled back."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    sent: list[Any] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args, **options: sent.append(args[0]))
    url = world.url(LEAD, click=click.click_id)
    before = _rows()

    debugged = postback_debug(organization=organization, url=url)

    assert debugged.deliveries and sent == [] and _rows() == before
    client.get(url)
    assert sent == [[Delivery.objects.get().pk]]


def test_a_failure_during_a_debug_run_is_predicted_as_503_and_kept_nowhere(
    client, organization, world, click, monkeypatch, settings
):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(protocol, "lead_insert", broken)
    url = world.url(LEAD, click=click.click_id)
    before = _rows()

    debugged = postback_debug(organization=organization, url=url)

    assert debugged.status_code == 503
    assert "RuntimeError: boom" in _step(debugged, "Inbound log")
    assert _rows() == before
    assert _spooled(settings) == []
    assert client.get(url).status_code == 503
    assert InboundPostback.objects.get().outcome == "failed"  # the real request is kept


def test_a_database_error_during_a_debug_run_is_predicted_as_503(organization, world, click, monkeypatch):
    def broken(token):
        with connection.cursor() as cursor:  # on PostgreSQL this aborts the transaction it runs in
            cursor.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(linkcache, "app_for_token", broken)

    debugged = postback_debug(organization=organization, url=world.url(LEAD, click=click.click_id))

    assert debugged.status_code == 503
    assert "ProgrammingError" in _step(debugged, "Inbound log") or "OperationalError" in _step(
        debugged, "Inbound log"
    )


def test_after_a_debug_run_the_real_request_still_creates_the_lead(client, organization, world, click):
    url = world.url(LEAD, click=click.click_id, exto="x1")
    postback_debug(organization=organization, url=url)
    postback_debug(
        organization=organization, url=world.url(STATUS, click=click.click_id, exto="x1", status="sale")
    )

    response = client.get(url)

    assert response.status_code == 200 and response.json()["created"] is True
    lead = Lead.objects.get()
    assert (lead.pk, lead.exto, lead.status) == (response.json()["lead"]["id"], "x1", "new")
    status = client.get(world.url(STATUS, click=click.click_id, exto="x1", status="sale"))
    assert status.json()["lead"]["status"] == "approved"


def test_a_debug_run_leaves_the_hot_cache_as_it_found_it(organization, world, click):
    for url in (
        world.url(LEAD, click=click.click_id),
        f"/api/v1/clicks?token={world.integration.token}&code={world.link.code}&no_redirect=1",
    ):
        postback_debug(organization=organization, url=url)

    assert hotcache._entries == {}
    assert cache.get(linkcache.config_cache_key(world.integration.pk)) is None
    assert cache.get(linkcache.link_cache_key(world.link.code)) is None


def test_no_spool_file_and_no_failed_row_after_debug_runs(organization, world, click, settings):
    for url in (world.url(LEAD, click=click.click_id), world.url(STATUS, click="nope", status="x")):
        postback_debug(organization=organization, url=url)

    assert _spooled(settings) == []
    assert InboundPostback.objects.count() == 0


# -- what it refuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://track.example/admin/", "/c/ABCD-1234", "/api/v1/clicks/", "ftp://x/postback/lead", ""],
)
def test_a_url_that_is_no_inbound_endpoint_is_refused_with_a_sentence(organization, url):
    with pytest.raises(DebugRefused) as refused:
        postback_debug(organization=organization, url=url)

    assert str(refused.value).endswith(".")


def test_text_that_is_no_url_asks_for_the_whole_url(organization):
    with pytest.raises(DebugRefused) as refused:
        postback_debug(organization=organization, url="not a url")

    assert str(refused.value).startswith("That is not a postback URL: paste the whole URL")


def test_the_pasted_url_is_never_requested(organization, world, click):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        url = server.url_for(f"/postback/lead?token={world.token}&click={click.click_id}")
        debugged = postback_debug(organization=organization, url=url)
        assert debugged.status_code == 200
        assert server.log == []
    finally:
        server.stop()


# -- the admin page and the API ---------------------------------------------------------------


def test_the_page_shows_the_form(client, manager):
    client.force_login(manager)

    response = client.get(reverse(PAGE))

    assert response.status_code == 200
    assert b'name="url"' in response.content and b'name="method"' in response.content


def test_posting_a_url_shows_the_steps(client, manager, world, click):
    client.force_login(manager)

    response = client.post(
        reverse(PAGE), {"url": world.url(LEAD, click=click.click_id, goal="reg"), "method": "GET"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="step-goal"' in page and "registration, found by the alias “reg”." in page
    assert "Would be created" in page
    assert "partner.example/pb" in page and "s3cr3t" not in page
    assert Lead.objects.count() == 0


def test_an_analyst_may_use_the_page(client, analyst, world, click):
    client.force_login(analyst)

    response = client.post(reverse(PAGE), {"url": world.url(LEAD, click=click.click_id), "method": "GET"})

    assert response.status_code == 200 and b'id="debug-result"' in response.content


def test_the_page_refuses_a_url_that_is_not_an_endpoint_with_a_sentence(client, manager):
    client.force_login(manager)

    response = client.post(reverse(PAGE), {"url": "https://example.com/hello", "method": "GET"})

    assert "is not one of our inbound postback endpoints" in response.content.decode()
    assert b'id="debug-result"' not in response.content


def test_anonymous_visitors_and_publishers_are_sent_to_the_login(client, organization):
    assert client.get(reverse(PAGE))["Location"].startswith(reverse("admin:login"))
    publisher = MembershipFactory(
        organization=organization,
        role=Role.PUBLISHER,
        partner=PartnerFactory(organization=organization),
        user__is_staff=False,
    ).user
    client.force_login(publisher)

    response = client.get(reverse(PAGE))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_publisher_with_a_staff_flag_is_still_refused(client, organization):
    publisher = MembershipFactory(
        organization=organization, role=Role.PUBLISHER, partner=PartnerFactory(organization=organization)
    ).user
    client.force_login(publisher)

    assert client.get(reverse(PAGE)).status_code == 403


def test_the_admin_index_the_inbound_log_and_the_reference_link_to_the_page(client, manager):
    client.force_login(manager)
    target = reverse(PAGE)

    for page in (
        "admin:index",
        "admin:ingest_inboundpostback_changelist",
        "admin:leads_lead_postback_reference",
    ):
        assert f'href="{target}"' in client.get(reverse(page)).content.decode(), page


def test_the_api_answers_the_steps_as_json(api_client_for, analyst, world, click):
    url = world.url(STATUS, click=click.click_id, status="approved", auto="1")

    response = api_client_for(analyst).post(API, {"url": url, "method": "GET"}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert (body["status_code"], body["lead"]["status"], body["written"]) == (200, "approved", False)
    assert [step["step"] for step in body["steps"]][:4] == [
        "Endpoint",
        "Parameters",
        "Token and scope",
        "Target",
    ]
    assert [delivery["kind"] for delivery in body["deliveries"]] == ["partner"]
    assert Lead.objects.count() == 0


def test_the_api_treats_another_organizations_token_as_unknown(api_client_for, manager, world):
    other = make_world(OrganizationFactory(name="Rival Ltd", slug="rival"))
    url = other.url(LEAD, click=other.click().click_id)

    body = api_client_for(manager).post(API, {"url": url}, format="json").json()

    assert body["status_code"] == 401 and body["answer"]["error"].startswith("Wrong token")


def test_the_api_refuses_a_url_that_is_not_an_endpoint(api_client_for, manager):
    response = api_client_for(manager).post(API, {"url": "https://example.com/x"}, format="json")

    assert response.status_code == 400
    assert "is not one of our inbound postback endpoints" in response.json()["detail"]


def test_the_api_refuses_publishers(api_client_for, organization, world):
    publisher = MembershipFactory(
        organization=organization, role=Role.PUBLISHER, partner=PartnerFactory(organization=organization)
    ).user

    response = api_client_for(publisher).post(API, {"url": world.url(LEAD, click="x")}, format="json")

    assert response.status_code == 403
