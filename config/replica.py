"""Report reads on the read replica (REPORTS_DATABASE_URL), answered by the primary when it fails.

The replica takes the heavy, read-only report queries off the primary. It is an accelerator,
never a condition of an answer (like Redis, config.breaker): when it refuses connections, times
out or fails a query, the same read runs again on the primary and the replica is skipped for
REPORTS_DATABASE_RETRY_SECONDS, so an outage costs each process one wait per window.

A replica may be seconds behind the primary. Everything a page shows from its reports (rows,
totals, labels and the "figures as of" line) is read in one `read_reports` call, from one
database, so the "as of" time always describes the rows shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError

from config.breaker import Breaker

T = TypeVar("T")

replica_breaker = Breaker("Reports replica", window_setting="REPORTS_DATABASE_RETRY_SECONDS")


def reports_db() -> str:
    """The alias report reads use now: the replica when one is set and not skipped, else the primary."""
    alias = settings.REPORTS_DATABASE
    if alias == DEFAULT_DB_ALIAS or replica_breaker.is_open():
        return DEFAULT_DB_ALIAS
    return alias


def read_reports(read: Callable[[str], T]) -> T:
    """`read(alias)` on the reports database; on the primary when the replica cannot answer.

    `read` must do all its queries on the alias it is given and return evaluated results (lists,
    not QuerySets), so that a failure surfaces here and the retry reads everything again.
    """
    alias = reports_db()
    if alias == DEFAULT_DB_ALIAS:
        return read(alias)
    try:
        return read(alias)
    except (DatabaseError, InterfaceError) as error:
        # Refused or lost connections, pool timeouts, queries a hot standby cancels, and a
        # replica that replication has not brought the latest migration yet.
        replica_breaker.trip(error)
    return read(DEFAULT_DB_ALIAS)
