"""SSRF at save (SPEC 9): the SSRF table of the first release is refused on every surface that
takes an outbound URL, and a public URL is accepted on each.

Every entry of the table goes through each surface's own form or serializer (what the page or
the endpoint validates with); a few representative entries make the full HTTP round trip of
each surface, to prove the page or endpoint uses that form and shows the refusal on the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.urls import reverse

from partners.forms import InstallPostbackForm, PostbackTemplateForm
from partners.models import App, Integration, Partner, PostbackTemplate, TrackingParameter
from partners.serializers import IntegrationConnectSerializer, IntegrationSerializer, PartnerSerializer
from partners.tracking import DEFAULT_PARAMETER_ROWS
from portal.forms import PostbackForm
from tests.factories import AppFactory
from tests.partners.test_wizard import WizardRun, step_of
from tests.reports.builders import make_publisher
from tests.unsafe_urls import (
    ALLOWED_IN_DEVELOPMENT,
    ALWAYS_REFUSED,
    HOST_MACRO_URLS,
    METADATA_URLS,
    NON_PUBLIC_URLS,
    SAFE_URL,
    UNSAFE_URLS,
)

pytestmark = pytest.mark.django_db

HOST_MACRO_REFUSAL = (
    "The host of a postback URL must be written out: a macro in the host ({}) would let a click "
    "choose where we call."
)
NOT_PUBLIC = "postbacks may only go to public internet addresses"
# One spelling of loopback, the cloud metadata service, a macro in the host.
REPRESENTATIVE = ["http://2130706433/pb?c={click_id}", METADATA_URLS[0], "https://{sub1}/pb"]


@pytest.fixture(autouse=True)
def _private_addresses_refused(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    # Logins are not what is tested here: a fast hasher keeps the many users cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    app: App
    partner: Partner
    integration: Integration
    template: PostbackTemplate
    manager: Any
    publisher: Any

    def context(self) -> dict[str, Any]:
        """A serializer's context: a request by the organization's manager."""
        request = RequestFactory().post("/")
        request.user = self.manager
        return {"request": request}


@pytest.fixture
def world(organization, manager) -> World:
    app = AppFactory(organization=organization, name="Space Farm")
    publisher = make_publisher(organization, app, "Alpha Media", "alpha")
    template = PostbackTemplate.objects.create(integration=publisher.integration, url=SAFE_URL)
    TrackingParameter.objects.bulk_create(
        TrackingParameter(integration=publisher.integration, position=position, **row)
        for position, row in enumerate(DEFAULT_PARAMETER_ROWS)
    )
    return World(
        app=app,
        partner=publisher.partner,
        integration=publisher.integration,
        template=template,
        manager=manager,
        publisher=publisher.membership.user,
    )


def shown_data(forms: list[Any]) -> dict[str, Any]:
    """What a browser posts back for these forms as shown: every field's current value."""
    data: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if bound.field.disabled or value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data


def admin_form_errors(model: type, obj: Any, world: World, field: str, url: str) -> list[str]:
    """The errors of the admin change form of `obj` (its own form class) with `field` set to `url`."""
    request = RequestFactory().post("/")
    request.user = world.manager
    form_class = site._registry[model].get_form(request, obj, change=True)
    data = {**shown_data([form_class(instance=obj)]), field: url}
    return form_class(data, instance=obj).errors.get(field, [])


def serializer_errors(serializer: Any, field: str) -> list[str]:
    serializer.is_valid()
    return [str(error) for error in serializer.errors.get(field, [])]


