"""The management API's session authentication, for sessions that finished signing in.

A browser session whose login still owes its second-factor code is no authentication at all
for the API (DRF then answers 401/403 as for anybody else). Token requests are unaffected.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication

from accounts.middleware import needs_code


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        answer = super().authenticate(request)
        if answer is not None and needs_code(request._request):
            return None
        return answer


class VerifiedSessionScheme(SessionScheme):
    """The OpenAPI schema describes it as the session cookie it is."""

    target_class = "accounts.authentication.VerifiedSessionAuthentication"
