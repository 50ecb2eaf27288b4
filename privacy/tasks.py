"""Celery tasks of privacy: the retention of raw IPs and user agents (beat, hourly)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from privacy.services import retention_purge


@shared_task(name="privacy.retention_purge", ignore_result=True)
def retention_purge_task() -> dict[str, int]:
    """Blank raw IPs and user agents past their retention; safe to run twice."""
    return retention_purge(
        ip_days=settings.RETENTION_IP_DAYS, user_agent_days=settings.RETENTION_USER_AGENT_DAYS
    )
