"""`manage.py clickhouse_export`: copy new raw clicks to ClickHouse (CLICKHOUSE_URL).

Once by default; `--every 60` keeps exporting until stopped, as beat does in production.
A failed insert leaves the export mark where it was, so the next run sends the same clicks.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from columnar.clickhouse import connect
from columnar.services import export_clicks
from config.repeat import add_every_argument, run_every


class Command(BaseCommand):
    help = "Copy the raw clicks not yet exported to ClickHouse (CLICKHOUSE_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, help="Clicks per insert (default CLICKHOUSE_EXPORT_BATCH).")
        parser.add_argument(
            "--now",
            action="store_true",
            help="Export up to the newest click now, without waiting for it to settle.",
        )
        add_every_argument(parser, "Export")

    def handle(self, *args: Any, batch: int | None, now: bool, every: float | None, **options: Any) -> None:
        if not settings.CLICKHOUSE_URL:
            raise CommandError("CLICKHOUSE_URL is not set: the ClickHouse export is off.")
        client = connect()
        settle = 0 if now else None

        def export() -> None:
            sent = export_clicks(client, batch=batch, settle_seconds=settle)
            self.stdout.write(f"Exported {sent} clicks to ClickHouse.")

        try:
            run_every(every, export, self.stdout, "ClickHouse export stopped.")
        finally:
            client.close()
