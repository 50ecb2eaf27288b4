"""`manage.py deliveries_dispatch`: send due deliveries without Celery (the embedded default).

`make run` starts it beside the server when no REDIS_URL is set. It sweeps every second and
sends what is due from a few threads (a claim's lease is the destination's timeout plus a
margin, renewed while the round lasts); more than one dispatcher (or Celery workers too) may
run at once, since every delivery is claimed before it is sent.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from postbacks.services import deliveries_dispatch_due

DEFAULT_INTERVAL = 1.0
DEFAULT_THREADS = 4
ROUND = 500


class Command(BaseCommand):
    help = "Send due outbound deliveries in a loop (one round with --once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One round of the sweep, then exit.")
        parser.add_argument(
            "--interval", type=float, default=DEFAULT_INTERVAL, help="Seconds between sweeps."
        )
        parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="Deliveries sent at once.")

    def handle(self, *args: Any, once: bool, interval: float, threads: int, **options: Any) -> None:
        # SQLite takes one writer at a time: threads would only queue for its lock.
        if connection.vendor == "sqlite":
            threads = 1
        with ExitStack() as stack:
            pool = None
            if threads > 1:
                pool = stack.enter_context(ThreadPoolExecutor(threads, thread_name_prefix="delivery"))
            if once:
                self.stdout.write(f"{deliveries_dispatch_due(pool=pool)} deliveries attempted")
                return
            self.stdout.write(f"Dispatching deliveries every {interval:g} s (Ctrl-C stops).")
            try:
                self._loop(pool, interval)
            except KeyboardInterrupt:
                self.stdout.write("Dispatcher stopped.")

    def _loop(self, pool: ThreadPoolExecutor | None, interval: float) -> None:
        while True:
            # A full round means more are due right away; otherwise wait for the next sweep.
            if deliveries_dispatch_due(limit=ROUND, pool=pool) < ROUND:
                time.sleep(interval)
