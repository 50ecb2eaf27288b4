"""`manage.py rollup_refresh`: fold new clicks, impressions and lead events into the rollups.

Once by default; `--every 10` keeps folding every 10 s until stopped, which is how `make run`
keeps the reports current without Celery (beat runs the same fold in production);
`--rebuild` recomputes every rollup from the raw tables, and with `--keep-before 2026-01-01` keeps
the rollups of the days before that date as they are. Without it a rebuild keeps those of the
days whose raw clicks retention dropped (`leads.partitions.raw_horizon`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.repeat import add_every_argument, run_every
from leads.rollups import rollup_rebuild, rollup_refresh


class Command(BaseCommand):
    help = "Fold new clicks, impressions and lead events into the report rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the rollups from the raw tables."
        )
        parser.add_argument(
            "--keep-before",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="With --rebuild: keep the rollups of days before this date instead of recounting them "
            "(default: the days whose raw clicks and impressions retention dropped).",
        )
        parser.add_argument(
            "--now",
            action="store_true",
            help="Fold clicks and impressions up to the newest id now, without waiting for it to settle.",
        )
        add_every_argument(parser, "Fold")

    def handle(
        self,
        *args: Any,
        rebuild: bool,
        keep_before: date | None,
        now: bool,
        every: float | None,
        **options: Any,
    ) -> None:
        if keep_before is not None and not rebuild:
            raise CommandError("--keep-before goes with --rebuild.")
        if rebuild:
            rollup_rebuild(keep_before=keep_before)
            kept = "" if keep_before is None else f" (days before {keep_before} kept)"
            self.stdout.write(f"Rollups rebuilt from the raw tables{kept}.")
            return
        settle = 0 if now else None
        if every is None:
            self.stdout.write(f"Folded {rollup_refresh(settle_seconds=settle)} new rows into the rollups.")
            return
        self.stdout.write(f"Folding into the report rollups every {every:g} s (Ctrl-C stops).")
        run_every(
            every, lambda: rollup_refresh(settle_seconds=settle), self.stdout, "Rollup folding stopped."
        )
