"""Project-level views that belong to no app: the home page, the health check, the scripts' catalogue
of words and the error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified, require_GET, require_safe
from django.views.i18n import JavaScriptCatalog
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.models import STAFF_ROLES
from accounts.permissions import membership_of
from ingest.log import failure_answer
from ingest.middleware import error_response, is_ingestion_path, keep_failed_request, not_found_response

logger = logging.getLogger(__name__)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """What Partnerdesk is and where to go: the admin, the portal, the API docs (the admin's "View site")."""
    membership = membership_of(request.user)
    if membership is not None:
        place = "admin" if membership.role in STAFF_ROLES else "portal"
    else:
        place = "admin" if request.user.is_authenticated and request.user.is_staff else ""
    return render(request, "site/home.html", {"place": place, "membership": membership})


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico at the root; the icon is a static file (whitenoise serves it)."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Whether this process can take requests: the database must answer, Redis need not.

    Redis (cache and broker) is an accelerator: while it is down, requests are answered from the
    database and deliveries wait for the sweep, so a load balancer must keep sending traffic
    here. A Redis that does not answer is reported (`"broker": "error: …"`, `"degraded": true`)
    with a 200; only a database that does not answer makes the check fail (503). Every Redis
    call is bounded by `REDIS_TIMEOUT_SECONDS`, so the check answers even when Redis hangs.
    """
    checks = {"database": _check(_ping_database)}
    if settings.REDIS_URL:
        checks["cache"] = _check(lambda: cache.get("healthz"))
        checks["broker"] = _check(_ping_broker)
    else:
        checks["broker"] = "not configured (embedded dispatcher)"
    ok = checks["database"] == "ok"
    degraded = any(value.startswith("error") for value in checks.values())
    return JsonResponse({"ok": ok, "degraded": degraded, **checks}, status=200 if ok else 503)


def _check(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer here
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_broker() -> None:
    timeout = settings.REDIS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    finally:
        client.close()


# The catalogues change only with a deploy: a browser asks again on each page and is answered 304
# until the server restarts (Django's "Internationalization: in JavaScript code", Performance).
CATALOGUE_SINCE = timezone.now()


@require_safe
@cache_control(no_cache=True)
@last_modified(lambda request, language: CATALOGUE_SINCE)
def javascript_catalog(request: HttpRequest, language: str) -> HttpResponse:
    """The scripts' words (the djangojs catalogues) in one language, with `gettext` and `interpolate`.

    The page that loads it names its own language in the URL (`LANGUAGE_CODE`: the publisher's in
    the portal, English in the admin), so a browser keeps one copy per language and a publisher
    who switches language gets the other one; and, outside /portal/, the second-factor step never
    answers it with a redirect.
    """
    try:
        language = translation.get_supported_language_variant(language)
    except LookupError:
        raise Http404("No such language.") from None
    with translation.override(language):
        return JavaScriptCatalog.as_view()(request)


# The error pages: the admin's look under /admin/, the portal's under /portal/, the site's elsewhere;
# JSON on ingestion paths (`{"ok": false, "error": …}`, SPEC 8) and DRF's `{"detail": …}` on the API.
ERROR_TITLES = {403: _("Access denied"), 404: _("Page not found"), 500: _("Server error")}
ERROR_SENTENCES = {
    403: _("Your account may not open this page. Ask an admin of your organization for the role it needs."),
    404: _("There is no page at this address. Check the link, or start again from one of the links below."),
    500: _("Something failed on our side and it has been logged. Try again in a minute."),
}
API_SENTENCES = {
    403: "You do not have permission to perform this action.",
    404: "No API endpoint at {path}: the endpoints are listed at /api/docs/.",
    500: "A server error occurred and it has been logged. Try again in a minute.",
}


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def _look(path: str) -> str:
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/portal/"):
        return "portal"
    return "site"


def error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    """The styled error page of the request's part of the product, or JSON on the API.

    A 500 page is rendered without the request (no context processors): it must not need the
    database, the session or the user, since it may be what is shown while the database is down.
    """
    path = request.path_info
    if is_api_path(path):
        detail = message or API_SENTENCES[status].format(path=path[:200])
        return JsonResponse({"detail": detail}, status=status)
    look = _look(path)
    context = {"status": status, "title": ERROR_TITLES[status], "message": message or ERROR_SENTENCES[status]}
    if look == "admin" and status != 500:
        # The admin's user tools and navigation, as on any admin page.
        context = {**admin.site.each_context(request), **context}
    template = loader.get_template(f"{look}/error.html")
    return HttpResponse(template.render(context, None if status == 500 else request), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 page, or JSON on ingestion paths (e.g. DATA_UPLOAD_MAX_NUMBER_FIELDS exceeded)."""
    if is_ingestion_path(request.path_info):
        return error_response(400, "The request is malformed: check its parameters and encoding.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The styled 403 page with the sentence the refusal gave (e.g. "Only admins and managers can …")."""
    message = str(exception)
    if is_ingestion_path(request.path_info):
        return error_response(403, message or API_SENTENCES[403])
    return error_page(request, 403, message)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token: the styled 403, saying what to do."""
    message = _(
        "The form was sent without a valid security token: reload the page and send it again "
        "(cookies must be allowed for this site)."
    )
    return error_page(request, 403, message)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The styled 404 page, or JSON naming the endpoints on ingestion paths (and DRF's shape on the API).

    Http404's own message is for the server's logs (it may name a model or a lookup), not the page.
    """
    if is_ingestion_path(request.path_info):
        return not_found_response(request.path_info)
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The styled 500 page; on ingestion paths the request is kept and answered 503 in JSON.

    A view's own failure is kept by `ingest.middleware`; this covers what fails around it (a
    middleware, the keeping itself), as far as the request can still be read and kept.
    """
    if not is_ingestion_path(request.path_info):
        try:
            return error_page(request, 500)
        except Exception:
            logger.exception("The 500 page could not be rendered.")
            return HttpResponseServerError("<h1>Server error (500)</h1>", content_type="text/html")
    try:
        keep_failed_request(request, RuntimeError("failed outside the view"))
    except Exception:
        logger.exception("A failed ingestion request could not be kept.")
    return failure_answer()
