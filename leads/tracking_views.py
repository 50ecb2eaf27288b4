"""Tracking links and pixels (`/c/<code>`, `/i/<code>`) and the server-to-server click APIs.

`/c/` and `/i/` are the hottest paths: they read the link from the cache, write one row
and touch neither the session nor the user. The APIs authenticate the integration's
token and keep every request in the inbound log with what it was answered.

Source lists: the APIs refuse a blacklisted (or, with a whitelist, unlisted) source with 422
and keep the request only in the inbound log. `/c/` cannot refuse a person: it records
nothing and still redirects to the landing (its `{click_id}` then names no click, so a
conversion for it is refused and logged); `/i/` records nothing and still answers the pixel.
Screening rules never block: a screened click is recorded with its verdict.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from leads import privacy
from leads.clicks import (
    API_TO_TRACKING,
    LinkData,
    click_draft,
    click_record,
    impression_record,
    landing_url,
    link_data,
    source_refusal,
    tracking_fields,
)
from leads.models import Click, Impression
from leads.params import BadParameters, request_params
from partners.models import Integration, Status, TrackingLink
from partners.tracking import TRACKING_PARAM_NAMES
from postbacks.models import InboundPostback
from postbacks.services import Arrival, inbound_log

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Parameters that steer the API and are neither stored nor renamed.
CONTROL_PARAMS = frozenset({"token", "no_redirect"})
API_FIELD_NAMES = TRACKING_PARAM_NAMES | {"referer"}
FIELD_LENGTHS = {f.name: f.max_length for f in Click._meta.fields if f.max_length}
ID_RE = re.compile(r"^\d{1,18}$")


# -- tracking links and pixels ----------------------------------------------------------------


def _redirect(url: str) -> HttpResponse:
    # Built by hand: landings may be app deeplinks (myapp://…), which HttpResponseRedirect refuses.
    response = HttpResponse(status=302)
    response["Location"] = url
    response["Cache-Control"] = "no-store"
    return response


def _first_language(header: str) -> str:
    language = header.split(",", 1)[0].split(";", 1)[0].strip()
    return "" if language == "*" else language


def _visit_fields(request: HttpRequest, link: LinkData) -> tuple[dict[str, str], dict[str, str]]:
    """Our fields and the other parameters of a browser's visit to a tracking URL."""
    fields, others = tracking_fields(link, request.GET.items())
    meta = request.META
    # The browser's own address and agent are the truth here; what the URL claims is kept aside.
    for name in ("ip", "user_agent"):
        if name in fields:
            others[name] = fields.pop(name)
    fields["ip"] = meta.get("REMOTE_ADDR", "")
    fields["user_agent"] = meta.get("HTTP_USER_AGENT", "")
    fields["referer"] = meta.get("HTTP_REFERER", "")
    fields["language"] = fields.get("language") or _first_language(meta.get("HTTP_ACCEPT_LANGUAGE", ""))
    # There is no GeoIP database on our machines: the country comes from the URL's `country`
    # or from the CDN in front of us (Cloudflare's CF-IPCountry, or X-Country-Code).
    fields["country"] = (
        fields.get("country") or meta.get("HTTP_CF_IPCOUNTRY") or meta.get("HTTP_X_COUNTRY_CODE", "")
    )
    return fields, others


@require_safe
def click_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Record the click, then send the user to the landing with our macros filled."""
    link = link_data(code)
    if link is None:
        response = HttpResponseNotFound(render_to_string("leads/unknown_link.html"))
        response["Cache-Control"] = "no-store"
        return response
    fields, others = _visit_fields(request, link)
    if source_refusal(link, fields):
        # The person is not stranded: the landing, but nothing recorded for a refused source.
        return _redirect(landing_url(link, click_draft(link=link, fields=fields, params=others)))
    click = click_record(link=link, fields=fields, params=others)
    return _redirect(landing_url(link, click))


@require_safe
def impression_pixel(request: HttpRequest, code: str) -> HttpResponse:
    """Record the impression and answer a transparent GIF that no cache keeps."""
    link = link_data(code)
    if link is None:
        response = HttpResponseNotFound(b"")
    else:
        fields, others = _visit_fields(request, link)
        if not source_refusal(link, fields):
            impression_record(link=link, fields=fields, params=others)
        response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


# -- server-to-server APIs --------------------------------------------------------------------


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
    answer: Callable[[HttpRequest, dict[str, str], LinkData, Any], HttpResponse]


@dataclass
class ApiInput:
    """An API request's parameters sorted out: our fields, the rest, the time, and how it names the link."""

    fields: dict[str, str]
    others: dict[str, str]
    created_at: datetime | None
    link_names: dict[str, str]


