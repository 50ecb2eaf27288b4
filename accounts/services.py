"""Writes about people: logins, their memberships and roles, their management API keys.

The admin, management commands and the demo seeder all create and change people
through these functions, so the role rules (staff flag, publisher partner, at least
one admin per organization) hold whichever door a change comes through.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import STAFF_ROLES, Membership, Organization, PreviousApiKey, Role
from audit.tracking import record_update

if TYPE_CHECKING:
    from partners.models import Partner


def membership_is_last_admin(membership: Membership) -> bool:
    """Whether this member is their organization's only admin (who must stay one)."""
    if membership.role != Role.ADMIN:
        return False
    others = Membership.objects.filter(organization_id=membership.organization_id, role=Role.ADMIN)
    return not others.exclude(pk=membership.pk).exists()


def _lock_admins(organization: Organization) -> None:
    """Lock the organization's admins so two demotions cannot both pass the last-admin check."""
    list(Membership.objects.select_for_update().filter(organization=organization, role=Role.ADMIN))


def membership_check(
    *,
    organization: Organization | None,
    role: str,
    partner: Partner | None,
    membership: Membership | None = None,
) -> None:
    """Raise a ValidationError (by field) if this role and partner may not be given.

    A publisher login needs a partner of its own organization; staff logins have none.
    An organization's last admin keeps the admin role. `organization` None skips the
    checks that need it (a form that does not know it yet).
    """
    if role == Role.PUBLISHER and partner is None:
        raise ValidationError({"partner": _("A publisher login needs its partner: pick one.")})
    if role != Role.PUBLISHER and partner is not None:
        raise ValidationError({"partner": _("Only publisher logins belong to a partner: leave it empty.")})
    if organization is None:
        return
    if partner is not None and partner.organization_id != organization.pk:
        raise ValidationError({"partner": _("This partner belongs to another organization.")})
    if membership is not None and role != Role.ADMIN and membership_is_last_admin(membership):
        raise ValidationError({"role": _("An organization needs an admin: make someone else admin first.")})


@transaction.atomic
def membership_create(
    *,
    organization: Organization,
    username: str,
    email: str,
    password: str,
    role: str,
    partner: Partner | None = None,
) -> Membership:
    """A new login in the organization; staff roles may enter the admin, publishers only the portal."""
    membership_check(organization=organization, role=role, partner=partner)
    user = get_user_model()(username=username.strip(), email=email.strip(), is_staff=role in STAFF_ROLES)
    user.set_password(password)
    user.save()
    return Membership.objects.create(user=user, organization=organization, role=role, partner=partner)


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, partner: Partner | None = None) -> Membership:
    """Give a member another role (and, for publishers, their partner); the staff flag follows."""
    _lock_admins(membership.organization)
    current = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    membership_check(organization=current.organization, role=role, partner=partner, membership=current)
    current.role = role
    current.partner = partner
    current.save(update_fields=["role", "partner"])
    current.user.is_staff = role in STAFF_ROLES
    current.user.save(update_fields=["is_staff"])
    return current


def membership_language_set(*, membership: Membership, language: str) -> None:
    """The portal's language for this login ("" = the browser's); one of `settings.LANGUAGES`."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": f"Unknown language {language!r}: pick one of the list."})
    Membership.objects.filter(pk=membership.pk).update(language=language)
    membership.language = language


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    """Remove a person: their login goes with their membership (nobody is left half-removed)."""
    _lock_admins(membership.organization)
    current = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership_is_last_admin(current):
        raise ValidationError(_("An organization needs an admin: the last one cannot be removed."))
    current.user.delete()


# --- Management API keys (README "Management API keys") ---------------------------------------


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_rotate(*, user: Any, overlap: timedelta) -> tuple[Token, datetime]:
    """Give the login a new API key; the current one keeps working for `overlap`, then only the new one.

    Returns the token with its new key and when the previous key stops. A key rotated before and
    still in its overlap stops working now (one previous key at a time). A login without a token
    has nothing to rotate: ValidationError.
    """
    current = Token.objects.select_for_update().filter(user=user).first()
    if current is None:
        raise ValidationError(
            _(
                "%(user)s has no API token to rotate: a superuser creates one first "
                "(admin → Auth Token → Tokens, or manage.py drf_create_token)."
            )
            % {"user": user}
        )
    valid_until = timezone.now() + overlap
    PreviousApiKey.objects.update_or_create(
        user=user, defaults={"digest": api_key_digest(current.key), "valid_until": valid_until}
    )
    # The key is the token's primary key: it changes in place (nothing refers to it), one audit entry.
    new_key, created = Token.generate_key(), timezone.now()
    Token.objects.filter(pk=current.pk).update(key=new_key, created=created)
    record_update(current, key=new_key, created=created)
    return Token.objects.get(pk=new_key), valid_until
