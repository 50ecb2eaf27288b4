"""A few seconds of per-process memory in front of the shared cache, for hot-path configuration.

The click redirect and the postbacks read the same small pieces of configuration (a link, a
token's app, an offer's goals, an integration's outbound URLs) on every request. The shared
cache (Redis) costs a round trip and an unpickle each time; this keeps the answer in the
process for `NEAR_CACHE_SECONDS`. A change drops the entry at once in the process that made it
and in the shared cache; other processes see it when their copy expires, seconds later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

T = TypeVar("T")

# Past this many entries a process starts over: the working set of hot paths is far smaller.
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[float, Any]] = {}


def get(key: str) -> Any | None:
    """This process's copy of `key`, or None when it has none (or it expired)."""
    entry = _entries.get(key)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]


def put(key: str, value: Any) -> None:
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (time.monotonic() + settings.NEAR_CACHE_SECONDS, value)


def cached(key: str, load: Callable[[], T], *, shared_seconds: float) -> T:
    """The value under `key`: from this process, else the shared cache, else `load()`.

    `load()` may answer None (nothing to cache): it is then asked again next time.
    """
    value = get(key)
    if value is not None:
        return value
    value = cache.get(key)
    if value is None:
        value = load()
        if value is None:
            return value
        cache.set(key, value, shared_seconds)
    put(key, value)
    return value


def forget(keys: list[str]) -> None:
    """Drop these entries here; the caller drops them from the shared cache."""
    for key in keys:
        _entries.pop(key, None)


def clear() -> None:
    """Drop every entry of this process (tests start each case with none)."""
    _entries.clear()
