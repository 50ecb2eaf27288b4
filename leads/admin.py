"""The managers' pages of traffic and leads: clicks, impressions, leads and their history.

Nothing here is edited through raw form fields: clicks and impressions are facts, and a
lead changes only through the actions, which call the same services as postbacks and
the API, so every change leaves an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from accounts.permissions import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    can_edit,
    organization_of,
)
from leads.models import Click, Impression, Lead, LeadEvent, LeadStatus
from leads.services import lead_set_status
from leads.statuses import OVERRIDES, synonym_rows
from partners.models import App, TrackingLink
from postbacks.models import InboundPostback
from postbacks.services import mask_secret


class ReadOnlyAdmin(OrganizationScopedAdmin):
    """Rows that only ever change through services: viewable by staff, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Without an object this gates the actions (editors only); with one, the form stays read-only.
        return obj is None and can_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(OrganizationScopedInline):
    """An inline that shows history: no adding, changing or deleting."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    """Clicks: searchable by our click id and the partner's."""

    list_display = ("click_id", "created_at", "partner", "offer", "link", "country", "device_type", "verdict")
    list_filter = (
        "verdict",
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        "device_type",
        "country",
    )
    search_fields = ("=click_id", "=partner_click_id", "=ref_id")
    list_select_related = ("partner", "offer", "link")
    date_hierarchy = "created_at"
    # Clicks run to millions of rows: no COUNT(*) of the whole table on every page.
    show_full_result_count = False


@admin.register(Impression)
class ImpressionAdmin(ReadOnlyAdmin):
    """Impressions: searchable by the partner's click id."""

    list_display = ("id", "created_at", "partner", "offer", "link", "country", "device_type")
    list_filter = (
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        "device_type",
        "country",
    )
    search_fields = ("=partner_click_id",)
    list_select_related = ("partner", "offer", "link")
    date_hierarchy = "created_at"
    show_full_result_count = False


class LeadEventInline(ReadOnlyInline, admin.TabularInline):
    """The lead's history: every change of status, goal or money."""

    model = LeadEvent
    fields = readonly_fields = (
        "created_at",
        "kind",
        "source",
        "actor",
        "from_status",
        "to_status",
        "from_goal",
        "to_goal",
        "from_payout",
        "to_payout",
        "from_revenue",
        "to_revenue",
        "inbound",
        "note",
    )
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor", "inbound")


class InboundPostbackInline(ReadOnlyInline, admin.TabularInline):
    """The postbacks that touched the lead."""

    model = InboundPostback
    fk_name = "lead"
    fields = readonly_fields = ("received_at", "endpoint", "outcome", "http_status", "reason", "params")
    verbose_name_plural = "inbound postbacks that touched this lead"


def _status_action(status: str, verb: str) -> Callable[..., None]:
    @admin.action(description=f"{verb.capitalize()} selected leads", permissions=["change"])
    def act(modeladmin: LeadAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        changed = sum(
            lead_set_status(lead=lead, status=status, source=LeadEvent.Source.ADMIN, actor=request.user)
            for lead in queryset
        )
        unchanged = len(queryset) - changed
        note = f", {unchanged} already {LeadStatus(status).label.lower()}" if unchanged else ""
        modeladmin.message_user(request, f"{changed} lead(s) {verb}d{note}.", messages.SUCCESS)

    act.__name__ = f"{verb}_leads"
    return act


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    """Leads: filters, search by exto or click id, bulk approve / cancel / trash."""

    list_display = (
        "id",
        "created_at",
        "status",
        "goal",
        "offer",
        "partner",
        "payout",
        "revenue",
        "currency",
        "exto",
        "click",
        "verdict",
    )
    list_filter = (
        "status",
        ("goal", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        ("partner", admin.RelatedOnlyFieldListFilter),
        "verdict",
    )
    search_fields = ("=exto", "=click__click_id")
    list_select_related = ("goal", "offer", "partner", "click")
    date_hierarchy = "created_at"
    inlines = (LeadEventInline, InboundPostbackInline)
    actions = (
        _status_action(LeadStatus.APPROVED, "approve"),
        _status_action(LeadStatus.CANCELLED, "cancel"),
        _status_action(LeadStatus.TRASH, "trash"),
    )

    def get_urls(self) -> list[URLPattern]:
        reference = path(
            "postback-reference/",
            self.admin_site.admin_view(self.postback_reference),
            name="leads_lead_postback_reference",
        )
        return [reference, *super().get_urls()]

    def postback_reference(self, request: HttpRequest) -> HttpResponse:
        """Endpoints, parameters, the status synonym table and ready examples for each app."""
        if not self.has_view_permission(request):
            raise PermissionDenied("Your account has no access to this organization.")
        apps = App.objects.filter(organization=organization_of(request.user)).order_by("name")
        context = {
            **self.admin_site.each_context(request),
            "title": "Postback reference",
            "opts": self.model._meta,
            "base_url": settings.PUBLIC_BASE_URL,
            "synonyms": synonym_rows(),
            "overrides": [(name, LeadStatus(status).label) for name, status in OVERRIDES.items()],
            "apps": [_app_examples(app, show_token=can_edit(request.user)) for app in apps],
        }
        return TemplateResponse(request, "admin/leads/lead/postback_reference.html", context)


def _app_examples(app: App, *, show_token: bool) -> dict[str, Any]:
    """The seed's examples for one app, with its token (masked for read-only staff)."""
    token = app.token if show_token else mask_secret(app.token)
    link = TrackingLink.objects.filter(offer__app=app).order_by("id").first()
    base = settings.PUBLIC_BASE_URL
    lead, status = f"{base}/api/site/click.json?token={token}", f"{base}/api/site/status.json?token={token}"
    examples = [
        ("Create a lead with your unique id", f"{lead}&click={{click}}&exto={{lead_id}}"),
        ("Create a lead for a goal (code or alias)", f"{lead}&click={{click}}&goal={{goal}}"),
        ("Status, with your own approve word", f"{status}&click={{click}}&status={{status}}&sta=lead_ok"),
        ("One postback for all statuses", f"{status}&click={{click}}&status={{status}}&stn=new"),
        ("Advertiser's payout and currency", f"{lead}&click={{click}}&pay={{payout}}&cc={{currency}}"),
    ]
    if link is not None:
        examples += [
            ("Without a click id: flow id", f"{lead}&flow={link.pk}&exto={{lead_id}}"),
            ("Without a click id: flow code", f"{lead}&code={link.code}&exto={{lead_id}}"),
        ]
    return {"app": app, "token": token, "examples": examples}
