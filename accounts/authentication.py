"""The management API's authentication: API keys (rotated ones in their overlap too) and sessions.

A browser session whose login still owes its second-factor code is no authentication at all
for the API (DRF then answers 401/403 as for anybody else). Token requests are unaffected.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.middleware import needs_code
from accounts.models import PreviousApiKey
from accounts.services import api_key_digest


class RotatingTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: the login's current key, or its previous one until its overlap ends.

    A previous key authenticates with `request.auth` set to its `PreviousApiKey` row (not the
    token), so what needs the current key (rotating it) can tell the two apart. Nothing has to
    run for an overlap to end: the key is refused from `valid_until` on.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        try:
            return super().authenticate_credentials(key)
        except AuthenticationFailed:
            previous = (
                PreviousApiKey.objects.select_related("user")
                .filter(digest=api_key_digest(key), valid_until__gt=timezone.now())
                .first()
            )
            if previous is None or not previous.user.is_active:
                raise
            return previous.user, previous


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        answer = super().authenticate(request)
        if answer is not None and needs_code(request._request):
            return None
        return answer


class VerifiedSessionScheme(SessionScheme):
    """The OpenAPI schema describes it as the session cookie it is."""

    target_class = "accounts.authentication.VerifiedSessionAuthentication"
