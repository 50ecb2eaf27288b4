"""Admin-side pages of the postbacks app."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from partners.macros import MACROS, REPLACE_ME, preview, validate_template

# As long as the longest template field, so the page checks whatever can be saved.
_MAX_TEMPLATE_LENGTH = 2000


def macro_reference(request: HttpRequest) -> HttpResponse:
    """Every macro with its meaning and example, the rules, and a template to try (`?template=`)."""
    template = request.GET.get("template", "").strip()[:_MAX_TEMPLATE_LENGTH]
    publisher_link = request.GET.get("publisher_link") == "1"
    context = {
        **admin.site.each_context(request),
        "title": "Macro reference",
        "macros": MACROS,
        "replace_me": f"{{{REPLACE_ME}}}",
        "template": template,
        "publisher_link": publisher_link,
        "problems": validate_template(template, publisher_link=publisher_link) if template else [],
        "preview": preview(template) if template else "",
    }
    return render(request, "postbacks/macro_reference.html", context)
