from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = gettext_lazy("Privacy")

    def ready(self) -> None:
        from audit.tracking import track
        from privacy import models

        # An erasure or anonymization is itself audited (SPEC 7b): who, from where, what it changed.
        track(models.PrivacyOperation, organization="organization_id")
