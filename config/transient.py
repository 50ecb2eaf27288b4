"""Transient database errors, retried whole: a deadlock or a serialization failure is no failure.

PostgreSQL breaks a deadlock by failing one of the transactions (SQLSTATE 40P01) and may
refuse a transaction it cannot serialize (40001); SQLite answers "database is locked" when
its busy timeout runs out. Each is over once the other transaction is: running the same
transaction again, after a short randomized pause, succeeds. `retry_transient` does that a
few times, and only around a whole transaction: inside an outer `atomic` block the outer
transaction is already lost, so the error goes up to whoever owns it.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, OperationalError, connection

P = ParamSpec("P")
T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
ATTEMPTS = 3
BASE_PAUSE_SECONDS = 0.02


def is_transient(error: BaseException) -> bool:
    """Whether running the same transaction again may well succeed."""
    if getattr(error.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def retry_transient(function: Callable[P, T]) -> Callable[P, T]:
    """Run `function` (a whole transaction) again after a transient error, up to ATTEMPTS times."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            outermost = not connection.in_atomic_block
            try:
                return function(*args, **kwargs)
            except DatabaseError as error:
                if attempt == ATTEMPTS or not outermost or not is_transient(error):
                    raise
            time.sleep(BASE_PAUSE_SECONDS * attempt * (1 + random.random()))
        raise AssertionError("unreachable")  # the loop returns or raises

    return run
