from django.apps import AppConfig


class PostbacksConfig(AppConfig):
    name = "postbacks"
    verbose_name = "Postbacks"

    def ready(self) -> None:
        # Connects the receivers that drop an integration's cached outbound configuration.
        from postbacks import deliveries  # noqa: F401
