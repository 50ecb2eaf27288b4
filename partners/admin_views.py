"""Admin pages around an app: its hub, its integrations, the partner picker, the macro preview.

They are mounted by `AppAdmin.get_urls` and wrapped in `admin_site.admin_view`, so they
need a staff login; every query starts from the member's organization, so another
organization's app is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Organization
from accounts.permissions import can_edit, require_editor, require_staff
from partners.macros import preview, validate_template
from partners.models import App, Integration, Partner, PostbackTemplate, Status
from partners.services import (
    DEFAULT_TOKEN_OVERLAP,
    TOKEN_OVERLAPS,
    InboundOwner,
    SignedDestination,
    inbound_secret_generate,
    signing_secret_set,
    token_rotate,
)
from partners.wizard import connect_draft, latest_connect_draft, new_run_id
from postbacks.outbound import new_signing_secret
from postbacks.pausing import (
    ResumeRefused,
    destination_resume,
    integration_destinations,
    paused_destinations,
    resumed_message,
)

PARTNER_FILTERS = {
    "all": gettext_lazy("All"),
    Partner.Kind.CUSTOM.value: gettext_lazy("Custom"),
    Partner.Kind.BUILTIN.value: gettext_lazy("Built-in"),
}


def _app_of(organization: Organization, app_id: int) -> App:
    return get_object_or_404(App, pk=app_id, organization=organization)


def _context(request: HttpRequest, model_admin: ModelAdmin, app: App, title: str) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": App._meta,
        "app": app,
        "title": title,
        "can_edit": can_edit(request.user),
    }


def app_hub(request: HttpRequest, app_id: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """The app's hub: its details and the Advertising card."""
    app = _app_of(require_staff(request), app_id)
    integrations = app.integrations.all()
    context = _context(request, model_admin, app, app.name)
    context.update(
        integration_count=integrations.count(),
        active_integration_count=integrations.filter(status=Status.ACTIVE).count(),
        offer_count=app.offers.filter(status=Status.ACTIVE).count(),
    )
    return TemplateResponse(request, "admin/partners/app/hub.html", context)


