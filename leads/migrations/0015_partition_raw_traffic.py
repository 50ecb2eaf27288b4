"""Clicks and impressions become tables partitioned by created_at (PostgreSQL; nothing on SQLite).

The existing table is attached as the legacy partition without rewriting a row
(config.partitions.convert_to_partitioned): only its primary key (id, created_at) is built.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from config.partitions import convert_to_partitioned


def partition(apps, schema_editor):
    for table in ("leads_click", "leads_impression"):
        convert_to_partitioned(
            schema_editor.connection,
            table,
            "created_at",
            interval=settings.RAW_PARTITION_INTERVAL,
            ahead=settings.RAW_PARTITIONS_AHEAD,
            now=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0014_partition_ready")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
