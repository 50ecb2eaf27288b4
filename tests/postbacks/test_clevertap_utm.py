"""CleverTap's utm_source / utm_medium / utm_campaign as per-destination macro templates (SPEC 5.4).

Leads come in through the real postback endpoint and go to the local receiver on 127.0.0.1
standing in for CleverTap (CLEVERTAP_BASE_URL).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError

from leads.models import Lead
from leads.outbound import clevertap_url, lead_for_delivery
from partners.models import Channel, Platform
from postbacks import clevertap
from postbacks.models import CleverTapDestination, Delivery
from postbacks.services import CleverTapSettings, clevertap_destination_save, deliveries_dispatch_due
from tests.ingest.test_postback_support import make_world

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
State = Delivery.State


@pytest.fixture(autouse=True)
def _local_clevertap(settings, httpserver):
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.CLEVERTAP_BASE_URL = httpserver.url_for("/")


@pytest.fixture
def world(organization):
    world = make_world(organization)
    world.integration.channel = Channel.objects.create(organization=organization, name="Social Ads")
    world.integration.save()
    world.integration.partner.name = "AdNet One"
    world.integration.partner.save()
    world.app.platform = Platform.ANDROID
    world.app.save()
    return world


def destination(world, **templates: str) -> CleverTapDestination:
    values = CleverTapSettings(
        account_id="W6W-797-865Z", account_token="aca-060", passcode="abc123", partner_name="pd"
    )
    return clevertap_destination_save(
        app=world.app, values=CleverTapSettings(**{**values.__dict__, **templates})
    )


def create_lead(client, world, **params) -> Lead:
    click = world.click(gaid=GAID, sub1="site 42")
    response = client.get("/postback/lead", {"token": world.token, "click": click.click_id, **params})
    assert response.status_code == 200, response.content
    return Lead.objects.get(pk=response.json()["lead"]["id"])


def sent_utm(httpserver) -> tuple[str, str, str]:
    (request, _), *_ = httpserver.log
    query = parse_qs(request.query_string.decode(), keep_blank_values=True)
    return tuple(query.get(name, [None])[0] for name in ("utm_source", "utm_medium", "utm_campaign"))


def test_the_templates_are_filled_with_the_leads_values_as_plain_text(client, world, httpserver):
    httpserver.expect_request("/attribution").respond_with_json({"status": "success"})
    destination(
        world,
        utm_source_template="{partner_name}-{sub1}",
        utm_medium_template="cpi & more",
        utm_campaign_template="{campaign_name} / {goal}",
    )

    create_lead(client, world)
    deliveries_dispatch_due()

    assert sent_utm(httpserver) == ("AdNet One-site 42", "cpi & more", f"{world.offer.name} / install")
    assert Delivery.objects.get(kind="clevertap").state == State.DONE


def test_the_defaults_send_what_was_sent_before(client, world):
    saved = destination(world)
    lead = lead_for_delivery(create_lead(client, world).pk)

    url = clevertap_url(lead, saved, clevertap.EventType.INORGANIC_INSTALL, "")

    assert (saved.utm_source_template, saved.utm_medium_template, saved.utm_campaign_template) == (
        "{partner_name}",
        "{channel}",
        "{campaign_name}",
    )
    assert url == clevertap.build_attribution_url(
        region=saved.region,
        partner_name=saved.partner_name,
        event_type=clevertap.EventType.INORGANIC_INSTALL,
        custom_event_name="",
        timestamp=lead.created_at,
        device_identifier=GAID,
        utm_source="AdNet One",
        utm_medium="Social Ads",
        utm_campaign=world.offer.name,
        account_id=saved.account_id,
        account_token=saved.account_token,
        account_passcode="PASSCODEATSENDTIME",
        platform="android",
    )


def test_templates_that_fill_nothing_leave_an_install_unsendable(client, world, httpserver):
    destination(world, utm_source_template="{sub5}", utm_medium_template="", utm_campaign_template=" ")

    create_lead(client, world)

    delivery = Delivery.objects.get(kind="clevertap")
    assert (delivery.state, delivery.last_error) == (
        State.SKIPPED,
        "At least one of utm_source, utm_medium, utm_campaign is required for installs.",
    )
    assert deliveries_dispatch_due() == 0 and httpserver.log == []


def test_the_service_refuses_an_unknown_macro_by_field(world):
    with pytest.raises(ValidationError) as refused:
        destination(world, utm_campaign_template="{campaign}")

    assert "Unknown macro {campaign}" in refused.value.message_dict["utm_campaign_template"][0]


def admin_post(client, world, saved, **changes):
    body = {
        "app": world.app.pk,
        "account_id": saved.account_id,
        "account_token": saved.account_token,
        "passcode": "",
        "region": saved.region,
        "partner_name": saved.partner_name,
        "send_inorganic_installs": "on",
        "is_active": "on",
        "utm_source_template": "{partner_name}",
        "utm_medium_template": "{channel}",
        "utm_campaign_template": "{campaign_name}",
        **changes,
    }
    return client.post(f"/admin/postbacks/clevertapdestination/{saved.pk}/change/", body)


def test_the_admin_form_shows_the_three_templates_with_a_hint(client, manager, world):
    saved = destination(world)
    client.force_login(manager)

    page = client.get(f"/admin/postbacks/clevertapdestination/{saved.pk}/change/").content.decode()

    for name, value in (
        ("utm_source_template", "{partner_name}"),
        ("utm_medium_template", "{channel}"),
        ("utm_campaign_template", "{campaign_name}"),
    ):
        assert f'name="{name}" value="{value}"' in page
    assert "Text with our macros, filled in per lead" in page


def test_the_admin_form_refuses_an_unknown_macro_naming_the_nearest(client, manager, world):
    saved = destination(world)
    client.force_login(manager)

    response = admin_post(client, world, saved, utm_source_template="{partner_nme}")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["utm_source_template"]
    assert errors == [
        "Unknown macro {partner_nme}: it would be sent empty. Did you mean {partner_name}? "
        "See the macro reference for the full list."
    ]
    saved.refresh_from_db()
    assert saved.utm_source_template == "{partner_name}"


def test_the_admin_form_saves_good_templates(client, manager, world):
    saved = destination(world)
    client.force_login(manager)

    response = admin_post(
        client, world, saved, utm_medium_template=" {sub2} ", utm_campaign_template="spring"
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    saved.refresh_from_db()
    assert (saved.utm_medium_template, saved.utm_campaign_template) == ("{sub2}", "spring")


def test_the_api_takes_the_templates_and_refuses_unknown_macros(api_client_for, manager, world):
    saved = destination(world)
    api = api_client_for(manager)
    url = f"/api/v1/clevertap-destinations/{saved.pk}/"

    good = api.patch(url, {"utm_source_template": "{sub1}"}, format="json")
    bad = api.patch(url, {"utm_medium_template": "{chanel}"}, format="json")

    assert good.status_code == 200 and good.json()["utm_source_template"] == "{sub1}"
    assert bad.status_code == 400 and "Did you mean {channel}?" in bad.json()["utm_medium_template"][0]
