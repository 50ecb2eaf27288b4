"""The spool: requests kept on local disk when the database could not take their log row.

The last line of "nothing is lost": a request that failed for a reason of ours is normally
kept in the inbound log (`ingest.log.failure_keep`); when PostgreSQL itself is gone, it is
written here instead, one JSON file per request, written to a temporary name and renamed
into place (a reader never sees half a file). `spool_load` (`manage.py ingest_spool_replay`,
run by beat every minute) moves each file into the inbound log as a "failed" row, replayable
like any other, then deletes it. Each file's name is its key: the row carries it
(`spool_id`, unique), so a load that stops between the INSERT and the delete never keeps a
request twice. The token is kept in the file so the load can find the request's app; the
log row masks it as usual.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from ingest.log import Arrival

logger = logging.getLogger(__name__)
SUFFIX = ".json"


def spool_dir() -> Path:
    path = Path(settings.INGEST_SPOOL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_write(arrival: Arrival, *, reason: str, integration_id: int | None = None) -> Path:
    """Keep one request on disk, durably (fsync), under a fresh key."""
    key = uuid.uuid4().hex
    folder = spool_dir()
    record = {
        "key": key,
        "reason": reason,
        "integration_id": integration_id,
        "received_at": timezone.now().isoformat(),
        "arrival": dataclasses.asdict(arrival),
    }
    temporary = folder / f".{key}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / f"{key}{SUFFIX}"
    os.replace(temporary, final)
    return final


def spooled() -> list[Path]:
    """The spooled requests, oldest first."""
    return sorted(spool_dir().glob(f"*{SUFFIX}"), key=lambda path: path.stat().st_mtime)


def read(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
