"""The server-to-server click and impression APIs (`/api/v1/clicks`, `/api/v1/impressions`).

Each request is authenticated by the integration's token, its 24metrics parameter names are
renamed by the integration's inbound mapping, and it is kept in the inbound log with what it
was answered. A refused request (bad parameter, unknown link, blacklisted source…) is logged
with its sentence and can be replayed from the log once the cause is fixed: the replay runs
the same steps for the logged integration (the log keeps the token masked). A browser's visit
to `/c/` or `/i/` from a refused source is logged the same way, as the API request it equals.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.http import HttpResponse, JsonResponse

from config import trace
from ingest.log import Arrival, inbound_log
from ingest.models import InboundPostback
from ingest.protocol import MAX_AMOUNT
from ingest.signing import inbound_refusal
from leads import privacy
from leads.clicks import click_record, impression_record, landing_redirect, landing_url, source_refusal
from leads.linkcache import API_TO_TRACKING, LinkData, integration_for_token, link_data
from leads.models import Click, Impression
from partners.models import Integration, Status, TrackingLink
from partners.tracking import TRACKING_PARAM_NAMES

Endpoint = InboundPostback.Endpoint
Outcome = InboundPostback.Outcome

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Parameters that steer the API and are neither stored nor renamed.
CONTROL_PARAMS = frozenset(
    {"token", "no_redirect", "replayed_click_id", "replayed_route", "replayed_smart_link"}
)
# A `/c/` or `/s/` visit we failed to record is logged with the click id its redirect carried,
# where that redirect sent it (its redirect reason, `landing` for none) and its smart link: its
# replay records the same click (only a replay of our own failed row may set them).
REPLAYED_CLICK_ID = "replayed_click_id"
REPLAYED_ROUTE = "replayed_route"
REPLAYED_SMART_LINK = "replayed_smart_link"
NO_REROUTE = "landing"
API_FIELD_NAMES = TRACKING_PARAM_NAMES | {"referer"}
FIELD_LENGTHS = {f.name: f.max_length for f in Click._meta.fields if f.max_length}
ID_RE = re.compile(r"^\d{1,18}$")


class Refusal(Exception):
    """An API request we answer with an error: the status and a sentence the partner can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ApiKind:
    """What differs between the click and the impression API."""

    endpoint: str
    time_param: str
    record: Callable[..., Click | Impression]
    answer: Callable[[dict[str, str], LinkData, Any], HttpResponse]


@dataclass(frozen=True)
class Answered:
    """What an API request was answered, and its row in the inbound log."""

    response: HttpResponse
    inbound: InboundPostback


@dataclass
class ApiInput:
    """An API request's parameters sorted out: our fields, the rest, the time, and how it names the link."""

    fields: dict[str, str]
    others: dict[str, str]
    created_at: datetime | None
    link_names: dict[str, str]


def _integration(arrival: Arrival) -> Integration:
    """The integration the token opens, once its allow list and signing (ingest.signing) agree."""
    token = arrival.params.get("token", "")
    if not token:
        raise Refusal(401, "Send your integration token as token=…; it is on the integration page.")
    integration = integration_for_token(token)
    if integration is None:
        raise Refusal(401, "The token is wrong: copy it again from the integration page.")
    trace.note("scope", app=integration.app, integration=integration)
    refusal = inbound_refusal(integration, params=arrival.params, source_ip=arrival.source_ip)
    if refusal is not None:
        raise Refusal(refusal.status, refusal.message)
    return integration


def _parse_time(name: str, value: str) -> datetime:
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Refusal(
            400, f"“{name}” must be a UTC time written YYYY-MM-DD hh:mm:ss, e.g. 2026-01-31 12:00:00."
        ) from None


