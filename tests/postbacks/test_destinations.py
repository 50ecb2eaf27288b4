"""CleverTap as an app's destination (SPEC 5.4): every rule of the CleverTap seed, end to end.

Leads come in through the real postback endpoint; CLEVERTAP_BASE_URL points CleverTap's host
at the local receiver on 127.0.0.1.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from leads.models import Lead
from partners.models import Channel, Platform
from postbacks.clevertap import endpoint
from postbacks.models import CleverTapDestination, Delivery
from postbacks.services import CleverTapSettings, clevertap_destination_save, deliveries_dispatch_due
from tests.ingest.test_postback_support import make_world

PASSCODE = "1f81b71b91d84885a898911ab8722f34"
State = Delivery.State


@pytest.fixture(autouse=True)
def _local_clevertap(settings, httpserver):
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001
    settings.CLEVERTAP_BASE_URL = httpserver.url_for("/")


@pytest.fixture
def world(organization):
    world = make_world(organization)
    world.integration.channel = Channel.objects.create(organization=organization, name="Social")
    world.integration.save()
    world.app.platform = Platform.ANDROID
    world.app.save()
    return world


def destination(world, **changes) -> CleverTapDestination:
    values = CleverTapSettings(
        account_id=" W6W-797-865Z ",
        account_token="aca-060",
        passcode=f" {PASSCODE} ",
        partner_name="partnerdesk",
    )
    return clevertap_destination_save(
        app=world.app, values=CleverTapSettings(**{**values.__dict__, **changes})
    )


def create_lead(client, world, click=None, **params) -> Lead:
    click = click or world.click(gaid="38400000-8cf0-11bd-b23e-10b96e40000d")
    response = client.get("/postback/lead", {"token": world.token, "click": click.click_id, **params})
    assert response.status_code == 200, response.content
    return Lead.objects.get(pk=response.json()["lead"]["id"])


def sent_query(httpserver) -> dict[str, list[str]]:
    (request, _), *_ = httpserver.log
    assert request.path == "/attribution"
    return parse_qs(request.query_string.decode())


def test_an_install_lead_is_sent_as_the_seeds_inorganic_install_get(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json({"status": "success"})
    destination(world)

    lead = create_lead(client, world)
    deliveries_dispatch_due()

    assert sent_query(httpserver) == {
        "partner_name": ["partnerdesk"],
        "event_type": ["inorganic_install"],
        "timestamp": [str(int(lead.created_at.timestamp()))],
        "utm_source": [world.integration.partner.name],
        "utm_medium": ["Social"],
        "utm_campaign": [world.offer.name],
        "device_identifier": ["38400000-8cf0-11bd-b23e-10b96e40000d"],
        "account_id": ["W6W-797-865Z"],
        "account_token": ["aca-060"],
        "account_passcode": [PASSCODE],
        "platform": ["android"],
    }
    assert Delivery.objects.get(kind="clevertap").state == State.DONE


def test_a_ct_id_parameter_is_the_device_identifier_and_ct_extras_pass_through(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json({"status": "success"})
    destination(world)

    create_lead(client, world, ct_id="__g1234abc", ct_city="Mumbai")
    deliveries_dispatch_due()

    query = sent_query(httpserver)
    assert (query["device_identifier"], query["city"]) == (["__g1234abc"], ["Mumbai"])


def test_organic_and_custom_events_are_sent_only_when_switched_on(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json({"status": "success"})
    destination(world)
    create_lead(client, world, organic="1")
    create_lead(client, world, goal="registration")
    assert not Delivery.objects.filter(kind="clevertap").exists()

    destination_row = CleverTapDestination.objects.get()
    destination_row.send_organic_installs = destination_row.send_custom_events = True
    destination_row.save()
    create_lead(client, world, organic="1")
    create_lead(client, world, goal="registration")

    assert sorted(Delivery.objects.filter(kind="clevertap").values_list("event", flat=True)) == [
        "organic_install",
        "registration",
    ]


@pytest.mark.parametrize("region,host", [("EU", "api.clevertap.com"), ("IN", "in1.api.clevertap.com")])
def test_the_region_picks_the_host(settings, world, region, host):
    settings.CLEVERTAP_BASE_URL = ""

    assert urlsplit(endpoint(destination(world, region=region).region)).hostname == host


def test_a_lead_without_a_device_identifier_is_skipped_with_the_reason(client, world, httpserver):
    destination(world)

    create_lead(client, world, click=world.click())

    delivery = Delivery.objects.get(kind="clevertap")
    assert delivery.state == State.SKIPPED
    assert "device identifier" in delivery.last_error
    assert deliveries_dispatch_due() == 0 and httpserver.log == []


def test_an_install_without_any_utm_value_is_skipped(client, world, httpserver):
    destination(world)
    world.integration.channel = None
    world.integration.save()
    world.integration.partner.name = " "
    world.integration.partner.save()
    world.offer.name = " "
    world.offer.save()

    create_lead(client, world)

    delivery = Delivery.objects.get(kind="clevertap")
    assert (delivery.state, delivery.last_error) == (
        State.SKIPPED,
        "At least one of utm_source, utm_medium, utm_campaign is required for installs.",
    )


def test_a_401_keeps_clevertaps_answer_and_is_not_retried(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json(
        {"status": "fail", "error": "Invalid Account Info", "code": 401}, status=401
    )
    destination(world)
    create_lead(client, world)

    for _ in range(3):
        deliveries_dispatch_due()
        time.sleep(0.01)

    delivery = Delivery.objects.get(kind="clevertap")
    attempt = delivery.attempts.get()
    assert (delivery.state, attempt.status_code) == (State.FAILED, 401)
    assert attempt.error == "CleverTap answered 401: Invalid Account Info"
    assert '"error": "Invalid Account Info"' in attempt.response_start
    assert len(httpserver.log) == 1


def test_the_passcode_is_encrypted_at_rest_and_never_in_a_delivery_row(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json({"status": "success"})
    destination(world)
    create_lead(client, world)
    deliveries_dispatch_due()

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM postbacks_clevertapdestination")
        stored = repr(cursor.fetchall())
        cursor.execute(
            "SELECT url FROM postbacks_delivery UNION ALL SELECT url_masked FROM postbacks_deliveryattempt"
        )
        urls = repr(cursor.fetchall())
    assert PASSCODE not in stored and PASSCODE not in urls
    assert CleverTapDestination.objects.get().passcode == PASSCODE
    assert sent_query(httpserver)["account_passcode"] == [PASSCODE]


def test_credentials_are_trimmed_and_must_be_alphanumeric(world):
    from django.core.exceptions import ValidationError

    saved = destination(world)
    assert (saved.account_id, saved.passcode) == ("W6W-797-865Z", PASSCODE)
    with pytest.raises(ValidationError) as refused:
        destination(world, passcode="abc def!")
    assert "passcode" in refused.value.message_dict


def test_the_api_takes_the_passcode_but_never_answers_it(api_client_for, manager, world):
    api = api_client_for(manager)
    body = {
        "app": world.app.pk,
        "account_id": "W6W-797-865Z",
        "account_token": "aca-060",
        "passcode": PASSCODE,
        "partner_name": "partnerdesk",
    }

    created = api.post("/api/v1/clevertap-destinations/", body, format="json")
    assert created.status_code == 201, created.content
    listed = api.get("/api/v1/clevertap-destinations/")
    bad = api.patch(
        f"/api/v1/clevertap-destinations/{created.json()['id']}/", {"passcode": "no way"}, format="json"
    )

    assert created.status_code == 201, created.content
    assert created.json()["passcode_set"] is True and created.json()["region"] == "EU"
    assert PASSCODE not in created.content.decode() + listed.content.decode()
    assert bad.status_code == 400 and "passcode" in bad.json()
    assert CleverTapDestination.objects.get().passcode == PASSCODE


def test_the_admin_masks_the_passcode_and_keeps_it_when_left_empty(client, manager, world):
    saved = destination(world)
    client.force_login(manager)
    url = f"/admin/postbacks/clevertapdestination/{saved.pk}/change/"

    page = client.get(url)
    response = client.post(
        url,
        {
            "app": world.app.pk,
            "account_id": "NEW-1",
            "account_token": "aca-060",
            "passcode": "",
            "region": "US",
            "partner_name": "partnerdesk",
            "send_inorganic_installs": "on",
            "is_active": "on",
        },
    )

    assert page.status_code == 200 and PASSCODE not in page.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    saved.refresh_from_db()
    assert (saved.account_id, saved.region, saved.passcode) == ("NEW-1", "US", PASSCODE)
