from django.apps import AppConfig


class PostbacksConfig(AppConfig):
    name = "postbacks"
    verbose_name = "Postbacks"

    def ready(self) -> None:
        from audit.tracking import track
        from postbacks.models import CleverTapDestination

        track(CleverTapDestination, organization="organization_id", parent="app")
