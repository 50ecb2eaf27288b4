"""Beat's export of new clicks to ClickHouse (scheduled only when CLICKHOUSE_URL is set)."""

from __future__ import annotations

from celery import shared_task

from columnar.clickhouse import connect
from columnar.services import export_clicks


@shared_task(name="columnar.clickhouse_export", ignore_result=True)
def clickhouse_export_task() -> int:
    """Copy the clicks past the export mark to ClickHouse; when it is down, the mark waits."""
    client = connect()
    try:
        return export_clicks(client)
    finally:
        client.close()
