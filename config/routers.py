"""The database router: the primary takes every write and every migration.

Report selectors name the replica themselves (`config.replica.read_reports` hands them the
alias), so nothing is routed there by model or app: the rollups that reports read are also
written by the folding job, and a page that reads what it just wrote must read the primary.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS


class PrimaryReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        # Unrouted reads stay where Django puts them: the primary, or the database of the
        # instance they follow.
        return None

    def db_for_write(self, model: type, **hints: Any) -> str:
        # An instance read from the replica is still saved on the primary.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both databases hold the same rows, so an object from one may point at one from the other.
        both = {DEFAULT_DB_ALIAS, settings.REPORTS_DATABASE}
        return True if {obj1._state.db, obj2._state.db} <= both else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # The replica is read-only: it gets the tables by replication from the primary.
        return db == DEFAULT_DB_ALIAS or db != settings.REPORTS_DATABASE
