"""The admin of organizations and people.

An organization's admins manage its people here (Membership admin); managers and
analysts never see that module. Django's own User and Group admin stay for superusers
alone: an organization admin adds and changes logins only through memberships, so a
login is never created without its organization and role.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import Token

from accounts.models import Membership, Organization
from accounts.permissions import is_staff_member, membership_of, organization_of
from accounts.services import (
    membership_check,
    membership_create,
    membership_delete,
    membership_is_last_admin,
    membership_set_role,
)
from accounts.twofactor import second_factor_reset
from accounts.views import api_key_rotations
from audit.history import AuditHistoryMixin
from leads.models import Lead
from partners.services import DEFAULT_TOKEN_OVERLAP, TOKEN_OVERLAPS

User = get_user_model()


def _manages_people(request: HttpRequest) -> bool:
    membership = membership_of(request.user)
    return request.user.is_superuser or (membership is not None and membership.can_manage_users)


class _SuperuserOnly:
    """Django's own people admin: superusers only, whatever permissions a login was given."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class SuperuserUserAdmin(_SuperuserOnly, UserAdmin):
    """Django's user admin, for superusers."""


class SuperuserGroupAdmin(_SuperuserOnly, GroupAdmin):
    """Django's group admin, for superusers."""


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, SuperuserUserAdmin)
admin.site.register(Group, SuperuserGroupAdmin)


@admin.register(Organization)
class OrganizationAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """An organization's settings: every member sees their own, its admins change them."""

    list_display = ("name", "slug", "currency", "time_zone", "min_payout", "referral_share", "created_at")
    search_fields = ("name", "slug")
    fields = ("name", "slug", "currency", "time_zone", "min_payout", "referral_share", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization = organization_of(request.user)
        return queryset.filter(pk=organization.pk) if organization else queryset.none()

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such organization."))
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None):
        # The slug is part of URLs and integrations outside; only a superuser renames it.
        fields = ("created_at",) if request.user.is_superuser else ("slug", "created_at")
        # Leads froze their base amounts in the base currency: changing it would mix currencies.
        if obj is not None and Lead.objects.filter(organization=obj).exists():
            fields += ("currency",)
        return fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or is_staff_member(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return request.user.is_superuser or is_staff_member(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return _manages_people(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return request.user.is_superuser


class MembershipForm(forms.ModelForm):
    """A member's role and, for publishers, partner: checked by the same rules as the service."""

    class Meta:
        model = Membership
        fields = ("organization", "role", "partner")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        existing = self.instance if self.instance.pk else None
        organization = cleaned.get("organization") or (existing.organization if existing else None)
        if "role" in cleaned:
            try:
                membership_check(
                    organization=organization,
                    role=cleaned["role"],
                    partner=cleaned.get("partner"),
                    membership=existing,
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class MembershipCreateForm(MembershipForm):
    """A new person: their login and their place in the organization."""

    username = forms.CharField(
        label=gettext_lazy("Username"), max_length=150, validators=[User.username_validator]
    )
    email = forms.EmailField(label=gettext_lazy("Email"))
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput, strip=False)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken: choose another."))
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password"):
            login = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                validate_password(cleaned["password"], user=login)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """User management, for an organization's admins alone."""

    form = MembershipForm
    add_form = MembershipCreateForm
    list_display = ("username", "email", "role", "partner", "last_login")
    list_filter = ("role",)
    list_select_related = ("user", "partner", "organization")
    actions = ("second_factor_reset_action", "api_token_rotate_action")
    search_fields = ("user__username", "user__email", "partner__name")
    ordering = ("user__username",)

    @admin.display(description=gettext_lazy("username"), ordering="user__username")
    def username(self, obj: Membership) -> str:
        return obj.user.username

    @admin.display(description=gettext_lazy("email"), ordering="user__email")
    def email(self, obj: Membership) -> str:
        return obj.user.email

    @admin.display(description=gettext_lazy("last login"), ordering="user__last_login")
    def last_login(self, obj: Membership):
        return obj.user.last_login

    def get_list_display(self, request: HttpRequest):
        if request.user.is_superuser:
            return (*self.list_display, "organization")
        return self.list_display

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("user", "partner", "organization")
        if request.user.is_superuser:
            return queryset
        organization = organization_of(request.user)
        return queryset.filter(organization=organization) if organization else queryset.none()

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another organization's member is exactly as absent as a missing one.
            raise Http404(_("No such member in your organization."))
        return obj

    def get_fields(self, request: HttpRequest, obj: Membership | None = None):
        organization = ("organization",) if request.user.is_superuser else ()
        if obj is None:
            return ("username", "email", "password", *organization, "role", "partner")
        return ("username", "email", "last_login", *organization, "role", "partner")

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None):
        if obj is None:
            return ()
        return ("username", "email", "last_login", "organization")

    def get_form(self, request: HttpRequest, obj: Membership | None = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "partner" and not request.user.is_superuser:
            kwargs["queryset"] = db_field.related_model.objects.filter(
                organization=organization_of(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description=gettext_lazy("Reset the second factor (lost phone)"))
    def second_factor_reset_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The selected logins set up a new authenticator at their next sign-in."""
        memberships = list(queryset.select_related("user"))
        for membership in memberships:
            second_factor_reset(user=membership.user)
        names = ", ".join(m.user.username for m in memberships)
        self.message_user(
            request,
            _("Second factor reset for %(names)s: they set up a new one when they next sign in.")
            % {"names": names},
        )

    @admin.action(description=gettext_lazy("Rotate API key (the current one keeps working for an overlap)"))
    def api_token_rotate_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        """Ask for the overlap, then give the selected logins new keys and show them once."""
        memberships = list(queryset.select_related("user").order_by("user__username"))
        tokens = Token.objects.filter(user__membership__in=memberships)
        with_key = set(tokens.values_list("user_id", flat=True))
        users = [m.user for m in memberships if m.user_id in with_key]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rotate API keys"),
            "skipped": [m.user.username for m in memberships if m.user_id not in with_key],
        }
        choice = request.POST.get("overlap", "")
        if request.POST.get("rotate") and choice in TOKEN_OVERLAPS and users:
            rotated = api_key_rotations(users, choice)
            return render(request, "accounts/admin/api_key_rotated.html", {**context, "rotated": rotated})
        return render(
            request,
            "accounts/admin/api_key_rotate_confirm.html",
            {
                **context,
                "members": [user.username for user in users],
                "selected": [m.pk for m in memberships],
                "overlaps": [(key, label) for key, (label, _length) in TOKEN_OVERLAPS.items()],
                "default_overlap": DEFAULT_TOKEN_OVERLAP,
            },
        )

    def get_actions(self, request: HttpRequest) -> dict:
        # Removing people goes one by one through the delete view, which keeps the last admin.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _manages_people(request)

    def has_view_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return _manages_people(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _manages_people(request)

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return _manages_people(request)

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and (obj.user_id == request.user.pk or membership_is_last_admin(obj)):
            return False
        return _manages_people(request)

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> Membership:
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return membership_create(
            organization=data.get("organization") or organization_of(request.user),
            username=data["username"],
            email=data["email"],
            password=data["password"],
            role=data["role"],
            partner=data.get("partner"),
        )

    def save_model(self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool) -> None:
        # An addition was saved whole by `membership_create` in `save_form`.
        if change:
            membership_set_role(membership=obj, role=obj.role, partner=obj.partner)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_delete(membership=obj)
