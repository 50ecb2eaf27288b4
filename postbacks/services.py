"""Writes of the postbacks app: the outbox of deliveries, their attempts, and destinations."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from config import crypto
from config.crypto import UndecryptableSecret
from config.i18n import admin_text
from config.selects import Placeholders, RowSelect
from config.updates import RowUpdate
from partners.macros import text_errors
from postbacks import clevertap
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.outbound import (
    MASK,
    POLICIES,
    AttemptResult,
    Outcome,
    RetryPolicy,
    as_sent,
    idempotency_headers,
    next_delay,
    send,
    should_retry,
    signature_headers,
)
from postbacks.pausing import (
    CLEVERTAP,
    PAUSE_FIELDS,
    PUBLISHER,
    STATUS_SYNC,
    TEMPLATE,
    destinations_check_failures,
)
from postbacks.wakeups import BROKER, BROKER_LEASE, broker_usable, wake_after_commit

# --- Deliveries: the outbox ------------------------------------------------------------------
#
# A delivery row is written with the lead change that causes it (`deliveries_record`, called
# by leads.services with the rows leads.outbound planned); after commit the broker is told,
# only to wake a worker.
# A worker claims rows by locking them (SKIP LOCKED: what another claim is taking is left to
# it) and, in the same transaction, writes the attempt it is about to make as `sending`; it
# dials outside any transaction, then records the answer on that attempt and moves the row on.
# Delivery is at least once: a worker that dies mid-call leaves its attempt `sending`; once the
# claim's lease (the destination's timeout plus a margin) has run out, whoever takes the row
# next marks that attempt `in_doubt` and makes a new one. Every call of a delivery carries the
# same idempotency key, so the receiver can drop the repeat. Retry times live in
# `next_attempt_at`, which the sweep (Celery beat, or `manage.py deliveries_dispatch`) reads.

logger = logging.getLogger(__name__)

State = Delivery.State
Kind = Delivery.Kind
Attempt = DeliveryAttempt.Outcome
# A claim lasts the destination's timeout plus this: time to connect, wait for the answer and
# record it. Short, so a dead worker's deliveries are resumed soon: the sweep runs every 10 s,
# so within 35 s (CleverTap, whose timeout is 60 s: within 85 s).
LEASE_MARGIN = timedelta(seconds=15)
TEST_EVENT = "test"
MASK_QUOTED = quote(MASK, safe="")
IN_DOUBT_EXPLANATION = (
    "The worker stopped during this call; the receiver may or may not have got it — "
    "the next attempt carries the same idempotency key."
)
# What sending needs besides the delivery: the CleverTap destination (its passcode) and the rows
# that may hold the destination's signing secret.
SENDING_RELATIONS = ("destination", "template", "partner", "integration")
# Where a kind's signing secret is kept (CleverTap calls are not signed: CleverTap's own API).
SECRET_FIELDS = {
    Kind.PARTNER: "template__signing_secret_encrypted",
    Kind.PUBLISHER: "partner__publisher_postback_secret_encrypted",
    Kind.STATUS_SYNC: "integration__status_sync_secret_encrypted",
}
# Where a kind's pause mark is kept: a claimed delivery of a paused destination is parked, not
# sent (planning reads a cached configuration that may not know of the pause yet).
PAUSE_MARKS = {
    Kind.PARTNER: ("template", PAUSE_FIELDS[TEMPLATE].paused_at),
    Kind.PUBLISHER: ("partner", PAUSE_FIELDS[PUBLISHER].paused_at),
    Kind.STATUS_SYNC: ("integration", PAUSE_FIELDS[STATUS_SYNC].paused_at),
    Kind.CLEVERTAP: ("destination", PAUSE_FIELDS[CLEVERTAP].paused_at),
}
# An attempt's answer, written when its call ends; compiled once (the dispatcher's hot path).
finish_attempt = RowUpdate(
    DeliveryAttempt, ["url_masked", "status_code", "duration_ms", "response_start", "error", "outcome"]
)
# The dispatcher records answers together, at least this often or this many at once (one
# transaction each), and renews the leases of the rows it has yet to record this often (well
# within LEASE_MARGIN).
RECORD_EVERY = 0.05
RECORD_BATCH = 100
RENEW_EVERY = 5.0
UTM_TEMPLATE_FIELDS = ("utm_source_template", "utm_medium_template", "utm_campaign_template")


class DeliveryRefused(ValueError):
    """A delivery that cannot be sent (or re-sent) now; the message says why."""


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


# --- Policies, leases and secrets ---------------------------------------------------------------


def tested_kind(delivery: Delivery) -> str:
    """The kind of destination the delivery goes to: its own kind, or for a test the tested one."""
    return delivery.event if delivery.kind == Kind.TEST else delivery.kind


def policy_for(delivery: Delivery) -> RetryPolicy:
    """The destination's retry policy; a test delivery is tried once."""
    policy = POLICIES.get(tested_kind(delivery), POLICIES[Kind.PARTNER])
    is_test = delivery.kind == Kind.TEST or delivery.event == TEST_EVENT
    return replace(policy, max_attempts=1) if is_test else policy


