"""Writes of the postbacks app: the inbound log and the replay of rejected postbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from postbacks.models import InboundPostback

MAX_LOGGED_BODY = 10 * 1024


class ReplayRefused(ValueError):
    """This inbound postback cannot be replayed; the message says why."""


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
    return InboundPostback.objects.create(
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


@transaction.atomic
def inbound_replay(*, inbound: InboundPostback, actor: Any) -> InboundPostback:
    """Run a rejected postback again, as if it arrived now, and log the new outcome.

    The original is claimed by a conditional UPDATE, so two admins clicking at once replay
    it once. Raises ReplayRefused for anything but a rejected, not yet replayed postback
    that matched an app. `actor` is the user who asked, kept on the lead's events.
    """
    # leads.services imports this module for the log, so the import goes this way round.
    from leads.services import Scope, postback_process

    if inbound.outcome != InboundPostback.Outcome.REJECTED:
        raise ReplayRefused(
            f"Only rejected postbacks can be replayed; this one was {inbound.get_outcome_display().lower()}."
        )
    if inbound.app_id is None:
        raise ReplayRefused("This postback matched no app (wrong or missing token): ask for a resend.")
    claimed = InboundPostback.objects.filter(
        pk=inbound.pk, outcome=InboundPostback.Outcome.REJECTED, replayed_at__isnull=True
    ).update(replayed_at=timezone.now())
    if not claimed:
        raise ReplayRefused("This postback was already replayed: replay its latest replay instead.")
    scope = Scope(app=inbound.app, integration=inbound.integration)
    result = postback_process(
        scope=scope, arrival=Arrival.from_inbound(inbound), replay_of=inbound, actor=actor
    )
    return result.inbound
