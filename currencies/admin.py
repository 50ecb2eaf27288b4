"""The Exchange rates admin: the rates the conversions use, and how current they are."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from accounts.permissions import is_staff_member
from currencies.models import ExchangeRate, RateRefresh
from currencies.selectors import rates_status


class _StaffReadOnly(admin.ModelAdmin):
    """The rates are the same for every organization: any staff member may read them, nobody edits."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff_member(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(_StaffReadOnly):
    list_display = ("day", "currency", "one_euro")
    list_filter = ("currency",)
    search_fields = ("currency",)
    date_hierarchy = "day"
    show_full_result_count = False

    @admin.display(description=gettext_lazy("1 EUR ="), ordering="per_eur")
    def one_euro(self, rate: ExchangeRate) -> str:
        """The rate as the ECB publishes it (1.5904, not 1.590400)."""
        return f"{rate.per_eur.normalize():f} {rate.currency}"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Say how current the rates are; a failed refresh is a warning, with its error."""
        status = rates_status()
        level = messages.WARNING if status.failure is not None or status.as_of is None else messages.INFO
        messages.add_message(request, level, status.message)
        return super().changelist_view(request, {**(extra_context or {}), "rates_status": status})


@admin.register(RateRefresh)
class RateRefreshAdmin(_StaffReadOnly):
    list_display = ("started_at", "source", "ok", "added", "newest_day", "error")
    list_filter = ("source", "ok")
