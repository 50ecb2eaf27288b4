"""The admin page: org admins preview, then run; everyone else is refused; the record is org-scoped."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEntry
from audit.models import Channel as AuditChannel
from leads.models import Click
from privacy.models import PrivacyOperation
from tests.factories import MembershipFactory
from tests.privacy.conftest import DEVICE

pytestmark = pytest.mark.django_db

RUN = reverse("admin:privacy_privacyoperation_run")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_an_org_admin_previews_the_counts_then_erases(world, org_admin):
    client = _client(org_admin)
    form = {"kind": "device_id", "value": DEVICE, "action": "erase"}
    device_clicks = Click.objects.filter(gaid=DEVICE).count()

    preview = client.post(RUN, {**form, "preview": "1"})

    assert preview.status_code == 200
    assert (
        not PrivacyOperation.objects.exists() and Click.objects.filter(gaid=DEVICE).count() == device_clicks
    )
    assert preview.context["preview"]["clicks"] == device_clicks
    assert "Erase" in preview.content.decode() and 'name="confirm"' in preview.content.decode()

    done = client.post(RUN, {**form, "confirm": "1"}, REMOTE_ADDR="198.51.100.77")

    operation = PrivacyOperation.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/{operation.pk}/change/")
    assert operation.actor == org_admin and operation.channel == "admin"
    assert operation.client_ip == "198.51.100.77" and operation.counts["clicks"] == device_clicks
    assert not Click.objects.filter(gaid=DEVICE).exists()
    page = client.get(done["Location"])
    assert page.status_code == 200 and operation.criteria in page.content.decode()
    assert DEVICE not in page.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ANALYST])
def test_managers_and_analysts_may_not_erase_or_see_the_operations(world, role):
    user = MembershipFactory(organization=world.organization, role=role, user__username=f"{role}-x").user
    client = _client(user)

    refused = client.post(RUN, {"kind": "device_id", "value": DEVICE, "action": "erase", "confirm": "1"})

    assert refused.status_code == 403
    assert Click.objects.filter(gaid=DEVICE).exists() and not PrivacyOperation.objects.exists()
    assert client.get(reverse("admin:privacy_privacyoperation_changelist")).status_code == 403


def test_a_publisher_login_cannot_reach_the_page(world):
    response = _client(world.a.user).post(RUN, {"kind": "device_id", "value": DEVICE, "action": "erase"})

    assert response.status_code in (302, 403)
    assert Click.objects.filter(gaid=DEVICE).exists()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"kind": "ip", "value": "300.1.2.3"}, "value", "is no IP address or network"),
        ({"kind": "ip", "value": "10.0.0.0/8"}, "value", "too wide"),
        ({"kind": "device_id", "value": ""}, "value", "Type the device id"),
        ({"kind": "publisher", "value": ""}, "publisher", "Choose the publisher"),
    ],
)
def test_bad_input_is_a_form_error_that_says_what_to_type(world, org_admin, form, field, message):
    response = _client(org_admin).post(RUN, {**form, "action": "erase", "preview": "1"})

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])


def test_another_organizations_operations_are_not_listed(world, org_admin, other_organization):
    PrivacyOperation.objects.create(
        organization=other_organization, channel="command", kind="ip", criteria="192.0.2.xxx", action="erase"
    )
    ours = PrivacyOperation.objects.create(
        organization=world.organization,
        channel="command",
        kind="ip",
        criteria="203.0.113.xxx",
        action="erase",
    )

    page = _client(org_admin).get(reverse("admin:privacy_privacyoperation_changelist"))

    assert list(page.context["cl"].result_list) == [ours]


def test_the_command_erases_by_device_id_and_records_it(world, capsys):
    call_command("privacy_erase", "--org", "acme", "--device-id", DEVICE, "--erase")

    assert "Done (erase" in capsys.readouterr().out
    assert not Click.objects.filter(gaid=DEVICE).exists()
    operation = PrivacyOperation.objects.get()
    assert operation.channel == "command"
    # The operation itself is in the audit log, under its organization, without the device id.
    entries = AuditEntry.objects.filter(content_type__app_label="privacy", object_pk=str(operation.pk))
    entry = entries.get(action=AuditEntry.Action.CREATE)
    assert (entry.channel, entry.actor_name) == (AuditChannel.COMMAND, "manage.py privacy_erase")
    assert entry.organization_id == operation.organization_id
    assert all(DEVICE not in str(each.changes) for each in entries)


def test_the_command_dry_run_changes_nothing(world, capsys):
    call_command("privacy_erase", "--org", "acme", "--publisher", "Alpha Media", "--anonymize", "--dry-run")

    assert "Would anonymize" in capsys.readouterr().out
    assert Click.objects.filter(gaid=DEVICE).exists() and not PrivacyOperation.objects.exists()


def test_the_command_names_what_is_wrong(world):
    with pytest.raises(CommandError, match="no publisher 'Nobody'"):
        call_command("privacy_erase", "--org", "acme", "--publisher", "Nobody", "--erase")
    with pytest.raises(CommandError, match="No organization"):
        call_command("privacy_erase", "--org", "nope", "--ip", "203.0.113.7", "--erase")
