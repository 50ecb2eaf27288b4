"""Commands that run once, or with `--every SECONDS` again and again until stopped.

`make run` has no Celery beat: it keeps the periodic jobs going (fold, spool, retention,
partitions) by starting their commands with `--every`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management.base import CommandParser, OutputWrapper


def add_every_argument(parser: CommandParser, what: str = "Run") -> None:
    parser.add_argument(
        "--every", type=float, metavar="SECONDS", help=f"{what} again every SECONDS until stopped."
    )


def run_every(every: float | None, once: Callable[[], object], stdout: OutputWrapper, stopped: str) -> None:
    """Call `once` now and, with `every`, again every that many seconds until Ctrl-C."""
    once()
    if every is None:
        return
    try:
        while True:
            time.sleep(every)
            once()
    except KeyboardInterrupt:
        stdout.write(stopped)
