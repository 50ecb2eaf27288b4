"""`manage.py ingest_spool_replay`: load requests spooled to disk into the inbound log."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ingest.log import spool_load


class Command(BaseCommand):
    help = (
        "Load the requests that were kept on local disk while the database was down into the "
        "inbound log, as failed rows that can be replayed. Beat runs it every minute; "
        "`make run` (no beat) runs it with --every."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="Load again every SECONDS until stopped."
        )

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        if every is None:
            self.stdout.write(f"{spool_load()} spooled request(s) loaded into the inbound log.")
            return
        try:
            while True:
                loaded = spool_load()
                if loaded:
                    self.stdout.write(f"{loaded} spooled request(s) loaded into the inbound log.")
                time.sleep(every)
        except KeyboardInterrupt:
            self.stdout.write("Spool loading stopped.")
