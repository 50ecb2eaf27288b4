"""Privacy operations: who erased or anonymized whose personal data, when, and how much."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PrivacyOperation(models.Model):
    """One erasure or anonymization by device id, IP (or network) or publisher, as it was run.

    The identifier itself is not kept: `criteria` holds a hash of a device id, the /24 (/48)
    of an IP, a publisher's id. `counts` says how many rows of each table were changed.
    """

    class Kind(models.TextChoices):
        DEVICE_ID = "device_id", "Device id"
        IP = "ip", "IP address or network"
        PUBLISHER = "publisher", "Publisher"

    class Action(models.TextChoices):
        ANONYMIZE = "anonymize", "Anonymize"
        ERASE = "erase", "Erase"

    class Channel(models.TextChoices):
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Management command"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="privacy_operations"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, blank=True, help_text="The login that ran it, as it was then."
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    client_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name="client IP")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    criteria = models.CharField(
        max_length=200, help_text="What was searched for, masked: a device id's hash, an IP's network."
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows changed per table.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organization", "started_at"], name="privacyop_org_time")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.get_kind_display().lower()} {self.criteria}"
