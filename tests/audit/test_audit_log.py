"""The audit log: who changed which configuration, when, from where, through which channel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import Role
from audit.models import AuditEntry, Channel
from partners.models import App, Integration, PostbackTemplate, TrackingParameter
from portal.models import PaymentMethod, Payout
from portal.services import payout_mark_paid
from postbacks.models import CleverTapDestination
from postbacks.services import CleverTapSettings, clevertap_destination_save
from tests.factories import AppFactory, IntegrationFactory, MembershipFactory, PartnerFactory
from tests.partners.test_wizard import WizardRun

pytestmark = pytest.mark.django_db

ADMIN_ADDRESS = "203.0.113.9"
Action = AuditEntry.Action


def signed_in(user) -> Client:
    client = Client(REMOTE_ADDR=ADMIN_ADDRESS)
    client.force_login(user)
    return client


def entry_for(obj, action: int = Action.UPDATE) -> AuditEntry:
    return AuditEntry.objects.get_for_model(type(obj)).filter(object_pk=str(obj.pk), action=action).latest()


# Channels: each write path is recorded with who, where from and the diff.


def test_a_change_in_the_admin_is_recorded_with_who_where_from_and_the_diff(manager):
    response = signed_in(manager).post(
        reverse("admin:partners_app_add"),
        {"name": "Space Farm", "platform": "ios", "store_id": "", "default_url": "https://example.com/farm"},
    )

    assert response.status_code == 302
    app = App.objects.get(name="Space Farm")
    entry = entry_for(app, Action.CREATE)
    assert (entry.actor, entry.actor_name, entry.channel) == (manager, "manager", Channel.ADMIN)
    assert entry.remote_addr == ADMIN_ADDRESS
    assert entry.organization == manager.membership.organization
    assert entry.changes["name"] == ["None", "Space Farm"]
    assert entry.changes["platform"] == ["None", "ios"]


def test_the_address_is_the_trusted_proxys_client_never_a_forged_forwarded_for(manager):
    client = signed_in(manager)
    forged = {"HTTP_X_FORWARDED_FOR": "6.6.6.6"}

    client.post(
        reverse("admin:partners_app_add"),
        {"name": "A", "platform": "ios", "default_url": "https://a.example"},
        **forged,
    )
    with override_settings(TRUSTED_PROXY_COUNT=1):
        client.post(
            reverse("admin:partners_app_add"),
            {"name": "B", "platform": "ios", "default_url": "https://b.example"},
            HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4",
        )

    assert entry_for(App.objects.get(name="A"), Action.CREATE).remote_addr == ADMIN_ADDRESS
    assert entry_for(App.objects.get(name="B"), Action.CREATE).remote_addr == "198.51.100.4"


def test_connecting_a_partner_in_the_wizard_is_recorded_as_the_wizards(manager, organization):
    app = AppFactory(organization=organization)
    run = WizardRun(signed_in(manager), app)
    run.details(new_channel="Affiliate")
    run.postback()
    run.tracking()

    assert run.connect().status_code == 302

    integration = Integration.objects.get()
    for obj in (
        integration,
        integration.partner,
        PostbackTemplate.objects.get(),
        *TrackingParameter.objects.all(),
    ):
        entry = entry_for(obj, Action.CREATE)
        assert (entry.actor, entry.channel, entry.remote_addr) == (manager, Channel.WIZARD, ADMIN_ADDRESS)
        assert entry.organization == organization
    parameter = TrackingParameter.objects.get(name="sub1")
    assert entry_for(parameter, Action.CREATE).changes["placeholder"] == ["None", "{site_id}"]


def test_a_change_through_the_api_is_recorded_as_the_tokens_user_with_the_token_masked(
    manager, organization, api_client_for
):
    client = api_client_for(manager)

    response = client.post(
        "/api/v1/apps/",
        {"name": "Space Farm", "platform": "ios", "default_url": "https://example.com/farm"},
        format="json",
        REMOTE_ADDR="198.51.100.20",
    )

    assert response.status_code == 201
    app = App.objects.get(pk=response.json()["id"])
    entry = entry_for(app, Action.CREATE)
    assert (entry.actor, entry.actor_name, entry.channel) == (manager, "manager", Channel.API)
    assert entry.remote_addr == "198.51.100.20"
    assert entry.organization == organization
    assert entry.changes["token"] == ["None", f"{app.token[:4]}…"]
    assert app.token not in str(entry.changes)


def test_a_change_by_a_management_command_is_recorded_as_the_commands(manager, organization):
    call_command("drf_create_token", "manager")

    token = Token.objects.get(user=manager)
    entry = AuditEntry.objects.get(content_type__app_label="authtoken", action=Action.CREATE)
    assert (entry.actor, entry.actor_name, entry.channel) == (
        None,
        "manage.py drf_create_token",
        Channel.COMMAND,
    )
    assert entry.remote_addr is None
    assert entry.organization == organization
    assert entry.object_repr == "API token of manager"
    # The key is the token's primary key: the entry names the token by its user instead.
    assert token.key not in f"{entry.object_pk} {entry.object_repr} {entry.changes}"
    assert entry.changes["key"][1] == f"{token.key[:4]}…"


# Secrets: never in full in an entry.


def test_signing_secrets_written_with_an_update_are_recorded_masked(manager, organization):
    template = PostbackTemplate.objects.create(
        integration=IntegrationFactory(organization=organization), url="https://partner.example/pb"
    )
    url = reverse("admin:partners_integration_template_signing", args=[template.integration_id, template.pk])

    signed_in(manager).post(url, {"signing": "generate"})

    template.refresh_from_db()
    entry = entry_for(template)
    assert (entry.actor, entry.channel) == (manager, Channel.ADMIN)
    assert entry.changes == {"signing_secret_encrypted": ["", "***"]}
    assert template.signing_secret not in str(entry.changes)


def test_the_clevertap_passcode_and_token_are_masked(organization, manager):
    app = AppFactory(organization=organization)
    values = CleverTapSettings(account_id="ABC-123", account_token="tok-secret-9876", passcode="SECRETPASS")
    clevertap_destination_save(app=app, values=values)

    entry = entry_for(CleverTapDestination.objects.get(), Action.CREATE)
    assert entry.changes["account_token"] == ["None", "tok-…"]
    assert entry.changes["passcode_encrypted"] == ["None", "***"]
    assert "SECRETPASS" not in str(entry.changes) and "tok-secret-9876" not in str(entry.changes)
    assert entry.changes["account_id"] == ["None", "ABC-123"]


def test_payment_details_are_shown_by_their_ends_only(organization):
    partner = PartnerFactory(organization=organization)
    method = PaymentMethod.objects.create(
        partner=partner, kind=PaymentMethod.Kind.PAYPAL, paypal_email="jane@pay.example"
    )
    method.kind, method.iban, method.account_holder = (
        PaymentMethod.Kind.BANK,
        "DE89370400440532013000",
        "Jane Roe",
    )
    method.save()

    created, changed = entry_for(method, Action.CREATE), entry_for(method)
    assert created.changes["paypal_email"] == ["None", "j***@pay.example"]
    assert changed.changes["iban"] == ["", "DE***3000"]
    assert "DE89370400440532013000" not in str(changed.changes) and "jane@" not in str(created.changes)
    assert changed.object_repr == f"Bank transfer (IBAN) of {partner}"


def test_a_payout_marked_paid_with_an_update_is_recorded(organization, manager):
    partner = PartnerFactory(organization=organization)
    payout = Payout.objects.create(
        organization=organization, partner=partner, amount=Decimal("60.00"), method="PayPal: jane@pay.example"
    )

    assert payout_mark_paid(payout=payout, actor=manager, reference="BATCH-7")

    entry = entry_for(payout)
    assert entry.changes["status"] == ["requested", "paid"]
    assert entry.changes["reference"] == ["", "BATCH-7"]
    assert entry.organization == organization


# Who sees what: each organization its own; people's entries its admins.


@pytest.fixture
def app_entry(manager, organization):
    signed_in(manager).post(
        reverse("admin:partners_app_add"),
        {"name": "Space Farm", "platform": "ios", "default_url": "https://a.example"},
    )
    return entry_for(App.objects.get(), Action.CREATE)


def test_an_organizations_admin_lists_and_opens_its_entries(admin_user, app_entry):
    client = signed_in(admin_user)

    listing = client.get(reverse("admin:audit_auditentry_changelist"))
    detail = client.get(reverse("admin:audit_auditentry_change", args=[app_entry.pk]))

    assert listing.status_code == 200 and "Space Farm" in listing.content.decode()
    assert detail.status_code == 200
    assert "https://a.example" in detail.content.decode()


def test_another_organizations_admin_neither_sees_nor_opens_an_entry(app_entry, other_organization):
    stranger = MembershipFactory(organization=other_organization, role=Role.ADMIN).user
    client = signed_in(stranger)

    detail = client.get(reverse("admin:audit_auditentry_change", args=[app_entry.pk]))
    history = client.get(reverse("admin:partners_app_history", args=[app_entry.object_id]))

    assert "Space Farm" not in listed(client)
    assert detail.status_code == 404
    assert history.status_code == 404


def test_a_superuser_sees_every_organizations_entries(app_entry, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pass-word-123")

    assert "Space Farm" in listed(signed_in(root))


def test_an_organization_can_be_deleted_and_its_audit_trail_outlives_it(
    app_entry, organization, django_user_model
):
    organization_id = organization.pk
    AppFactory(organization=organization, name="Moon Farm")

    organization.delete()  # its apps, memberships… go with it, each leaving a "deleted" entry

    trail = AuditEntry.objects.filter(organization_id=organization_id)
    assert trail.filter(action=Action.CREATE, object_repr="Space Farm").exists()
    assert trail.filter(action=Action.DELETE, object_repr="Moon Farm").exists()
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pass-word-123")
    response = signed_in(root).get(reverse("admin:audit_auditentry_changelist"))
    assert response.status_code == 200
    assert "Moon Farm" in listed(signed_in(root))


def listed(client: Client, **query: str) -> list[str]:
    response = client.get(reverse("admin:audit_auditentry_changelist"), query)
    return [entry.object_repr for entry in response.context["cl"].result_list]


def test_only_admins_see_entries_about_people(organization, admin_user, analyst, manager):
    MembershipFactory(organization=organization, role=Role.ANALYST, user__username="newcomer")
    AppFactory(organization=organization, name="Space Farm")

    by_admin = listed(signed_in(admin_user))
    by_manager, by_analyst = listed(signed_in(manager)), listed(signed_in(analyst))

    assert any("newcomer" in name for name in by_admin) and "Space Farm" in by_admin
    assert not any("newcomer" in name for name in by_manager + by_analyst)
    assert "Space Farm" in by_manager and "Space Farm" in by_analyst


def test_the_list_filters_by_channel_and_by_object(
    manager, organization, api_client_for, app_entry, admin_user
):
    api_client_for(manager).post(
        "/api/v1/apps/",
        {"name": "Moon Farm", "platform": "ios", "default_url": "https://m.example"},
        format="json",
    )
    client = signed_in(admin_user)

    assert listed(client, channel=Channel.API) == ["Moon Farm"]
    assert listed(client, object=f"partners.app:{app_entry.object_pk}") == ["Space Farm"]
    assert listed(client, who="manager", action=str(Action.CREATE)) == ["Moon Farm", "Space Farm"]


# The object's own page.


def test_an_apps_history_page_shows_its_changes_with_their_diffs_and_never_its_token(
    manager, admin_user, app_entry
):
    app = App.objects.get()
    change = {"name": "Space Farm 2", "platform": "ios", "store_id": "", "default_url": "https://a.example"}
    signed_in(manager).post(reverse("admin:partners_app_change", args=[app.pk]), change)

    page = signed_in(admin_user).get(reverse("admin:partners_app_history", args=[app.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert [entry.get_action_display() for entry in page.context["entries"]] == ["update", "create"]
    assert "<td>Space Farm</td><td>Space Farm 2</td>" in text  # the diff: field, from, to
    assert "Admin" in text and ADMIN_ADDRESS in text and "manager" in text
    assert app.token not in text
    assert f"?object=partners.app%3A{app.pk}" in text  # the link to the filtered list


def test_an_integrations_history_page_shows_the_changes_of_its_parts_too(manager, organization):
    integration = IntegrationFactory(organization=organization)
    template = PostbackTemplate.objects.create(
        integration=integration, url="https://partner.example/pb?token=abc123"
    )
    client = signed_in(manager)
    client.post(
        reverse("admin:partners_integration_template_signing", args=[integration.pk, template.pk]),
        {"signing": "generate"},
    )

    page = client.get(reverse("admin:partners_integration_history", args=[integration.pk]))

    entries = list(page.context["entries"])
    assert [(entry.content_type.model, entry.action) for entry in entries] == [
        ("postbacktemplate", Action.UPDATE),
        ("postbacktemplate", Action.CREATE),
        ("integration", Action.CREATE),
    ]
    text = page.content.decode()
    assert "Postback template “" in text
    assert "https://partner.example/pb?token=***" in text and "abc123" not in text


def test_djangos_own_admin_history_never_names_a_token_by_its_key(manager, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pass-word-123")

    response = signed_in(root).post(reverse("admin:authtoken_tokenproxy_add"), {"user": manager.pk})

    assert response.status_code == 302
    key = Token.objects.get(user=manager).key
    assert key not in AdminLogEntry.objects.get().object_repr
    entry = AuditEntry.objects.get(content_type__app_label="authtoken")
    assert (entry.actor, entry.channel, entry.object_repr) == (root, Channel.ADMIN, "API token of manager")
