from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from audit.tracking import track
        from privacy import models

        # An erasure or anonymization is itself audited (SPEC 7b): who, from where, what it changed.
        track(models.PrivacyOperation, organization="organization_id")
