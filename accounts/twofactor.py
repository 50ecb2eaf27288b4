"""The second factor: who must use one, and the writes that enrol, check and reset devices.

A person signs in with their password, then with a code: a TOTP code from an authenticator
app (`TOTPDevice`) or one of ten single-use recovery codes (`StaticDevice`), both django-otp
devices. Admins of an organization and superusers must have one; `OTP_REQUIRED_FOR_STAFF`
extends that to every staff login; anyone else (publishers, managers) may turn it on, and from
then on is asked for a code too. The admin, the portal, the management command `otp_reset` and
the demo seeder all go through these functions.
"""

from __future__ import annotations

import io
from base64 import b32encode
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import STAFF_ROLES, Membership, Role

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def second_factor_required(user: Any) -> bool:
    """Whether this login may not go without a second factor, whether or not it has one yet."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    try:
        role = user.membership.role
    except Membership.DoesNotExist:
        return False
    if role == Role.ADMIN:
        return True
    return settings.OTP_REQUIRED_FOR_STAFF and role in STAFF_ROLES


def second_factor_enrolled(user: Any) -> bool:
    """Whether the login has a confirmed authenticator or recovery codes left to sign in with."""
    return user_has_device(user, confirmed=True)


def authenticator_enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def authenticator_key(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed by hand: base32, in groups of 4."""
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def authenticator_qr_svg(device: TOTPDevice) -> SafeString:
    """The enrolment QR code as inline SVG on white (dark themes too), drawn here: nothing is loaded."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    # The XML declaration is not allowed inside HTML; the <svg> element is.
    return mark_safe(svg[svg.index("<svg") :])


@transaction.atomic
def authenticator_start(*, user: Any) -> TOTPDevice:
    """The unconfirmed authenticator being set up: the same one while the page is reloaded."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def authenticator_set(*, user: Any, key: str) -> TOTPDevice:
    """A confirmed authenticator whose secret (hex) is known beforehand: the demo admin's."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, key=key, confirmed=True)


@transaction.atomic
def authenticator_confirm(*, user: Any, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the authenticator being set up with a code it shows; None when the code is wrong.

    A confirmed authenticator replaces any earlier one (a new phone), and a fresh set of
    recovery codes replaces the old ones; the codes are returned to be shown once.
    """
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None or not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, recovery_codes_issue(user=user)


@transaction.atomic
def recovery_codes_issue(*, user: Any) -> list[str]:
    """Ten new single-use recovery codes; the ones issued before stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def code_verify(*, user: Any, code: str) -> Device | None:
    """The device that accepts this code, or None.

    Six digits are an authenticator code, anything else a recovery code (used up by the
    check). Each device throttles its own failures (django-otp); django-axes counts them per
    login and address in the view.
    """
    code = code.strip().replace(" ", "").replace("-", "")
    if not code:
        return None
    kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    if kind is StaticDevice:
        code = code.lower()
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, kind) and device.verify_token(code):
                return device
    return None


@transaction.atomic
def second_factor_reset(*, user: Any) -> int:
    """Remove every device of a login (lost phone, or the owner turns it off); how many went.

    A login that must have a second factor is sent to enrolment at its next sign-in.
    """
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        count, _ = model.objects.filter(user=user).delete()
        removed += count
    return removed


def second_factor_status(user: Any) -> dict[str, Any]:
    """What a profile page shows: on or off, required or optional, recovery codes left."""
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return {
        "enabled": authenticator_enrolled(user),
        "required": second_factor_required(user),
        "recovery_left": static.token_set.count() if static else 0,
    }


def _digits(code: str) -> str:
    return code.strip().replace(" ", "")
