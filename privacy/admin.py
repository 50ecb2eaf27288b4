"""Privacy operations in the admin: the record of each, and the page that runs one (org admins only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.permissions import ReadOnlyAdmin, membership_of
from ingest.clientip import client_ip
from privacy.forms import PrivacyOperationForm
from privacy.models import PrivacyOperation
from privacy.services import privacy_preview, privacy_run


def _is_org_admin(request: HttpRequest) -> bool:
    membership = membership_of(request.user)
    return membership is not None and membership.role == Role.ADMIN


@admin.register(PrivacyOperation)
class PrivacyOperationAdmin(ReadOnlyAdmin):
    """Who erased or anonymized what, when and from where; the identifier itself only masked."""

    list_display = (
        "started_at",
        "action",
        "kind",
        "criteria",
        "actor_name",
        "channel",
        "client_ip",
        "changed",
    )
    list_filter = ("action", "kind", "channel")
    search_fields = ("criteria", "actor_name")
    date_hierarchy = "started_at"
    fields = (
        "started_at",
        "finished_at",
        "action",
        "kind",
        "criteria",
        "actor_name",
        "channel",
        "client_ip",
        "counts",
    )
    readonly_fields = fields
    actions = None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_org_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_org_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("rows changed"))
    def changed(self, obj: PrivacyOperation) -> int:
        return sum(obj.counts.values())

    def get_urls(self) -> list[URLPattern]:
        run = path("run/", self.admin_site.admin_view(self.run_view), name="privacy_privacyoperation_run")
        return [run, *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """The form; "Preview" counts the rows; "Erase/Anonymize now" (after a preview) runs it."""
        if not _is_org_admin(request):
            raise PermissionDenied(_("Only your organization's admins may erase or anonymize personal data."))
        organization = membership_of(request.user).organization  # type: ignore[union-attr]
        form = PrivacyOperationForm(request.POST or None, organization=organization)
        preview = None
        if request.method == "POST" and form.is_valid():
            action = form.cleaned_data["action"]
            if "confirm" in request.POST:
                operation = privacy_run(
                    organization=organization,
                    criterion=form.criterion,
                    action=action,
                    channel=PrivacyOperation.Channel.ADMIN,
                    actor=request.user,
                    client_ip=client_ip(request),
                )
                total = sum(operation.counts.values())
                messages.success(
                    request,
                    _("Done: %(total)s rows changed (%(criteria)s).")
                    % {"total": total, "criteria": operation.criteria},
                )
                return HttpResponseRedirect(
                    reverse("admin:privacy_privacyoperation_change", args=[operation.pk])
                )
            preview = privacy_preview(organization=organization, criterion=form.criterion, action=action)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase or anonymize personal data"),
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
            "preview_total": sum(preview.values()) if preview else 0,
        }
        return TemplateResponse(request, "admin/privacy/privacyoperation/run.html", context)
