"""`manage.py otp_reset <username>`: a login lost its phone; remove its second-factor devices.

The login signs in with its password next time and, if its role needs a second factor, is
sent to set up a new authenticator then (README "Second factor").
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.twofactor import second_factor_reset


class Command(BaseCommand):
    help = "Remove a login's authenticator and recovery codes (lost phone)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No login named {username!r}.") from None
        removed = second_factor_reset(user=user)
        self.stdout.write(
            f"{username}: {removed} second-factor device(s) removed; the next sign-in sets up a new one."
        )
