"""`manage.py ingest_spool_replay`: load requests spooled to disk into the inbound log."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ingest.log import spool_load


class Command(BaseCommand):
    help = (
        "Load the requests that were kept on local disk while the database was down into the "
        "inbound log, as failed rows that can be replayed. Beat runs it every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = spool_load()
        self.stdout.write(f"{loaded} spooled request(s) loaded into the inbound log.")
