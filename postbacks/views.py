"""Admin-side pages of the postbacks app: the macro reference and the "Send a test" answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organization
from accounts.permissions import require_editor
from partners.macros import MACROS, REPLACE_ME, preview, validate_template
from partners.models import App, Integration, Partner, PostbackTemplate
from postbacks import testsend
from postbacks.models import CleverTapDestination, Delivery
from postbacks.services import DeliveryRefused
from postbacks.testsend import TooManyTests, last_attempt

# As long as the longest template field, so the page checks whatever can be saved.
_MAX_TEMPLATE_LENGTH = 2000
# The start of a test's answer shown next to its button (the delivery's page has the kilobyte).
RESPONSE_START_SHOWN = 300


def macro_reference(request: HttpRequest) -> HttpResponse:
    """Every macro with its meaning and example, the rules, and a template to try (`?template=`)."""
    template = request.GET.get("template", "").strip()[:_MAX_TEMPLATE_LENGTH]
    publisher_link = request.GET.get("publisher_link") == "1"
    context = {
        **admin.site.each_context(request),
        "title": _("Macro reference"),
        "macros": MACROS,
        "replace_me": f"{{{REPLACE_ME}}}",
        "template": template,
        "publisher_link": publisher_link,
        "problems": validate_template(template, publisher_link=publisher_link) if template else [],
        "preview": preview(template) if template else "",
    }
    return render(request, "postbacks/macro_reference.html", context)


# --- Send a test (JSON for the pages' script) --------------------------------------------------


def test_answer(delivery: Delivery) -> dict[str, Any]:
    """What a test shows: the URL as sent (secrets masked), the status, the time, the answer."""
    attempt = last_attempt(delivery)
    return {
        "ok": True,
        "delivery": delivery.pk,
        "delivery_url": reverse("admin:postbacks_delivery_change", args=[delivery.pk]),
        "state": delivery.state,
        "url": attempt.url_masked if attempt else delivery.url_masked,
        "status_code": attempt.status_code if attempt else None,
        "duration_ms": attempt.duration_ms if attempt else 0,
        "response_start": attempt.response_start[:RESPONSE_START_SHOWN] if attempt else "",
        "error": attempt.error if attempt else delivery.last_error,
    }


def _refusal(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


def test_send_view(send: Callable[..., Delivery]) -> Callable[..., JsonResponse]:
    """A POST that sends one test for an editor and answers JSON, errors included."""

    @require_POST
    @wraps(send)
    def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        try:
            organization = require_editor(request)
            delivery = send(request, organization, **kwargs)
        except PermissionDenied:
            return _refusal(_("Only admins and managers can send tests; your role may only look."), 403)
        except Http404:
            return _refusal(_("Nothing to test here: it does not exist in your organization."), 404)
        except TooManyTests as refusal:
            return _refusal(str(refusal), 429)
        except DeliveryRefused as refusal:
            return _refusal(str(refusal), 400)
        return JsonResponse(test_answer(delivery))

    return view


@test_send_view
def wizard_test(request: HttpRequest, organization: Organization, *, app_id: int) -> Delivery:
    """The wizard's postback step: the URL as typed, with the live preview's sample values."""
    app = get_object_or_404(App, pk=app_id, organization=organization)
    partner_id = request.POST.get("partner", "")
    partner = (
        get_object_or_404(Partner, pk=int(partner_id), organization=organization)
        if partner_id.isdigit()
        else None
    )
    return testsend.wizard_postback_test(
        app=app, url=request.POST.get("url", ""), partner=partner, actor=request.user
    )


@test_send_view
def template_test(request: HttpRequest, organization: Organization, *, template_id: int) -> Delivery:
    template = get_object_or_404(
        PostbackTemplate.objects.select_related("integration__app", "integration__partner"),
        pk=template_id,
        integration__organization=organization,
    )
    return testsend.template_test(template=template, actor=request.user)


@test_send_view
def status_sync_test(request: HttpRequest, organization: Organization, *, integration_id: int) -> Delivery:
    integration = get_object_or_404(Integration, pk=integration_id, organization=organization)
    return testsend.status_sync_test(integration=integration, actor=request.user)


@test_send_view
def clevertap_test(request: HttpRequest, organization: Organization, *, destination_id: int) -> Delivery:
    destination = get_object_or_404(
        CleverTapDestination.objects.select_related("app"), pk=destination_id, organization=organization
    )
    return testsend.clevertap_test(destination=destination, actor=request.user)


@test_send_view
def publisher_test(request: HttpRequest, organization: Organization, *, partner_id: int) -> Delivery:
    """A manager tries a publisher's postback from the partner's admin page."""
    partner = get_object_or_404(Partner, pk=partner_id, organization=organization)
    return testsend.publisher_postback_test(partner=partner, actor=request.user)
