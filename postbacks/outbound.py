"""The outbound sending core: one HTTP attempt, its outcome, and when to try again.

Everything here is pure of the database: `send` makes a single attempt and describes it as an
`AttemptResult`; `next_delay` says how long to wait before the next one; a `RetryPolicy` holds
the rules as data, one per kind of destination (`POLICIES`). The delivery rows, the Celery
tasks and the admin build on these.

Every attempt is checked against SSRF twice: `check_url` before dialing, and requests-hardened
re-checks the address it actually connects to. Redirects are never followed (a 3xx is a
failure), since a redirect could point anywhere, the private network included.
"""

from __future__ import annotations

import base64
import codecs
import random
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from standardwebhooks import Webhook

from config.masking import MASK as MASK  # re-exported: leads.outbound writes the passcode as MASK
from config.masking import mask_url
from partners.urlsafety import UnsafeURL, check_url, private_allowed

RESPONSE_START_BYTES = 1024
USER_AGENT = "Partnerdesk-Postback/1.0"

SERVER_ERRORS = frozenset(range(500, 600))
CLIENT_ERRORS = frozenset(range(400, 500))


class RandomSource(Protocol):
    """Anything with `random()` in [0, 1): the `random` module, a seeded `random.Random`."""

    def random(self) -> float: ...


class Outcome(StrEnum):
    """What an attempt means for its delivery."""

    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    """The retry policy as data: how long to wait for an answer, how often and when to retry.

    A status in `no_retry_statuses` is a final failure even if also listed to retry; a status in
    neither set that is not 2xx (3xx included) is a final failure as well. Network errors and
    timeouts are always retried. The wait before attempt n+1 is `base_delay * 2 ** (n - 1)`,
    capped at `max_delay`, less a random share of at most `jitter` of it (see `next_delay`).
    """

    timeout: float
    max_attempts: int
    base_delay: float
    max_delay: float
    jitter: float = 0.2
    retry_on_statuses: frozenset[int] = field(default=SERVER_ERRORS | {429})
    no_retry_statuses: frozenset[int] = field(default=CLIENT_ERRORS - {429})
    honour_retry_after: bool = True

    def outcome_for(self, status_code: int) -> Outcome:
        """The outcome of an answer with this HTTP status."""
        if status_code in self.no_retry_statuses:
            return Outcome.FAILED
        if status_code in self.retry_on_statuses:
            return Outcome.RETRY
        return Outcome.DONE if 200 <= status_code < 300 else Outcome.FAILED


POLICIES: dict[str, RetryPolicy] = {
    # About 8.5 hours of retries: partners' endpoints have maintenance windows.
    "partner": RetryPolicy(timeout=10, max_attempts=10, base_delay=60, max_delay=2 * 3600),
    "publisher": RetryPolicy(timeout=10, max_attempts=8, base_delay=60, max_delay=3600),
    "status_sync": RetryPolicy(timeout=10, max_attempts=10, base_delay=60, max_delay=2 * 3600),
    # The CleverTap seed: 60 s timeout; 5xx retried with backoff well past its 10-minute SLA mark.
    "clevertap": RetryPolicy(timeout=60, max_attempts=8, base_delay=30, max_delay=3600),
}


@dataclass(frozen=True)
class AttemptResult:
    """One HTTP attempt as an admin sees it: what was called, what came back, what it means."""

    url_masked: str
    outcome: Outcome
    status_code: int | None = None
    duration_ms: int = 0
    response_start: str = ""
    error: str = ""
    retry_after: str | None = None


def should_retry(policy: RetryPolicy, result: AttemptResult, attempt_number: int) -> bool:
    """Whether attempt `attempt_number` (1-based) is to be followed by another one."""
    return result.outcome == Outcome.RETRY and attempt_number < policy.max_attempts


def next_delay(
    policy: RetryPolicy,
    attempt_number: int,
    *,
    retry_after: str | None = None,
    rng: RandomSource = random,
) -> float:
    """Seconds to wait after attempt `attempt_number` (1-based) before the next one.

    Exponential backoff with jitter: with `d = min(max_delay, base_delay * 2 ** (n - 1))` the
    delay lies in `[d * (1 - jitter), d]`, so retries of many deliveries spread out instead of
    arriving together. A `Retry-After` answer (seconds or an HTTP date) is honoured when the
    policy says so, capped at `max_delay`. Multiplied by the `OUTBOUND_TIME_SCALE` setting.
    """
    wanted = _retry_after_seconds(retry_after) if policy.honour_retry_after else None
    if wanted is not None:
        delay = min(wanted, policy.max_delay)
    else:
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** max(attempt_number - 1, 0))
        delay = ceiling * (1 - policy.jitter * rng.random())
    return delay * float(getattr(settings, "OUTBOUND_TIME_SCALE", 1.0))


def _retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds from now; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A fresh Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def request_target(url: str) -> str:
    """What a signature covers: the URL's path and query exactly as sent (GET postbacks have no
    body), which is what a receiver's framework hands it (Django's `request.get_full_path()`)."""
    parts = urlsplit(url)
    return f"{parts.path or '/'}?{parts.query}" if parts.query else (parts.path or "/")


def as_sent(url: str) -> str:
    """The URL as it goes on the wire: requests percent-encodes what a URL may not hold (a
    space, a quote), so a signature must cover that form, which is what the receiver reads."""
    prepared = requests.models.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


