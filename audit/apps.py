from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AuditConfig(AppConfig):
    """The audit log of configuration changes (django-auditlog, with our own entry model)."""

    name = "audit"
    verbose_name = gettext_lazy("Audit log")

    def ready(self) -> None:
        from audit import commands, tracking

        commands.audit_every_command()
        tracking.connect_admin_history_repr()
