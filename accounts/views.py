"""The second factor's pages: the code step after the password, enrolment, recovery codes.

The same views serve the admin (`/admin/2fa/`, the admin's look) and the portal
(`/portal/2fa/`, the portal's look); `area` picks the templates and where to go next.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials, get_lockout_response
from django.contrib import admin, messages
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from rest_framework.authtoken.models import Token

from accounts.forms import CodeForm
from accounts.middleware import needs_code
from accounts.models import PreviousApiKey
from accounts.permissions import is_staff_member
from accounts.services import api_token_rotate
from accounts.signals import SESSION_HAS_DEVICE, axes_forget_failures
from accounts.twofactor import (
    authenticator_confirm,
    authenticator_key,
    authenticator_qr_svg,
    authenticator_start,
    code_verify,
    recovery_codes_issue,
    second_factor_enrolled,
    second_factor_required,
    second_factor_reset,
    second_factor_status,
)
from config.masking import mask_secret
from partners.services import DEFAULT_TOKEN_OVERLAP, TOKEN_OVERLAPS

ENROL_MISMATCH = gettext_lazy("That code does not match: scan the QR code again and type the code shown now.")
WRONG_CODE = gettext_lazy(
    "That code is not right: type the 6 digits your authenticator app shows now, or a recovery code."
)


class SecondFactorPage(View):
    """Signed-in users only; `area` is "admin" or "portal"."""

    area = "admin"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login = reverse("admin:login" if self.area == "admin" else "portal:login")
            return HttpResponseRedirect(f"{login}?next={request.path}")
        return super().dispatch(request, *args, **kwargs)

    def url(self, name: str) -> str:
        return reverse(f"{self.area}_2fa:{name}")

    def next_url(self) -> str:
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return target
        return reverse("admin:index" if self.area == "admin" else "portal:dashboard")

    def render(self, template: str, status: int = 200, **context: Any) -> HttpResponse:
        if self.area == "admin":
            context = {**admin.site.each_context(self.request), **context}
        context.setdefault("next", self.next_url())
        context.setdefault("area", self.area)
        return render(self.request, f"accounts/{self.area}/{template}.html", context, status=status)

    def signed_in(self, device: Any) -> None:
        """The code was right: the session is verified, on a new session key, failures forgotten."""
        otp_login(self.request, device)
        self.request.session[SESSION_HAS_DEVICE] = True
        self.request.session.cycle_key()
        axes_forget_failures(self.request, self.request.user)


class VerifyView(SecondFactorPage):
    """The code step: a TOTP code or a recovery code after the password."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not needs_code(request):
            return HttpResponseRedirect(self.next_url())
        if not second_factor_enrolled(request.user):
            return HttpResponseRedirect(f"{self.url('enrol')}?next={self.next_url()}")
        return self.render("verify", form=CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not needs_code(request):
            return HttpResponseRedirect(self.next_url())
        credentials = get_credentials(request.user.get_username())
        if AxesProxyHandler.is_locked(request, credentials):
            return get_lockout_response(request, None, credentials)
        form = CodeForm(request.POST)
        device = None
        if form.is_valid():
            device = code_verify(user=request.user, code=form.cleaned_data["code"])
        if device is None:
            # django-axes counts a wrong code as a failed sign-in of this login from this address;
            # at the limit its middleware answers with the lockout page instead of this one.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            form.add_error(None, WRONG_CODE)
            return self.render("verify", form=form)
        self.signed_in(device)
        if isinstance(device, StaticDevice):
            left = device.token_set.count()
            messages.warning(
                request, _("You used a recovery code (%(left)d left): make new ones soon.") % {"left": left}
            )
        return HttpResponseRedirect(self.next_url())


class EnrolView(SecondFactorPage):
    """Set up an authenticator app: scan the QR code, confirm with a code, get recovery codes.

    A session still owing its code may enrol only a login with no device yet (someone who must
    have one, at their first sign-in); replacing a device needs a verified session. Wrong codes
    here are not counted by axes: the secret is on the page, there is nothing to guess.
    """

    def refused(self, request: HttpRequest) -> HttpResponse | None:
        if needs_code(request) and second_factor_enrolled(request.user):
            return HttpResponseRedirect(f"{self.url('verify')}?next={self.next_url()}")
        return None

    def page(self, form: CodeForm, status: int = 200) -> HttpResponse:
        device = authenticator_start(user=self.request.user)
        return self.render(
            "enrol",
            status=status,
            form=form,
            qr_svg=authenticator_qr_svg(device),
            key=authenticator_key(device),
            required=second_factor_required(self.request.user),
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.refused(request) or self.page(CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if refusal := self.refused(request):
            return refusal
        form = CodeForm(request.POST)
        code = form.cleaned_data["code"] if form.is_valid() else ""
        confirmed = code and authenticator_confirm(user=request.user, code=code)
        if not confirmed:
            form.add_error(None, ENROL_MISMATCH)
            return self.page(form)
        device, codes = confirmed
        self.signed_in(device)
        return self.render("recovery_codes", codes=codes, enrolled=True)


class VerifiedOnly(SecondFactorPage):
    """Changes to a second factor need a session that gave its code (or has none to give)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and needs_code(request):
            return HttpResponseRedirect(f"{self.url('verify')}?next={request.path}")
        return super().dispatch(request, *args, **kwargs)


class OverviewView(VerifiedOnly):
    """The admin's page about one's own second factor (publishers see it on their profile)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if self.area == "portal":
            return HttpResponseRedirect(reverse("portal:profile"))
        return self.render("overview", status_=second_factor_status(request.user))


class RecoveryCodesView(VerifiedOnly):
    """New recovery codes, shown once; the earlier ones stop working."""

    def post(self, request: HttpRequest) -> HttpResponse:
        if not second_factor_status(request.user)["enabled"]:
            return HttpResponseRedirect(self.url("enrol"))
        return self.render("recovery_codes", codes=recovery_codes_issue(user=request.user), enrolled=False)


class DisableView(VerifiedOnly):
    """Turn the second factor off, for logins that are not required to have one."""

    def post(self, request: HttpRequest) -> HttpResponse:
        if second_factor_required(request.user):
            messages.error(
                request, _("Your role must sign in with a second factor: it cannot be turned off.")
            )
        else:
            second_factor_reset(user=request.user)
            request.session[SESSION_HAS_DEVICE] = False
            messages.success(request, _("Two-step sign-in is off: your password alone signs you in."))
        return HttpResponseRedirect(self.next_url())


def api_key_page(request: HttpRequest) -> HttpResponse:
    """The admin's page about one's own management API key: its state, and "Rotate key" (any staff role).

    Served inside `admin.site.admin_view` (staff sessions that finished signing in). The new key is
    shown on the answer to the rotation and never again.
    """
    if not (request.user.is_superuser or is_staff_member(request.user)):
        raise PermissionDenied(_("Only an organization's staff have management API keys."))
    context = {**admin.site.each_context(request), "title": _("API key")}
    if request.method == "POST":
        choice = request.POST.get("overlap", DEFAULT_TOKEN_OVERLAP)
        if choice not in TOKEN_OVERLAPS:
            choices = ", ".join(label for label, _length in TOKEN_OVERLAPS.values())
            messages.error(request, _("Choose how long the current key keeps working: %s.") % choices)
        else:
            try:
                rotated = api_key_rotations([request.user], choice)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                return render(request, "accounts/admin/api_key_rotated.html", {**context, "rotated": rotated})
    token = Token.objects.filter(user=request.user).first()
    previous = PreviousApiKey.objects.filter(user=request.user, valid_until__gt=timezone.now()).first()
    return render(
        request,
        "accounts/admin/api_key.html",
        {
            **context,
            "masked_key": mask_secret(token.key) if token else "",
            "token": token,
            "previous": previous,
            "overlaps": [(key, label) for key, (label, _length) in TOKEN_OVERLAPS.items()],
            "default_overlap": DEFAULT_TOKEN_OVERLAP,
        },
    )


@transaction.atomic
def api_key_rotations(users: list[Any], choice: str) -> list[dict[str, Any]]:
    """Rotate each login's key with the overlap `choice` names; what the answer page lists, once.

    All or none: a key rotated is one the page shows, so no key is changed without being handed out.
    """
    label, overlap = TOKEN_OVERLAPS[choice]
    rotated = []
    for user in users:
        token, valid_until = api_token_rotate(user=user, overlap=overlap)
        rotated.append({"user": user, "key": token.key, "valid_until": valid_until, "overlap": label})
    return rotated
