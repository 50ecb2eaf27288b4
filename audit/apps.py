from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit log of configuration changes (django-auditlog, with our own entry model)."""

    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import commands, tracking

        commands.audit_every_command()
        tracking.connect_admin_history_repr()