def lease_for(policy: RetryPolicy) -> timedelta:
    """How long a claim under this policy lasts: the call's timeout plus time to record it."""
    return timedelta(seconds=policy.timeout) + LEASE_MARGIN


def secret_encrypted(delivery: Delivery) -> str:
    """The signing secret of the delivery's destination, encrypted ("" when calls are unsigned).

    The rows that hold it come with a claimed delivery (`select_related`), so no query is made.
    """
    path = SECRET_FIELDS.get(tested_kind(delivery))
    if path is None:
        return ""
    relation, field = path.split("__")
    holder = getattr(delivery, relation)
    return getattr(holder, field) if holder is not None else ""


# --- Claiming -----------------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    """Due rows whose lease (a worker's, or the broker's) is over or was never taken."""
    unleased = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Q(state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now) & unleased


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Ids of due deliveries, the longest waiting first."""
    rows = Delivery.objects.filter(_due(timezone.now())).order_by("next_attempt_at", "pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def _mark_in_doubt(delivery_ids: list[int]) -> None:
    """The `sending` attempts of these deliveries, whose worker's lease ran out: in doubt now."""
    if delivery_ids:
        DeliveryAttempt.objects.filter(delivery_id__in=delivery_ids, outcome=Attempt.SENDING).update(
            outcome=Attempt.IN_DOUBT, error=IN_DOUBT_EXPLANATION
        )


@transaction.atomic
def deliveries_hand_to_broker(*, limit: int = 1000) -> list[int]:
    """The Celery sweep: lease due deliveries to the broker and wake workers for them after commit.

    Rows are picked with SKIP LOCKED, so two sweeps at once hand over different rows. A row a
    dead worker held (its lease expired) goes back to pending, its unfinished attempt in doubt,
    and is sent again.
    """
    now = timezone.now()
    due = (
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(_due(now))
        .order_by("next_attempt_at", "pk")
    )
    rows = list(due.values_list("pk", "state")[:limit])
    ids = [pk for pk, _ in rows]
    _mark_in_doubt([pk for pk, state in rows if state == State.SENDING])
    Delivery.objects.filter(pk__in=ids).update(
        state=State.PENDING, claimed_by=BROKER, claimed_until=now + BROKER_LEASE
    )
    wake_after_commit(ids)
    return ids


def _claimable(p: Placeholders, limit: int, one: bool, any_state: bool) -> QuerySet[Delivery]:
    """Rows this worker may claim, locked with SKIP LOCKED (a row another claim is taking is
    left to it), with the rows sending them needs: the CleverTap destination, and the template,
    partner and integration that may hold a signing secret.

    The dispatcher takes due rows that nobody holds; a worker woken for one row (`one`) also
    takes it from the broker's lease (the broker only carried the wake-up); a manual re-send
    (`any_state`) takes the row in any state but skipped.
    """
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=p.now)
    rows = Delivery.objects.select_related(*SENDING_RELATIONS).select_for_update(
        skip_locked=True, of=("self",)
    )
    rows = rows.filter(free | Q(claimed_by=BROKER), pk=p.delivery_id) if one else rows.filter(free)
    if any_state:
        rows = rows.exclude(state=State.SKIPPED)
    else:
        rows = rows.filter(state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=p.now)
    return rows.order_by("next_attempt_at", "pk")[:limit]


# Compiled once per variant: the dispatcher claims a few rows many times a second.
claimable = RowSelect(_claimable)
write_claim = RowUpdate(Delivery, ["state", "claimed_by", "claimed_until", "attempt_count", "updated_at"])


