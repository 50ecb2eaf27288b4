"""The inbound postback log in the admin: what arrived, what we answered, and replay."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.permissions import OrganizationScopedAdmin, can_edit
from postbacks.models import InboundPostback
from postbacks.services import ReplayRefused, inbound_replay


@admin.register(InboundPostback)
class InboundPostbackAdmin(OrganizationScopedAdmin):
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
    list_select_related = ("app", "lead")
    date_hierarchy = "received_at"
    show_full_result_count = False
    readonly_fields = (
        "received_at",
        "endpoint",
        "method",
        "path",
        "pretty_params",
        "body",
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

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Without an object this gates the replay action (editors only); the page stays read-only.
        return obj is None and can_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="parameters")
    def pretty_params(self, obj: InboundPostback) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.params, indent=2, ensure_ascii=False))

    @admin.action(description="Replay selected rejected postbacks", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        for inbound in queryset.select_related("app", "integration"):
            try:
                replay = inbound_replay(inbound=inbound, actor=request.user)
            except ReplayRefused as exc:
                self.message_user(request, f"#{inbound.pk}: {exc}", messages.WARNING)
                continue
            outcome = replay.get_outcome_display().lower()
            detail = f": {replay.reason}" if replay.reason else ""
            level = messages.ERROR if replay.outcome == InboundPostback.Outcome.REJECTED else messages.SUCCESS
            self.message_user(request, f"#{inbound.pk} replayed as #{replay.pk}, {outcome}{detail}", level)
