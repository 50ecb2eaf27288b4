"""What a sign-in sets up for the second factor, and when django-axes forgets failures.

django-axes is told not to reset a login's failures on Django's `user_logged_in` (settings:
`AXES_RESET_ON_SUCCESS = False`): the password step alone must not wipe out the wrong codes
counted at the code step, or whoever knows a password could try codes forever by signing in
again between tries. Failures are forgotten here when the password was the whole sign-in, and
by the code step (`accounts.views`) once the code was right.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.twofactor import second_factor_enrolled, second_factor_required

# Whether the login had a device when it signed in: a login that merely chose a second factor
# is then asked for it without a device query on every request (accounts.middleware).
SESSION_HAS_DEVICE = "pd_otp_has_device"


def axes_forget_failures(request: HttpRequest, user: Any) -> None:
    """Forget this login's counted failures from this address, as axes does on a success."""
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    if hasattr(handler, "reset_user_attempts"):  # the database handler (the default): this address too
        handler.reset_user_attempts(request, get_credentials(user.get_username()))
    else:
        handler.reset_attempts(username=user.get_username())


@receiver(user_logged_in, dispatch_uid="accounts.second_factor_on_login")
def second_factor_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    has_device = second_factor_enrolled(user)
    request.session[SESSION_HAS_DEVICE] = has_device
    if not has_device and not second_factor_required(user):
        axes_forget_failures(request, user)
