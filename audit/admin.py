"""The audit log in the admin: a filterable list of configuration changes, and each change's diff.

Staff see their own organization's entries only (superusers see all); entries about people
(memberships, API tokens) only its admins, as user management is theirs alone (SPEC 1).
Nobody adds, changes or deletes an entry here.
"""

from __future__ import annotations

from typing import Any

from auditlog.filters import ResourceTypeFilter
from auditlog.mixins import LogEntryAdminMixin
from auditlog.render import render_logentry_changes_html
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.permissions import is_staff_member, membership_of
from audit.models import AuditEntry

# Entries about people and API tokens: an organization's admins (and superusers) only.
PEOPLE = Q(content_type__app_label="accounts", content_type__model="membership") | Q(
    content_type__app_label="authtoken"
)


def entries_visible_to(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    """The entries this login may read: its organization's, people's only for its admins."""
    if request.user.is_superuser:
        return queryset
    membership = membership_of(request.user)
    if membership is None or not is_staff_member(request.user):
        return queryset.none()
    queryset = queryset.filter(organization=membership.organization)
    if membership.role != Role.ADMIN:
        queryset = queryset.exclude(PEOPLE)
    return queryset


class ChannelFilter(admin.SimpleListFilter):
    title = gettext_lazy("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any):
        return AuditEntry._meta.get_field("channel").choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(channel=self.value()) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    """Who: the logins and commands that appear in the entries this login may read."""

    title = gettext_lazy("who")
    parameter_name = "who"

    def lookups(self, request: HttpRequest, model_admin: Any):
        names = model_admin.get_queryset(request).exclude(actor_name="").values_list("actor_name", flat=True)
        return [(name, name) for name in names.order_by("actor_name").distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(actor_name=self.value()) if self.value() else queryset


class ObjectFilter(admin.SimpleListFilter):
    """One object's entries: `?object=partners.app:12` (the "History" page links here)."""

    title = gettext_lazy("object")
    parameter_name = "object"

    def lookups(self, request: HttpRequest, model_admin: Any):
        return []

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        label, _, pk = self.value().partition(":")
        app_label, _, model = label.partition(".")
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            return queryset.none()
        return queryset.filter(content_type=content_type, object_pk=pk)


admin.site.unregister(AuditEntry)  # django-auditlog's own admin, which shows every organization's


@admin.register(AuditEntry)
class AuditEntryAdmin(LogEntryAdminMixin, admin.ModelAdmin):
    date_hierarchy = "timestamp"
    list_display = ("created", "resource_url", "action", "msg_short", "who", "channel", "remote_addr")
    list_filter = (
        ChannelFilter,
        "action",
        ResourceTypeFilter,
        ActorFilter,
        ("timestamp", admin.DateFieldListFilter),
        ObjectFilter,
    )
    list_select_related = ("content_type", "actor")
    search_fields = ("object_repr", "object_pk", "actor_name", "remote_addr")
    search_help_text = gettext_lazy("The object's name or id, who (username or command), or the address.")
    fields = ("created", "who", "channel", "remote_addr", "resource_url", "action", "changes_table")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("who"), ordering="actor_name")
    def who(self, entry: AuditEntry) -> str:
        return entry.who

    @admin.display(description=gettext_lazy("changes"))
    def changes_table(self, entry: AuditEntry) -> str:
        return render_logentry_changes_html(entry) or "—"

    def get_list_display(self, request: HttpRequest):
        if request.user.is_superuser:
            return (*self.list_display, "organization")
        return self.list_display

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        self.request = request
        return entries_visible_to(request, super().get_queryset(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        entry = super().get_object(request, object_id, from_field)
        if entry is None:
            # Another organization's entry is exactly as absent as a missing one.
            raise Http404(_("No such entry in your organization's audit log."))
        return entry

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
