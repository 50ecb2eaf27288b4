"""`manage.py privacy_retention`: blank raw IPs and user agents past their retention.

Once by default; `--every 3600` repeats until stopped, which is how `make run` keeps the
retention without Celery (beat runs the same task in production).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.repeat import add_every_argument, run_every
from privacy.services import retention_purge


class Command(BaseCommand):
    help = "Blank raw IPs and user agents older than RETENTION_IP_DAYS / RETENTION_USER_AGENT_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        add_every_argument(parser)

    def _once(self) -> None:
        counts = retention_purge(
            ip_days=settings.RETENTION_IP_DAYS, user_agent_days=settings.RETENTION_USER_AGENT_DAYS
        )
        self.stdout.write(
            "Retention: " + ", ".join(f"{n} {table}" for table, n in counts.items()) + " changed."
        )

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        run_every(every, self._once, self.stdout, "Retention stopped.")
