"""The hot-path cache: this process's memory, then Redis, then the database — Redis optional.

The click redirect and the postbacks read the same small pieces of configuration (a link, a
token's app, an offer's goals, an integration's screening and outbound configuration) on every
request. `cached()` answers from this process for `NEAR_CACHE_SECONDS`, else from the shared
cache (Redis: a round trip and an unpickle), else from the loader (the database), and keeps the
answer in both.

Redis is an accelerator, never a condition: when it errors (refused, timed out, any
`RedisError` or `OSError`) the lookup falls back to the loader and the request goes on. Each
call is bounded by the socket timeouts of `CACHES` (`REDIS_TIMEOUT_SECONDS`), and the first
failure opens `redis_breaker` (see `config.breaker`), so an outage costs one timeout per process
per window, not one per request. Writes never raise either.

A dry run (the postback debugger, `config.trace`) reads through the cache but stores nothing
it loaded: its transaction, whose rows a loader may see, is rolled back.

Invalidation: `forget()` drops the entries here and in Redis, now and again at commit (a
concurrent read may have re-cached the old rows meanwhile). Other processes see a change when
their near copy expires, seconds later. A forget that cannot reach Redis is remembered in this
process and retried before its next Redis call: an entry cached before the outage is not served
stale once Redis is back (Redis restarted empty needs nothing; one that kept its data would
otherwise serve the old entry until its TTL). Should the process end before Redis returns, such
an entry lives until its TTL (60 to 600 s by key).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from config import trace
from config.breaker import Breaker

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a Redis that is down, hung or restarting raises through the cache backend.
REDIS_ERRORS = (RedisError, OSError)
# Past this many entries a process starts over: the working set of hot paths is far smaller.
MAX_ENTRIES = 10_000

redis_breaker = Breaker("Redis")

_entries: dict[str, tuple[float, Any]] = {}
# Keys whose Redis delete failed, deleted before this process's next Redis call.
_unforgotten: set[str] = set()


def cached(key: str, load: Callable[[], T], *, seconds: float, empty_seconds: float | None = None) -> T:
    """The value under `key`: from this process, else Redis, else `load()`.

    `load()` may answer None (nothing to cache): it is then asked again next time. A falsy
    answer such as `{}` (known not to exist) is cached, for `empty_seconds` when given.
    """
    value = _near_get(key)
    if value is not None:
        return value
    value = guarded(lambda: cache.get(key), default=None)
    if value is None:
        value = load()
        if value is None or trace.active():
            # A dry run (config.trace) reads inside a transaction it rolls back: it keeps nothing.
            return value
        ttl = empty_seconds if empty_seconds is not None and not value else seconds
        guarded(lambda: cache.set(key, value, ttl), default=None)
    _near_put(key, value)
    return value


def forget(keys: Iterable[str]) -> None:
    """Drop these entries here and in Redis, now and again once the transaction commits."""
    keys = list(dict.fromkeys(keys))
    if keys:
        _drop(keys)
        transaction.on_commit(lambda: _drop(keys))


def guarded(call: Callable[[], T], *, default: T) -> T:
    """`call()` (which talks to Redis), or `default` when Redis fails or failed moments ago."""
    if redis_breaker.is_open():
        return default
    try:
        if _unforgotten:
            _delete_unforgotten()
        return call()
    except REDIS_ERRORS as error:
        redis_breaker.trip(error)
        return default


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """A pooled client of `url` for per-request counters (screening, rate limits), one per process.

    No retries: during an outage a counter is skipped at once (`guarded` opens the breaker)
    instead of waiting on Redis again.
    """
    timeout = settings.REDIS_TIMEOUT_SECONDS
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def clear() -> None:
    """Drop this process's entries and pending deletes (tests start each case with none)."""
    _entries.clear()
    _unforgotten.clear()


def _near_get(key: str) -> Any | None:
    entry = _entries.get(key)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]


def _near_put(key: str, value: Any) -> None:
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (time.monotonic() + settings.NEAR_CACHE_SECONDS, value)


def _drop(keys: list[str]) -> None:
    for key in keys:
        _entries.pop(key, None)
    if not guarded(lambda: _delete_shared(keys), default=False):
        _remember(keys)


def _delete_shared(keys: list[str]) -> bool:
    cache.delete_many(keys)
    return True


def _remember(keys: list[str]) -> None:
    room = max(MAX_ENTRIES - len(_unforgotten), 0)
    if len(keys) > room:
        stale = len(keys) - room
        logger.warning("Redis unavailable: %s cache entries may stay stale until they expire", stale)
    _unforgotten.update(keys[:room])


def _delete_unforgotten() -> None:
    keys = list(_unforgotten)
    cache.delete_many(keys)
    _unforgotten.difference_update(keys)
