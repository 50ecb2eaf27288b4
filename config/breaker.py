"""Circuit breakers: after Redis fails once, skip it for a few seconds instead of waiting on it again.

Redis (the shared cache, the screening counters, the Celery broker) is an accelerator, never a
condition of an answer. A Redis that is down or hung costs each call up to its socket timeout;
without a breaker an outage would cost that on every request. The first failure opens the
breaker for `CACHE_BREAKER_SECONDS`, during which callers take their fallback at once (the
database, counters skipped, deliveries left to the sweep). The first call after the window tries
Redis again: a success keeps the breaker closed, a failure opens it for another window. The
state is per process, so an outage costs each process one timeout per window.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_breakers: list[Breaker] = []


class Breaker:
    """One breaker per service a request may reach (the cache's Redis, the broker)."""

    def __init__(self, name: str, window_setting: str = "CACHE_BREAKER_SECONDS") -> None:
        self.name = name
        # The setting that holds this breaker's window, read at each trip (tests override it).
        self.window_setting = window_setting
        self._open_until = 0.0
        _breakers.append(self)

    def is_open(self) -> bool:
        """Whether calls should skip the service now (a failure less than a window ago)."""
        return time.monotonic() < self._open_until

    def trip(self, error: BaseException) -> None:
        """Record a failure: skip the service for the next window."""
        window = getattr(settings, self.window_setting)
        self._open_until = time.monotonic() + window
        logger.warning(
            "%s unavailable (%s: %s); skipped for %s s", self.name, error.__class__.__name__, error, window
        )

    def reset(self) -> None:
        self._open_until = 0.0


def reset_all() -> None:
    """Close every breaker of this process (tests start each case with Redis trusted again)."""
    for breaker in _breakers:
        breaker.reset()