def _check_money(name: str, value: str) -> None:
    """An amount as a lead's money is bounded: a finite decimal from 0 to 9999999999."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise Refusal(400, f"“{name}” must be a number such as 1.25, not “{value}”.")
    if amount < 0 or amount >= MAX_AMOUNT:
        raise Refusal(400, f"“{name}”=“{value}” is out of range: send an amount from 0 to 9999999999.")


def _check_field(name: str, value: str, sent_as: str) -> None:
    if len(value) > FIELD_LENGTHS.get(name, 255):
        raise Refusal(400, f"“{sent_as}” is longer than {FIELD_LENGTHS.get(name, 255)} characters.")
    if name == "ip" and value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise Refusal(400, f"“{sent_as}” must be an IP address, not “{value}”.") from None


def _sort_params(kind: ApiKind, integration: Integration, params: dict[str, str]) -> ApiInput:
    """Rename the partner's names to ours (inbound mapping), then split fields from the rest."""
    mapping = integration.inbound_mapping or {}
    reverse = {theirs: ours for ours, theirs in mapping.items() if isinstance(theirs, str)}
    data = ApiInput(fields={}, others={}, created_at=None, link_names={})
    for received, value in params.items():
        name = reverse.get(received, received)
        field = API_TO_TRACKING.get(name, name)
        if name in CONTROL_PARAMS:
            continue
        if name in ("code", "flow", "offer"):
            data.link_names[name] = value
        elif name == kind.time_param:
            data.created_at = _parse_time(received, value)
        elif field in API_FIELD_NAMES:
            _check_field(field, value, received)
            data.fields[field] = value
        else:
            if name in ("revenue", "payout"):
                _check_money(received, value)
            data.others[name] = value
    if "site_url" in data.others and not data.fields.get("referer"):
        data.fields["referer"] = data.others.pop("site_url")[: FIELD_LENGTHS["referer"]]
    return data


def _api_link(integration: Integration, names: dict[str, str]) -> LinkData:
    """The live link the request names by `code`, `flow` or `offer`, within this integration."""
    if names.get("code"):
        link = link_data(names["code"])
    elif names.get("flow") or names.get("offer"):
        name = "flow" if names.get("flow") else "offer"
        if not ID_RE.match(names[name]):
            raise Refusal(400, f"“{name}” must be our numeric id, not “{names[name]}”.")
        lookup = {"pk": int(names[name])} if name == "flow" else {"offer_id": int(names[name])}
        code = (
            TrackingLink.objects.filter(integration=integration, status=Status.ACTIVE, **lookup)
            .order_by("id")
            .values_list("code", flat=True)
            .first()
        )
        link = link_data(code) if code else None
    else:
        raise Refusal(400, "Name the offer (offer=<id>) or the tracking link (code=… or flow=…).")
    if link is None or link["integration_id"] != integration.pk:
        raise Refusal(404, "No such offer/link for this integration: check offer, code or flow.")
    return link


def _log(arrival: Arrival, integration: Integration | None, **outcome: Any) -> InboundPostback:
    """Keep the request in the inbound log, its IPs as the integration's privacy stores them."""
    owner: dict[str, Any] = {}
    if integration is not None:
        arrival = privacy.stored_arrival(arrival, integration.ip_privacy)
        owner = {
            "organization_id": integration.organization_id,
            "app": integration.app,
            "integration": integration,
        }
    return inbound_log(arrival=arrival, **owner, **outcome)


def _accept(
    kind: ApiKind, arrival: Arrival, integration: Integration, replay_of: InboundPostback | None
) -> Answered:
    """Record the click or impression and log the request, together or not at all."""
    if integration.status != Status.ACTIVE:
        raise Refusal(422, "This integration is paused: it takes no clicks or impressions.")
    data = _sort_params(kind, integration, arrival.params)
    link = _api_link(integration, data.link_names)
    trace.note("target", link_data=link, named_by=", ".join(data.link_names))
    refusal = source_refusal(link, data.fields)
    if refusal:
        raise Refusal(422, refusal)
    extra = {"created_at": data.created_at}
    if kind is CLICK_API:
        extra.update(_replayed_visit(arrival, replay_of))
    with transaction.atomic():
        record = kind.record(link=link, fields=data.fields, params=data.others, **extra)
        trace.note("record", record=record)
        response = kind.answer(arrival.params, link, record)
        inbound = _log(
            arrival,
            integration,
            outcome=Outcome.CREATED,
            http_status=response.status_code,
            replay_of=replay_of,
        )
    return Answered(response, inbound)


