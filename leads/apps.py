from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Traffic and leads"

    def ready(self) -> None:
        # Connects the receivers that drop cached hot-path data (links, goal tables, outbound
        # configuration) when it changes.
        from leads import clicks, outbound, selectors  # noqa: F401
