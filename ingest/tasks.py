"""Periodic work of the ingest app (thin: the work is in ingest.log and ingest.signing)."""

from __future__ import annotations

from celery import shared_task

from ingest.log import spool_load
from ingest.signing import signature_uses_prune


@shared_task(name="ingest.spool_replay", ignore_result=True)
def spool_replay_task() -> int:
    """Load spooled requests into the inbound log (a no-op while the spool is empty)."""
    return spool_load()


@shared_task(name="ingest.signature_prune", ignore_result=True)
def signature_prune_task() -> int:
    """Forget the signatures of signed requests too old to be accepted again."""
    return signature_uses_prune()
