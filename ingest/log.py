"""The inbound log: every request that reached an ingestion endpoint, kept as received.

`Arrival` is a request as received, `inbound_log` keeps it with what it was answered. A
replay re-runs an `Arrival` made from the log row (`ingest.services.inbound_replay`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from config import ratelimit, trace
from config.inserts import RowInsert
from config.masking import mask_params, mask_secret, mask_text
from ingest import clientip, spool
from ingest.models import InboundPostback, RefusalTally
from leads import linkcache, privacy
from partners.models import Integration

logger = logging.getLogger(__name__)

MAX_LOGGED_BODY = 10 * 1024
# Refusals by authentication (a wrong or missing token; a wrong signature or address): past a
# threshold per source they are tallied instead of logged one by one.
AUTHENTICATION_REFUSALS = frozenset({401, 403})
MAX_LOGGED_VALUE = 2000
# Every ingestion request writes one log row: its INSERT is compiled once.
insert_inbound = RowInsert(InboundPostback)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, behind our trusted proxies (ingest.clientip), or None."""
    return clientip.client_ip(request) or None


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
    """Params and body with every secret masked (the token, a `sig`, a `hash`…; config.masking
    names them): the log is read by people, not used to call us."""
    token = arrival.params.get("token", "")
    body = arrival.body.replace(token, mask_secret(token)) if token else arrival.body
    return mask_params(arrival.params, mask_secret), mask_text(body, mask_secret)


def readable_params(request: HttpRequest) -> dict[str, str]:
    """The query string's parameters, for a request whose parameters as a whole were refused.

    They name the token (so the row finds its app, masked) and keep what can be kept; a query
    string that cannot be read either gives nothing.
    """
    try:
        return {key: value[:MAX_LOGGED_VALUE] for key, value in request.GET.items()}
    except Exception:  # noqa: BLE001 - too many fields, bad encoding: the body and path still are logged
        return {}


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
    """Keep one ingestion request as received, with what we answered.

    An authentication refusal from a source past its threshold is counted in that source's
    tally instead (`refusal_tally`); the row answered then is not saved.
    """
    inbound = _row(
        arrival,
        organization_id=organization_id,
        app=app,
        integration=integration,
        outcome=outcome,
        http_status=http_status,
        reason=reason[:500],
        lead=lead,
        replay_of=replay_of,
    )
    if replay_of is None and _tallied(arrival, inbound):
        return inbound
    insert_inbound(inbound)
    trace.note("inbound", row=inbound)
    return inbound


def _tallied(arrival: Arrival, inbound: InboundPostback) -> bool:
    """Whether this authentication refusal goes to its source's tally: past the source's threshold."""
    if inbound.http_status not in AUTHENTICATION_REFUSALS or trace.active():
        return False
    threshold = settings.INGEST_REFUSALS_LOGGED_PER_SOURCE
    if ratelimit.hit("refused", arrival.source_ip or "", threshold) is None:
        return False
    refusal_tally(
        kind=RefusalTally.Kind.AUTHENTICATION,
        arrival=arrival,
        http_status=inbound.http_status,
        reason=inbound.reason,
        organization_id=inbound.organization_id,
    )
    return True


def refusal_tally(
    *, kind: str, arrival: Arrival, http_status: int, reason: str, organization_id: int | None = None
) -> None:
    """Count one refused request in its source's tally for this window; the first one is the sample.

    One conditional UPDATE; the window's first refusal inserts the row (a concurrent first
    insert loses on the unique constraint and counts by the UPDATE instead).
    """
    now = timezone.now()
    key = {
        "kind": kind,
        "source_ip": arrival.source_ip or "",
        "window_start": ratelimit.window_start(now),
        "organization_id": organization_id,
    }
    tallies = RefusalTally.objects.filter(**key)
    if tallies.update(count=F("count") + 1, last_seen=now):
        return
    params, _body = _masked(arrival)
    sample = RefusalTally(
        **key,
        count=1,
        first_seen=now,
        last_seen=now,
        http_status=http_status,
        reason=reason[:500],
        endpoint=arrival.endpoint,
        method=arrival.method,
        path=arrival.path,
        params=params,
        user_agent=arrival.user_agent,
    )
    try:
        with transaction.atomic():
            sample.save(force_insert=True)
    except IntegrityError:
        tallies.update(count=F("count") + 1, last_seen=now)


