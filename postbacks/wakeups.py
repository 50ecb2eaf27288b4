"""Waking the workers: deliveries are handed to the Celery broker after commit, only to wake a
worker; the rows stay the truth. Without a broker (or while it is failing) the sweep sends them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction

from config.breaker import Breaker
from config.celery import app as celery_app
from postbacks.models import Delivery

logger = logging.getLogger(__name__)

State = Delivery.State
# Rows handed to the broker are left to it this long before the sweep hands them over again;
# a wake-up lost with a dead worker costs at most this plus one sweep (under a minute). A row
# woken twice is still sent once: a worker claims it before sending.
BROKER_LEASE = timedelta(seconds=40)
BROKER = "broker"
WAKE_CHUNK = 50
# Deliveries have their own queue, so workers that wait on partners' servers scale apart.
QUEUE = "deliveries"
DELIVER_TASK = "postbacks.tasks.deliver"
# After a failed publish, wake-ups skip the broker for a window (the sweep sends the rows).
broker_breaker = Breaker("Celery broker")


def broker_enabled() -> bool:
    """Whether a Celery broker is configured; without one `deliveries_dispatch` sweeps alone."""
    return not settings.CELERY_BROKER_URL.startswith("memory://")


def broker_usable() -> bool:
    """Whether to hand new rows to the broker: one is configured and it did not fail moments ago."""
    return broker_enabled() and not broker_breaker.is_open()


def wake_after_commit(delivery_ids: list[int]) -> None:
    """Ask the workers for these deliveries once the transaction commits (no-op without a broker)."""
    if delivery_ids and broker_enabled():
        transaction.on_commit(partial(_wake, delivery_ids))


def _wake(delivery_ids: list[int]) -> None:
    # By the task's name: postbacks.tasks imports this module, not the other way round.
    for start in range(0, len(delivery_ids), WAKE_CHUNK):
        if broker_breaker.is_open():
            _leave_to_sweep(delivery_ids[start:])
            return
        try:
            # No publish retries beyond the transport's one, and socket timeouts (settings): a
            # request must not hang on a broker that is down.
            celery_app.send_task(
                DELIVER_TASK, args=(delivery_ids[start : start + WAKE_CHUNK],), queue=QUEUE, retry=False
            )
        except Exception as error:  # noqa: BLE001 - any broker failure leaves the rows to the sweep
            broker_breaker.trip(error)
            _leave_to_sweep(delivery_ids[start:])
            return


def _leave_to_sweep(delivery_ids: list[int]) -> None:
    """Take back the broker's lease on these rows, so the next sweep sends them."""
    logger.info("Broker unavailable; deliveries %s are left to the sweep.", delivery_ids)
    Delivery.objects.filter(pk__in=delivery_ids, state=State.PENDING, claimed_by=BROKER).update(
        claimed_by="", claimed_until=None
    )
