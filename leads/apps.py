from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Traffic and leads"

    def ready(self) -> None:
        # Connects the receivers that drop cached links, screening configurations and goal tables.
        from leads import linkcache  # noqa: F401
