"""The second step of signing in: a login that needs a code reaches no page until it gave one.

After the password, Django's session holds the user, but for a login that must use a second
factor (or has turned one on) every admin and portal page answers with a redirect to the code
step, or to enrolment when a login that must have an authenticator has none yet: it is sent to
set one up, never locked out. The management API does not take such a half-signed-in session
either (`accounts.authentication`); token requests never had a session and are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from accounts.permissions import membership_of
from accounts.signals import SESSION_HAS_DEVICE
from accounts.twofactor import second_factor_enrolled, second_factor_required

GATED_PREFIXES = ("/admin/", "/portal/")


def needs_code(request: HttpRequest) -> bool:
    """Whether the signed-in user of this request still owes the code step."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return False
    return bool(request.session.get(SESSION_HAS_DEVICE)) or second_factor_required(user)


def second_factor_area(user: object) -> str:
    """Publishers meet the code step in the portal's look, everybody else in the admin's."""
    membership = membership_of(user)
    return "portal" if membership is not None and membership.role == Role.PUBLISHER else "admin"


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def open_paths(self) -> tuple[str, ...]:
        """Pages a half-signed-in login may still open: the code step itself, log in and out."""
        return (
            reverse("admin_2fa:verify").rsplit("verify/", 1)[0],
            reverse("portal_2fa:verify").rsplit("verify/", 1)[0],
            reverse("admin:login"),
            reverse("admin:logout"),
            reverse("portal:login"),
            reverse("portal:logout"),
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(GATED_PREFIXES) and not path.startswith(self.open_paths) and needs_code(request):
            return self.redirect_to_code_step(request)
        return self.get_response(request)

    def redirect_to_code_step(self, request: HttpRequest) -> HttpResponse:
        area = second_factor_area(request.user)
        step = "verify" if second_factor_enrolled(request.user) else "enrol"
        return HttpResponseRedirect(
            f"{reverse(f'{area}_2fa:{step}')}?{urlencode({'next': request.get_full_path()})}"
        )


PORTAL_PREFIX = "/portal/"


class PortalLocaleMiddleware(LocaleMiddleware):
    """The portal speaks the publisher's saved language (`Membership.language`), else the browser's
    (Accept-Language, e.g. on the login and sign-up pages); the admin, the API and the tracking
    endpoints stay in `LANGUAGE_CODE` (English), whatever the browser asks for."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(PORTAL_PREFIX):
            membership = membership_of(getattr(request, "user", None))
            saved = membership.language if membership is not None else ""
            language = saved or translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path_info.startswith(PORTAL_PREFIX):
            return super().process_response(request, response)
        return response
