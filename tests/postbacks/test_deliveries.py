"""Deliveries (SPEC 5.1–5.3): what a lead's change sends, and how the dispatcher sends it.

Every HTTP call goes to the local receiver on 127.0.0.1 through the real dispatch path
(`deliveries_dispatch_due`, what `manage.py deliveries_dispatch` and the workers run).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from werkzeug import Response

from leads.models import Lead, LeadEvent, LeadStatus, Verdict
from leads.outbound import lead_for_delivery, lead_macro_values, planned_deliveries
from leads.services import lead_set_status
from partners.macros import MACROS, render
from partners.models import IpPrivacy, PostbackTemplate, ScreeningRule
from postbacks.models import Delivery, DeliveryAttempt
from postbacks.outbound import POLICIES
from postbacks.services import deliveries_dispatch_due
from tests.ingest.test_postback_support import make_world

State = Delivery.State


@pytest.fixture(autouse=True)
def _embedded(settings):
    """No broker (the embedded default): the dispatcher finds rows as soon as they commit."""
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001


@pytest.fixture
def world(organization):
    return make_world(organization)


def template(world, url: str, **fields) -> PostbackTemplate:
    return PostbackTemplate.objects.create(integration=world.integration, url=url, **fields)


def create_lead(client, world, **params) -> Lead:
    click = params.pop("click", None) or world.click()
    query = {"token": world.token, "click": click.click_id, **params}
    response = client.get("/postback/lead", query)
    assert response.status_code == 200, response.content
    return Lead.objects.get(pk=response.json()["lead"]["id"])


def dispatch_until_settled(rounds: int = 50) -> None:
    """Run the dispatcher until nothing is pending (retry delays are compressed by the time scale)."""
    for _ in range(rounds):
        deliveries_dispatch_due()
        if not Delivery.objects.filter(state__in=[State.PENDING, State.SENDING]).exists():
            return
        time.sleep(0.01)
    raise AssertionError("deliveries still pending")


def query_of(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.query_string.decode()).items()}


# --- What a lead's change sends ----------------------------------------------------------------


def test_a_new_lead_sends_the_partners_install_postback_with_its_macro_values(client, world, httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    template(
        world, httpserver.url_for("/pb") + "?cid={click_id}&pcid={partner_click_id}&goal={goal}&p={payout}"
    )
    click = world.click(partner_click_id="their-42")

    lead = create_lead(client, world, click=click)
    dispatch_until_settled()

    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.event, delivery.state, delivery.lead) == (
        "partner",
        "conversion",
        "done",
        lead,
    )
    (request, _), *_ = httpserver.log
    assert query_of(request) == {"cid": click.click_id, "pcid": "their-42", "goal": "install", "p": "1.50"}


def test_the_goals_own_template_wins_over_the_install_template(client, world, httpserver):
    template(world, httpserver.url_for("/install"))
    template(world, httpserver.url_for("/reg"), goal=world.registration)

    create_lead(client, world, goal="reg")

    assert urlsplit(Delivery.objects.get().url).path == "/reg"


def test_a_lead_rejected_by_screening_is_not_posted_back(client, world, httpserver):
    template(world, httpserver.url_for("/pb"))
    partner = world.integration.partner
    partner.publisher_postback_url = httpserver.url_for("/pub") + "?clickid={ref_id}"
    partner.save()
    lead = create_lead(client, world)
    Lead.objects.filter(pk=lead.pk).update(verdict=Verdict.REJECTED)

    assert planned_deliveries(Lead.objects.get(pk=lead.pk), list(lead.events.all())) == []


def _reject_every_conversion(world) -> None:
    ScreeningRule.objects.create(
        integration=world.integration, kind="ctit", threshold=3600, action="reject", reason_code="too_fast"
    )


def test_a_lead_rejected_by_a_screening_rule_sends_no_conversion_postback(client, world, httpserver):
    _reject_every_conversion(world)
    template(world, httpserver.url_for("/pb") + "?cid={click_id}&s={status}")
    world.integration.partner.publisher_postback_url = httpserver.url_for("/pub") + "?clickid={ref_id}"
    world.integration.partner.save()

    lead = create_lead(client, world)

    assert lead.verdict == Verdict.REJECTED
    assert not Delivery.objects.exists()


def test_a_template_carrying_the_reason_macro_gets_a_rejection_postback(client, world, httpserver):
    _reject_every_conversion(world)
    template(world, httpserver.url_for("/pb") + "?cid={click_id}&s={status}&why={reject_reason}")
    world.integration.partner.publisher_postback_url = httpserver.url_for("/pub") + "?clickid={ref_id}"
    world.integration.partner.save()
    httpserver.expect_request("/pb").respond_with_data("ok")

    lead = create_lead(client, world)
    dispatch_until_settled()

    [delivery] = Delivery.objects.all()
    assert (delivery.kind, delivery.state) == (Delivery.Kind.PARTNER, State.DONE)
    [(request, _response)] = httpserver.log
    assert query_of(request) == {"cid": lead.click.click_id, "s": "rejected", "why": "too_fast"}


def test_the_reason_macro_is_empty_for_a_lead_that_passed(client, world, httpserver):
    template(world, httpserver.url_for("/pb") + "?s={status}&why={reject_reason}")

    create_lead(client, world)

    assert Delivery.objects.get().url == httpserver.url_for("/pb") + "?s=new&why="


def test_a_status_change_fires_status_templates_and_the_status_sync(client, world, httpserver):
    template(world, httpserver.url_for("/conv"))
    template(world, httpserver.url_for("/status") + "?s={status}", event=PostbackTemplate.Event.STATUS)
    world.integration.status_sync_url = httpserver.url_for("/sync") + "?lead={lead_id}&status={status}"
    world.integration.save()
    lead = create_lead(client, world)

    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.API)

    status_rows = Delivery.objects.filter(event="status").order_by("kind")
    assert [(d.kind, urlsplit(d.url).path) for d in status_rows] == [
        ("partner", "/status"),
        ("status_sync", "/sync"),
    ]
    assert parse_qs(urlsplit(status_rows[1].url).query) == {"lead": [str(lead.pk)], "status": ["approved"]}


def test_the_publisher_hears_of_conversions_and_of_approval(client, world, httpserver):
    partner = world.integration.partner
    partner.publisher_postback_url = httpserver.url_for("/pub") + "?clickid={ref_id}&payout={aff_payout}"
    partner.save()
    lead = create_lead(client, world, click=world.click(ref_id="pub-777"))
    lead_set_status(lead=lead, status=LeadStatus.HOLD, source=LeadEvent.Source.API)
    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.API)

    rows = Delivery.objects.filter(kind="publisher").order_by("pk")
    assert [row.event for row in rows] == ["conversion", "status"]
    assert parse_qs(urlsplit(rows[0].url).query) == {"clickid": ["pub-777"], "payout": ["1.50"]}


def test_a_delivery_is_written_in_the_transaction_of_the_lead_change(client, world, httpserver):
    template(world, httpserver.url_for("/status"), event=PostbackTemplate.Event.STATUS)
    lead = create_lead(client, world)

    with pytest.raises(RuntimeError), transaction.atomic():
        lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.API)
        assert Delivery.objects.count() == 1
        raise RuntimeError("the change is rolled back")

    assert Delivery.objects.count() == 0
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW


# --- Macros ------------------------------------------------------------------------------------


def test_every_macro_renders_url_encoded_from_the_lead(client, world):
    world.integration.channel = world.integration.channel or None
    click = world.click(
        sub1="a b&c",
        idfa="IDFA-1",
        gaid="g/1",
        android_id="and1",
        ref_id="r=1",
        creative_id="cr 9",
        os="Android 14",
        device_type="mobile",
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (X)",
        country="DE",
        language="de",
    )
    lead = create_lead(client, world, click=click, exto="ord 1")
    values = lead_macro_values(lead_for_delivery(lead.pk))
    url = render("https://x.example/?" + "&".join(f"{m.name}={{{m.name}}}" for m in MACROS), values)

    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query["sub1"] == ["a b&c"] and "sub1=a%20b%26c" in url
    assert query["exto"] == ["ord 1"] and query["ref_id"] == ["r=1"] and query["gaid"] == ["g/1"]
    assert query["device_id"] == ["IDFA-1"] and query["ip"] == ["203.0.113.7"]
    assert query["app_name"] == [world.app.name] and query["campaign_name"] == [world.offer.name]
    assert query["lead_id"] == [str(lead.pk)] and query["goal"] == ["install"]
    assert query["conversion_time"][0].endswith("Z") and query["timestamp"][0].isdigit()
    assert set(query) == {m.name for m in MACROS}


def test_a_macro_without_a_value_renders_empty(client, world):
    lead = create_lead(client, world)
    values = lead_macro_values(lead_for_delivery(lead.pk))

    assert render("https://x.example/?s={sub4}&e={exto}&c={channel}", values) == "https://x.example/?s=&e=&c="


def test_the_ip_is_obfuscated_when_the_integrations_ip_privacy_is_on(client, world):
    world.integration.ip_privacy = IpPrivacy.REPORTS
    world.integration.save()
    lead = create_lead(client, world, click=world.click(ip="203.0.113.57"))

    assert lead_macro_values(lead_for_delivery(lead.pk))["ip"] == "203.0.113.0"


# --- The dispatch path -------------------------------------------------------------------------


@pytest.mark.parametrize("failures", [1, 3])
def test_server_errors_are_retried_until_the_receiver_answers_200(client, world, httpserver, failures):
    for _ in range(failures):
        httpserver.expect_ordered_request("/pb").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/pb").respond_with_data("ok")
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    dispatch_until_settled()

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count) == (State.DONE, failures + 1)
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [503] * failures + [200]
    assert len(httpserver.log) == failures + 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_fail_after_exactly_one_attempt(client, world, httpserver, status):
    httpserver.expect_request("/pb").respond_with_data("no", status=status)
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    dispatch_until_settled()

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count, delivery.last_status_code) == (State.FAILED, 1, status)
    assert len(httpserver.log) == 1


def test_retries_stop_at_the_policys_last_attempt(client, world, httpserver, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(POLICIES, "partner", replace(POLICIES["partner"], max_attempts=3))
    httpserver.expect_request("/pb").respond_with_data("down", status=500)
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    dispatch_until_settled()

    assert (Delivery.objects.get().state, DeliveryAttempt.objects.count()) == (State.FAILED, 3)


def test_a_receiver_slower_than_the_timeout_is_cut_off(client, world, httpserver, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(POLICIES, "partner", replace(POLICIES["partner"], timeout=0.3))

    released = threading.Event()

    def slow(request):
        released.wait(timeout=1.0)
        return Response("late")

    httpserver.expect_request("/pb").respond_with_handler(slow)
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    deliveries_dispatch_due()
    # Let the receiver finish now, so its late answer is not logged into the next test.
    released.set()
    time.sleep(0.05)

    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code, attempt.error) == (
        "retry",
        None,
        "No answer within 0.3 seconds.",
    )
    assert attempt.duration_ms < 900
    assert Delivery.objects.get().state == State.PENDING


def test_a_redirect_is_a_failure_and_its_target_is_never_called(client, world, httpserver):
    httpserver.expect_request("/pb").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    dispatch_until_settled()

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == (State.FAILED, 302)
    assert "redirect" in delivery.last_error
    assert [request.path for request, _ in httpserver.log] == ["/pb"]


def test_retry_after_sets_the_next_attempt_time(client, world, httpserver, settings):
    settings.OUTBOUND_TIME_SCALE = 1.0
    httpserver.expect_request("/pb").respond_with_data("busy", status=429, headers={"Retry-After": "120"})
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)
    before = timezone.now()

    deliveries_dispatch_due()

    delivery = Delivery.objects.get()
    assert delivery.state == State.PENDING
    assert (
        before + timedelta(seconds=119) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=120)
    )


def test_backoff_delays_lie_within_the_jitter_bounds(client, world, httpserver, settings):
    settings.OUTBOUND_TIME_SCALE = 0.001
    policy = POLICIES["partner"]
    httpserver.expect_request("/pb").respond_with_data("down", status=503)
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    for number in (1, 2, 3):
        Delivery.objects.update(next_attempt_at=timezone.now())
        deliveries_dispatch_due()
        delivery = Delivery.objects.get()
        attempt_time = delivery.attempts.get(number=number).started_at
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (number - 1)) * 0.001
        waited = (delivery.next_attempt_at - attempt_time).total_seconds()
        assert ceiling * (1 - policy.jitter) <= waited <= ceiling + 1, number


def test_the_dispatch_command_sends_due_deliveries_once(client, world, httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)

    # One thread: pool threads have connections of their own, outside the test's transaction.
    call_command("deliveries_dispatch", "--once", "--threads", "1", stdout=StringIO())

    assert Delivery.objects.get().state == State.DONE


# --- SSRF ---------------------------------------------------------------------------------------


@override_settings(OUTBOUND_ALLOW_PRIVATE=False)
def test_a_template_to_a_private_address_is_refused_when_saved(world):
    from django.core.exceptions import ValidationError

    row = PostbackTemplate(integration=world.integration, url="http://10.0.0.5/pb?cid={click_id}")

    with pytest.raises(ValidationError, match="private network"):
        row.full_clean()


def test_a_delivery_to_a_private_address_is_refused_at_send(client, world, httpserver, settings):
    template(world, httpserver.url_for("/pb"))
    create_lead(client, world)
    settings.OUTBOUND_ALLOW_PRIVATE = False

    deliveries_dispatch_due()

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == (State.FAILED, None)
    assert "loopback" in delivery.last_error
    assert httpserver.log == []


# --- Re-send: API and admin -----------------------------------------------------------------------


@pytest.fixture
def failed_delivery(client, world, httpserver):
    httpserver.expect_ordered_request("/pb").respond_with_data("no", status=400)
    template(world, httpserver.url_for("/pb") + "?token=s3cret&cid={click_id}")
    create_lead(client, world)
    dispatch_until_settled()
    return Delivery.objects.get()


def test_resend_through_the_api_adds_exactly_one_attempt(
    api_client_for, manager, failed_delivery, httpserver
):
    httpserver.expect_ordered_request("/pb").respond_with_data("ok")

    response = api_client_for(manager).post(f"/api/v1/deliveries/{failed_delivery.pk}/resend/")

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "done" and body["attempt_count"] == 2
    assert [a["status_code"] for a in body["attempts"]] == [400, 200]
    assert "s3cret" not in response.content.decode() and "token=***" in body["url"]
    assert len(httpserver.log) == 2


def test_an_analyst_may_list_deliveries_but_not_resend_them(api_client_for, analyst, failed_delivery):
    api = api_client_for(analyst)

    assert api.get("/api/v1/deliveries/", {"state": "failed"}).json()["count"] == 1
    assert api.post(f"/api/v1/deliveries/{failed_delivery.pk}/resend/").status_code == 403
    assert DeliveryAttempt.objects.count() == 1


def test_another_organizations_delivery_is_not_found(api_client_for, other_organization, failed_delivery):
    from tests.factories import MembershipFactory

    outsider = MembershipFactory(organization=other_organization, role="manager").user

    assert (
        api_client_for(outsider).post(f"/api/v1/deliveries/{failed_delivery.pk}/resend/").status_code == 404
    )


def test_the_admin_lists_deliveries_masked_and_resends_them(client, manager, failed_delivery, httpserver):
    httpserver.expect_ordered_request("/pb").respond_with_data("ok")
    client.force_login(manager)

    listing = client.get("/admin/postbacks/delivery/", {"state__exact": "failed"})
    page = client.get(f"/admin/postbacks/delivery/{failed_delivery.pk}/change/")
    client.post(
        "/admin/postbacks/delivery/",
        {"action": "resend", "_selected_action": [failed_delivery.pk]},
    )

    assert listing.status_code == 200 and "token=***" in listing.content.decode()
    assert "s3cret" not in page.content.decode() and "Re-send now" in page.content.decode()
    assert Delivery.objects.get().state == State.DONE
    assert DeliveryAttempt.objects.filter(delivery=failed_delivery).count() == 2
