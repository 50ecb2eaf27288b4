"""Outbound postback templates (and, with ingestion and delivery, their logs)."""

from __future__ import annotations

from django.db import models


class PostbackTemplate(models.Model):
    """A partner's postback URL for one integration, optionally for one goal.

    The template without a goal is the integration's install postback: it fires for
    every conversion whose goal has no template of its own.
    """

    class Event(models.TextChoices):
        CONVERSION = "conversion", "Conversion"
        STATUS = "status", "Status change"

    integration = models.ForeignKey(
        "partners.Integration", on_delete=models.CASCADE, related_name="postback_templates"
    )
    goal = models.ForeignKey(
        "partners.Goal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="postback_templates",
    )
    event = models.CharField(max_length=20, choices=Event.choices, default=Event.CONVERSION)
    url = models.CharField(max_length=2000)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "goal", "event"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "goal", "event"],
                name="postbacktemplate_unique_goal",
                condition=models.Q(goal__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["integration", "event"],
                name="postbacktemplate_unique_install",
                condition=models.Q(goal__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        goal = self.goal.code if self.goal_id else "install"
        return f"{self.integration} · {goal} · {self.get_event_display()}"