# Each surface that takes an outbound URL: the errors it shows on the URL's field.
SURFACES: dict[str, Callable[[World, str], list[str]]] = {
    "wizard step 2": lambda world, url: InstallPostbackForm(data={"postback_url": url}).errors.get(
        "postback_url", []
    ),
    "admin postback template": lambda world, url: PostbackTemplateForm(
        data={"event": "conversion", "url": url, "is_active": "on"},
        instance=PostbackTemplate(integration=world.integration),
    ).errors.get("url", []),
    "admin partner preset": lambda world, url: admin_form_errors(
        Partner, world.partner, world, "preset_postback_url", url
    ),
    "admin partner publisher": lambda world, url: admin_form_errors(
        Partner, world.partner, world, "publisher_postback_url", url
    ),
    "admin integration status sync": lambda world, url: admin_form_errors(
        Integration, world.integration, world, "status_sync_url", url
    ),
    "API integration connect": lambda world, url: serializer_errors(
        IntegrationConnectSerializer(
            data={"app": world.app.pk, "partner_name": "AdNet One", "postback_url": url},
            context=world.context(),
        ),
        "postback_url",
    ),
    "API integration status sync": lambda world, url: serializer_errors(
        IntegrationSerializer(
            world.integration, data={"status_sync_url": url}, partial=True, context=world.context()
        ),
        "status_sync_url",
    ),
    "API partner preset": lambda world, url: serializer_errors(
        PartnerSerializer(
            world.partner, data={"preset_postback_url": url}, partial=True, context=world.context()
        ),
        "preset_postback_url",
    ),
    "API partner publisher": lambda world, url: serializer_errors(
        PartnerSerializer(
            world.partner, data={"publisher_postback_url": url}, partial=True, context=world.context()
        ),
        "publisher_postback_url",
    ),
    "portal postback tab": lambda world, url: PostbackForm(data={"url": url}).errors.get("url", []),
}
surfaces = pytest.mark.parametrize("surface", SURFACES)


@surfaces
def test_every_url_of_the_ssrf_table_is_refused_at_save(world, surface):
    accepted = [url for url in UNSAFE_URLS if not SURFACES[surface](world, url)]
    assert accepted == []


@surfaces
def test_a_non_public_address_is_refused_with_what_it_is(world, surface):
    errors = SURFACES[surface](world, "http://10.0.0.1/pb?click={click_id}")
    assert errors == [
        "10.0.0.1, a private network address: postbacks may only go to public internet addresses. "
        "Use the receiver's public host name (or, for local development only, set "
        "OUTBOUND_ALLOW_PRIVATE=true)."
    ]


@surfaces
def test_a_public_url_with_macros_in_its_path_and_query_is_accepted(world, surface):
    assert SURFACES[surface](world, SAFE_URL) == []


@surfaces
def test_a_macro_in_the_host_is_refused(world, surface):
    refusals = {url: SURFACES[surface](world, url) for url in HOST_MACRO_URLS}
    assert refusals == {url: [HOST_MACRO_REFUSAL.format(macro)] for url, macro in HOST_MACRO_URLS.items()}


