"""`manage.py ingest_spool_replay`: load requests spooled to disk into the inbound log."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.repeat import add_every_argument, run_every
from ingest.log import spool_load


class Command(BaseCommand):
    help = (
        "Load the requests that were kept on local disk while the database was down into the "
        "inbound log, as failed rows that can be replayed. Beat runs it every minute; "
        "`make run` (no beat) runs it with --every."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_every_argument(parser, "Load")

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        def load() -> None:
            loaded = spool_load()
            if loaded or every is None:  # repeating, it says only when it loaded something
                self.stdout.write(f"{loaded} spooled request(s) loaded into the inbound log.")

        run_every(every, load, self.stdout, "Spool loading stopped.")