@dataclass(frozen=True)
class Started:
    """An attempt written as `sending`, about to be dialled by the worker holding `token`."""

    delivery: Delivery
    attempt: DeliveryAttempt
    policy: RetryPolicy
    token: str


def _claim(
    *, limit: int, delivery_id: int | None = None, any_state: bool = False, actor: Any = None
) -> tuple[int, list[Started]]:
    """Claim up to `limit` due rows (or the one `delivery_id`), the longest waiting first, and
    write their `sending` attempts, in the caller's transaction: how many rows were claimed,
    and the attempts to dial.

    The claim counts the attempt (`attempt_count` counts attempts started) and sets the lease
    from the row's policy: its timeout plus a margin (the dispatcher renews it while its round
    lasts).
    """
    token, now = worker_name(), timezone.now()
    variant = (limit, delivery_id is not None, any_state)
    rows = claimable(*variant, now=now, delivery_id=delivery_id)
    if not rows:
        return 0, []
    # A row still `sending` was held by a worker whose lease ran out: its attempt is in doubt.
    stale = [row.pk for row in rows if row.state == State.SENDING]
    for row in rows:
        row.state, row.claimed_by, row.attempt_count = State.SENDING, token, row.attempt_count + 1
        row.claimed_until = now + lease_for(policy_for(row))
    write_claim.many(rows)
    return len(rows), _start(rows, stale=stale, token=token, now=now, actor=actor, manual=any_state)


def _start(
    deliveries: list[Delivery],
    *,
    stale: list[int],
    token: str,
    now: datetime,
    actor: Any = None,
    manual: bool = False,
) -> list[Started]:
    """Write the `sending` attempt of each delivery this worker holds and has counted, first
    marking the `stale` deliveries' unfinished attempts in doubt.

    A delivery whose in-doubt attempt was the last its policy allows fails instead (a manual
    re-send always sends).
    """
    _mark_in_doubt(stale)
    to_send, spent, parked = [], [], []
    for delivery in deliveries:
        policy = policy_for(delivery)
        if _destination_paused(delivery) and not manual:
            parked.append(delivery.pk)
        elif delivery.attempt_count > policy.max_attempts and not manual:
            spent.append(delivery.pk)
        else:
            to_send.append((delivery, policy))
    if spent:
        _give_up(spent, token=token, now=now)
    if parked:
        _park(parked, token=token, now=now)
    attempts = DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            number=delivery.attempt_count,
            url_masked=delivery.url_masked,
            outcome=Attempt.SENDING,
            started_at=now,
            actor=actor,
        )
        for delivery, _ in to_send
    )
    return [
        Started(delivery, attempt, policy, token)
        for (delivery, policy), attempt in zip(to_send, attempts, strict=True)
    ]


def _destination_paused(delivery: Delivery) -> bool:
    """Whether the delivery's destination is paused (its row comes with the claim: no query)."""
    mark = PAUSE_MARKS.get(delivery.kind)
    holder = getattr(delivery, mark[0]) if mark else None
    return holder is not None and getattr(holder, mark[1]) is not None


def _park(delivery_ids: list[int], *, token: str, now: datetime) -> None:
    """Leave these claimed deliveries waiting, uncalled, until their destination is resumed."""
    Delivery.objects.filter(pk__in=delivery_ids, claimed_by=token).update(
        state=State.PAUSED,
        attempt_count=F("attempt_count") - 1,
        next_attempt_at=None,
        claimed_by="",
        claimed_until=None,
        updated_at=now,
    )


def _give_up(delivery_ids: list[int], *, token: str, now: datetime) -> None:
    """Fail these claimed deliveries without a call: their last allowed attempt is in doubt."""
    Delivery.objects.filter(pk__in=delivery_ids, claimed_by=token).update(
        state=State.FAILED,
        attempt_count=F("attempt_count") - 1,
        next_attempt_at=None,
        claimed_by="",
        claimed_until=None,
        last_error="The last attempt the retry policy allows is in doubt (the worker stopped during "
        "the call); re-send the delivery if the receiver did not get it.",
        updated_at=now,
    )
    destinations_check_failures(delivery_ids)


