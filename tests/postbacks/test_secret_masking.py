"""Secrets are never shown (SPEC 6, 9): signatures and tokens in attempt URLs and in the inbound
log are masked wherever a person reads them, and a CleverTap passcode is never rendered after
it is saved, to managers or to read-only analysts.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode

import pytest
from django.urls import reverse

from accounts.models import Role
from config.masking import mask_url
from ingest.models import InboundPostback
from partners.models import PostbackTemplate
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.services import CleverTapSettings, clevertap_destination_save, deliveries_dispatch_due
from tests.factories import MembershipFactory
from tests.ingest.test_postback_support import make_world

PASSCODE = "1f81b71b91d84885a898911ab8722f34"
# Every name that carries a signature, each with a value found nowhere else.
SIGNATURES = {
    "sig": "sigvalue000001",
    "signature": "sigvalue000002",
    "hash": "hashvalue00003",
    "hmac": "hmacvalue00004",
    "x_sig": "sigvalue000005",
    "Payload_Hash": "hashvalue00006",
    "body_hmac": "hmacvalue00007",
    "X-Signature": "sigvalue000008",
}


@pytest.fixture(autouse=True)
def _local_and_fast(settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def shown_nowhere(text: str) -> list[str]:
    """The secret values that `text` shows (none, when masked)."""
    return [value for value in (*SIGNATURES.values(), PASSCODE) if value in text]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://r.example/pb?sig=abc&c=1", "https://r.example/pb?sig=***&c=1"),
        ("https://r.example/pb?SIGNATURE=abc", "https://r.example/pb?SIGNATURE=***"),
        ("https://r.example/pb?hash=abc&hmac=def", "https://r.example/pb?hash=***&hmac=***"),
        (
            "https://r.example/pb?x_sig=a&req_hash=b&my_hmac=c",
            "https://r.example/pb?x_sig=***&req_hash=***&my_hmac=***",
        ),
        ("https://r.example/pb?auth_token=a&apikey=b", "https://r.example/pb?auth_token=***&apikey=***"),
        # Names that only contain the words are not secrets.
        (
            "https://r.example/pb?design=a&hashtag=b&cashhash=c",
            "https://r.example/pb?design=a&hashtag=b&cashhash=c",
        ),
    ],
)
def test_mask_url_hides_signature_names_in_any_case_and_after_an_underscore(url, masked):
    assert mask_url(url) == masked


# --- Attempt and delivery URLs ------------------------------------------------------------------


@pytest.fixture
def sent(client, organization, httpserver):
    """A lead whose partner postback and publisher postback both carry every signature name."""
    httpserver.expect_request("/pb").respond_with_data("ok")
    httpserver.expect_request("/pub").respond_with_data("ok")
    world = make_world(organization)
    secrets = urlencode(SIGNATURES)
    PostbackTemplate.objects.create(
        integration=world.integration, url=httpserver.url_for("/pb") + f"?click={{click_id}}&{secrets}"
    )
    partner = world.integration.partner
    partner.publisher_postback_url = httpserver.url_for("/pub") + f"?clickid={{ref_id}}&{secrets}"
    partner.save()
    click = world.click(ref_id="pub-1")
    response = client.get("/postback/lead", {"token": world.token, "click": click.click_id})
    assert response.status_code == 200, response.content
    for _ in range(50):
        deliveries_dispatch_due()
        if not Delivery.objects.exclude(state=Delivery.State.DONE).exists():
            break
        time.sleep(0.01)
    assert Delivery.objects.filter(state=Delivery.State.DONE).count() == 2
    return world


def test_the_receiver_gets_the_signatures_but_attempt_rows_keep_them_masked(sent, httpserver):
    received = [parse_qs(request.query_string.decode()) for request, _ in httpserver.log]
    attempts = list(DeliveryAttempt.objects.values_list("url_masked", flat=True))

    assert [{name: query[name][0] for name in SIGNATURES} for query in received] == [SIGNATURES] * 2
    assert len(attempts) == 2
    assert shown_nowhere(" ".join(attempts)) == []
    assert all(f"{name}=***" in attempt for attempt in attempts for name in ("sig", "hash", "hmac"))


def test_the_delivery_admin_page_and_api_show_the_urls_masked(sent, client, api_client_for, analyst):
    client.force_login(analyst)
    delivery = Delivery.objects.filter(kind=Delivery.Kind.PARTNER).get()

    page = client.get(reverse("admin:postbacks_delivery_change", args=[delivery.pk])).content.decode()
    listing = client.get(reverse("admin:postbacks_delivery_changelist")).content.decode()
    api = api_client_for(analyst)
    answer = (
        api.get("/api/v1/deliveries/").content.decode()
        + api.get(f"/api/v1/deliveries/{delivery.pk}/").content.decode()
    )

    assert "sig=***" in page
    assert (shown_nowhere(page), shown_nowhere(listing), shown_nowhere(answer)) == ([], [], [])


def test_the_publishers_postback_tab_shows_its_deliveries_masked(sent, client, organization):
    publisher = MembershipFactory(
        organization=organization,
        role=Role.PUBLISHER,
        partner=sent.integration.partner,
        user__username="pub",
        user__is_staff=False,
    ).user
    client.force_login(publisher)

    page = client.get(reverse("portal:postback")).content.decode()

    # Above it, the form shows the publisher its own URL to edit; the deliveries are below.
    deliveries = page.partition("Recent deliveries")[2]
    assert "sig=***" in deliveries
    assert shown_nowhere(deliveries) == []


# --- The inbound log ----------------------------------------------------------------------------


def test_the_inbound_log_masks_signature_parameters(client, organization):
    world = make_world(organization)

    client.get("/postback/lead", {"token": world.token, "exto": "A-1", **SIGNATURES})

    logged = InboundPostback.objects.get()
    assert logged.params["exto"] == "A-1"
    assert logged.params["sig"] == "sigv…" and logged.params["hmac"] == "hmac…"
    assert shown_nowhere(repr(logged.params)) == []


def test_the_inbound_log_masks_signatures_in_a_body_it_keeps_as_received(client, organization):
    world = make_world(organization)
    body = urlencode({"exto": "A-2", **SIGNATURES})

    client.post(f"/postback/lead?token={world.token}", body, content_type="application/x-www-form-urlencoded")

    logged = InboundPostback.objects.get()
    assert "exto=A-2" in logged.body
    assert shown_nowhere(logged.body + repr(logged.params)) == []


# --- The CleverTap passcode ---------------------------------------------------------------------


@pytest.fixture
def destination(organization) -> CleverTapDestination:
    world = make_world(organization)
    return clevertap_destination_save(
        app=world.app,
        values=CleverTapSettings(
            account_id="W6W-797-865Z", account_token="aca-060", passcode=PASSCODE, partner_name="partnerdesk"
        ),
    )


def test_an_analyst_sees_that_a_passcode_is_set_but_never_the_passcode(client, analyst, destination):
    client.force_login(analyst)

    page = client.get(reverse("admin:postbacks_clevertapdestination_change", args=[destination.pk]))
    listing = client.get(reverse("admin:postbacks_clevertapdestination_changelist"))

    text = page.content.decode()
    assert page.status_code == 200 and listing.status_code == 200
    assert "set, encrypted" in text
    assert "aca-…" in text and "aca-060" not in text
    assert PASSCODE not in text + listing.content.decode()


def test_a_manager_gets_an_empty_passcode_field_to_leave_blank(client, manager, destination):
    client.force_login(manager)

    page = client.get(reverse("admin:postbacks_clevertapdestination_change", args=[destination.pk]))

    form = page.context["adminform"].form
    assert form["passcode"].value() in (None, "")
    assert "Leave empty to keep the current passcode" in page.content.decode()
    assert PASSCODE not in page.content.decode()


def test_the_api_never_answers_the_passcode_to_an_analyst(api_client_for, analyst, destination):
    answer = api_client_for(analyst).get(f"/api/v1/clevertap-destinations/{destination.pk}/")

    assert answer.status_code == 200
    assert answer.json()["passcode_set"] is True and "passcode" not in answer.json()
    assert PASSCODE not in answer.content.decode()


def test_the_api_masks_the_project_token_for_analysts_and_answers_it_to_managers(
    api_client_for, analyst, manager, destination
):
    url = f"/api/v1/clevertap-destinations/{destination.pk}/"

    assert api_client_for(analyst).get(url).json()["account_token"] == "aca-…"
    assert api_client_for(manager).get(url).json()["account_token"] == "aca-060"


def test_the_integration_and_partner_pages_show_url_signatures_to_editors_only(
    client, organization, manager, analyst, settings, api_client_for
):
    """An analyst reads the integration's and the partner's outbound URLs with every signature
    masked (install card, postbacks list, status sync, publisher and preset URLs); a manager,
    who edits them, sees them whole."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    world = make_world(organization)
    secrets = urlencode(SIGNATURES)
    PostbackTemplate.objects.create(
        integration=world.integration, url=f"https://partner.example/pb?click={{click_id}}&{secrets}"
    )
    integration, partner = world.integration, world.integration.partner
    integration.status_sync_url = f"https://sync.example/s?status={{status}}&{secrets}"
    integration.save()
    partner.publisher_postback_url = f"https://pub.example/p?clickid={{ref_id}}&{secrets}"
    partner.preset_postback_url = f"https://preset.example/p?c={{click_id}}&{secrets}"
    partner.save()
    pages = [
        reverse("admin:partners_integration_change", args=[integration.pk]),
        reverse("admin:partners_partner_change", args=[partner.pk]),
    ]

    client.force_login(analyst)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        body = response.content.decode()
        assert [value for value in SIGNATURES.values() if value in body] == [], page
        assert "***" in body
    client.force_login(manager)
    bodies = "".join(client.get(page).content.decode() for page in pages)
    assert all(value in bodies for value in SIGNATURES.values())

    # The management API answers the same: masked to the analyst, whole to the manager.
    answers = {
        user: "".join(
            api_client_for(user).get(path).content.decode()
            for path in (f"/api/v1/integrations/{integration.pk}/", f"/api/v1/partners/{partner.pk}/")
        )
        for user in (analyst, manager)
    }
    assert [value for value in SIGNATURES.values() if value in answers[analyst]] == []
    assert all(value in answers[manager] for value in SIGNATURES.values())
