from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PostbacksConfig(AppConfig):
    name = "postbacks"
    verbose_name = gettext_lazy("Postbacks")

    def ready(self) -> None:
        from audit.tracking import track
        from postbacks.models import CleverTapDestination

        track(CleverTapDestination, organization="organization_id", parent="app")