def idempotency_headers(message_id: str) -> dict[str, str]:
    """The headers every call of one delivery carries, so a receiver can drop a repeat."""
    return {"Idempotency-Key": message_id, "webhook-id": message_id}


def signature_headers(*, secret: str, message_id: str, url: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks signature headers for a call of `url` (verify with
    `Webhook(secret).verify(request_target, headers, json_parse=False)`)."""
    return {
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, request_target(url)),
    }


def send(
    url: str,
    *,
    policy: RetryPolicy,
    method: str = "GET",
    allow_private: bool | None = None,
    headers: Mapping[str, str] | None = None,
) -> AttemptResult:
    """Make one HTTP attempt at `url` and describe it; never raises for network trouble.

    The URL is checked for SSRF first (refused: failed, nothing dialed). The call waits at
    most `policy.timeout` seconds to connect and for each read, follows no redirect, and reads
    no more than the first kilobyte of the answer. `headers` go with the request (a delivery's
    idempotency and signature headers).
    """
    allowed = private_allowed(allow_private)
    masked = mask_url(url)
    try:
        check_url(url, allow_private=allowed)
    except UnsafeURL as refusal:
        return AttemptResult(url_masked=masked, outcome=Outcome.FAILED, error=str(refusal))
    started = time.monotonic()
    try:
        result = _call(url, policy=policy, method=method, allow_private=allowed, headers=headers)
    except requests.RequestException as error:
        result = _network_failure(error, policy)
    duration_ms = round((time.monotonic() - started) * 1000)
    return replace(result, url_masked=masked, duration_ms=duration_ms)


_sessions = threading.local()


def _session(*, timeout: float, allow_private: bool) -> HTTPSession:
    """This thread's session for these settings: kept-alive connections make repeated calls to
    one partner cheap, and every new connection still passes the address filter."""
    by_settings = _sessions.__dict__.setdefault("by_settings", {})
    session = by_settings.get((timeout, allow_private))
    if session is None:
        session = HTTPSession(
            Config(
                ip_filter_enable=not allow_private,
                ip_filter_allow_loopback_ips=False,
                never_redirect=True,
                default_timeout=(timeout, timeout),
                user_agent_override=USER_AGENT,
            )
        )
        # No proxies or .netrc from the environment: they would bypass the address check or
        # attach credentials the receiver should never see.
        session.trust_env = False
        by_settings[(timeout, allow_private)] = session
    return session


def _call(
    url: str, *, policy: RetryPolicy, method: str, allow_private: bool, headers: Mapping[str, str] | None
) -> AttemptResult:
    session = _session(timeout=policy.timeout, allow_private=allow_private)
    with session.request(method, url, headers=headers, stream=True, allow_redirects=False) as response:
        return _answer(response, policy)


def _answer(response: requests.Response, policy: RetryPolicy) -> AttemptResult:
    status = response.status_code
    body, body_error = _response_start(response)
    if 300 <= status < 400:
        target = mask_url(response.headers.get("Location", "")) or "an unnamed place"
        error = (
            f"The receiver answered {status}, a redirect to {target}; redirects are not followed, "
            "so use the final URL instead."
        )
    elif 200 <= status < 300:
        error = body_error
    else:
        error = f"The receiver answered {status} {response.reason or ''}".rstrip() + "."
    return AttemptResult(
        url_masked="",
        outcome=Outcome.FAILED if 300 <= status < 400 else policy.outcome_for(status),
        status_code=status,
        response_start=body,
        error=error,
        retry_after=response.headers.get("Retry-After"),
    )


def _response_start(response: requests.Response) -> tuple[str, str]:
    """The first kilobyte of the body as text, and why it could not be read (if so)."""
    try:
        raw = response.raw.read(RESPONSE_START_BYTES, decode_content=True) or b""
    except Exception as error:  # noqa: BLE001 - a broken body must not hide the status
        return "", f"The answer's body could not be read: {error}"
    try:
        decoder = codecs.getincrementaldecoder(response.encoding or "utf-8")(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # final=False leaves a character cut at the 1 kB mark out instead of mangling it;
    # NUL characters cannot be stored in PostgreSQL text.
    return decoder.decode(raw, final=False).replace("\x00", "\ufffd"), ""


def _network_failure(error: requests.RequestException, policy: RetryPolicy) -> AttemptResult:
    if isinstance(error, InvalidIPAddress):
        message = (
            f"The host resolved to {error}, a non-public address, when connecting; "
            "postbacks may only go to public internet addresses."
        )
        return AttemptResult(url_masked="", outcome=Outcome.FAILED, error=message)
    if isinstance(error, requests.Timeout):
        message = f"No answer within {policy.timeout:g} seconds."
        return AttemptResult(url_masked="", outcome=Outcome.RETRY, error=message)
    if isinstance(error, requests.ConnectionError):
        message = f"Could not connect to the receiver: {_reason(error)}."
        return AttemptResult(url_masked="", outcome=Outcome.RETRY, error=message)
    message = f"The request could not be made: {_reason(error)}."
    return AttemptResult(url_masked="", outcome=Outcome.FAILED, error=message)


def _reason(error: BaseException) -> str:
    """The root cause in a few words, e.g. "Connection refused".

    The exceptions' own texts are not used: they quote the URL, secrets included.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        inner = getattr(seen, "reason", None)
        seen = inner if isinstance(inner, BaseException) else (seen.__cause__ or seen.__context__)
    return type(error).__name__