def _integration(token: str) -> Integration:
    if not token:
        raise Refusal(401, "Send your integration token as token=…; it is on the integration page.")
    integration = (
        Integration.objects.select_related("organization", "app", "partner").filter(token=token).first()
    )
    if integration is None:
        raise Refusal(401, "The token is wrong: copy it again from the integration page.")
    return integration


def _parse_time(name: str, value: str) -> datetime:
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Refusal(
            400, f"“{name}” must be a UTC time written YYYY-MM-DD hh:mm:ss, e.g. 2026-01-31 12:00:00."
        ) from None


def _check_money(name: str, value: str) -> None:
    try:
        valid = Decimal(value).is_finite()
    except InvalidOperation:
        valid = False
    if not valid:
        raise Refusal(400, f"“{name}” must be a number such as 1.25, not “{value}”.")


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


def _log(
    request: HttpRequest,
    kind: ApiKind,
    params: dict[str, str],
    integration: Integration | None,
    **outcome: Any,
) -> None:
    """Keep the request in the inbound log, its IPs as the integration's privacy stores them."""
    arrival = Arrival.from_request(request, endpoint=kind.endpoint, params=params)
    owner: dict[str, Any] = {}
    if integration is not None:
        arrival = privacy.stored_arrival(arrival, integration.ip_privacy)
        owner = {
            "organization_id": integration.organization_id,
            "app": integration.app,
            "integration": integration,
        }
    inbound_log(arrival=arrival, **owner, **outcome)


def _accept(
    request: HttpRequest, kind: ApiKind, integration: Integration, params: dict[str, str]
) -> HttpResponse:
    """Record the click or impression and log the request, together or not at all."""
    if integration.status != Status.ACTIVE:
        raise Refusal(422, "This integration is paused: it takes no clicks or impressions.")
    data = _sort_params(kind, integration, params)
    link = _api_link(integration, data.link_names)
    refusal = source_refusal(link, data.fields)
    if refusal:
        raise Refusal(422, refusal)
    with transaction.atomic():
        record = kind.record(link=link, fields=data.fields, params=data.others, created_at=data.created_at)
        response = kind.answer(request, params, link, record)
        _log(
            request,
            kind,
            params,
            integration,
            outcome=InboundPostback.Outcome.CREATED,
            http_status=response.status_code,
        )
    return response


def _ingest(request: HttpRequest, kind: ApiKind) -> HttpResponse:
    params: dict[str, str] = {}
    integration: Integration | None = None
    try:
        params = request_params(request)
        integration = _integration(params.get("token", ""))
        return _accept(request, kind, integration, params)
    except BadParameters as exc:
        refusal = Refusal(400, str(exc))
    except Refusal as exc:
        refusal = exc
    _log(
        request,
        kind,
        params,
        integration,
        outcome=InboundPostback.Outcome.REJECTED,
        http_status=refusal.status,
        reason=refusal.message,
    )
    return JsonResponse({"ok": False, "error": refusal.message}, status=refusal.status)


def _click_answer(request: HttpRequest, params: dict[str, str], link: LinkData, click: Click) -> HttpResponse:
    if params.get("no_redirect", "").lower() in ("true", "1", "yes"):
        return JsonResponse({"ok": True, "click_id": click.click_id})
    return _redirect(landing_url(link, click))


def _impression_answer(
    request: HttpRequest, params: dict[str, str], link: LinkData, impression: Impression
) -> HttpResponse:
    return JsonResponse({"ok": True, "impression_id": impression.pk})


CLICK_API = ApiKind("click", "click_time", click_record, _click_answer)
IMPRESSION_API = ApiKind("impression", "impression_time", impression_record, _impression_answer)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def click_api(request: HttpRequest) -> HttpResponse:
    """Server-to-server click: JSON with the click id (`no_redirect=true`) or a redirect."""
    return _ingest(request, CLICK_API)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def impression_api(request: HttpRequest) -> HttpResponse:
    """Server-to-server impression: JSON with the impression id."""
    return _ingest(request, IMPRESSION_API)
