"""`manage.py partitions_maintain`: partitions ahead, then the retention of the raw tables.

Once by default; `--every 3600` repeats until stopped, which is how `make run` keeps them
without Celery (beat runs the same task in production). Does nothing on SQLite.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leads.partitions import partitions_maintain


class Command(BaseCommand):
    help = "Create the raw tables' partitions ahead and drop those older than RAW_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="Run again every SECONDS until stopped."
        )

    def _once(self) -> None:
        created, dropped = partitions_maintain()
        made = sum(len(names) for names in created.values())
        gone = ", ".join(drop.partition for drop in dropped) or "none"
        self.stdout.write(f"Partitions: {made} created; dropped: {gone}.")

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        self._once()
        if every is None:
            return
        try:
            while True:
                time.sleep(every)
                self._once()
        except KeyboardInterrupt:
            self.stdout.write("Partitions stopped.")
