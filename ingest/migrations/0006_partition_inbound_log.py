"""The inbound log becomes a table partitioned by received_at (PostgreSQL; nothing on SQLite).

Its foreign keys in (lead events, replays) were dropped first (leads 0014, ingest 0005).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from config.partitions import convert_to_partitioned


def partition(apps, schema_editor):
    convert_to_partitioned(
        schema_editor.connection,
        "postbacks_inboundpostback",
        "received_at",
        interval=settings.RAW_PARTITION_INTERVAL,
        ahead=settings.RAW_PARTITIONS_AHEAD,
        now=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("ingest", "0005_partition_ready"), ("leads", "0014_partition_ready")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
