"""Project-level views that belong to no app: the health check and the error pages."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET

from ingest.middleware import error_response, is_ingestion_path, not_found_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database and (when configured) the broker answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is the answer here
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
    else:
        checks["broker"] = "not configured (embedded dispatcher)"
    ok = all(not value.startswith("error") for value in checks.values())
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 page, or JSON on ingestion paths (e.g. DATA_UPLOAD_MAX_NUMBER_FIELDS exceeded)."""
    if is_ingestion_path(request.path_info):
        return error_response(400, "The request is malformed: check its parameters and encoding.")
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, or JSON naming the endpoints on ingestion paths."""
    if is_ingestion_path(request.path_info):
        return not_found_response(request.path_info)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page; on ingestion paths a 503 JSON that tells the sender to try again."""
    if is_ingestion_path(request.path_info):
        response = error_response(503, "The request failed on our side: try again in a minute.")
        response["Retry-After"] = "60"
        return response
    return defaults.server_error(request)
