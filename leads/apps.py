from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Traffic and leads"

    def ready(self) -> None:
        # Connects the receivers that drop a tracking link's cached data when it changes.
        from leads import clicks, selectors  # noqa: F401 - and the offers' cached goal tables
