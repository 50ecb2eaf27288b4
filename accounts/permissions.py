"""Roles turned into permissions, for the admin, the wizard and the API alike.

admin and manager may change things, analyst may only look, publishers never reach the
staff side. Every queryset is scoped to the user's organization, so another
organization's object is simply not found (404), exactly like a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import STAFF_ROLES, Membership, Organization
from audit.history import AuditHistoryMixin

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet


def membership_of(user: Any) -> Membership | None:
    """The user's membership, or None for anonymous users and users without one."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def organization_of(user: Any) -> Organization | None:
    membership = membership_of(user)
    return membership.organization if membership else None


def is_staff_member(user: Any) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role in STAFF_ROLES


def can_edit(user: Any) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.can_edit


def require_editor(request: HttpRequest) -> Organization:
    """The editor's organization; 403 for analysts and anyone else who may not change things."""
    membership = membership_of(request.user)
    if membership is None or not membership.can_edit:
        raise PermissionDenied(_("Only admins and managers can connect or edit partners."))
    return membership.organization


def require_staff(request: HttpRequest) -> Organization:
    """The member's organization for read-only pages; 403 for non-staff."""
    membership = membership_of(request.user)
    if membership is None or membership.role not in STAFF_ROLES:
        raise PermissionDenied(_("Your account has no access to this organization."))
    return membership.organization


class RolePermission(BasePermission):
    """API: staff of an organization may read; only admins and managers may write."""

    message = gettext_lazy("Your role may read but not change this organization's data.")

    def has_permission(self, request: Any, view: Any) -> bool:
        membership = membership_of(request.user)
        if membership is None or membership.role not in STAFF_ROLES:
            self.message = gettext_lazy(
                "This API is for an organization's staff: send a valid staff API token."
            )
            return False
        return request.method in SAFE_METHODS or membership.can_edit


class _RoleAdminPermissions:
    """The role rules of the admin, shared by model admins and inlines."""

    # URLs typed without a scheme are taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_staff_member(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return can_edit(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit(request.user)

    def _limit_to_organization(self, db_field: Any, request: HttpRequest, kwargs: dict) -> None:
        related = db_field.related_model
        if related is not None and any(f.name == "organization" for f in related._meta.fields):
            kwargs["queryset"] = related._default_manager.filter(organization=organization_of(request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        self._limit_to_organization(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        self._limit_to_organization(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class OrganizationScopedAdmin(AuditHistoryMixin, _RoleAdminPermissions, admin.ModelAdmin):
    """A model admin that shows one organization's rows and enforces the roles.

    `organization_field` is the lookup from the model to its organization.
    """

    organization_field = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        organization = organization_of(request.user)
        queryset = super().get_queryset(request)
        if organization is None:
            return queryset.none()
        return queryset.filter(**{self.organization_field: organization})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another organization's object is exactly as absent as a missing one.
            raise Http404(_("No such object in your organization."))
        return obj

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self.organization_field == "organization":
            exclude.append("organization")
        return exclude

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        if not change and self.organization_field == "organization":
            obj.organization = organization_of(request.user)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)


class OrganizationScopedInline(_RoleAdminPermissions):
    """Mixin for inlines: the same role rules and organization-limited choices."""


class ReadOnlyAdmin(OrganizationScopedAdmin):
    """Rows that only ever change through services: viewable by staff, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Without an object this gates the actions (editors only); with one, the form stays read-only.
        return obj is None and can_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
