"""Project-level views that belong to no app: the health check and the error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from ingest.log import failure_answer
from ingest.middleware import error_response, is_ingestion_path, keep_failed_request, not_found_response

logger = logging.getLogger(__name__)


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
    """Django's 500 page; on ingestion paths the request is kept and answered 503 in JSON.

    A view's own failure is kept by `ingest.middleware`; this covers what fails around it (a
    middleware, the keeping itself), as far as the request can still be read and kept.
    """
    if not is_ingestion_path(request.path_info):
        return defaults.server_error(request)
    try:
        keep_failed_request(request, RuntimeError("failed outside the view"))
    except Exception:
        logger.exception("A failed ingestion request could not be kept.")
    return failure_answer()
