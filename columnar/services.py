"""The exporter: raw clicks copied to ClickHouse in id order, batch by batch, never lost nor doubled.

Each batch is an id range claimed on the exporter's own mark (`ExportMark`), read from the
database, sent with one columnar insert outside any transaction, then confirmed. When ClickHouse
is down the insert raises, the mark stays where it was, and the next run sends the same range
under the same deduplication token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from columnar.clickhouse import COLUMN_NAMES, FIELDS, TABLE
from columnar.models import ExportMark
from leads.models import Click
from leads.rollups import settled_id

CLICKS = "clicks"
DEFAULT_BATCH = 50_000


def click_columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows of `FIELDS` (as `values_list` gives them) as ClickHouse columns, NULL ids as 0."""
    if not rows:
        return [[] for _ in FIELDS]
    columns = [list(values) for values in zip(*rows, strict=True)]
    for column in columns:
        if None in column:
            column[:] = [0 if value is None else value for value in column]
    return columns


def _settle_seconds(settle_seconds: float | None) -> float:
    if settle_seconds is not None:
        return settle_seconds
    return settings.ROLLUP_SETTLE_SECONDS


@transaction.atomic
def _claim(batch: int, settle: float) -> tuple[int, int] | None:
    """The ids (lo, hi] to send next: the range in flight if any, else the next due; None if none."""
    ExportMark.objects.get_or_create(name=CLICKS)
    mark = ExportMark.objects.select_for_update().get(name=CLICKS)
    if mark.sending_id > mark.exported_id:
        return mark.exported_id, mark.sending_id
    now = timezone.now()
    newest = Click.objects.aggregate(newest=Max("id"))["newest"] or 0
    due = settled_id(mark.exported_id, mark.pending_id, mark.pending_at, newest, settle)
    # Ranges start at the next click, so a gap in the ids (dropped partitions, a fresh
    # exporter on an old database) costs one batch, not one per `batch` missing ids.
    following = Click.objects.filter(id__gt=mark.exported_id).aggregate(first=Min("id"))["first"]
    hi = min(due, max(mark.exported_id, (following or 1) - 1) + batch)
    if hi > mark.exported_id:
        mark.sending_id = hi
    if mark.pending_at is None or mark.pending_id <= hi:
        mark.pending_id, mark.pending_at = newest, now
    mark.save()
    return (mark.exported_id, hi) if hi > mark.exported_id else None


def _confirm(lo: int, hi: int) -> None:
    """Move the mark past a sent range (unless another exporter already did)."""
    ExportMark.objects.filter(name=CLICKS, exported_id=lo).update(exported_id=hi, updated_at=timezone.now())


def export_clicks(client: Any, *, batch: int | None = None, settle_seconds: float | None = None) -> int:
    """Send every due click past the mark to ClickHouse; the number of clicks sent.

    `client` is a clickhouse-connect client (`columnar.clickhouse.connect`). An insert that
    raises leaves the mark and propagates; the range goes again on the next call.
    """
    batch = batch or settings.CLICKHOUSE_EXPORT_BATCH or DEFAULT_BATCH
    settle = _settle_seconds(settle_seconds)
    sent = 0
    while (claimed := _claim(batch, settle)) is not None:
        lo, hi = claimed
        rows = list(Click.objects.filter(id__gt=lo, id__lte=hi).order_by("id").values_list(*FIELDS))
        if rows:
            client.insert(
                TABLE,
                click_columns(rows),
                column_names=list(COLUMN_NAMES),
                column_oriented=True,
                settings={"insert_deduplication_token": f"{CLICKS}:{lo}:{hi}"},
            )
        _confirm(lo, hi)
        sent += len(rows)
    return sent
