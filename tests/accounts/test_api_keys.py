"""Management API keys rotated with an overlap: the old key works until it ends, the new one at once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_token_rotate
from audit.models import AuditEntry, Channel
from tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db

ROTATE = "/api/v1/me/token/rotate/"


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def lists_apps(key: str) -> int:
    return api(key).get("/api/v1/apps/").status_code


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def old_key(manager) -> str:
    return Token.objects.create(user=manager).key


def test_old_and_new_key_both_work_until_the_overlap_ends_then_only_the_new(manager, old_key):
    token, valid_until = api_token_rotate(user=manager, overlap=timedelta(days=7))

    assert token.key != old_key
    assert (lists_apps(old_key), lists_apps(token.key)) == (200, 200)
    with mock.patch("django.utils.timezone.now", return_value=valid_until + timedelta(seconds=1)):
        refused = api(old_key).get("/api/v1/apps/")
        assert lists_apps(token.key) == 200
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."}


def test_rotating_again_ends_the_first_previous_key_at_once(manager, old_key):
    second, _ = api_token_rotate(user=manager, overlap=timedelta(days=7))
    third, _ = api_token_rotate(user=manager, overlap=timedelta(days=7))

    assert lists_apps(old_key) == 401
    assert (lists_apps(second.key), lists_apps(third.key)) == (200, 200)


def test_a_previous_key_of_a_deactivated_login_is_refused(manager, old_key):
    api_token_rotate(user=manager, overlap=timedelta(days=7))
    manager.is_active = False
    manager.save()

    assert lists_apps(old_key) == 401


def test_the_endpoint_answers_the_new_key_once_and_never_the_old_in_full(manager, old_key):
    response = api(old_key).post(ROTATE, {"overlap": "24h"}, format="json")

    assert response.status_code == 200
    body = response.json()
    new_key = Token.objects.get(user=manager).key
    assert body["key"] == new_key
    assert body["previous_key"] == f"{old_key[:4]}…"
    assert old_key not in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    valid_until = timezone.now() + timedelta(hours=24)
    assert abs(timezone.datetime.fromisoformat(body["previous_key_valid_until"]) - valid_until) < timedelta(
        minutes=1
    )
    assert (lists_apps(old_key), lists_apps(new_key)) == (200, 200)


def test_the_endpoint_refuses_the_previous_key_and_a_wrong_overlap(manager, old_key):
    new_key = api(old_key).post(ROTATE, format="json").json()["key"]

    with_previous = api(old_key).post(ROTATE, format="json")
    wrong_overlap = api(new_key).post(ROTATE, {"overlap": "2w"}, format="json")

    assert with_previous.status_code == 403
    assert with_previous.json() == {"detail": "This key was rotated already: rotate with the current key."}
    assert wrong_overlap.status_code == 400
    assert "overlap" in wrong_overlap.json()
    assert Token.objects.get(user=manager).key == new_key


def test_an_analyst_may_rotate_its_own_key_but_a_session_or_publisher_may_not(analyst, manager, organization):
    analyst_key = Token.objects.create(user=analyst).key
    partner = PartnerFactory(organization=organization)
    publisher = MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner).user
    publisher_key = Token.objects.create(user=publisher).key
    session = APIClient()
    session.force_login(manager)

    assert api(analyst_key).post(ROTATE, format="json").status_code == 200
    assert api(publisher_key).post(ROTATE, format="json").status_code == 403
    assert session.post(ROTATE, format="json").status_code == 401
    assert Token.objects.get(user=publisher).key == publisher_key


def test_a_rotation_is_audited_with_the_keys_masked(manager, old_key, organization):
    response = api(old_key).post(ROTATE, {"overlap": "1h"}, format="json")

    new_key = response.json()["key"]
    entry = AuditEntry.objects.get(content_type__app_label="authtoken", action=AuditEntry.Action.UPDATE)
    assert (entry.actor, entry.channel, entry.organization) == (manager, Channel.API, organization)
    assert entry.object_repr == "API token of manager"
    assert entry.changes["key"] == [f"{old_key[:4]}…", f"{new_key[:4]}…"]
    text = f"{entry.object_pk} {entry.object_repr} {entry.changes}"
    assert old_key not in text and new_key not in text


def test_the_command_rotates_with_the_overlap_asked_and_prints_the_new_key(manager, old_key, capsys):
    call_command("api_token_rotate", "manager", "--overlap", "1h")

    new_key = Token.objects.get(user=manager).key
    out = capsys.readouterr().out
    assert f"New API key of manager: {new_key}" in out
    assert "keeps working for 1 hour" in out
    assert old_key not in out
    assert (lists_apps(old_key), lists_apps(new_key)) == (200, 200)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=1, seconds=5)):
        assert lists_apps(old_key) == 401
    entry = AuditEntry.objects.get(content_type__app_label="authtoken", action=AuditEntry.Action.UPDATE)
    assert (entry.channel, entry.actor_name) == (Channel.COMMAND, "manage.py api_token_rotate")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["manager", "--overlap", "2w"], "--overlap '2w': choose one of 1h, 24h, 7d, 30d."),
        (["nobody"], "No login named 'nobody'."),
        (["analyst"], "analyst has no API token to rotate"),
    ],
)
def test_the_command_explains_what_it_cannot_rotate(manager, analyst, old_key, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("api_token_rotate", *args)

    assert Token.objects.get(user=manager).key == old_key


def test_staff_rotate_their_own_key_in_the_admin_and_see_it_once(analyst):
    old_key = Token.objects.create(user=analyst).key
    client = signed_in(analyst)

    page = client.get(reverse("admin_api_key"))
    answer = client.post(reverse("admin_api_key"), {"overlap": "30d"})
    again = client.get(reverse("admin_api_key"))

    assert f"{old_key[:4]}…" in page.content.decode() and old_key not in page.content.decode()
    new_key = Token.objects.get(user=analyst).key
    assert new_key in answer.content.decode() and old_key not in answer.content.decode()
    assert new_key not in again.content.decode()
    assert "Your previous key keeps working until" in again.content.decode()
    assert (lists_apps(old_key), lists_apps(new_key)) == (200, 200)


def test_an_org_admin_rotates_a_members_key_from_the_membership_list(admin_user, manager, old_key):
    url = reverse("admin:accounts_membership_changelist")
    chosen = {"action": "api_token_rotate_action", "_selected_action": [manager.membership.pk]}
    client = signed_in(admin_user)

    confirm = client.post(url, chosen)
    assert Token.objects.get(user=manager).key == old_key
    answer = client.post(url, {**chosen, "overlap": "7d", "rotate": "yes"})

    assert "The current keys keep working for" in confirm.content.decode()
    new_key = Token.objects.get(user=manager).key
    assert new_key != old_key
    assert new_key in answer.content.decode() and old_key not in answer.content.decode()
    assert (lists_apps(old_key), lists_apps(new_key)) == (200, 200)


def test_a_non_admin_cannot_rotate_another_logins_key(manager, analyst):
    analyst_key = Token.objects.create(user=analyst).key
    url = reverse("admin:accounts_membership_changelist")
    chosen = {"action": "api_token_rotate_action", "_selected_action": [analyst.membership.pk]}

    response = signed_in(manager).post(url, {**chosen, "overlap": "7d", "rotate": "yes"})

    assert response.status_code == 403
    assert Token.objects.get(user=analyst).key == analyst_key


def test_an_org_admin_cannot_rotate_another_organizations_key(admin_user, other_organization):
    stranger = MembershipFactory(organization=other_organization, role=Role.MANAGER).user
    stranger_key = Token.objects.create(user=stranger).key
    url = reverse("admin:accounts_membership_changelist")
    chosen = {"action": "api_token_rotate_action", "_selected_action": [stranger.membership.pk]}

    signed_in(admin_user).post(url, {**chosen, "overlap": "7d", "rotate": "yes"})

    assert Token.objects.get(user=stranger).key == stranger_key
