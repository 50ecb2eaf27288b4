"""The leads admin: filters and search, bulk status actions through the service, the lead page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from leads.models import Click, Lead, LeadEvent
from leads.outbound import lead_for_delivery, lead_macro_values
from leads.services import lead_create, lead_set_status
from tests.ingest.test_postback_support import get_json, make_world

CHANGELIST = "admin:leads_lead_changelist"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def lead(world):
    return lead_create(app=world.app, link=world.link, click=world.click(), exto="adm-1")[0]


def _bulk(client, action: str, *leads):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [lead.pk for lead in leads]}, follow=True
    )


def test_bulk_approve_moves_leads_and_records_admin_events(client, manager, lead):
    client.force_login(manager)

    response = _bulk(client, "approve_leads", lead)

    lead.refresh_from_db()
    assert lead.status == "approved"
    event = LeadEvent.objects.get(kind="status")
    assert (event.source, event.actor, event.to_status) == ("admin", manager, "approved")
    assert "1 lead approved." in response.content.decode()


def test_bulk_cancel_and_trash_use_the_same_service(client, admin_user, lead):
    client.force_login(admin_user)

    cancelled = _bulk(client, "cancel_leads", lead)
    trashed = _bulk(client, "trash_leads", lead)

    assert "1 lead cancelled." in cancelled.content.decode()
    assert "1 lead trashed." in trashed.content.decode()

    statuses = list(LeadEvent.objects.filter(kind="status").values_list("to_status", flat=True))
    assert statuses == ["cancelled", "trash"]


def test_approving_an_approved_lead_adds_no_event(client, manager, lead):
    lead_set_status(lead=lead, status="approved", source="admin")
    client.force_login(manager)

    response = _bulk(client, "approve_leads", lead)

    assert LeadEvent.objects.filter(kind="status").count() == 1
    assert "0 leads approved. 1 was already approved." in response.content.decode()


def test_analyst_cannot_run_the_bulk_actions(client, analyst, lead):
    client.force_login(analyst)

    _bulk(client, "approve_leads", lead)

    lead.refresh_from_db()
    assert lead.status == "new"
    assert not LeadEvent.objects.filter(kind="status").exists()


def test_analyst_sees_the_changelist_without_actions(client, analyst, lead):
    client.force_login(analyst)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert "approve_leads" not in response.content.decode()


def test_changelist_searches_by_exto_and_click_id(client, manager, lead, world):
    other = lead_create(app=world.app, link=world.link, click=world.click(), exto="other")[0]
    client.force_login(manager)

    by_exto = client.get(reverse(CHANGELIST), {"q": "adm-1"})
    by_click = client.get(reverse(CHANGELIST), {"q": other.click.click_id})

    assert list(by_exto.context["cl"].result_list) == [lead]
    assert list(by_click.context["cl"].result_list) == [other]


def test_changelist_filters_by_status(client, manager, lead, world):
    lead_set_status(lead=lead, status="approved", source="admin")
    lead_create(app=world.app, link=world.link, click=world.click())
    client.force_login(manager)

    response = client.get(reverse(CHANGELIST), {"status__exact": "approved"})

    assert list(response.context["cl"].result_list) == [lead]


def test_changelist_shows_only_the_users_organization(client, manager, lead, other_organization):
    other = make_world(other_organization)
    lead_create(app=other.app, link=other.link, click=other.click())
    client.force_login(manager)

    response = client.get(reverse(CHANGELIST))

    assert list(response.context["cl"].result_list) == [lead]


def test_lead_page_shows_events_and_the_postbacks_that_touched_it(client, manager, world):
    click = world.click()
    get_json(client, world.url("/postback/lead", click=click.click_id))
    get_json(client, world.url("/postback/status", click=click.click_id, status="approved"))
    lead = click.leads.get()
    client.force_login(manager)

    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()

    assert "Status changed" in page and "Created" in page
    assert "inbound postbacks that touched this lead" in page.lower()
    assert "Status change" in page and "Lead creation" in page
    assert 'name="_save"' not in page


def test_lead_page_of_another_organization_is_404(client, manager, other_organization):
    other = make_world(other_organization)
    foreign = lead_create(app=other.app, link=other.link, click=other.click())[0]
    client.force_login(manager)

    response = client.get(reverse("admin:leads_lead_change", args=[foreign.pk]))

    assert response.status_code == 404


def test_postback_reference_lists_synonyms_and_examples_with_the_real_token(client, manager, world):
    client.force_login(manager)

    page = client.get(reverse("admin:leads_lead_postback_reference")).content.decode()

    assert "pending_approval" in page and "lead_ok" in page
    assert f"/api/site/click.json?token={world.token}&amp;click={{click}}&amp;exto={{lead_id}}" in page
    assert f"code={world.link.code}" in page


def test_postback_reference_masks_the_token_for_analysts(client, analyst, world):
    client.force_login(analyst)

    page = client.get(reverse("admin:leads_lead_postback_reference")).content.decode()

    assert world.token not in page


def test_click_changelist_searches_by_partner_click_id(client, manager, world):
    wanted = world.click(partner_click_id="pc-42")
    world.click(partner_click_id="pc-43")
    client.force_login(manager)

    response = client.get(reverse("admin:leads_click_changelist"), {"q": "pc-42"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_click_page_is_read_only(client, manager, world):
    click = world.click()
    client.force_login(manager)

    page = client.get(reverse("admin:leads_click_change", args=[click.pk])).content.decode()

    assert 'name="_save"' not in page


def test_a_lead_whose_click_is_gone_still_shows_its_clicks_facts(client, manager, world):
    click = world.click(sub1="kept-sub")
    lead = lead_create(app=world.app, link=world.link, click=click, exto="gone-1")[0]
    # What dropping the click's partition (the retention) does to its row.
    Click.objects.filter(pk=click.pk).delete()
    client.force_login(manager)

    changelist = client.get(reverse(CHANGELIST))
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    macros = lead_macro_values(lead_for_delivery(lead.pk))

    assert changelist.status_code == page.status_code == 200
    assert (macros["click_id"], macros["sub1"]) == (click.click_id, "kept-sub")


def test_the_exchange_rate_shows_its_own_digits_not_the_columns_ten(client, manager, world):
    lead = lead_create(app=world.app, link=world.link, click=world.click(), exto="rate-1")[0]
    Lead.objects.filter(pk=lead.pk).update(
        currency="EUR", base_currency="USD", fx_rate=Decimal("1.0825000000")
    )
    client.force_login(manager)

    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()

    assert "1 EUR = 1.0825 USD" in page
    assert "1.0825000000" not in page


def test_a_click_cannot_be_deleted_from_the_admin(client, admin_user, world):
    click = world.click()
    client.force_login(admin_user)

    response = client.post(reverse("admin:leads_click_delete", args=[click.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Click.objects.filter(pk=click.pk).exists()
