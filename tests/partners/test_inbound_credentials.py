"""Inbound tokens and signing secrets, the management side (issue 14 points 3 and 6).

A token rotated with an overlap: old and new both open the app until the overlap ends, then
only the new one (the look-up compares the time; no job expires it). Rotation is a button on
the app and integration pages and an API action, for admins and managers. Analysts never see
a token or a signing secret in full (pages, API); managers may reveal them. The postback
reference page's Python example, run as printed, makes a signed URL that is accepted.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
from contextlib import redirect_stdout
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ingest.debugger import postback_debug
from ingest.signing import SECRET_PLACEHOLDER
from leads.models import Lead
from partners.models import App, Integration
from partners.services import inbound_secret_generate, token_rotate
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_support import make_world


@pytest.fixture
def world(organization):
    return make_world(organization)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def lead_status(client: Client, token: str, click_id: str, exto: str) -> int:
    return client.get("/postback/lead", {"token": token, "click": click_id, "exto": exto}).status_code


def move_clock(monkeypatch, by: timedelta) -> None:
    later = timezone.now() + by
    monkeypatch.setattr(timezone, "now", lambda: later)


# -- rotation with an overlap ------------------------------------------------------------------


def test_old_and_new_tokens_both_work_during_the_overlap_and_only_the_new_one_after(
    client, world, monkeypatch
):
    old = world.app.token
    click = world.click()
    lead_status(client, old, click.click_id, "warm")  # the old token's look-up is cached now

    app = token_rotate(owner=world.app, overlap=timedelta(hours=24))

    assert app.token != old
    assert lead_status(client, old, click.click_id, "a") == 200
    assert lead_status(client, app.token, click.click_id, "b") == 200
    move_clock(monkeypatch, timedelta(hours=24, seconds=1))
    assert lead_status(client, old, click.click_id, "c") == 401
    assert lead_status(client, app.token, click.click_id, "d") == 200
    assert set(Lead.objects.values_list("exto", flat=True)) == {"warm", "a", "b", "d"}


def test_rotating_again_ends_the_first_tokens_overlap_at_once(client, world):
    first = world.app.token
    click = world.click()
    token_rotate(owner=world.app, overlap=timedelta(days=7))
    lead_status(client, first, click.click_id, "cached")

    second = token_rotate(owner=App.objects.get(pk=world.app.pk), overlap=timedelta(days=7))

    assert lead_status(client, first, click.click_id, "x") == 401
    assert lead_status(client, second.previous_token, click.click_id, "y") == 200


def test_an_integration_token_rotates_for_the_click_api(client, world, monkeypatch):
    old = world.integration.token
    query = {"offer": str(world.offer.pk), "no_redirect": "true"}

    integration = token_rotate(owner=world.integration, overlap=timedelta(hours=1))

    assert client.get("/api/v1/clicks", {"token": old, **query}).status_code == 200
    move_clock(monkeypatch, timedelta(hours=2))
    assert client.get("/api/v1/clicks", {"token": old, **query}).status_code == 401
    assert client.get("/api/v1/clicks", {"token": integration.token, **query}).status_code == 200


def test_the_debugger_treats_another_organizations_rotated_out_token_as_unknown(world):
    rival = make_world(OrganizationFactory(name="Rival Ltd", slug="rival"))
    old = rival.app.token
    token_rotate(owner=rival.app, overlap=timedelta(days=7))

    debugged = postback_debug(organization=world.app.organization, url=f"/postback/lead?token={old}&click=x")

    assert debugged.status_code == 401
    assert rival.app.name not in str(debugged.as_json())


def test_a_manager_rotates_the_apps_token_from_its_page_and_sees_until_when_the_old_one_works(manager, world):
    client = client_for(manager)
    old = world.app.token

    response = client.post(
        reverse("admin:partners_app_rotate_token", args=[world.app.pk]),
        {"rotate_overlap": "30d"},
        follow=True,
    )

    app = App.objects.get(pk=world.app.pk)
    assert app.token != old and app.previous_token == old
    until = app.previous_token_valid_until - timezone.now()
    assert timedelta(days=29, hours=23) < until <= timedelta(days=30)
    page = response.content.decode()
    assert "keeps working for 30 days" in page
    assert "previous token" in page and "valid until" in page


def test_the_integration_page_rotates_its_token_with_the_default_overlap_of_seven_days(manager, world):
    client = client_for(manager)

    client.post(reverse("admin:partners_integration_rotate_token", args=[world.integration.pk]))

    integration = Integration.objects.get(pk=world.integration.pk)
    until = integration.previous_token_valid_until - timezone.now()
    assert timedelta(days=6, hours=23) < until <= timedelta(days=7)


def test_an_analyst_cannot_rotate_a_token(analyst, world):
    response = client_for(analyst).post(reverse("admin:partners_app_rotate_token", args=[world.app.pk]))

    assert response.status_code == 403
    assert App.objects.get(pk=world.app.pk).token == world.app.token


def test_the_api_rotates_a_token_for_managers_and_refuses_analysts(api_client_for, manager, analyst, world):
    url = f"/api/v1/apps/{world.app.pk}/rotate-token/"

    refused = api_client_for(analyst).post(url, {"overlap": "1h"}, format="json")
    response = api_client_for(manager).post(url, {"overlap": "1h"}, format="json")

    assert refused.status_code == 403
    assert response.status_code == 200
    app = App.objects.get(pk=world.app.pk)
    assert response.json()["token"] == app.token != world.app.token
    assert response.json()["previous_token_valid_until"] is not None


def test_the_api_names_the_overlaps_it_takes(api_client_for, manager, world):
    url = f"/api/v1/integrations/{world.integration.pk}/rotate-token/"

    response = api_client_for(manager).post(url, {"overlap": "2 weeks"}, format="json")

    assert response.status_code == 400
    assert "overlap" in response.json()


# -- signing and the allow list in the admin ---------------------------------------------------


def test_requiring_signing_on_the_app_page_generates_a_secret(manager, world):
    client = client_for(manager)
    url = reverse("admin:partners_app_change", args=[world.app.pk])
    form = {
        "name": world.app.name,
        "platform": world.app.platform,
        "store_id": "",
        "default_url": world.app.default_url,
        "signing_required": "on",
        "allowed_ips": "",
    }

    response = client.post(url, form)

    assert response.status_code == 302
    app = App.objects.get(pk=world.app.pk)
    assert app.signing_required and re.fullmatch(r"[0-9a-f]{64}", app.inbound_secret)


def test_a_bad_allow_list_entry_is_a_form_error_that_names_it(manager, world):
    client = client_for(manager)
    url = reverse("admin:partners_app_change", args=[world.app.pk])
    form = {
        "name": world.app.name,
        "platform": world.app.platform,
        "default_url": world.app.default_url,
        "allowed_ips": "198.51.100.0/24\n10.0.0.300",
    }

    response = client.post(url, form)

    assert response.status_code == 200
    assert "“10.0.0.300” is not an IP address or network" in html.unescape(response.content.decode())
    assert App.objects.get(pk=world.app.pk).allowed_ips == ""


# -- what analysts see, and what managers may reveal -------------------------------------------


@pytest.fixture
def secrets_world(world):
    inbound_secret_generate(owner=world.app)
    inbound_secret_generate(owner=world.integration)
    return world


def full_secrets(world) -> list[str]:
    app = App.objects.get(pk=world.app.pk)
    integration = Integration.objects.get(pk=world.integration.pk)
    return [app.token, app.inbound_secret, integration.token, integration.inbound_secret]


def pages(world) -> list[str]:
    return [
        reverse("admin:partners_app_change", args=[world.app.pk]),
        reverse("admin:partners_integration_change", args=[world.integration.pk]),
        reverse("admin:leads_lead_postback_reference"),
    ]


def test_analyst_pages_show_no_token_or_signing_secret_in_full(analyst, secrets_world):
    client = client_for(analyst)

    for url in pages(secrets_world):
        page = client.get(url).content.decode()
        for secret in full_secrets(secrets_world):
            assert secret not in page, url


def test_a_manager_can_reveal_tokens_and_signing_secrets_on_the_pages(manager, secrets_world):
    client = client_for(manager)
    app_page, integration_page, _ = (client.get(url).content.decode() for url in pages(secrets_world))
    app_token, app_secret, integration_token, integration_secret = full_secrets(secrets_world)

    assert "Reveal the token" in app_page and app_token in app_page and app_secret in app_page
    assert integration_token in integration_page and integration_secret in integration_page


def test_the_integration_pages_api_urls_are_masked_like_its_token_and_revealed_with_it(
    manager, secrets_world
):
    integration = Integration.objects.get(pk=secrets_world.integration.pk)
    page = client_for(manager).get(reverse("admin:partners_integration_change", args=[integration.pk]))
    body = page.content.decode()
    masked = html.unescape(re.search(r'id="pd-api-click-masked">([^<]*)<', body).group(1))
    revealed = re.search(r'<details data-pd-reveal-group="inbound-token">(.*?)</details>', body, re.S)

    assert masked.startswith("http") and f"token={integration.token[:4]}…" in masked
    assert integration.token not in body.split("<details", 1)[0], "shown in full before any Reveal"
    assert f"token={integration.token}" in revealed.group(1)
    token_card = body.split('id="pd-inbound"', 1)[1]
    assert 'data-pd-reveal-group="inbound-token"' in token_card, "the token is not revealed with the URLs"


def test_the_api_masks_tokens_and_secrets_for_analysts_and_shows_them_to_managers(
    api_client_for, analyst, manager, secrets_world
):
    urls = [f"/api/v1/apps/{secrets_world.app.pk}/", f"/api/v1/integrations/{secrets_world.integration.pk}/"]
    secrets = full_secrets(secrets_world)

    analyst_answers = "".join(api_client_for(analyst).get(url).content.decode() for url in urls)
    manager_answers = "".join(api_client_for(manager).get(url).content.decode() for url in urls)

    assert all(secret not in analyst_answers for secret in secrets)
    assert all(secret in manager_answers for secret in secrets)


# -- the reference page's signing examples -----------------------------------------------------


def python_example(page: str, app: App) -> str:
    found = re.search(rf'<pre class="pd-example" id="pd-sign-python-{app.pk}">(.*?)</pre>', page, re.S)
    assert found, "the page shows a Python example for the app"
    return html.unescape(found.group(1))


def test_the_reference_pages_python_example_makes_a_signed_url_that_is_accepted(client, manager, world):
    world.app.signing_required = True
    world.app.save()
    inbound_secret_generate(owner=world.app)
    page = client_for(manager).get(reverse("admin:leads_lead_postback_reference")).content.decode()
    namespace: dict = {}

    with redirect_stdout(io.StringIO()) as printed:
        exec(python_example(page, world.app), namespace)  # the example as the page prints it

    url = urlsplit(printed.getvalue().strip())
    assert url.geturl() == namespace["url"]
    response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200 and response.json()["created"] is True
    assert client.get(f"{url.path}?{url.query}").status_code == 401  # the same signature twice: a replay


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the shell example needs openssl")
def test_the_reference_pages_shell_example_signs_a_url_that_is_accepted(client, manager, world):
    world.app.signing_required = True
    world.app.save()
    inbound_secret_generate(owner=world.app)
    page = client_for(manager).get(reverse("admin:leads_lead_postback_reference")).content.decode()
    found = re.search(rf'<pre class="pd-example" id="pd-sign-shell-{world.app.pk}">(.*?)</pre>', page, re.S)
    script = 'curl() { printf "%s" "$1"; }\n' + html.unescape(found.group(1))  # print the URL, not call it

    printed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout

    url = urlsplit(printed.strip())
    response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200 and response.json()["created"] is True


def test_the_reference_page_shows_analysts_a_placeholder_secret(analyst, secrets_world):
    page = client_for(analyst).get(reverse("admin:leads_lead_postback_reference")).content.decode()

    example = python_example(page, secrets_world.app)
    assert SECRET_PLACEHOLDER in example and "openssl dgst -sha256 -hmac" in page
