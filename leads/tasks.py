"""Celery tasks of the leads: the beat-run fold of the report rollups and the raw partitions."""

from __future__ import annotations

from celery import shared_task

from leads.partitions import partitions_maintain
from leads.rollups import rollup_refresh


@shared_task(name="leads.rollup_refresh", ignore_result=True)
def rollup_refresh_task() -> int:
    """Fold new clicks, impressions and lead events into the rollups (beat runs it every 10 s)."""
    return rollup_refresh()


@shared_task(name="leads.partitions_maintain", ignore_result=True)
def partitions_maintain_task() -> None:
    """Create the raw tables' partitions ahead and drop those past the retention (beat, hourly)."""
    partitions_maintain()
