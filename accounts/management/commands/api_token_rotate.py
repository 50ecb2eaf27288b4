"""`manage.py api_token_rotate <username> --overlap 7d`: a new management API key for a login.

The current key keeps working for the overlap (1h, 24h, 7d or 30d), then only the new one,
which is printed once (README "Management API keys").
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.services import api_token_rotate
from partners.services import DEFAULT_TOKEN_OVERLAP, TOKEN_OVERLAPS


class Command(BaseCommand):
    help = "Give a login a new API key; the current one keeps working for the overlap."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--overlap",
            default=DEFAULT_TOKEN_OVERLAP,
            help=f"How long the current key keeps working: {', '.join(TOKEN_OVERLAPS)} "
            f"(default {DEFAULT_TOKEN_OVERLAP}).",
        )

    def handle(self, *args: Any, username: str, overlap: str, **options: Any) -> None:
        if overlap not in TOKEN_OVERLAPS:
            raise CommandError(f"--overlap {overlap!r}: choose one of {', '.join(TOKEN_OVERLAPS)}.")
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No login named {username!r}.") from None
        label, length = TOKEN_OVERLAPS[overlap]
        try:
            token, valid_until = api_token_rotate(user=user, overlap=length)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        until = timezone.localtime(valid_until).isoformat(timespec="seconds")
        self.stdout.write(f"New API key of {username}: {token.key}")
        self.stdout.write(f"The previous key keeps working for {label}, until {until}.")
