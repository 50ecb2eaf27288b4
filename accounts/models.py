"""Organizations, the people in them, and their roles."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from config.i18n import admin_text
from currencies.codes import validate_currency


def validate_time_zone(value: str) -> None:
    """An IANA time zone name zoneinfo knows ("Europe/Berlin"), so periods can be computed in it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            admin_text("“%(value)s” is not a time zone: use an IANA name such as Europe/Berlin or UTC.")
            % {"value": value}
        ) from error


class Organization(models.Model):
    """A tenant: an advertiser or a network. Nothing is ever shared between two."""

    name = models.CharField(max_length=200, verbose_name=admin_text("name"))
    slug = models.SlugField(max_length=60, unique=True, verbose_name=admin_text("slug"))
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[validate_currency],
        verbose_name=admin_text("base currency"),
        help_text=admin_text(
            "Reports, dashboards and balances add up amounts converted into this currency "
            "(ECB reference rates, frozen on each lead at its conversion)."
        ),
    )
    min_payout = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("50.00"),
        verbose_name=admin_text("min payout"),
        help_text=admin_text("The smallest payout a publisher may request."),
    )
    referral_share = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        verbose_name=admin_text("referral share"),
        help_text=admin_text("Percent of a referred publisher's approved payouts earned by the referrer."),
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        verbose_name=admin_text("time zone"),
        help_text=admin_text(
            "An IANA name (Europe/Berlin). Daily and monthly caps start at midnight and the 1st here."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("organization")
        verbose_name_plural = admin_text("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    ADMIN = "admin", admin_text("Admin")
    MANAGER = "manager", admin_text("Manager")
    ANALYST = "analyst", admin_text("Analyst")
    PUBLISHER = "publisher", admin_text("Publisher")


STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST})
EDITOR_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


class Membership(models.Model):
    """A user's place in one organization: its role, and for publishers their partner.

    A user belongs to exactly one organization, so every page and API call has one
    unambiguous scope.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=admin_text("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=admin_text("organization"),
    )
    role = models.CharField(max_length=20, choices=Role.choices, verbose_name=admin_text("role"))
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="publisher_logins",
        verbose_name=admin_text("partner"),
        help_text=admin_text("For publisher logins: the partner whose data this login sees."),
    )
    language = models.CharField(
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        verbose_name=admin_text("language"),
        help_text=admin_text("The portal's language for this login; empty: the browser's."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=admin_text("created at"))

    class Meta:
        verbose_name = admin_text("membership")
        verbose_name_plural = admin_text("memberships")
        constraints = [
            models.CheckConstraint(
                name="membership_publisher_has_partner",
                condition=(
                    models.Q(role="publisher", partner__isnull=False)
                    | (~models.Q(role="publisher") & models.Q(partner__isnull=True))
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"

    @property
    def can_edit(self) -> bool:
        """Admins and managers connect and edit; analysts and publishers only look."""
        return self.role in EDITOR_ROLES

    @property
    def can_manage_users(self) -> bool:
        return self.role == Role.ADMIN


class PreviousApiKey(models.Model):
    """A login's API key before its last rotation, still accepted until `valid_until`.

    Only its SHA-256 digest is kept: the key itself was handed out before and is never shown again.
    One per login: a second rotation replaces it, so the key before ends at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="previous_api_key",
        verbose_name=admin_text("user"),
    )
    digest = models.CharField(
        max_length=64,
        unique=True,
        verbose_name=admin_text("digest"),
        help_text=admin_text("SHA-256 of the key, hex."),
    )
    valid_until = models.DateTimeField(verbose_name=admin_text("valid until"))

    class Meta:
        verbose_name = admin_text("previous api key")
        verbose_name_plural = admin_text("previous api keys")

    def __str__(self) -> str:
        return f"Previous API key of {self.user}"
