"""`manage.py demo_code` (`make demo-code`): the demo admin's current second-factor code.

Only for the demo's own admin while its authenticator has the demo's public secret; any other
login's codes are for its owner's phone alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from demo.seed import demo_authenticator, demo_organization


class Command(BaseCommand):
    help = "Print the demo admin's current second-factor code (the demo's public authenticator key)."

    def handle(self, *args: Any, **options: Any) -> None:
        organization = demo_organization()
        device = demo_authenticator(organization) if organization else None
        if device is None:
            raise CommandError("No demo admin with the demo authenticator here: run `make run` first.")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
