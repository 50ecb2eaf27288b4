"""The raw tables' partitions: created ahead of time, and the retention that drops old ones.

`config.partitions` holds the DDL; the apps register their tables from `ready()` (clicks and
impressions here, the inbound log in `ingest`). `partitions_maintain` (beat, hourly;
`manage.py partitions_maintain`) creates the partitions of the current and the next
`RAW_PARTITIONS_AHEAD` periods, moves out of the default partition the rows that waited there,
and drops every partition older than `RAW_RETENTION_DAYS` as a whole: no DELETE, so no bloat
and no long transaction. Leads keep their click's facts (`Lead.click_facts`), the rollups keep
the counts; each drop is recorded (`RawPartitionDrop`) and `raw_horizon()` answers since when
raw traffic is complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from config import partitions
from leads.models import RawPartitionDrop


def register_tables() -> None:
    partitions.register("leads_click", "created_at", raw_traffic=True)
    partitions.register("leads_impression", "created_at", raw_traffic=True)


def partitions_ensure(*, now: datetime | None = None, since: datetime | None = None) -> dict[str, list[str]]:
    """Create the missing partitions of every registered table; answers the names created per table.

    `since` also covers the periods from that instant (a bulk load of old rows, the bench).
    """
    now = now or timezone.now()
    return {
        spec.table: partitions.ensure_partitions(
            connection,
            spec.table,
            spec.key,
            interval=settings.RAW_PARTITION_INTERVAL,
            ahead=settings.RAW_PARTITIONS_AHEAD,
            now=now,
            since=since,
        )
        for spec in partitions.REGISTRY.values()
    }


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """The instant before which raw rows go; None when RAW_RETENTION_DAYS is 0 (keep everything)."""
    days = settings.RAW_RETENTION_DAYS
    return (now or timezone.now()) - timedelta(days=days) if days > 0 else None


def partitions_retain(*, now: datetime | None = None) -> list[RawPartitionDrop]:
    """Drop every partition wholly older than the retention, recording each; answers the records."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return []
    records: list[RawPartitionDrop] = []
    for spec in partitions.REGISTRY.values():

        def record(gone: partitions.Partition, table: str = spec.table) -> None:
            records.append(
                RawPartitionDrop.objects.create(
                    table=table, partition=gone.name, range_start=gone.lower, range_end=gone.upper
                )
            )

        partitions.drop_partitions_before(connection, spec.table, spec.key, cutoff, on_drop=record)
    return records


def partitions_maintain(
    *, now: datetime | None = None
) -> tuple[dict[str, list[str]], list[RawPartitionDrop]]:
    """What beat runs hourly: the partitions ahead, then the retention."""
    return partitions_ensure(now=now), partitions_retain(now=now)


def raw_horizon() -> datetime | None:
    """The instant before which raw clicks or impressions are gone (dropped partitions); None if
    none ever was. Report rollups of the days before it must be kept, never rebuilt from raw rows."""
    tables = [spec.table for spec in partitions.REGISTRY.values() if spec.raw_traffic]
    found = RawPartitionDrop.objects.filter(table__in=tables).aggregate(horizon=Max("range_end"))
    return found["horizon"]