def _row(arrival: Arrival, **fields: Any) -> InboundPostback:
    """The log row of a request (token masked) with what is known of its outcome."""
    params, body = _masked(arrival)
    return InboundPostback(
        endpoint=arrival.endpoint,
        method=arrival.method,
        path=arrival.path,
        params=params,
        body=body,
        source_ip=arrival.source_ip,
        user_agent=arrival.user_agent,
        **fields,
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


# --- Failures of ours ----------------------------------------------------------------------------
#
# A request that fails for a reason of ours (Redis, a deadlock, a lost connection, a bug) is
# answered 503 and kept as a "failed" row, replayable like a rejected one. The row is written
# in its own transaction, after the failed one rolled back; if the database cannot take it
# either, the request goes to the spool on local disk (`ingest.spool`), loaded into the log
# by `manage.py ingest_spool_replay` (beat runs it) once the database is back.

FAILED_MESSAGE = (
    "A temporary failure on our side: please try again in a minute. "
    "Your request is also kept in our log, so nothing is lost."
)
RETRY_AFTER_SECONDS = 30


def failure_answer() -> JsonResponse:
    """503 with `Retry-After`, as JSON: never an HTML error page."""
    response = JsonResponse({"ok": False, "error": FAILED_MESSAGE}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def failure_keep(*, arrival: Arrival, error: BaseException, integration_id: int | None = None) -> None:
    """Keep a request that failed for a reason of ours: in the log if the database takes it, else spooled.

    Its owner is found by its token, or is `integration_id` for a visit to a tracking link.
    A dry run (the postback debugger, `config.trace`) keeps nothing: it only notes the failure.
    """
    if trace.active():
        trace.note("failure", error=error)
        return
    logger.error(
        "Ingestion failed on our side (%s %s): %r", arrival.endpoint, arrival.path, error, exc_info=error
    )
    try:
        owner = owner_of(arrival.params.get("token", ""), integration_id)
        with transaction.atomic():
            inbound_log(
                arrival=privacy.stored_arrival(arrival, owner.ip_privacy),
                outcome=InboundPostback.Outcome.FAILED,
                http_status=503,
                reason=f"Failed on our side ({type(error).__name__}); kept for replay.",
                organization_id=owner.organization_id,
                app=owner.app,
                integration=owner.integration,
            )
    except Exception as second:  # noqa: BLE001 - the database is gone too: the disk keeps it
        logger.error("The inbound log could not keep it either (%r): spooled to disk.", second)
        reason = f"Failed on our side ({type(error).__name__}); spooled."
        spool.spool_write(arrival, reason=reason, integration_id=integration_id)


@dataclass(frozen=True)
class Owner:
    """Whose a logged request is, found by its token: the app's, or an integration's."""

    app: Any = None
    integration: Any = None
    ip_privacy: str = privacy.AT_REST

    @property
    def organization_id(self) -> int | None:
        found = self.integration or self.app
        return found.organization_id if found is not None else None


def owner_of(token: str, integration_id: int | None = None) -> Owner:
    """The app or integration a token (or a visit's link) belongs to; else nothing (IPs then hidden)."""
    if integration_id is not None:
        integration = Integration.objects.select_related("app").get(pk=integration_id)
        return Owner(app=integration.app, integration=integration, ip_privacy=integration.ip_privacy)
    if not token:
        return Owner()
    app = linkcache.app_for_token(token)
    if app is not None:
        return Owner(app=app, ip_privacy=privacy.app_privacy(app.pk))
    integration = linkcache.integration_for_token(token)
    if integration is not None:
        return Owner(app=integration.app, integration=integration, ip_privacy=integration.ip_privacy)
    return Owner()


def spool_load(*, limit: int = 1000) -> int:
    """Move spooled requests into the inbound log as failed rows; answers how many were loaded.

    Each row is inserted with its spool key (unique, conflicts ignored) before its file is
    deleted, so a load interrupted anywhere keeps every request exactly once.
    """
    loaded = 0
    for path in spool.spooled()[:limit]:
        record = spool.read(path)
        arrival = Arrival(**record["arrival"])
        try:
            owner = owner_of(arrival.params.get("token", ""), record.get("integration_id"))
        except Integration.DoesNotExist:  # deleted since: kept all the same, owned by nobody
            owner = Owner()
        row = _row(
            privacy.stored_arrival(arrival, owner.ip_privacy),
            organization_id=owner.organization_id,
            app=owner.app,
            integration=owner.integration,
            received_at=datetime.fromisoformat(record["received_at"]),
            outcome=InboundPostback.Outcome.FAILED,
            http_status=503,
            reason=record["reason"][:500],
            spool_id=record["key"],
        )
        InboundPostback.objects.bulk_create([row], ignore_conflicts=True)
        path.unlink(missing_ok=True)  # another loader may have got there first: the key kept it once
        loaded += 1
    return loaded
