"""Rate limits: fixed-window counters kept in each process and added up in Redis in batches.

Why batches: the click redirect must stay within a few per cent of a bare INSERT and a 302
(`make bench`'s `click_vs_baseline`), and a Redis round trip per click would cost more than the
rest of the limit check put together. So each process counts hits in memory and, once it has
counted `RATE_LIMIT_SYNC_HITS` hits (a public request is two: its address and its token) or
`RATE_LIMIT_SYNC_SECONDS` have passed, whichever comes first, adds what it counted to Redis in
one EVALSHA: an INCRBY per key (its TTL set when the increment created it), answering each
key's total over every process in the same round trip: one round trip per ~100 requests.
A request is judged on that total as Redis last answered it plus what this process counted
since: exact within one process, and behind by at most one sync interval of the other
processes' traffic. The overshoot is bounded by that interval and is small against limits
that are meant to be generous; piggy-backing on screening's per-click EVALSHA instead would
tie the limit to integrations that have count rules.

Redis is an accelerator, never a condition: without `REDIS_URL`, while Redis is down, or while
the hot cache's breaker is open (`config.hotcache.guarded`), nothing is synced and the
unsynced count keeps growing, so each process applies the limit to its own traffic (it fails
open to a per-process limit, it never refuses because Redis is gone). What was counted
meanwhile is added to Redis once it answers again.

Windows are aligned on the wall clock (`RATE_LIMIT_WINDOW_SECONDS`), the same in every
process. Identities (tokens, addresses, user ids) are hashed before they reach Redis.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from redis.commands.core import Script

from config import hotcache

# Past this many identities in one window a process forgets the older windows' (or, failing
# that, all) counts: a flood from many addresses must not grow the process without bound.
MAX_KEYS = 100_000

# Every key of a batch in one command: add this process's count, give a new key its TTL,
# answer the totals in order. ARGV holds the amounts, then the TTL.
SYNC_SCRIPT = """
local ttl = ARGV[#KEYS + 1]
local totals = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[i])
  local total = redis.call('INCRBY', key, amount)
  if total == amount then redis.call('EXPIRE', key, ttl) end
  totals[i] = total
end
return totals
"""


@dataclass(slots=True)
class _Count:
    """One identity's count in one window, as this process knows it."""

    window: int
    synced: int = 0  # the window's total over every process, as Redis last answered it
    unsynced: int = 0  # this process's hits since


@dataclass(frozen=True)
class Exceeded:
    """A request over its limit: which limit, and how long until its window ends."""

    limit: int
    wait: int
    what: str

    @property
    def message(self) -> str:
        seconds = settings.RATE_LIMIT_WINDOW_SECONDS
        return (
            f"Rate limit: more than {self.limit} requests in {seconds} s {self.what}; "
            f"try again in {self.wait} s."
        )


_counts: dict[tuple[str, str], _Count] = {}
_pending = {"hits": 0, "synced_at": 0.0}
_sync_lock = threading.Lock()


def hit(scope: str, identity: str, limit: int, *, what: str = "") -> Exceeded | None:
    """Count one request of `identity` under `scope`; answers how it exceeded `limit`, else None.

    A limit of 0 (or no identity) counts nothing and never refuses.
    """
    if limit <= 0 or not identity:
        return None
    now = time.time()
    seconds = settings.RATE_LIMIT_WINDOW_SECONDS
    window = int(now // seconds)
    key = (scope, identity)
    count = _counts.get(key)
    if count is None or count.window != window:
        if len(_counts) >= MAX_KEYS:
            _forget_before(window)
        count = _counts[key] = _Count(window)
    count.unsynced += 1
    _pending["hits"] += 1
    if _pending["hits"] >= settings.RATE_LIMIT_SYNC_HITS or (
        time.monotonic() - _pending["synced_at"] >= settings.RATE_LIMIT_SYNC_SECONDS
    ):
        sync(window)
    if count.synced + count.unsynced <= limit:
        return None
    return Exceeded(limit=limit, wait=max(1, math.ceil((window + 1) * seconds - now)), what=what)


def window_start(moment: datetime) -> datetime:
    """The start of the window `moment` falls in (tallies of refused requests are kept per window)."""
    seconds = settings.RATE_LIMIT_WINDOW_SECONDS
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, tz=UTC)


def sync(window: int) -> None:
    """Add this process's counts of `window` to Redis and take back the totals (see the module)."""
    _pending["hits"] = 0
    _pending["synced_at"] = time.monotonic()
    if not settings.REDIS_URL or not _sync_lock.acquire(blocking=False):
        return  # no Redis: every process counts on its own; a sync already running covers this one
    try:
        _forget_before(window)
        batch = [(key, count, count.unsynced) for key, count in list(_counts.items()) if count.unsynced]
        if not batch:
            return
        names = [_redis_key(key, window) for key, _count, _sent in batch]
        amounts = [sent for _key, _count, sent in batch]
        ttl = settings.RATE_LIMIT_WINDOW_SECONDS + 1
        totals = hotcache.guarded(lambda: _script(settings.REDIS_URL)(names, [*amounts, ttl]), default=None)
        if totals is None:
            return  # Redis down (now or moments ago): keep counting here, added once it is back
        for (_key, count, sent), total in zip(batch, totals, strict=True):
            count.unsynced -= sent
            count.synced = int(total)
    finally:
        _sync_lock.release()


def clear() -> None:
    """Forget this process's counts (tests start each case with none)."""
    _counts.clear()
    _pending.update(hits=0, synced_at=0.0)


def _forget_before(window: int) -> None:
    for key, count in list(_counts.items()):  # a snapshot: other threads count meanwhile
        if count.window < window:
            _counts.pop(key, None)
    if len(_counts) >= MAX_KEYS:
        _counts.clear()


def _redis_key(key: tuple[str, str], window: int) -> str:
    scope, identity = key
    digest = hashlib.blake2b(identity.encode(), digest_size=10).hexdigest()
    # The cache's prefix, so that cache.clear() empties the counters too.
    return cache.make_key(f"rl:{scope}:{window}:{digest}")


@functools.cache
def _script(url: str) -> Script:
    return hotcache.redis_client(url).register_script(SYNC_SCRIPT)
