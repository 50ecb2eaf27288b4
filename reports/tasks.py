"""Celery tasks of the reports: a beat-able refresh of the rollups."""

from __future__ import annotations

from celery import shared_task

from reports.services import rollup_refresh


@shared_task(name="reports.rollup_refresh", ignore_result=True)
def rollup_refresh_task() -> int:
    """Fold new clicks and impressions into the rollups (schedule it every few seconds with beat)."""
    return rollup_refresh()
