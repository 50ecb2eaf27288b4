"""Writes of the postbacks app: the outbox of deliveries, their attempts, and destinations."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.breaker import Breaker
from config.celery import app as celery_app
from config.crypto import UndecryptableSecret
from partners.macros import text_errors
from postbacks import clevertap
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.outbound import (
    MASK,
    POLICIES,
    AttemptResult,
    Outcome,
    RetryPolicy,
    next_delay,
    send,
    should_retry,
)

# --- Deliveries: the outbox ------------------------------------------------------------------
#
# A delivery row is written with the lead change that causes it (`deliveries_record`, called
# by leads.services with the rows leads.outbound planned); after commit the broker is told,
# only to wake a worker.
# A worker claims a row by a conditional UPDATE (the row count says who won), sends outside
# any transaction, then records the attempt and the next state. The lease on a claim expires,
# so a row held by a worker that died is picked up again by the sweep; retry times live in
# `next_attempt_at`, which the sweep (Celery beat, or `manage.py deliveries_dispatch`) reads.

logger = logging.getLogger(__name__)

State = Delivery.State
# Longer than any attempt can take (connect and read timeouts of the slowest policy), plus margin.
LEASE = timedelta(seconds=2 * max(policy.timeout for policy in POLICIES.values()) + 30)
# Rows handed to the broker are left to it this long before the sweep hands them over again.
BROKER_LEASE = timedelta(seconds=60)
BROKER = "broker"
WAKE_CHUNK = 50
# Deliveries have their own queue, so workers that wait on partners' servers scale apart.
QUEUE = "deliveries"
DELIVER_TASK = "postbacks.tasks.deliver"
# After a failed publish, wake-ups skip the broker for a window (the sweep sends the rows).
broker_breaker = Breaker("Celery broker")
TEST_EVENT = "test"
MASK_QUOTED = quote(MASK, safe="")
UTM_TEMPLATE_FIELDS = ("utm_source_template", "utm_medium_template", "utm_campaign_template")


class DeliveryRefused(ValueError):
    """A delivery that cannot be sent (or re-sent) now; the message says why."""


def broker_enabled() -> bool:
    """Whether a Celery broker is configured; without one `deliveries_dispatch` sweeps alone."""
    return not settings.CELERY_BROKER_URL.startswith("memory://")


def broker_usable() -> bool:
    """Whether to hand new rows to the broker: one is configured and it did not fail moments ago."""
    return broker_enabled() and not broker_breaker.is_open()


def worker_name() -> str:
    """Who holds a claim: host, process, thread, and a nonce so no two claims look alike."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{threading.get_ident() % 10**6}:{uuid.uuid4().hex[:8]}"


def deliveries_record(*, planned: list[Delivery]) -> list[Delivery]:
    """Write these unsaved deliveries in the caller's transaction (the change that causes them).

    The broker is told after commit (a rollback sends nothing); until then, and for a while
    after, the rows are leased to it so that the sweep does not hand them over twice.
    """
    if not planned:
        return []
    pending = [delivery for delivery in planned if delivery.state == State.PENDING]
    # While the broker is down the rows are not leased to it: the sweep takes them as they are.
    to_broker = bool(pending) and broker_usable()
    if to_broker:
        until = timezone.now() + BROKER_LEASE
        for delivery in pending:
            delivery.claimed_by, delivery.claimed_until = BROKER, until
    created = Delivery.objects.bulk_create(planned)
    if to_broker:
        wake_after_commit([delivery.pk for delivery in created if delivery.state == State.PENDING])
    return created


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


def _due(now: datetime) -> Q:
    """Due rows whose lease (a worker's, or the broker's) is over or was never taken."""
    unleased = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Q(state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now) & unleased


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Ids of due deliveries, the longest waiting first (the embedded dispatcher's sweep)."""
    rows = Delivery.objects.filter(_due(timezone.now())).order_by("next_attempt_at", "pk")
    return list(rows.values_list("pk", flat=True)[:limit])


@transaction.atomic
def deliveries_hand_to_broker(*, limit: int = 1000) -> list[int]:
    """The Celery sweep: lease due deliveries to the broker and wake workers for them after commit.

    Rows are picked with SKIP LOCKED, so two sweeps at once hand over different rows; a row a
    dead worker held (its lease expired) goes back to pending and is sent again.
    """
    now = timezone.now()
    due = (
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(_due(now))
        .order_by("next_attempt_at", "pk")
    )
    ids = list(due.values_list("pk", flat=True)[:limit])
    Delivery.objects.filter(pk__in=ids).update(
        state=State.PENDING, claimed_by=BROKER, claimed_until=now + BROKER_LEASE
    )
    wake_after_commit(ids)
    return ids


def _claim(delivery_id: int, token: str, *, any_state: bool = False) -> bool:
    """Take the delivery for one attempt by a conditional UPDATE; False when someone else has it.

    A worker takes a due row that nobody holds (the broker's lease counts as nobody: the broker
    only carried the wake-up); a manual re-send (`any_state`) takes any row not being sent.
    """
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=BROKER)
    rows = Delivery.objects.filter(free, pk=delivery_id)
    if any_state:
        rows = rows.exclude(state=State.SKIPPED)
    else:
        rows = rows.filter(state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now)
    return bool(rows.update(state=State.SENDING, claimed_by=token, claimed_until=now + LEASE, updated_at=now))


