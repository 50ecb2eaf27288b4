"""The benchmark's baseline: the bare framework and database, for `make bench` to compare with.

Routed only when `BENCH_BASELINE` is on. It does what a click must at least do — one
INSERT of a Click row and a 302 — and nothing else: no cache, no parsing, no macros.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseRedirect

from leads.models import Click

LANDING = "https://example.com/landing"
FOREIGN_KEYS = ("organization", "integration", "link", "partner", "offer")


def baseline(request: HttpRequest) -> HttpResponseRedirect:
    """Insert one Click with the foreign keys given in the query string, then redirect."""
    if not getattr(settings, "BENCH_BASELINE", False):
        raise Http404("The benchmark baseline is off.")
    try:
        ids = {f"{name}_id": int(request.GET[name]) for name in FOREIGN_KEYS}
    except (KeyError, ValueError):
        raise Http404("Name the click's organization, integration, link, partner and offer ids.") from None
    Click(**ids).save(force_insert=True)
    return HttpResponseRedirect(LANDING)
