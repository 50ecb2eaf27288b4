from django.apps import AppConfig
from django.utils.translation import gettext_lazy

from config import partitions


class IngestConfig(AppConfig):
    """What comes in over HTTP: the inbound log, request parsing, the lead protocol and replay."""

    name = "ingest"
    verbose_name = gettext_lazy("Ingestion")

    def ready(self) -> None:
        # The inbound log is partitioned by time on PostgreSQL, kept and dropped like raw traffic
        # (leads.partitions), but it does not move the rollups' raw horizon.
        partitions.register("postbacks_inboundpostback", "received_at")
