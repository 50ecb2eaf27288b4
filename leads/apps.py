from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = gettext_lazy("Traffic and leads")

    def ready(self) -> None:
        # Connects the receivers that drop cached links, screening configurations, goal tables
        # and integrations' outbound configurations when they change (all in leads.linkcache).
        from leads import linkcache  # noqa: F401
        from leads.partitions import register_tables

        # Clicks and impressions are partitioned by time on PostgreSQL (config.partitions).
        register_tables()
