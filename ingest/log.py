"""The inbound log: every request that reached an ingestion endpoint, kept as received.

`Arrival` is a request as received, `inbound_log` keeps it with what it was answered. A
replay re-runs an `Arrival` made from the log row (`ingest.services.inbound_replay`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from config.inserts import RowInsert
from ingest.models import InboundPostback

MAX_LOGGED_BODY = 10 * 1024
# Every ingestion request writes one log row: its INSERT is compiled once.
insert_inbound = RowInsert(InboundPostback)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address as the server saw it (a proxy sets REMOTE_ADDR for us)."""
    return request.META.get("REMOTE_ADDR") or None


def mask_secret(value: str) -> str:
    """Enough of a token to recognize it in the log, never enough to use it."""
    return f"{value[:4]}…" if len(value) > 4 else "…" if value else ""


@dataclass(frozen=True)
class Arrival:
    """An ingestion request as received: what the inbound log keeps and a replay re-runs."""

    endpoint: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: str = ""
    source_ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest, *, endpoint: str, params: dict[str, str]) -> Arrival:
        try:
            body = request.body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - an unreadable body is still logged, without it
            body = ""
        return cls(
            endpoint=endpoint,
            method=request.method or "GET",
            path=request.path[:300],
            params=params,
            body=body,
            source_ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )

    @classmethod
    def from_inbound(cls, inbound: InboundPostback) -> Arrival:
        return cls(
            endpoint=inbound.endpoint,
            method=inbound.method,
            path=inbound.path,
            params=dict(inbound.params),
            body=inbound.body,
            source_ip=inbound.source_ip,
            user_agent=inbound.user_agent,
        )


def _masked(arrival: Arrival) -> tuple[dict[str, str], str]:
    """Params and body with the token masked: the log is read by people, not used to call us."""
    token = arrival.params.get("token", "")
    if not token:
        return arrival.params, arrival.body
    return {**arrival.params, "token": mask_secret(token)}, arrival.body.replace(token, mask_secret(token))


def inbound_log(
    *,
    arrival: Arrival,
    outcome: str,
    http_status: int,
    reason: str = "",
    organization_id: int | None = None,
    app: Any = None,
    integration: Any = None,
    lead: Any = None,
    replay_of: InboundPostback | None = None,
) -> InboundPostback:
    """Keep one ingestion request as received, with what we answered."""
    params, body = _masked(arrival)
    inbound = InboundPostback(
        organization_id=organization_id,
        app=app,
        integration=integration,
        endpoint=arrival.endpoint,
        method=arrival.method,
        path=arrival.path,
        params=params,
        body=body,
        source_ip=arrival.source_ip,
        user_agent=arrival.user_agent,
        outcome=outcome,
        http_status=http_status,
        reason=reason[:500],
        lead=lead,
        replay_of=replay_of,
    )
    insert_inbound(inbound)
    return inbound


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
    """Keep one ingestion request, straight from the HTTP request."""
    return inbound_log(
        arrival=Arrival.from_request(request, endpoint=endpoint, params=params),
        outcome=outcome,
        http_status=http_status,
        reason=reason,
        organization_id=organization.pk if organization is not None else None,
        app=app,
        integration=integration,
        lead=lead,
        replay_of=replay_of,
    )
