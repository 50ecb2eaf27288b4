from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = gettext_lazy("Organizations and people")

    def ready(self) -> None:
        from rest_framework.authtoken.models import Token, TokenProxy

        from accounts import signals  # noqa: F401 (connects the sign-in receivers)
        from accounts.models import Membership, Organization
        from audit.tracking import track

        track(Organization, organization="pk")
        track(Membership, organization="organization_id")
        # A token's key is its primary key: the log names it by its user, never by the key.
        for model in (Token, TokenProxy):
            track(model, organization="user.membership.organization_id", repr=_token_name, ident=_token_ident)


def _token_name(token) -> str:
    return f"API token of {token.user}"


def _token_ident(token) -> str:
    return str(token.user_id)
