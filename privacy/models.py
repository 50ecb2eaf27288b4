"""Privacy operations: who erased or anonymized whose personal data, when, and how much."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.i18n import admin_text


class PrivacyOperation(models.Model):
    """One erasure or anonymization by device id, IP (or network) or publisher, as it was run.

    The identifier itself is not kept: `criteria` holds a hash of a device id, the /24 (/48)
    of an IP, a publisher's id. `counts` says how many rows of each table were changed.
    """

    class Kind(models.TextChoices):
        DEVICE_ID = "device_id", admin_text("Device id")
        IP = "ip", admin_text("IP address or network")
        PUBLISHER = "publisher", admin_text("Publisher")

    class Action(models.TextChoices):
        ANONYMIZE = "anonymize", admin_text("Anonymize")
        ERASE = "erase", admin_text("Erase")

    class Channel(models.TextChoices):
        ADMIN = "admin", admin_text("Admin")
        COMMAND = "command", admin_text("Management command")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="privacy_operations",
        verbose_name=admin_text("organization"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("actor"),
    )
    actor_name = models.CharField(
        max_length=150,
        blank=True,
        verbose_name=admin_text("actor name"),
        help_text=admin_text("The login that ran it, as it was then."),
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, verbose_name=admin_text("channel"))
    client_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=admin_text("client IP"))
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=admin_text("kind"))
    criteria = models.CharField(
        max_length=200,
        verbose_name=admin_text("criteria"),
        help_text=admin_text("What was searched for, masked: a device id's hash, an IP's network."),
    )
    action = models.CharField(max_length=10, choices=Action.choices, verbose_name=admin_text("action"))
    counts = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=admin_text("counts"),
        help_text=admin_text("Rows changed per table."),
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("finished at"))

    class Meta:
        verbose_name = admin_text("privacy operation")
        verbose_name_plural = admin_text("privacy operations")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organization", "started_at"], name="privacyop_org_time")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.get_kind_display().lower()} {self.criteria}"