def delivery_attempt(
    *, delivery_id: int, actor: Any = None, any_state: bool = False
) -> DeliveryAttempt | None:
    """Make the delivery's next attempt if it is due and free; None when there is nothing to do.

    Safe to run twice, or from two workers at once: only the one that claims the row sends.
    """
    token = worker_name()
    if not _claim(delivery_id, token, any_state=any_state):
        return None
    delivery = Delivery.objects.select_related("destination").get(pk=delivery_id)
    return _attempt(delivery, token, actor=actor)


def deliveries_claim_due(*, limit: int = 500) -> list[Delivery]:
    """Claim up to `limit` due deliveries in one statement (the embedded dispatcher's round).

    The due rows are picked with SKIP LOCKED, so dispatchers running at once claim different rows.
    """
    token, now = worker_name(), timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(_due(now)).order_by("next_attempt_at", "pk").values("pk")[:limit]
        Delivery.objects.filter(_due(now), pk__in=due.select_for_update(skip_locked=True)).update(
            state=State.SENDING, claimed_by=token, claimed_until=now + LEASE, updated_at=now
        )
    return list(Delivery.objects.select_related("destination").filter(claimed_by=token))


def tested_kind(delivery: Delivery) -> str:
    """The kind of destination the delivery goes to: its own kind, or for a test the tested one."""
    return delivery.event if delivery.kind == Delivery.Kind.TEST else delivery.kind


def policy_for(delivery: Delivery) -> RetryPolicy:
    """The kind's retry policy; a test delivery is tried once."""
    policy = POLICIES[tested_kind(delivery)]
    tested = delivery.kind == Delivery.Kind.TEST or delivery.event == TEST_EVENT
    return replace(policy, max_attempts=1) if tested else policy


@dataclass(frozen=True)
class Sent:
    """One attempt made, not yet recorded."""

    delivery: Delivery
    result: AttemptResult
    policy: RetryPolicy
    started: datetime


def _send(delivery: Delivery) -> Sent:
    """Make one attempt at a delivery this worker holds; nothing is written yet."""
    policy = policy_for(delivery)
    started = timezone.now()
    try:
        url = url_to_send(delivery)
    except UndecryptableSecret as error:
        result = AttemptResult(url_masked=delivery.url_masked, outcome=Outcome.FAILED, error=str(error))
    else:
        if tested_kind(delivery) == Delivery.Kind.CLEVERTAP:
            result = clevertap.send_event(url)
        else:
            result = send(url, policy=policy)
    return Sent(delivery, result, policy, started)


def _attempt(delivery: Delivery, token: str, *, actor: Any = None) -> DeliveryAttempt:
    """Send a delivery this worker holds (`token`) and record the attempt."""
    return _record_attempts([_send(delivery)], token=token, actor=actor)[0]


@transaction.atomic
def _record_attempts(sent: list[Sent], *, token: str, actor: Any = None) -> list[DeliveryAttempt]:
    """Keep the attempts and move each delivery on: done, failed, or pending until its retry time.

    A whole dispatcher round is recorded in a few statements. An attempt's number comes from
    the row as claimed: while the claim holds nobody else attempts it, and the unique
    (delivery, number) constraint refuses a second attempt n if a lease ever ran out mid-send.
    A delivery whose lease ran out (another worker holds it now) keeps the attempt and the
    outcome, but its state is the other worker's to move.
    """
    attempts = DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=item.delivery,
            number=item.delivery.attempt_count + 1,
            url_masked=item.result.url_masked,
            status_code=item.result.status_code,
            duration_ms=item.result.duration_ms,
            response_start=item.result.response_start,
            error=item.result.error,
            outcome=item.result.outcome.value,
            started_at=item.started,
            actor=actor,
        )
        for item in sent
    )
    ids = [item.delivery.pk for item in sent]
    held = set(
        Delivery.objects.select_for_update().filter(pk__in=ids, claimed_by=token).values_list("pk", flat=True)
    )
    # Most of a round ends alike (done, 200, first attempt): one UPDATE per distinct outcome.
    changes: dict[tuple, list[int]] = defaultdict(list)
    now = timezone.now()
    for item in sent:
        number = item.delivery.attempt_count + 1
        change = {"attempt_count": number, "last_status_code": item.result.status_code}
        change |= {"last_error": item.result.error, "updated_at": now}
        if item.delivery.pk in held:
            state, next_attempt_at = _next_state(item.policy, item.result, number)
            change |= {"state": state, "next_attempt_at": next_attempt_at}
            change |= {"claimed_by": "", "claimed_until": None}
        changes[tuple(change.items())].append(item.delivery.pk)
    for change, ids in changes.items():
        Delivery.objects.filter(pk__in=ids).update(**dict(change))
    return attempts


