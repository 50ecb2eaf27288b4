"""The postback debugger's admin page (`ingest.debugger`): staff paste an inbound URL and read the steps.

Mounted by `InboundPostbackAdmin.get_urls` behind `admin_site.admin_view`; admins, managers and
analysts of the organization may use it (it writes nothing), publishers may not.
"""

from __future__ import annotations

from django.contrib.admin import ModelAdmin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.permissions import require_staff
from ingest.debugger import DebugRefused, postback_debug
from ingest.forms import PostbackDebugForm


def postback_debugger(request: HttpRequest, model_admin: ModelAdmin) -> HttpResponse:
    """The form; on POST, how the pasted request would be processed, step by step."""
    organization = require_staff(request)
    form = PostbackDebugForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = postback_debug(organization=organization, **form.cleaned_data)
        except DebugRefused as refused:
            form.add_error("url", str(refused))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Postback debugger",
        "opts": model_admin.model._meta,
        "form": form,
        "result": result,
    }
    return TemplateResponse(request, "admin/ingest/inboundpostback/postback_debugger.html", context)