def app_integrations(request: HttpRequest, app_id: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """Manage integration: the partners connected to this app."""
    app = _app_of(require_staff(request), app_id)
    integrations = (
        app.integrations.select_related("partner", "channel")
        .annotate(link_count=Count("links"))
        .order_by("partner__name")
    )
    context = _context(request, model_admin, app, _("Partners connected to %(app)s") % {"app": app.name})
    context["integrations"] = integrations
    return TemplateResponse(request, "admin/partners/app/integrations.html", context)


def partner_picker(request: HttpRequest, app_id: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """The wizard's first screen: pick a partner to connect, or connect a custom one."""
    organization = require_editor(request)
    app = _app_of(organization, app_id)
    kind = request.GET.get("kind", "all")
    if kind not in PARTNER_FILTERS:
        kind = "all"
    partners = (
        Partner.objects.filter(organization=organization)
        .select_related("default_channel")
        .annotate(
            connected=Exists(Integration.objects.filter(app=app, partner=OuterRef("pk"))),
            app_count=Count("integrations", distinct=True),
        )
        .order_by("name")
    )
    counts = partners.aggregate(
        all=Count("pk"),
        custom=Count("pk", filter=Q(kind=Partner.Kind.CUSTOM)),
        builtin=Count("pk", filter=Q(kind=Partner.Kind.BUILTIN)),
    )
    if kind != "all":
        partners = partners.filter(kind=kind)
    context = _context(request, model_admin, app, _("Connect a partner to %(app)s") % {"app": app.name})
    context.update(
        draft=latest_connect_draft(request, app),
        partners=partners,
        filters=[
            {"key": key, "label": label, "count": counts[key], "active": key == kind}
            for key, label in PARTNER_FILTERS.items()
        ],
    )
    return TemplateResponse(request, "admin/partners/app/partner_picker.html", context)


def connect_start(request: HttpRequest, app_id: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """Resume this session's run for the same partner (a new custom one, or `?partner=<id>`),
    or start a new run with its own id; `?new=1` always starts a new one."""
    app = _app_of(require_editor(request), app_id)
    partner_id = request.GET.get("partner")
    draft = connect_draft(request, app, int(partner_id) if partner_id and partner_id.isdigit() else None)
    if draft is not None and not request.GET.get("new"):
        return HttpResponseRedirect(draft["url"])
    url = reverse("admin:partners_app_connect_wizard", args=[app.pk, new_run_id()])
    if partner_id:
        url = f"{url}?{urlencode({'partner': partner_id})}"
    return HttpResponseRedirect(url)


def macro_preview(request: HttpRequest, *, model_admin: ModelAdmin) -> JsonResponse:
    """The postback step's live check: errors, warnings and the URL filled with sample values."""
    require_staff(request)
    template = request.GET.get("template", "")
    problems = validate_template(template) if template.strip() else []
    return JsonResponse(
        {
            "errors": [p.message for p in problems if p.level == "error"],
            "warnings": [p.message for p in problems if p.level == "warning"],
            "preview": preview(template.strip()) if template.strip() else "",
        }
    )


# --- Signing secrets (buttons of the integration and partner pages) --------------------------

_SIGNING_DONE = {
    "generate": gettext_lazy(
        "Signing is on for %(label)s: reveal the secret, copy it and give it to the receiver."
    ),
    "rotate": gettext_lazy(
        "%(label)s has a new secret: calls from now on are signed with it, so give it to the receiver."
    ),
    "remove": gettext_lazy("Signing is off for %(label)s: its calls are no longer signed."),
}


def _signing_change(request: HttpRequest, owner: SignedDestination, label: str, back: str) -> HttpResponse:
    """Generate, rotate or remove the owner's secret as the button says, then back to the page."""
    action = request.POST.get("signing", "")
    if action not in _SIGNING_DONE:
        messages.error(request, _("Choose Generate, Rotate or Remove for the signing secret."))
        return HttpResponseRedirect(back)
    signing_secret_set(owner=owner, secret="" if action == "remove" else new_signing_secret())
    messages.success(request, _SIGNING_DONE[action] % {"label": label})
    return HttpResponseRedirect(back)


@require_POST
def template_signing(request: HttpRequest, integration_id: int, template_id: int) -> HttpResponse:
    organization = require_editor(request)
    templates = PostbackTemplate.objects.filter(integration__organization=organization)
    template = get_object_or_404(templates, pk=template_id, integration_id=integration_id)
    back = reverse("admin:partners_integration_change", args=[integration_id])
    label = _("the postback “%(template)s”") % {"template": template}
    return _signing_change(request, template, label, f"{back}#pd-template-{template.pk}")


@require_POST
def status_sync_signing(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=integration_id, organization=require_editor(request))
    back = reverse("admin:partners_integration_change", args=[integration.pk])
    return _signing_change(request, integration, _("the status sync"), f"{back}#pd-status-sync")


@require_POST
def publisher_signing(request: HttpRequest, partner_id: int) -> HttpResponse:
    partner = get_object_or_404(Partner, pk=partner_id, organization=require_editor(request))
    back = reverse("admin:partners_partner_change", args=[partner.pk])
    label = _("%(partner)s's publisher postback") % {"partner": partner.name}
    return _signing_change(request, partner, label, f"{back}#pd-publisher-postback")


# --- Inbound tokens and signing secrets (the app and integration pages) -------------------------


def _inbound_owner(
    request: HttpRequest, model: type[InboundOwner], owner_id: int
) -> tuple[InboundOwner, str]:
    owner = get_object_or_404(model, pk=owner_id, organization=require_editor(request))
    back = reverse(f"admin:partners_{model._meta.model_name}_change", args=[owner.pk])
    return owner, f"{back}#pd-inbound"


@require_POST
def token_rotation(request: HttpRequest, owner_id: int, *, model: type[InboundOwner]) -> HttpResponse:
    """ "Rotate token" (editors): a new token, the current one valid for the overlap chosen."""
    owner, back = _inbound_owner(request, model, owner_id)
    choice = request.POST.get("rotate_overlap", DEFAULT_TOKEN_OVERLAP)
    if choice not in TOKEN_OVERLAPS:
        choices = ", ".join(str(label) for label, _duration in TOKEN_OVERLAPS.values())
        messages.error(
            request, _("Choose how long the current token keeps working: %(choices)s.") % {"choices": choices}
        )
        return HttpResponseRedirect(back)
    label, overlap = TOKEN_OVERLAPS[choice]
    rotated = token_rotate(owner=owner, overlap=overlap)
    until = date_format(timezone.localtime(rotated.previous_token_valid_until), "DATETIME_FORMAT")
    messages.success(
        request,
        _(
            "The %(owner)s has a new token. The previous one keeps working for %(overlap)s, "
            "until %(until)s: give the new token to the sender before then."
        )
        % {"owner": model._meta.verbose_name, "overlap": label, "until": until},
    )
    return HttpResponseRedirect(back)


@require_POST
def inbound_signing(request: HttpRequest, owner_id: int, *, model: type[InboundOwner]) -> HttpResponse:
    """ "Generate" / "Regenerate" the secret that signs inbound requests (editors)."""
    owner, back = _inbound_owner(request, model, owner_id)
    had_secret = bool(owner.inbound_secret_encrypted)
    inbound_secret_generate(owner=owner)
    noun = model._meta.verbose_name
    messages.success(
        request,
        (
            _(
                "The %(owner)s has a new signing secret: "
                "requests signed with the old one are refused from now on."
            )
            if had_secret
            else _(
                "The %(owner)s has a signing secret: reveal it, give it to the sender, then require signing."
            )
        )
        % {"owner": noun},
    )
    return HttpResponseRedirect(back)


def paused_banner(request: HttpRequest, integration: Integration) -> dict[str, Any]:
    """The integration page's banners: its paused destinations, and whether this user may resume them."""
    return {
        "paused_destinations": paused_destinations(integration),
        "pause_after_failures": settings.POSTBACK_PAUSE_AFTER_FAILURES,
        "can_resume": can_edit(request.user),
    }


def integration_resume(request: HttpRequest, integration_id: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """The banner's "Resume and re-send" (POST, editors): the paused destination sends again."""
    organization = require_editor(request)
    integration = get_object_or_404(
        Integration.objects.select_related("partner", "app"), pk=integration_id, organization=organization
    )
    key = request.POST.get("destination", "")
    destination = next((d for d in integration_destinations(integration) if d.key == key), None)
    if destination is None:
        messages.error(request, _("That is not a destination of this integration: reload the page."))
    else:
        try:
            count = destination_resume(destination=destination)
        except ResumeRefused as refusal:
            messages.warning(request, str(refusal))
        else:
            messages.success(request, resumed_message(count))
    return HttpResponseRedirect(reverse("admin:partners_integration_change", args=[integration.pk]))