def _next_state(policy: RetryPolicy, result: AttemptResult, number: int) -> tuple[str, datetime | None]:
    if result.outcome == Outcome.DONE:
        return State.DONE, None
    if should_retry(policy, result, number):
        delay = next_delay(policy, number, retry_after=result.retry_after)
        return State.PENDING, timezone.now() + timedelta(seconds=delay)
    return State.FAILED, None


def deliveries_dispatch_due(*, limit: int = 500, pool: Executor | None = None) -> int:
    """One round of the embedded dispatcher: claim every due delivery, attempt each (in the
    pool's threads when given), then record the round's attempts together; how many."""
    claimed = deliveries_claim_due(limit=limit)
    if not claimed:
        return 0
    sent = list(pool.map(_send, claimed) if pool else map(_send, claimed))
    _record_attempts(sent, token=claimed[0].claimed_by)
    return len(sent)


def delivery_resend(*, delivery: Delivery, actor: Any) -> DeliveryAttempt:
    """Send the delivery once more, now, whatever its state (a manager's "Re-send")."""
    if delivery.state == State.SKIPPED:
        raise DeliveryRefused(
            f"This delivery was not sendable, so there is nothing to re-send: {delivery.last_error}"
        )
    attempt = delivery_attempt(delivery_id=delivery.pk, actor=actor, any_state=True)
    if attempt is None:
        raise DeliveryRefused("This delivery is being sent right now; look again in a minute.")
    return attempt


@dataclass(frozen=True)
class CleverTapSettings:
    """What a manager sets on an app's CleverTap destination; `passcode` None keeps the stored one."""

    account_id: str
    account_token: str
    passcode: str | None
    region: str = clevertap.DEFAULT_REGION
    partner_name: str = ""
    send_inorganic_installs: bool = True
    send_organic_installs: bool = False
    send_custom_events: bool = False
    is_active: bool = True
    utm_source_template: str = "{partner_name}"
    utm_medium_template: str = "{channel}"
    utm_campaign_template: str = "{campaign_name}"


@transaction.atomic
def clevertap_destination_save(
    *, app: Any, values: CleverTapSettings, destination: CleverTapDestination | None = None
) -> CleverTapDestination:
    """Create or change an app's CleverTap destination; credentials trimmed, the passcode encrypted.

    Raises django's ValidationError, by field, for a credential CleverTap would refuse.
    """
    destination = destination or CleverTapDestination(app=app, organization_id=app.organization_id)
    destination.account_id = _credential(values.account_id, "Project ID", "account_id")
    destination.account_token = _credential(values.account_token, "Project Token", "account_token")
    if values.passcode is not None or not destination.passcode_encrypted:
        destination.passcode = _credential(values.passcode or "", "Project Passcode", "passcode")
    if values.region not in clevertap.REGIONS:
        raise ValidationError({"region": f"Choose one of {', '.join(clevertap.REGIONS)}."})
    destination.region = values.region
    destination.partner_name = values.partner_name.strip()
    destination.send_inorganic_installs = values.send_inorganic_installs
    destination.send_organic_installs = values.send_organic_installs
    destination.send_custom_events = values.send_custom_events
    destination.is_active = values.is_active
    for name in UTM_TEMPLATE_FIELDS:
        setattr(destination, name, _utm_template(getattr(values, name), name))
    destination.save()
    return destination


def _utm_template(value: str, field_name: str) -> str:
    errors = text_errors(value)
    if errors:
        raise ValidationError({field_name: errors})
    return value.strip()


def _credential(value: str, label: str, field_name: str) -> str:
    try:
        return clevertap.clean_credential(value, label)
    except ValidationError as error:
        raise ValidationError({field_name: error.messages}) from None


def url_to_send(delivery: Delivery) -> str:
    """The URL as it goes out: a CleverTap passcode is put in from its destination."""
    if tested_kind(delivery) != Delivery.Kind.CLEVERTAP or delivery.destination is None:
        return delivery.url
    passcode = quote(delivery.destination.passcode, safe="")
    return delivery.url.replace(f"account_passcode={MASK_QUOTED}", f"account_passcode={passcode}")