def delivery_attempt(
    *, delivery_id: int, actor: Any = None, any_state: bool = False
) -> DeliveryAttempt | None:
    """Make the delivery's next attempt if it is due and free; None when there is nothing to do.

    Safe to run twice, or from two workers at once: only the one that claims the row sends.
    """
    with transaction.atomic():
        _, started = _claim(limit=1, delivery_id=delivery_id, any_state=any_state, actor=actor)
    if not started:
        return None
    return _finish([_send(started[0])])[0]


# --- Sending and recording ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One attempt made, not yet recorded."""

    started: Started
    result: AttemptResult


def request_headers(delivery: Delivery, url: str) -> dict[str, str]:
    """The headers of every call of the delivery: its idempotency key, and when its destination
    has a secret, the Standard Webhooks signature of the URL as sent.

    Raises UndecryptableSecret when the stored secret no longer decrypts.
    """
    headers = idempotency_headers(delivery.idempotency_key)
    secret = secret_encrypted(delivery)
    if secret and tested_kind(delivery) != Kind.CLEVERTAP:
        headers |= signature_headers(
            secret=crypto.decrypt(secret),
            message_id=delivery.idempotency_key,
            url=as_sent(url),
            now=timezone.now(),
        )
    return headers


def _send_held(started: Started, lost: set[int]) -> Sent | None:
    """Dial the attempt unless the round lost the row's claim meanwhile (None, no call)."""
    return None if started.delivery.pk in lost else _send(started)


def _send(started: Started) -> Sent:
    """Dial one attempt written as `sending`; nothing is read or written here (pool threads run
    it): the claim brought every row it needs."""
    delivery = started.delivery
    try:
        url = url_to_send(delivery)
        headers = request_headers(delivery, url)
    except UndecryptableSecret as error:
        result = AttemptResult(url_masked=delivery.url_masked, outcome=Outcome.FAILED, error=str(error))
    else:
        if tested_kind(delivery) == Kind.CLEVERTAP:
            result = clevertap.send_event(url, headers=headers)
        else:
            result = send(url, policy=started.policy, headers=headers)
    return Sent(started, result)


