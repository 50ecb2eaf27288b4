"""Signing secrets of outbound URLs, the management side (issue 11 point 3): managers generate,
reveal, rotate and remove them on the integration and partner pages; analysts see only whether
calls are signed; the API says `signed`, never the secret."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from partners.models import Integration, Partner, PostbackTemplate
from tests.factories import IntegrationFactory

SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/=]{32}")


@pytest.fixture
def integration(organization):
    return IntegrationFactory(organization=organization, status_sync_url="https://sync.example/s?st={status}")


@pytest.fixture
def template(integration):
    return PostbackTemplate.objects.create(
        integration=integration, url="https://adnet.example/pb?c={click_id}"
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def integration_page(user, integration) -> str:
    response = client_for(user).get(reverse("admin:partners_integration_change", args=[integration.pk]))
    assert response.status_code == 200
    return response.content.decode()


def template_signing(template) -> str:
    return reverse("admin:partners_integration_template_signing", args=[template.integration_id, template.pk])


def test_a_manager_generates_reveals_rotates_and_removes_a_templates_secret(manager, template):
    client = client_for(manager)

    response = client.post(template_signing(template), {"signing": "generate"}, follow=True)

    template.refresh_from_db()
    first = template.signing_secret
    assert SECRET_RE.fullmatch(first) and first not in template.signing_secret_encrypted
    page = response.content.decode()
    assert "Signing is on for the postback" in page
    assert f'id="pd-template-secret-{template.pk}">{first}</code>' in page  # behind "Reveal the secret"

    client.post(template_signing(template), {"signing": "rotate"})
    template.refresh_from_db()
    second = template.signing_secret
    assert SECRET_RE.fullmatch(second) and second != first
    assert first not in integration_page(manager, template.integration)

    client.post(template_signing(template), {"signing": "remove"})
    template.refresh_from_db()
    assert template.signing_secret == "" and template.signing_secret_encrypted == ""
    assert "Generate a secret" in integration_page(manager, template.integration)


def test_a_manager_signs_the_status_sync(manager, integration):
    url = reverse("admin:partners_integration_status_sync_signing", args=[integration.pk])

    client_for(manager).post(url, {"signing": "generate"})

    integration.refresh_from_db()
    assert SECRET_RE.fullmatch(integration.status_sync_secret)
    assert integration.status_sync_secret in integration_page(manager, integration)


def test_a_manager_signs_a_publishers_postback_in_the_admin(manager, integration):
    partner = integration.partner
    url = reverse("admin:partners_partner_publisher_signing", args=[partner.pk])

    response = client_for(manager).post(url, {"signing": "generate"}, follow=True)

    partner.refresh_from_db()
    assert SECRET_RE.fullmatch(partner.publisher_postback_secret)
    assert partner.publisher_postback_secret in response.content.decode()


def test_an_analyst_sees_whether_calls_are_signed_but_never_the_secret(manager, analyst, template):
    client_for(manager).post(template_signing(template), {"signing": "generate"})
    integration = template.integration
    status_sync = reverse("admin:partners_integration_status_sync_signing", args=[integration.pk])
    client_for(manager).post(status_sync, {"signing": "generate"})
    template.refresh_from_db()
    integration.refresh_from_db()

    page = integration_page(analyst, integration)

    assert "Signed" in page
    assert not SECRET_RE.search(page)
    assert template.signing_secret not in page and integration.status_sync_secret not in page
    assert "Rotate secret" not in page and "pd-test-send" not in page


def test_an_analyst_sees_outbound_urls_with_their_secrets_masked(analyst, integration):
    PostbackTemplate.objects.create(
        integration=integration, url="https://adnet.example/pb?c={click_id}&key=k3y"
    )

    page = integration_page(analyst, integration)

    card = page[page.index('id="pd-outbound"') :]
    card = card[: card.index("</section>")]
    assert "https://adnet.example/pb?c={click_id}&amp;key=***" in card and "k3y" not in card


@pytest.mark.parametrize("action", ["generate", "rotate", "remove"])
def test_an_analyst_cannot_change_a_secret(analyst, template, action):
    response = client_for(analyst).post(template_signing(template), {"signing": action})

    assert response.status_code == 403
    template.refresh_from_db()
    assert template.signing_secret_encrypted == ""


def test_another_organizations_template_secret_cannot_be_changed(manager, other_organization):
    theirs = PostbackTemplate.objects.create(
        integration=IntegrationFactory(organization=other_organization), url="https://x.example/pb"
    )

    response = client_for(manager).post(template_signing(theirs), {"signing": "generate"})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.signing_secret_encrypted == ""


def test_the_integration_page_shows_how_a_receiver_verifies(analyst, integration):
    page = integration_page(analyst, integration)

    assert "Webhook(SECRET).verify(request.get_full_path(), request.headers, json_parse=False)" in page
    assert "Idempotency-Key" in page and "openssl dgst -sha256 -mac HMAC" in page


def test_the_api_says_signed_and_never_shows_a_secret(manager, template, api_client_for):
    integration = template.integration
    client_for(manager).post(template_signing(template), {"signing": "generate"})
    template.refresh_from_db()
    Integration.objects.filter(pk=integration.pk).update(status_sync_secret_encrypted="")
    partner_url = reverse("admin:partners_partner_publisher_signing", args=[integration.partner_id])
    client_for(manager).post(partner_url, {"signing": "generate"})
    api = api_client_for(manager)

    body = api.get(f"/api/v1/integrations/{integration.pk}/")
    partner = api.get(f"/api/v1/partners/{integration.partner_id}/")

    data = body.json()
    assert data["status_sync_signed"] is False
    assert [(t["id"], t["signed"]) for t in data["postback_templates"]] == [(template.pk, True)]
    assert partner.json()["publisher_postback_signed"] is True
    secret = Partner.objects.get(pk=integration.partner_id).publisher_postback_secret
    for answer in (body, partner):
        assert "whsec_" not in answer.content.decode() and "secret_encrypted" not in answer.content.decode()
    assert template.signing_secret not in body.content.decode() and secret not in partner.content.decode()
