from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = gettext_lazy("Publisher portal")

    def ready(self) -> None:
        from audit.tracking import track
        from portal import models

        # Payment details are shown by their ends only in the audit log (README "Audit log").
        payment_details = ("paypal_email", "account_holder", "iban", "bic", "wallet_address")
        track(
            models.PaymentMethod,
            organization="partner.organization_id",
            partly=payment_details,
            parent="partner",
            repr=lambda method: f"{method.get_kind_display()} of {method.partner}",
        )
        track(models.PayoutRun, organization="organization_id", partly=("debtor_iban", "debtor_bic"))
        track(models.Payout, organization="organization_id", partly=("method",), parent="run")
