"""`manage.py seed_demo`: the Northwind Mobile demo, and its logins and tokens."""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo.seed import (
    DEFAULT_CLICKS,
    DEFAULT_SEED,
    TRAFFIC_DAYS,
    DemoSeedError,
    DemoSummary,
    demo_organization,
    demo_seed,
    demo_summary,
)


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo organization (apps, partners, offers, logins, "
        f"{TRAFFIC_DAYS} days of traffic and leads) and print its logins, API key and tokens."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="When an organization exists already, change nothing and print its logins and tokens.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object and nothing else; on a seeded database, print its logins and "
            "tokens and change nothing (as --if-empty does).",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Random seed (default %(default)s)."
        )
        parser.add_argument(
            "--clicks", type=int, default=DEFAULT_CLICKS, help="Clicks to create (default %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = demo_organization()
        # --json is how scripts (and the README) ask for the tokens: on a seeded database it
        # reads them, as --if-empty does, instead of failing.
        if existing is not None and not (options["if_empty"] or options["json"]):
            raise CommandError(
                f"The database already has an organization ({existing.name}); seed_demo only fills an "
                "empty database. Run it with --if-empty (or --json) to print the existing logins and "
                "tokens, or point DATABASE_URL at an empty database."
            )
        if existing is not None:
            self.report(demo_summary(existing), options["json"], "Demo data exists already: nothing changed.")
            return
        started = time.monotonic()
        try:
            result = demo_seed(seed=options["seed"], clicks=options["clicks"])
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        notice = (
            f"Created {result.organization.name}: {result.clicks:,} clicks, {result.impressions:,} "
            f"impressions and {result.leads:,} leads over the last {TRAFFIC_DAYS} days "
            f"in {time.monotonic() - started:.1f} s."
        )
        self.report(demo_summary(result.organization), options["json"], notice)

    def report(self, summary: DemoSummary, as_json: bool, notice: str) -> None:
        """The summary as text (after a one-line notice), or as JSON alone."""
        if as_json:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
            return
        self.stdout.write(self.style.SUCCESS(notice))
        self.stdout.write("")
        self.stdout.write(summary.as_text())
