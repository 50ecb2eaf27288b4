"""`manage.py rollup_refresh`: fold new clicks and impressions into the rollups (or rebuild them)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports.services import rollup_rebuild, rollup_refresh


class Command(BaseCommand):
    """Fold what arrived since the last refresh; `--rebuild` recomputes every rollup from raw tables."""

    help = "Fold new clicks and impressions into the report rollups."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the rollups from the raw tables."
        )
        parser.add_argument(
            "--now",
            action="store_true",
            help="Fold up to the newest id now, without waiting for it to settle.",
        )

    def handle(self, *args: Any, rebuild: bool, now: bool, **options: Any) -> None:
        if rebuild:
            rollup_rebuild()
            self.stdout.write("Rollups rebuilt from the raw tables.")
            return
        folded = rollup_refresh(settle_seconds=0 if now else None)
        self.stdout.write(f"Folded {folded} new ids into the rollups.")
