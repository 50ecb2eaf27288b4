"""`manage.py partitions_ensure`: create the raw tables' missing partitions now (PostgreSQL).

Beat does it hourly (`partitions_maintain`); run this before loading old rows in bulk, with
`--since` the oldest row's date, so they land in partitions of their own, not in the default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leads.partitions import partitions_ensure


class Command(BaseCommand):
    help = "Create the partitions of the raw tables up to RAW_PARTITIONS_AHEAD periods ahead."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
            metavar="YYYY-MM-DD",
            help="Also create the partitions from this date on.",
        )

    def handle(self, *args: Any, since: datetime | None, **options: Any) -> None:
        for table, created in partitions_ensure(since=since).items():
            self.stdout.write(
                f"{table}: {len(created)} created" + (f" ({', '.join(created)})" if created else "")
            )
