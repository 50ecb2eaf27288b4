"""Celery tasks of the outbox: thin, by id, safe to run twice (the row's claim decides).

Deliveries go to their own queue (named when sent: the `queue` task option is deprecated),
so workers that wait on partners' servers can be scaled (and pooled) apart from other work:
`celery -A config worker -Q deliveries,celery`.
"""

from __future__ import annotations

from celery import shared_task

from postbacks.services import deliveries_hand_to_broker, delivery_attempt
from postbacks.wakeups import DELIVER_TASK


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int]) -> None:
    """Attempt each delivery that is still due; one already sent or held elsewhere is left alone."""
    for delivery_id in delivery_ids:
        delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def sweep() -> None:
    """Hand due deliveries (retries, rows the broker lost, leases of dead workers) to the workers."""
    deliveries_hand_to_broker()
