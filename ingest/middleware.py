"""JSON answers on ingestion paths, also for what is refused before or around the view.

Partners' servers read every answer of an ingestion endpoint as JSON (SPEC 8), so an unknown
path, a wrong method, a body or URL too long must not fall through to Django's HTML pages.
The views answer what they refuse themselves; this covers the rest: URLs over
`INGEST_MAX_URL_LENGTH` (414, before any view runs), paths no URL matches (404), the bare
405 of `require_http_methods`, `RequestDataTooBig` raised in a view (413) and a request Django
finds suspicious (400, logged as rejected). Any other exception in a view is a failure of
ours: the request is kept (`ingest.log.failure_keep`) and answered 503. `config.views`'
handlers answer a view's Http404, and what fails outside any view, the same way. `CommonMiddleware` is
Django's, except that an ingestion path is never redirected to add a slash: a server that
POSTs does not follow a 301.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from auditlog.cid import set_cid
from auditlog.context import set_extra_data
from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware import common
from django.utils.functional import SimpleLazyObject

from audit.models import Channel
from ingest.clientip import client_ip
from ingest.log import Arrival, failure_answer, failure_keep, inbound_record, readable_params
from ingest.models import InboundPostback
from ingest.params import BadParameters, request_params

INGESTION_PATHS = frozenset(
    {
        "/postback/lead",
        "/postback/status",
        "/api/site/click.json",
        "/api/site/status.json",
        "/api/v1/clicks",
        "/api/v1/impressions",
        "/api/v1/conversions",
    }
)
Endpoint = InboundPostback.Endpoint
ENDPOINTS = {
    "/postback/lead": Endpoint.LEAD,
    "/api/site/click.json": Endpoint.LEAD,
    "/postback/status": Endpoint.STATUS,
    "/api/site/status.json": Endpoint.STATUS,
    "/api/v1/conversions": Endpoint.CONVERSION,
    "/api/v1/clicks": Endpoint.CLICK,
    "/c/": Endpoint.CLICK,
    "/s/": Endpoint.CLICK,
    "/api/v1/impressions": Endpoint.IMPRESSION,
    "/i/": Endpoint.IMPRESSION,
}
# Everything under these is ingestion, known or not; `/api/v1/…/` with a slash is the management API.
INGESTION_PREFIXES = ("/c/", "/i/", "/postback/", "/api/site/")


def is_ingestion_path(path: str) -> bool:
    return path in INGESTION_PATHS or path.startswith(INGESTION_PREFIXES)


def error_response(status: int, message: str) -> JsonResponse:
    """The error answer of every ingestion endpoint: `{"ok": false, "error": <sentence>}`."""
    return JsonResponse({"ok": False, "error": message}, status=status)


def not_found_response(path: str) -> JsonResponse:
    endpoints = ", ".join(sorted(INGESTION_PATHS))
    message = f"No endpoint at {path[:200]}: use /c/<code>, /i/<code> or {endpoints} (no trailing slash)."
    return error_response(404, message)


class IngestionErrorsMiddleware:
    """Refuses over-long ingestion URLs with 414 and answers unmatched paths, 405 and 413 in JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not is_ingestion_path(path):
            return self.get_response(request)
        limit = settings.INGEST_MAX_URL_LENGTH
        if len(path) + len(request.META.get("QUERY_STRING", "")) > limit:
            return error_response(
                414, f"The URL is too long: keep it under {limit} characters, or POST the parameters."
            )
        response = self.get_response(request)
        if response.status_code == 404 and request.resolver_match is None:
            # No URL matched: Django's page (its debug page with DEBUG on) would be HTML.
            return not_found_response(path)
        if response.status_code == 405 and not isinstance(response, JsonResponse):
            allowed = response.get("Allow", "")
            response = error_response(405, f"Method {request.method} is not allowed: use {allowed}.")
            response["Allow"] = allowed
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_ingestion_path(request.path_info):
            return None
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
            return error_response(413, f"The body is too large: send at most {limit} kB.")
        if isinstance(exception, Http404):
            return None  # config.views.page_not_found answers it in JSON
        if isinstance(exception, SuspiciousOperation):
            # Too many fields or files, a malformed header: the request is at fault, not us.
            inbound_record(
                request=request,
                endpoint=endpoint_of(request.path_info),
                params=readable_params(request),
                outcome=InboundPostback.Outcome.REJECTED,
                http_status=400,
                reason=str(exception)[:500],
            )
            return error_response(400, "The request is malformed: check its parameters and encoding.")
        # Any other exception is a failure of ours: the request is kept (log or spool), for replay.
        keep_failed_request(request, exception)
        return failure_answer()


def keep_failed_request(request: HttpRequest, error: BaseException) -> None:
    """Keep an ingestion request that failed for a reason of ours (log, else spool)."""
    failure_keep(arrival=_arrival(request), error=error)


def _arrival(request: HttpRequest) -> Arrival:
    """The failed request as the log keeps it; its parameters as far as they can be read."""
    try:
        params = request_params(request)
    except BadParameters:
        params = readable_params(request)
    return Arrival.from_request(request, endpoint=endpoint_of(request.path_info), params=params)


def endpoint_of(path: str) -> str:
    """The inbound log's endpoint of an ingestion path (a tracking link's is its API's)."""
    return ENDPOINTS.get(path) or ENDPOINTS.get(path[:3], Endpoint.LEAD)


class CommonMiddleware(common.CommonMiddleware):
    """Django's `CommonMiddleware`; an ingestion 404 stays a JSON 404 instead of an APPEND_SLASH 301."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        return not is_ingestion_path(request.path_info) and super().should_redirect_with_slash(request)


# Where a change came from, for the audit log (audit.models.Channel): by the path's first part.
# Ingestion and tracking paths change no configuration and stay out (they are the hot paths).
AUDITED_PREFIXES = (("/admin/", Channel.ADMIN), ("/api/", Channel.API), ("/portal/", Channel.PORTAL))


def _address_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class AuditContextMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware with our client address and the channel of the change.

    Who is read when an entry is written, not when the request starts, so a management API
    call authenticated by its token (inside the view, by DRF) is logged as the token's user.
    The address is `ingest.clientip`'s (trusted proxies only), never a raw X-Forwarded-For.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = next(
            (channel for prefix, channel in AUDITED_PREFIXES if request.path.startswith(prefix)), None
        )
        if channel is None or is_ingestion_path(request.path):
            return self.get_response(request)
        set_cid(request)
        user = SimpleLazyObject(lambda: request.user)
        context = {
            "actor": user,
            "actor_name": lambda: user.get_username() if user.is_authenticated else "",
            "remote_addr": _address_or_none(client_ip(request)),
            "remote_port": None,
            "channel": channel,
        }
        with set_extra_data(context_data=context):
            return self.get_response(request)
