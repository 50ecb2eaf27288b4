"""The "History" page of an audited object's admin: its audit entries, with their diffs.

Django's own history lists which fields changed; this one shows each change's old and new
values (secrets masked), who made it, through which channel and from which address. The object
is found through the model admin's `get_object`, so another organization's object is a 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from auditlog import get_logentry_model
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from audit.tracking import is_tracked, object_pk_of, safe_repr

PER_PAGE = 25


def entries_for(obj: Any):
    """The audit entries of one object and of its parts (an integration's templates…), newest first."""
    AuditEntry = get_logentry_model()
    content_type = ContentType.objects.get_for_model(obj)
    pk = object_pk_of(obj)
    return (
        AuditEntry.objects.filter(
            Q(content_type=content_type, object_pk=pk) | Q(parent_content_type=content_type, parent_pk=pk)
        )
        .select_related("content_type", "actor")
        .order_by("-timestamp", "-pk")
    )


def list_url_for(obj: Any) -> str:
    """The audit log's list, filtered to this object."""
    AuditEntry = get_logentry_model()
    opts = AuditEntry._meta
    query = urlencode({"object": f"{type(obj)._meta.concrete_model._meta.label_lower}:{object_pk_of(obj)}"})
    return f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{query}"


class AuditHistoryMixin:
    """For a ModelAdmin: its "History" button shows the object's audit entries."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        if not is_tracked(self.model):  # type: ignore[attr-defined]
            return super().history_view(request, object_id, extra_context)  # type: ignore[misc]
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            raise Http404(_("No such object in your organization."))
        if not self.has_view_or_change_permission(request, obj):  # type: ignore[attr-defined]
            raise PermissionDenied
        paginator = self.get_paginator(request, entries_for(obj), PER_PAGE)  # type: ignore[attr-defined]
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        opts = self.model._meta  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": _("History: %(object)s") % {"object": safe_repr(obj)},
            "object_name": safe_repr(obj),
            "subtitle": None,
            "module_name": str(capfirst(opts.verbose_name_plural)),
            "object": obj,
            "opts": opts,
            "entries": page,
            "page_var": PAGE_VAR,
            "list_url": list_url_for(obj),
            "content_type_id": ContentType.objects.get_for_model(obj).pk,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/audit/object_history.html", context)