def _attempt(delivery: Delivery, token: str, *, actor: Any = None) -> DeliveryAttempt:
    """Send a delivery this worker holds (`token`) once and record the attempt, written as
    `sending` before dialling. Test sends call it with the delivery they wrote, claimed.

    Raises DeliveryRefused when the delivery is not (or no longer) held with `token`.
    """
    now = timezone.now()
    with transaction.atomic():
        held = Delivery.objects.filter(pk=delivery.pk, claimed_by=token).update(
            state=State.SENDING,
            claimed_until=now + lease_for(policy_for(delivery)),
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
        if not held:
            raise DeliveryRefused(
                str(admin_text("This delivery is being sent right now; look again in a minute."))
            )
        delivery.refresh_from_db(fields=["attempt_count", "state", "claimed_until"])
        [started] = _start([delivery], stale=[delivery.pk], token=token, now=now, actor=actor, manual=True)
    return _finish([_send(started)])[0]


def _finish(sent: list[Sent]) -> list[DeliveryAttempt]:
    """Record each answer on its `sending` attempt and move each delivery on: done, failed, or
    pending until its retry time.

    A whole dispatcher batch is recorded in a few statements. A delivery whose lease ran out
    (another worker took it and marked this attempt in doubt) gets the attempt's true outcome,
    but its state is the other worker's to move.
    """
    with transaction.atomic(savepoint=False):
        attempts = [_finished_attempt(item) for item in sent]
        finish_attempt.many(attempts)
        # Most of a batch ends alike (done, 200): one UPDATE per distinct outcome.
        changes: dict[tuple, list[int]] = defaultdict(list)
        for item in sent:
            number = item.started.attempt.number
            state, next_attempt_at = _next_state(item.started.policy, item.result, number)
            change = (state, next_attempt_at, item.result.status_code, item.result.error, item.started.token)
            changes[change].append(item.started.delivery.pk)
        now = timezone.now()
        for (state, next_attempt_at, status_code, error, token), ids in changes.items():
            Delivery.objects.filter(pk__in=ids, claimed_by=token).update(
                state=state,
                next_attempt_at=next_attempt_at,
                last_status_code=status_code,
                last_error=error,
                claimed_by="",
                claimed_until=None,
                updated_at=now,
            )
        failed = [pk for (state, *_), ids in changes.items() if state == State.FAILED for pk in ids]
        # A destination failing for good too often in a row is paused (nothing to read otherwise).
        if failed:
            destinations_check_failures(failed)
    return attempts


def _finished_attempt(item: Sent) -> DeliveryAttempt:
    attempt, result = item.started.attempt, item.result
    attempt.url_masked = result.url_masked or attempt.url_masked
    attempt.status_code, attempt.duration_ms = result.status_code, result.duration_ms
    attempt.response_start, attempt.error = result.response_start, result.error
    attempt.outcome = result.outcome.value
    return attempt


def _next_state(policy: RetryPolicy, result: AttemptResult, number: int) -> tuple[str, datetime | None]:
    if result.outcome == Outcome.DONE:
        return State.DONE, None
    if should_retry(policy, result, number):
        delay = next_delay(policy, number, retry_after=result.retry_after)
        return State.PENDING, timezone.now() + timedelta(seconds=delay)
    return State.FAILED, None


def deliveries_dispatch_due(*, limit: int = 500, pool: Executor | None = None) -> int:
    """One round of the embedded dispatcher: claim up to `limit` due deliveries and write their
    `sending` attempts (one transaction), dial them (in the pool's threads when given), and
    record the answers in batches as the calls end; how many were claimed.

    While the round lasts its unrecorded rows' leases are renewed, so a row waiting for a
    thread keeps its claim, and a dead dispatcher's rows are free within one lease. A row whose
    claim was lost all the same (the dispatcher stalled past its lease) is not dialled.
    """
    with transaction.atomic():
        claimed, started = _claim(limit=limit)
    if not started:
        return claimed
    held = {item.delivery.pk for item in started}
    lost: set[int] = set()
    ended: list[Sent] = []
    recorded_at = renewed_at = time.monotonic()
    for sent in _answers(started, pool, lost):
        if sent is not None:
            ended.append(sent)
            held.discard(sent.started.delivery.pk)
        now = time.monotonic()
        if ended and (sent is None or len(ended) >= RECORD_BATCH or now - recorded_at >= RECORD_EVERY):
            _finish(ended)
            ended, recorded_at = [], now
        if held and now - renewed_at >= RENEW_EVERY:
            taken = _renew(started, held)
            lost |= taken
            held -= taken
            renewed_at = now
    if ended:
        _finish(ended)
    return claimed


def _answers(started: list[Started], pool: Executor | None, lost: set[int]) -> Iterator[Sent | None]:
    """Each attempt's outcome as its call ends, and None whenever a tick passes without one (so
    the round can record and renew). Without a pool each answer is followed by a tick: it is
    recorded before the next call is dialled."""
    if pool is None:
        for item in started:
            yield _send_held(item, lost)
            yield None
        return
    running = {pool.submit(_send_held, item, lost) for item in started}
    while running:
        done, running = wait(running, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
        if not done:
            yield None
        for future in done:
            yield future.result()


def _renew(started: list[Started], held: set[int]) -> set[int]:
    """Extend the leases of the round's unrecorded rows by their policies; answers the rows
    whose claim was lost meanwhile (taken by another worker after the lease ran out)."""
    token, now = started[0].token, timezone.now()
    by_lease: dict[timedelta, list[int]] = defaultdict(list)
    for item in started:
        if item.delivery.pk in held:
            by_lease[lease_for(item.policy)].append(item.delivery.pk)
    renewed = 0
    for lease, ids in by_lease.items():
        renewed += Delivery.objects.filter(pk__in=ids, claimed_by=token).update(claimed_until=now + lease)
    if renewed == len(held):
        return set()
    still = set(Delivery.objects.filter(pk__in=held, claimed_by=token).values_list("pk", flat=True))
    return held - still


def delivery_resend(*, delivery: Delivery, actor: Any) -> DeliveryAttempt:
    """Send the delivery once more, now, whatever its state (a manager's "Re-send")."""
    if delivery.state == State.SKIPPED:
        raise DeliveryRefused(
            admin_text("This delivery was not sendable, so there is nothing to re-send: %(error)s")
            % {"error": delivery.last_error}
        )
    attempt = delivery_attempt(delivery_id=delivery.pk, actor=actor, any_state=True)
    if attempt is None:
        raise DeliveryRefused(
            str(admin_text("This delivery is being sent right now; look again in a minute."))
        )
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
