"""The second factor: the code step after the password, enrolment, recovery codes, lockout.

Every sign-in here goes through the real login pages (never `force_login`, which stands for
a finished sign-in), so what is asserted is what a person at the login form gets.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from accounts.twofactor import recovery_codes_issue
from tests.factories import MembershipFactory, PartnerFactory

PASSWORD = "pass-word-123"


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for this device (`steps_ahead` 30-second steps later)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def authenticator_of(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    recovery_codes_issue(user=user)
    return device


def admin_login(client, username: str, password: str = PASSWORD):
    form = {"username": username, "password": password, "next": "/admin/"}
    return client.post(reverse("admin:login"), form)


def portal_login(client, username: str, password: str = PASSWORD):
    return client.post(reverse("portal:login"), {"username": username, "password": password})


def give_code(client, code: str, area: str = "admin", next_url: str = "/admin/"):
    return client.post(reverse(f"{area}_2fa:verify"), {"code": code, "next": next_url})


@pytest.fixture
def enrolled_admin(admin_user):
    return admin_user, authenticator_of(admin_user)


# --- The code step --------------------------------------------------------------------------------


def test_a_password_alone_gives_an_admin_no_admin_page(client, enrolled_admin):
    admin_login(client, "admin")

    page = client.get("/admin/")
    members = client.get(reverse("admin:accounts_membership_changelist"))

    assert page.status_code == 302 and page["Location"] == "/admin/2fa/verify/?next=%2Fadmin%2F"
    assert members.status_code == 302 and members["Location"].startswith("/admin/2fa/verify/")


def test_the_management_api_does_not_take_a_session_still_owing_its_code(client, enrolled_admin):
    admin_login(client, "admin")

    answer = client.get("/api/v1/apps/")

    assert answer.status_code in (401, 403)


def test_the_right_authenticator_code_opens_the_admin(client, enrolled_admin):
    _, device = enrolled_admin
    admin_login(client, "admin")

    answer = give_code(client, code_of(device))

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_with_a_sentence(client, enrolled_admin):
    _, device = enrolled_admin
    admin_login(client, "admin")

    answer = give_code(client, "000000" if code_of(device) != "000000" else "111111")

    assert answer.status_code == 200
    assert "That code is not right" in answer.content.decode()
    assert client.get("/admin/").status_code == 302


def test_wrong_codes_count_as_failed_sign_ins_and_lock_the_login_out(client, enrolled_admin, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _, device = enrolled_admin
    admin_login(client, "admin")
    wrong = "000000" if code_of(device) != "000000" else "111111"

    answers = [give_code(client, wrong) for _ in range(3)]
    after_lockout = give_code(client, code_of(device))

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert AccessAttempt.objects.get(username="admin").failures_since_start == 3
    assert after_lockout.status_code == 429
    assert client.get("/admin/").status_code == 302
    # The password step is locked as well now.
    assert admin_login(client.__class__(), "admin").status_code == 429


def test_signing_in_again_with_the_password_does_not_forget_wrong_codes(client, enrolled_admin):
    _, device = enrolled_admin
    admin_login(client, "admin")
    give_code(client, "000000" if code_of(device) != "000000" else "111111")

    admin_login(client, "admin")

    assert AccessAttempt.objects.get(username="admin").failures_since_start == 1


def test_the_right_code_forgets_the_counted_failures(client, enrolled_admin):
    _, device = enrolled_admin
    admin_login(client, "admin")
    give_code(client, "000000" if code_of(device) != "000000" else "111111")
    device.throttle_reset()

    give_code(client, code_of(device))

    assert not AccessAttempt.objects.filter(username="admin").exists()


def test_a_superuser_needs_a_code_too(client, db):
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    authenticator_of(root)

    admin_login(client, "root")

    assert client.get("/admin/").status_code == 302


def test_a_manager_signs_in_with_the_password_alone_by_default(client, manager):
    admin_login(client, "manager")

    assert client.get("/admin/").status_code == 200


def test_the_setting_asks_every_staff_login_for_a_code(client, manager, settings):
    settings.OTP_REQUIRED_FOR_STAFF = True
    admin_login(client, "manager")

    answer = client.get("/admin/")

    assert answer.status_code == 302 and answer["Location"].startswith("/admin/2fa/enrol/")


def test_api_token_requests_are_unaffected(api_client_for, enrolled_admin):
    user, _ = enrolled_admin

    answer = api_client_for(user).get("/api/v1/apps/")

    assert answer.status_code == 200


# --- Enrolment ------------------------------------------------------------------------------------


def test_an_admin_without_a_device_is_sent_to_enrolment_not_locked_out(client, admin_user):
    admin_login(client, "admin")

    answer = client.get("/admin/partners/app/")
    page = client.get(answer["Location"])

    assert answer.status_code == 302 and answer["Location"].startswith("/admin/2fa/enrol/")
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text and "Set up your authenticator app" in text


def test_enrolment_scan_confirm_gives_the_session_and_ten_recovery_codes(client, admin_user):
    admin_login(client, "admin")
    page = client.get(reverse("admin_2fa:enrol"))
    key = re.search(r'data-role="otp-key">([A-Z2-7 ]+)<', page.content.decode()).group(1)
    device = TOTPDevice.objects.get(user=admin_user)
    assert key.replace(" ", "") in device.config_url  # the QR code and the typed key are the same secret

    answer = client.post(reverse("admin_2fa:enrol"), {"code": code_of(device), "next": "/admin/"})

    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", answer.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200


def test_a_wrong_enrolment_code_leaves_the_device_unconfirmed(client, admin_user):
    admin_login(client, "admin")
    client.get(reverse("admin_2fa:enrol"))

    answer = client.post(reverse("admin_2fa:enrol"), {"code": "12", "next": "/admin/"})

    assert "does not match" in answer.content.decode()
    assert not TOTPDevice.objects.get(user=admin_user).confirmed
    assert client.get("/admin/").status_code == 302


def test_a_session_owing_its_code_cannot_replace_the_authenticator(client, enrolled_admin):
    admin_login(client, "admin")

    answer = client.get(reverse("admin_2fa:enrol"))

    assert answer.status_code == 302 and answer["Location"].startswith("/admin/2fa/verify/")
    assert TOTPDevice.objects.filter(user=enrolled_admin[0]).count() == 1


# --- Recovery codes -------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(client, admin_user):
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    code = recovery_codes_issue(user=admin_user)[0]
    admin_login(client, "admin")

    first = give_code(client, code.upper())
    client.post(reverse("admin:logout"))
    admin_login(client, "admin")
    second = give_code(client, code)

    assert first.status_code == 302 and first["Location"] == "/admin/"
    assert second.status_code == 200 and "That code is not right" in second.content.decode()
    assert StaticDevice.objects.get(user=admin_user).token_set.count() == 9


def test_new_recovery_codes_replace_the_old_ones(client, enrolled_admin):
    user, device = enrolled_admin
    old = list(StaticDevice.objects.get(user=user).token_set.values_list("token", flat=True))
    admin_login(client, "admin")
    give_code(client, code_of(device))

    answer = client.post(reverse("admin_2fa:recovery_codes"), {"next": "/admin/"})

    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", answer.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert StaticDevice.objects.get(user=user).token_set.count() == 10


# --- Publishers -----------------------------------------------------------------------------------


@pytest.fixture
def publisher(organization):
    partner = PartnerFactory(organization=organization, name="Publisher Alpha")
    return MembershipFactory(organization=organization, role=Role.PUBLISHER, partner=partner).user


def test_a_publisher_turns_it_on_in_the_profile_and_then_needs_the_code(client, publisher):
    portal_login(client, publisher.username)
    profile = client.get(reverse("portal:profile")).content.decode()
    assert "Turn on two-step sign-in" in profile
    client.get(reverse("portal_2fa:enrol"))
    device = TOTPDevice.objects.get(user=publisher)
    client.post(reverse("portal_2fa:enrol"), {"code": code_of(device), "next": "/portal/profile/"})
    client.post(reverse("portal:logout"))

    portal_login(client, publisher.username)
    answer = client.get("/portal/")
    step = client.get(answer["Location"])
    done = give_code(client, code_of(device, steps_ahead=1), area="portal", next_url="/portal/")

    assert answer.status_code == 302 and answer["Location"] == "/portal/2fa/verify/?next=%2Fportal%2F"
    assert step.status_code == 200 and "Enter your code" in step.content.decode()
    assert done.status_code == 302 and client.get("/portal/").status_code == 200


def test_a_publisher_signs_in_with_the_password_alone_until_turning_it_on(client, publisher):
    portal_login(client, publisher.username)

    assert client.get("/portal/").status_code == 200


def test_a_publisher_may_turn_it_off_again(client, publisher):
    device = authenticator_of(publisher)
    portal_login(client, publisher.username)
    give_code(client, code_of(device), area="portal", next_url="/portal/")

    client.post(reverse("portal_2fa:disable"), {"next": "/portal/profile/"})
    client.post(reverse("portal:logout"))
    portal_login(client, publisher.username)

    assert not TOTPDevice.objects.filter(user=publisher).exists()
    assert client.get("/portal/").status_code == 200


def test_an_admin_cannot_turn_a_required_second_factor_off(client, enrolled_admin):
    user, device = enrolled_admin
    admin_login(client, "admin")
    give_code(client, code_of(device))

    client.post(reverse("admin_2fa:disable"), {"next": "/admin/"})

    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- Resetting a lost device ----------------------------------------------------------------------


def test_otp_reset_removes_a_users_devices_and_sends_them_to_enrolment(client, enrolled_admin, capsys):
    call_command("otp_reset", "admin")

    admin_login(client, "admin")
    answer = client.get("/admin/")

    assert "admin" in capsys.readouterr().out
    assert not TOTPDevice.objects.filter(user=enrolled_admin[0]).exists()
    assert answer["Location"].startswith("/admin/2fa/enrol/")


def test_an_organization_admin_resets_a_members_second_factor_from_the_admin(client, admin_user, manager):
    authenticator_of(manager)
    client.force_login(admin_user)

    answer = client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "second_factor_reset_action", "_selected_action": [manager.membership.pk]},
    )

    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert not StaticDevice.objects.filter(user=manager).exists()


def test_the_admin_links_to_ones_own_second_factor_page(client, manager):
    client.force_login(manager)

    index = client.get("/admin/").content.decode()
    page = client.get(reverse("admin_2fa:overview")).content.decode()

    assert 'href="/admin/2fa/"' in index
    assert "Two-step sign-in is <strong>off</strong>" in page and "Turn it on" in page
