"""`manage.py partitions_maintain`: partitions ahead, then the retention of the raw tables.

Once by default; `--every 3600` repeats until stopped, which is how `make run` keeps them
without Celery (beat runs the same task in production). Does nothing on SQLite.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.repeat import add_every_argument, run_every
from leads.partitions import partitions_maintain


class Command(BaseCommand):
    help = "Create the raw tables' partitions ahead and drop those older than RAW_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        add_every_argument(parser)

    def _once(self) -> None:
        created, dropped = partitions_maintain()
        made = sum(len(names) for names in created.values())
        gone = ", ".join(drop.partition for drop in dropped) or "none"
        self.stdout.write(f"Partitions: {made} created; dropped: {gone}.")

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        run_every(every, self._once, self.stdout, "Partitions stopped.")
