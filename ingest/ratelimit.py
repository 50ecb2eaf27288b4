"""Rate limits on the public endpoints and the management API (SPEC 4 "Rate limits").

Every public endpoint counts each request per source address and per token: the `token`
parameter of the postbacks and the server-to-server APIs, the link's code on `/c/`, `/s/` and
`/i/`. The management API (DRF) counts per user (an API token is its user's) and per address.
The source is `ingest.clientip`'s (our trusted proxies), never a raw `X-Forwarded-For`. The
counting is `config.ratelimit`'s: in each process, added up in Redis in batches, a
per-process limit while Redis is away.

Over a limit the answer is 429 `{"ok": false, "error": "Rate limit: … try again in N s"}` with
`Retry-After`. A refused ingestion request is counted in its source's tally
(`ingest.models.RefusalTally`, one row per source and window with a sample) rather than logged
one row each: the tally says how many were refused, a flood does not fill the inbound log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config import ratelimit
from ingest.clientip import client_ip
from ingest.log import Arrival, failure_keep, owner_of, readable_params, refusal_tally
from ingest.middleware import endpoint_of, is_ingestion_path
from ingest.models import RefusalTally
from ingest.params import BadParameters, request_params
from leads import privacy
from leads.linkcache import link_data

# Tracking links and pixels: the code in the path plays the token's part.
CODE_PREFIXES = ("/c/", "/s/", "/i/")
_QUERY_TOKEN = re.compile(r"(?:^|&)token=([^&]*)")


def _token(request: HttpRequest, path: str) -> str:
    """What identifies the sender besides its address: the token, or the link's code."""
    if path.startswith(CODE_PREFIXES):
        return path[3:]
    if request.method == "POST":
        try:
            return request_params(request).get("token", "")
        except BadParameters:
            return ""  # the view refuses the request and logs it
    found = _QUERY_TOKEN.search(request.META.get("QUERY_STRING", ""))
    return unquote_plus(found.group(1)).strip() if found else ""


def exceeded(
    scope: str, *, address: str, token: str, per_ip: int, per_token: int, token_is: str = "token"
) -> ratelimit.Exceeded | None:
    """Count one request by its address and by its token; the limit it went over, if any.

    Both are counted whatever the other says; the longer wait is answered. `scope` keeps the
    public endpoints' counts apart from the management API's.
    """
    by_address = ratelimit.hit(f"{scope}-ip", address, per_ip, what="from this address")
    by_token = ratelimit.hit(f"{scope}-token", token, per_token, what=f"for this {token_is}")
    found = [limit for limit in (by_address, by_token) if limit is not None]
    return max(found, key=lambda limit: limit.wait, default=None)


def too_many(limit: ratelimit.Exceeded) -> JsonResponse:
    response = JsonResponse({"ok": False, "error": limit.message}, status=429)
    response["Retry-After"] = str(limit.wait)
    return response


class RateLimitMiddleware:
    """Answers 429 to a public endpoint's request over its address's or token's limit, and tallies it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not settings.RATE_LIMIT_ENABLED or not (is_ingestion_path(path) or path.startswith("/s/")):
            return self.get_response(request)
        token = _token(request, path)
        limit = exceeded(
            "public",
            address=client_ip(request),
            token=token,
            per_ip=settings.RATE_LIMIT_PER_IP,
            per_token=settings.RATE_LIMIT_PER_TOKEN,
        )
        if limit is None:
            return self.get_response(request)
        _tally(request, path, token, limit)
        return too_many(limit)


def _tally(request: HttpRequest, path: str, token: str, limit: ratelimit.Exceeded) -> None:
    """Count the refused request in its source's tally, under the organization its token names."""
    params = readable_params(request)
    arrival = Arrival.from_request(request, endpoint=endpoint_of(path), params=params)
    try:
        organization_id, ip_privacy = _owner(path, token, params)
        refusal_tally(
            kind=RefusalTally.Kind.RATE_LIMIT,
            arrival=privacy.stored_arrival(arrival, ip_privacy),
            http_status=429,
            reason=limit.message,
            organization_id=organization_id,
        )
    except Exception as error:  # noqa: BLE001 - the tally failed (the database?): the request is kept
        failure_keep(arrival=arrival, error=error)


def _owner(path: str, token: str, params: dict[str, str]) -> tuple[int | None, str]:
    """The organization a refused request's token or link belongs to, and its IP privacy."""
    if path.startswith(CODE_PREFIXES):
        link = link_data(token)
        return (link["organization_id"], link["ip_privacy"]) if link else (None, privacy.AT_REST)
    owner = owner_of(token)
    return owner.organization_id, owner.ip_privacy


class RateLimited(APIException):
    """The management API's 429: DRF's exception handler sets `Retry-After` from `wait`, and
    `config.jsonbody.exception_handler` answers it as `{"ok": false, "error": …}`."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "rate_limited"

    def __init__(self, limit: ratelimit.Exceeded) -> None:
        super().__init__(limit.message)
        self.wait = limit.wait


class ApiThrottle(BaseThrottle):
    """The management API's limits, per user (an API token is its user's) and per address.

    DRF asks after authentication: a request without valid credentials is refused (401/403)
    before it is counted.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        if not settings.RATE_LIMIT_ENABLED:
            return True
        user = request.user
        limit = exceeded(
            "api",
            address=client_ip(request),
            token=str(user.pk) if user and user.is_authenticated else "",
            per_ip=settings.RATE_LIMIT_API_PER_IP,
            per_token=settings.RATE_LIMIT_API_PER_USER,
            token_is="user",
        )
        if limit is not None:
            raise RateLimited(limit)
        return True
