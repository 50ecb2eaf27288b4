"""Audit entries: who changed which configuration object, when, from where and how.

django-auditlog writes them (`AUDITLOG_LOGENTRY_MODEL` points here). Beside its own fields
(actor, remote address, the masked field diff), an entry names the organization the object
belongs to, so each organization's staff see only theirs, and the channel it came through.
"""

from __future__ import annotations

from typing import Any

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit import tracking
from config.i18n import admin_text


class Channel(models.TextChoices):
    ADMIN = "admin", admin_text("Admin")
    WIZARD = "wizard", admin_text("Connect-partner wizard")
    API = "api", admin_text("Management API")
    PORTAL = "portal", admin_text("Publisher portal")
    COMMAND = "command", admin_text("Management command")
    SYSTEM = "system", admin_text("System (background job)")


class AuditEntryManager(LogEntryManager):
    """auditlog's manager, naming the organization and never writing a secret into the object's name."""

    def log_create(self, instance: Any, force_log: bool = False, **kwargs: Any):
        kwargs.setdefault("organization_id", tracking.organization_id_of(instance))
        kwargs.setdefault("object_repr", tracking.safe_repr(instance))
        kwargs.setdefault("object_pk", tracking.object_pk_of(instance))
        parent = tracking.parent_of(instance)
        if parent is not None:
            kwargs.setdefault("parent_content_type", ContentType.objects.get_for_model(parent[0]))
            kwargs.setdefault("parent_pk", parent[1])
        return super().log_create(instance, force_log=force_log, **kwargs)


class AuditEntry(AbstractLogEntry):
    """One change of one configuration object (created, changed or deleted)."""

    # No database constraint: an organization's deletion is itself audited (each of its objects
    # leaves a "deleted" entry naming it), and the trail outlives it, for superusers to read.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("organization"),
        help_text=admin_text("The organization the object belongs to: its staff see the entry."),
    )
    channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.SYSTEM, verbose_name=admin_text("channel")
    )
    parent_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=admin_text("parent content type"),
    )
    parent_pk = models.CharField(
        max_length=255,
        blank=True,
        verbose_name=admin_text("parent pk"),
        help_text=admin_text(
            "The object this one is part of (an integration's postback template, an offer's goal…): "
            "the entry is on that object's history page too."
        ),
    )
    actor_name = models.CharField(
        max_length=150,
        blank=True,
        verbose_name=admin_text("actor name"),
        help_text=admin_text(
            "Who: the login's username (kept if the login is deleted), or the management command."
        ),
    )

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = admin_text("audit entry")
        verbose_name_plural = admin_text("audit log")
        indexes = [
            models.Index(fields=["organization", "-timestamp"], name="auditentry_org_time"),
            models.Index(fields=["content_type", "object_id"], name="auditentry_object"),
            models.Index(fields=["parent_content_type", "parent_pk"], name="auditentry_parent"),
        ]

    @property
    def who(self) -> str:
        return self.actor_name or "system"
