"""The inbound log in the admin: every request as received, a replay button, the postback debugger,
and the tallies of refused requests that have no row of their own."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import ReadOnlyAdmin
from ingest import admin_views
from ingest.models import InboundPostback, RefusalTally
from ingest.services import REPLAYABLE, ReplayRefused, inbound_replay
from leads.privacy import display_params, display_text, inbound_privacy, with_inbound_privacy


@admin.register(InboundPostback)
class InboundPostbackAdmin(ReadOnlyAdmin):
    """Every request the ingestion endpoints received (tokens masked); rejected ones can be replayed."""

    list_display = (
        "id",
        "received_at",
        "endpoint",
        "outcome",
        "http_status",
        "reason",
        "app",
        "lead",
        "replayed_at",
    )
    list_filter = ("endpoint", "outcome", "http_status", ("app", admin.RelatedOnlyFieldListFilter))
    search_fields = ("reason", "path", "=lead__exto")
    list_select_related = ("app", "lead", "integration")
    date_hierarchy = "received_at"
    show_full_result_count = False
    readonly_fields = (
        "received_at",
        "endpoint",
        "method",
        "path",
        "pretty_params",
        "shown_body",
        "source_ip",
        "user_agent",
        "outcome",
        "http_status",
        "reason",
        "app",
        "integration",
        "lead",
        "replay_of",
        "replayed_at",
    )
    fields = readonly_fields
    actions = ("replay",)

    def get_urls(self) -> list[URLPattern]:
        debugger = path(
            "debugger/",
            self.admin_site.admin_view(self.postback_debugger),
            name="ingest_inboundpostback_debugger",
        )
        lookup = path(
            "ip-lookup/",
            self.admin_site.admin_view(self.ip_lookup),
            name="ingest_inboundpostback_ip_lookup",
        )
        return [debugger, lookup, *super().get_urls()]

    def ip_lookup(self, request: HttpRequest) -> HttpResponse:
        """Type an address, see its country, network and whether it is private; nothing is written."""
        return admin_views.ip_lookup(request, self)

    def postback_debugger(self, request: HttpRequest) -> HttpResponse:
        """Paste an inbound URL, see how it would be processed; nothing is written."""
        return admin_views.postback_debugger(request, self)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list and the page show parameters under the row's IP privacy: no query per row. The
        # changelist skips list_select_related once the queryset selects related rows: named here.
        queryset = super().get_queryset(request).select_related(*self.list_select_related)
        return with_inbound_privacy(queryset)

    @admin.display(description=gettext_lazy("parameters"))
    def pretty_params(self, obj: InboundPostback) -> str:
        shown = display_params(obj.params, inbound_privacy(obj))
        return format_html("<pre>{}</pre>", json.dumps(shown, indent=2, ensure_ascii=False))

    @admin.display(description=gettext_lazy("body"))
    def shown_body(self, obj: InboundPostback) -> str:
        return display_text(obj.body, obj.params, inbound_privacy(obj))

    @admin.action(
        description=gettext_lazy("Replay selected rejected or failed requests"), permissions=["change"]
    )
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        for inbound in queryset.select_related("app", "integration"):
            try:
                replay = inbound_replay(inbound=inbound, actor=request.user)
            except ReplayRefused as exc:
                self.message_user(
                    request, _("#%(id)d: %(refusal)s") % {"id": inbound.pk, "refusal": exc}, messages.WARNING
                )
                continue
            shown = {"id": inbound.pk, "replay": replay.pk, "outcome": replay.get_outcome_display().lower()}
            if replay.reason:
                message = _("#%(id)d replayed as #%(replay)d, %(outcome)s: %(reason)s") % {
                    **shown,
                    "reason": replay.reason,
                }
            else:
                message = _("#%(id)d replayed as #%(replay)d, %(outcome)s") % shown
            level = messages.ERROR if replay.outcome in REPLAYABLE else messages.SUCCESS
            self.message_user(request, message, level)


@admin.register(RefusalTally)
class RefusalTallyAdmin(ReadOnlyAdmin):
    """Refused requests counted per source and window (past the threshold of wrong tokens, or over a
    rate limit), each with a sample. Staff see their organization's; a superuser sees all,
    those whose token matched no organization included."""

    list_display = (
        "window_start",
        "kind",
        "source_ip",
        "count",
        "http_status",
        "endpoint",
        "last_seen",
        "reason",
    )
    list_filter = ("kind", "endpoint", "http_status")
    search_fields = ("=source_ip", "reason", "path")
    date_hierarchy = "window_start"
    show_full_result_count = False
    readonly_fields = (
        "kind",
        "source_ip",
        "window_start",
        "count",
        "first_seen",
        "last_seen",
        "http_status",
        "reason",
        "endpoint",
        "method",
        "path",
        "pretty_params",
        "user_agent",
    )
    fields = readonly_fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: RefusalTally | None = None) -> bool:
        return request.user.is_superuser or super().has_view_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        if request.user.is_superuser:
            return RefusalTally.objects.all()
        return super().get_queryset(request)

    @admin.display(description=gettext_lazy("sample parameters"))
    def pretty_params(self, obj: RefusalTally) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.params, indent=2, ensure_ascii=False))