def _replayed_visit(arrival: Arrival, replay_of: InboundPostback | None) -> dict[str, Any]:
    """What a failed visit's redirect already decided (id, route, smart link), for its replay.

    The click is dated when the visit arrived: its id is unique with its time, so a second
    replay of the same visit is refused by the database as it was before clicks were partitioned.
    """
    params = arrival.params
    if replay_of is None or replay_of.outcome != Outcome.FAILED or not params.get(REPLAYED_CLICK_ID):
        return {}
    extra: dict[str, Any] = {"click_id": params[REPLAYED_CLICK_ID], "created_at": replay_of.received_at}
    if params.get(REPLAYED_ROUTE):
        route = params[REPLAYED_ROUTE]
        extra["route"] = "" if route == NO_REROUTE else route
    if ID_RE.match(params.get(REPLAYED_SMART_LINK, "")):
        extra["smart_link_id"] = int(params[REPLAYED_SMART_LINK])
    return extra


def visit_memo(click: Click) -> dict[str, str]:
    """The parameters a failed visit is logged with so that its replay records the same click."""
    memo = {REPLAYED_CLICK_ID: click.click_id, REPLAYED_ROUTE: click.redirect_reason or NO_REROUTE}
    if click.smart_link_id is not None:
        memo[REPLAYED_SMART_LINK] = str(click.smart_link_id)
    return memo


def refused(
    arrival: Arrival,
    integration: Integration | None,
    refusal: Refusal,
    replay_of: InboundPostback | None = None,
) -> Answered:
    """Answer a refusal with its sentence and keep the request in the log, for a replay."""
    inbound = _log(
        arrival,
        integration,
        outcome=Outcome.REJECTED,
        http_status=refusal.status,
        reason=refusal.message,
        replay_of=replay_of,
    )
    return Answered(JsonResponse({"ok": False, "error": refusal.message}, status=refusal.status), inbound)


def ingest(kind: ApiKind, arrival: Arrival) -> Answered:
    """Authenticate the request by its token, then record it; every outcome is logged."""
    integration = None
    try:
        integration = _integration(arrival)
        return _accept(kind, arrival, integration, None)
    except Refusal as refusal:
        return refused(arrival, integration, refusal)


def visit_refused(kind: ApiKind, arrival: Arrival, integration_id: int, reason: str) -> InboundPostback:
    """Keep a browser's visit that the source lists refused, as the API request that replays it."""
    integration = Integration.objects.select_related("organization", "app").get(pk=integration_id)
    return refused(arrival, integration, Refusal(422, reason)).inbound


def replay(inbound: InboundPostback) -> InboundPostback:
    """Run a refused, logged click or impression again for its integration; answers the new log row."""
    kind = KINDS[inbound.endpoint]
    integration = Integration.objects.select_related("organization", "app", "partner").get(
        pk=inbound.integration_id
    )
    arrival = Arrival.from_inbound(inbound)
    try:
        return _accept(kind, arrival, integration, inbound).inbound
    except Refusal as refusal:
        return refused(arrival, integration, refusal, inbound).inbound


def _where(record: Click | Impression) -> dict[str, Any]:
    """Where the visitor is, as recorded: the sender's own tools can act on it at once."""
    return {"country": record.country, "asn": record.asn, "as_org": record.as_org}


def _click_answer(params: dict[str, str], link: LinkData, click: Click) -> HttpResponse:
    """The click id as JSON (`no_redirect`), else the redirect a browser follows.

    A click sent to its offer's fallback says so in the JSON: `redirect_reason` (country,
    device_type, os, cap) and `redirect_url`, where the redirect would go (null: the "offer not
    available" page).
    """
    url = landing_url(link, click)
    if params.get("no_redirect", "").lower() in ("true", "1", "yes"):
        answer: dict[str, Any] = {"ok": True, "click_id": click.click_id, **_where(click)}
        if click.redirect_reason:
            answer |= {"redirect_reason": click.redirect_reason, "redirect_url": url}
        return JsonResponse(answer)
    return landing_redirect(url)


def _impression_answer(params: dict[str, str], link: LinkData, impression: Impression) -> HttpResponse:
    return JsonResponse({"ok": True, "impression_id": impression.pk, **_where(impression)})


CLICK_API = ApiKind(Endpoint.CLICK, "click_time", click_record, _click_answer)
IMPRESSION_API = ApiKind(Endpoint.IMPRESSION, "impression_time", impression_record, _impression_answer)
KINDS = {kind.endpoint: kind for kind in (CLICK_API, IMPRESSION_API)}