@surfaces
def test_private_addresses_pass_in_development_but_cloud_metadata_never(world, surface, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    refused = [url for url in ALLOWED_IN_DEVELOPMENT if SURFACES[surface](world, url)]
    accepted = [url for url in ALWAYS_REFUSED if not SURFACES[surface](world, url)]
    assert (refused, accepted) == ([], [])


def test_a_replace_me_in_a_partner_postback_is_still_refused(world):
    errors = SURFACES["API partner preset"](world, "https://93.184.215.14/pb?c={replace_me}")
    assert errors and "{replace_me} is only for tracking links" in errors[0]


# --- The full round trip of each surface, for a few representative entries -------------------


def admin_change(client: Client, obj: Any, set_fields: Callable[[dict[str, Any]], None]):
    """Open the admin change page of `obj`, change what `set_fields` changes, save it."""
    url = reverse(f"admin:partners_{obj._meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = shown_data(forms)
    set_fields(data)
    return client.post(url, data)


def field_errors(response, field: str, *, inline: str = "") -> list[str]:
    """The errors a saved admin page shows on a field (of the named inline's rows, if given)."""
    if not inline:
        return list(response.context["adminform"].form.errors.get(field, []))
    [formset] = [f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == inline]
    return [error for form in formset.forms for error in form.errors.get(field, [])]


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize("url", REPRESENTATIVE)
def test_wizard_step_2_refuses_an_unsafe_url_and_stays_on_the_step(manager_client, world, url):
    run = WizardRun(manager_client, world.app)
    run.details(new_channel="Social")
    response = run.postback(url)
    assert step_of(response) == "postback"
    assert response.context["form"].errors["postback_url"]


def test_wizard_step_2_accepts_a_public_url(manager_client, world):
    run = WizardRun(manager_client, world.app)
    run.details(new_channel="Social")
    assert step_of(run.postback(SAFE_URL)) == "tracking"


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
@pytest.mark.parametrize("field", ["preset_postback_url", "publisher_postback_url"])
def test_the_partner_admin_page_refuses_an_unsafe_postback_url(manager_client, world, field, url):
    response = admin_change(manager_client, world.partner, lambda data: data.update({field: url}))
    world.partner.refresh_from_db()
    if url == SAFE_URL:
        assert response.status_code == 302
        assert getattr(world.partner, field) == SAFE_URL
    else:
        assert field_errors(response, field)
        assert getattr(world.partner, field) == ""


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
def test_the_integration_admin_page_refuses_an_unsafe_status_sync_url(manager_client, world, url):
    response = admin_change(manager_client, world.integration, lambda data: data.update(status_sync_url=url))
    world.integration.refresh_from_db()
    if url == SAFE_URL:
        assert response.status_code == 302
        assert world.integration.status_sync_url == SAFE_URL
    else:
        assert field_errors(response, "status_sync_url")
        assert world.integration.status_sync_url == ""


@pytest.mark.parametrize("url", REPRESENTATIVE)
def test_the_integration_admin_page_refuses_an_unsafe_postback_template(manager_client, world, url):
    def set_template_url(data: dict[str, Any]) -> None:
        [name] = [key for key, value in data.items() if key.endswith("-url") and value == SAFE_URL]
        data[name] = url

    response = admin_change(manager_client, world.integration, set_template_url)
    assert field_errors(response, "url", inline="postback_templates")
    world.template.refresh_from_db()
    assert world.template.url == SAFE_URL


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
def test_the_integration_api_refuses_an_unsafe_postback_url(api_client_for, world, url):
    response = api_client_for(world.manager).post(
        "/api/v1/integrations/",
        {"app": world.app.pk, "partner_name": "AdNet One", "postback_url": url},
        format="json",
    )
    if url == SAFE_URL:
        assert response.status_code == 201, response.content
        assert [t["url"] for t in response.json()["postback_templates"]] == [SAFE_URL]
    else:
        assert response.status_code == 400
        assert list(response.json()) == ["postback_url"]
        assert not Partner.objects.filter(name="AdNet One").exists()


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
@pytest.mark.parametrize("field", ["preset_postback_url", "publisher_postback_url"])
def test_the_partner_api_refuses_an_unsafe_postback_url(api_client_for, world, field, url):
    response = api_client_for(world.manager).patch(
        f"/api/v1/partners/{world.partner.pk}/", {field: url}, format="json"
    )
    world.partner.refresh_from_db()
    if url == SAFE_URL:
        assert response.status_code == 200, response.content
        assert getattr(world.partner, field) == SAFE_URL
    else:
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert getattr(world.partner, field) == ""


def test_the_partner_api_names_the_address_it_refuses(api_client_for, world):
    response = api_client_for(world.manager).patch(
        f"/api/v1/partners/{world.partner.pk}/", {"preset_postback_url": NON_PUBLIC_URLS[1]}, format="json"
    )
    assert response.json()["preset_postback_url"][0].startswith(
        "“2130706433” means 127.0.0.1, a loopback address (this very server): " + NOT_PUBLIC
    )


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
def test_the_integration_api_refuses_an_unsafe_status_sync_url(api_client_for, world, url):
    response = api_client_for(world.manager).patch(
        f"/api/v1/integrations/{world.integration.pk}/", {"status_sync_url": url}, format="json"
    )
    world.integration.refresh_from_db()
    if url == SAFE_URL:
        assert response.status_code == 200, response.content
        assert world.integration.status_sync_url == SAFE_URL
    else:
        assert response.status_code == 400
        assert list(response.json()) == ["status_sync_url"]
        assert world.integration.status_sync_url == ""


@pytest.mark.parametrize("url", [*REPRESENTATIVE, SAFE_URL])
def test_the_portal_postback_tab_refuses_an_unsafe_url(client, world, url):
    client.force_login(world.publisher)
    response = client.post(reverse("portal:postback"), {"url": url})
    world.partner.refresh_from_db()
    if url == SAFE_URL:
        assert response.status_code == 302
        assert world.partner.publisher_postback_url == SAFE_URL
    else:
        assert response.status_code == 200
        assert response.context["form"].errors["url"]
        assert world.partner.publisher_postback_url == ""


def test_the_portal_live_preview_shows_the_host_macro_refusal(client, world):
    client.force_login(world.publisher)
    response = client.get(reverse("portal:postback_preview"), {"url": "https://{sub1}/pb"})
    assert "a macro in the host ({sub1})" in response.content.decode()
