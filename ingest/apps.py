from django.apps import AppConfig


class IngestConfig(AppConfig):
    """What comes in over HTTP: the inbound log, request parsing, the lead protocol and replay."""

    name = "ingest"
    verbose_name = "Ingestion"
