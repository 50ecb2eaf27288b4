"""Writes of the postbacks app: the inbound log (and, later, outbound deliveries)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from postbacks.models import InboundPostback

MAX_LOGGED_BODY = 10 * 1024


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address as the server saw it (a proxy sets REMOTE_ADDR for us)."""
    return request.META.get("REMOTE_ADDR") or None


def inbound_record(
    *,
    request: HttpRequest,
    endpoint: str,
    params: dict[str, str],
    outcome: str,
    http_status: int,
    reason: str = "",
    organization: Any = None,
    app: Any = None,
    integration: Any = None,
    lead: Any = None,
    replay_of: InboundPostback | None = None,
) -> InboundPostback:
    """Keep one ingestion request as received, with what we answered."""
    try:
        body = request.body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - an unreadable body is still logged, without it
        body = ""
    return InboundPostback.objects.create(
        organization=organization,
        app=app,
        integration=integration,
        endpoint=endpoint,
        method=request.method or "GET",
        path=request.path[:300],
        params=params,
        body=body,
        source_ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        outcome=outcome,
        http_status=http_status,
        reason=reason[:500],
        lead=lead,
        replay_of=replay_of,
    )
