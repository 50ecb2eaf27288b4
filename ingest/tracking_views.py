"""Tracking links and pixels (`/c/<code>`, `/i/<code>`) and the server-to-server click APIs.

`/s/<code>` is a smart link: it picks one of its entries' links (leads.routing) and records
the click on that link, with the smart link named on the click.

`/c/`, `/s/` and `/i/` are the hottest paths: they read the link from the cache, write one row
and touch neither the session nor the user. The APIs (ingest.traffic_api)
authenticate the integration's token and keep every request in the inbound log with what it
was answered.

Source lists: the APIs refuse a blacklisted (or, with a whitelist, unlisted) source with 422
and keep the request only in the inbound log. `/c/` cannot refuse a person: it records no
click and still redirects to the landing (its `{click_id}` then names no click, so a
conversion for it is refused and logged); `/i/` records no impression and still answers the
pixel. Both keep the refused visit in the inbound log, replayable as its API request.
Screening rules never block: a screened click is recorded with its verdict.
"""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from ingest import traffic_api
from ingest.clientip import client_ip
from ingest.log import Arrival, failure_keep, readable_params
from ingest.params import BadParameters, request_params
from leads import routing
from leads.clicks import (
    CDN_COUNTRY,
    click_draft,
    click_macros,
    click_record,
    impression_record,
    landing_redirect,
    landing_url,
    source_refusal,
    tracking_fields,
    visitor_facts,
)
from leads.linkcache import LinkData, link_data, smart_link_data
from leads.models import Click
from partners.macros import render

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# -- tracking links and pixels ----------------------------------------------------------------


def _first_language(header: str) -> str:
    language = header.split(",", 1)[0].split(";", 1)[0].strip()
    return "" if language == "*" else language


def _visit_fields(request: HttpRequest, link: LinkData) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Our fields and the other parameters of a browser's visit to a tracking URL, and the names
    of those still holding an unfilled `{macro}`."""
    fields, others, unfilled = tracking_fields(link, request.GET.items())
    meta = request.META
    # The browser's own address and agent are the truth here; what the URL claims is kept aside.
    for name in ("ip", "user_agent"):
        if name in fields:
            others[name] = fields.pop(name)
    fields["ip"] = client_ip(request)
    fields["user_agent"] = meta.get("HTTP_USER_AGENT", "")
    fields["referer"] = meta.get("HTTP_REFERER", "")
    fields["language"] = fields.get("language") or _first_language(meta.get("HTTP_ACCEPT_LANGUAGE", ""))
    # The CDN in front of us may name the country (Cloudflare's CF-IPCountry, or X-Country-Code);
    # leads.geoip weighs it against the URL's `country` and the lookup (GEOIP_COUNTRY_SOURCES).
    fields[CDN_COUNTRY] = meta.get("HTTP_CF_IPCOUNTRY") or meta.get("HTTP_X_COUNTRY_CODE", "")
    return fields, others, unfilled


def _log_refused_visit(
    request: HttpRequest,
    kind: traffic_api.ApiKind,
    link: LinkData,
    fields: dict[str, str],
    others: dict[str, str],
    reason: str,
) -> None:
    """Log the visit as the API request with the same facts, so that a replay imports it."""
    arrival = _visit_arrival(request, kind, link, fields, others)
    try:
        traffic_api.visit_refused(kind, arrival, link["integration_id"], reason)
    except Exception as error:  # noqa: BLE001 - a failure of ours: the visitor still lands
        failure_keep(arrival=arrival, error=error, integration_id=link["integration_id"])


def _visit_arrival(
    request: HttpRequest,
    kind: traffic_api.ApiKind,
    link: LinkData,
    fields: dict[str, str],
    others: dict[str, str],
    **extra: str,
) -> Arrival:
    """A browser's visit as the API request with the same facts (what the inbound log keeps)."""
    params = {
        **others,
        **{name: value for name, value in fields.items() if value and name != CDN_COUNTRY},
        # The API has no CDN header: the one the visit carried stands in for a missing `country`.
        **({"country": fields[CDN_COUNTRY]} if fields.get(CDN_COUNTRY) and not fields.get("country") else {}),
        "code": link["code"],
        **extra,
    }
    return Arrival.from_request(request, endpoint=kind.endpoint, params=params)


def _keep_failed_visit(
    request: HttpRequest,
    kind: traffic_api.ApiKind,
    link: LinkData,
    fields: dict[str, str],
    others: dict[str, str],
    error: Exception,
    *,
    click: Click | None = None,
) -> None:
    """Keep a visit we failed to record as the API request that records it on replay.

    A click keeps the id its redirect carried and its time, so the click recorded later is
    the one the landing (and any conversion) names.
    """
    extra = {kind.time_param: timezone.now().strftime(traffic_api.TIME_FORMAT)}
    if click is not None:
        extra |= traffic_api.visit_memo(click)
    arrival = _visit_arrival(request, kind, link, fields, others, **extra)
    failure_keep(arrival=arrival, error=error, integration_id=link["integration_id"])


def _unknown_link() -> HttpResponse:
    response = HttpResponseNotFound(render_to_string("leads/unknown_link.html"))
    response["Cache-Control"] = "no-store"
    return response


def _click(
    request: HttpRequest,
    link: LinkData,
    fields: dict[str, str],
    others: dict[str, str],
    unfilled: list[str],
    **extra: Any,
) -> Click:
    """Record the visit's click (routed by leads.routing); a click we fail to record is kept."""
    refusal = source_refusal(link, fields)
    if refusal:
        # The person is not stranded: the landing, but only the inbound log keeps the visit.
        _log_refused_visit(request, traffic_api.CLICK_API, link, fields, others, refusal)
        return click_draft(link=link, fields=fields, params=others, **extra)
    try:
        return click_record(link=link, fields=fields, params=others, unfilled=unfilled, **extra)
    except Exception as error:  # noqa: BLE001 - a failure of ours: the visitor still lands
        click = click_draft(link=link, fields=fields, params=others, **extra)
        _keep_failed_visit(request, traffic_api.CLICK_API, link, fields, others, error, click=click)
        return click


@require_safe
def click_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Record the click, then send the user to the landing (or its offer's fallback), macros filled."""
    link = link_data(code)
    if link is None:
        return _unknown_link()
    fields, others, unfilled = _visit_fields(request, link)
    return landing_redirect(landing_url(link, _click(request, link, fields, others, unfilled)))


@require_safe
def smart_click(request: HttpRequest, code: str) -> HttpResponse:
    """A smart link: pick one of its entries for this visitor, record the click on it, redirect.

    Eligibility and the pick are `leads.routing.choose`; with no entry left the click is recorded
    on the first live entry's link as `smartlink_catch_all` and goes to the catch-all URL (or
    the "offer not available" page). Every read comes from the cache.
    """
    smart = smart_link_data(code)
    if smart is None or not smart["entries"]:
        return _unknown_link()
    # The visitor's facts do not depend on the link: any entry's data sorts the parameters.
    probe = next((data for entry in smart["entries"] if (data := link_data(entry["code"]))), None)
    if probe is None:
        return landing_redirect(render(smart["catch_all_url"], {}) if smart["catch_all_url"] else None)
    fields, others, unfilled = _visit_fields(request, probe)
    choice = routing.choose(smart, *visitor_facts(fields))
    link = choice.link or probe
    if link is not probe:
        fields, others, unfilled = _visit_fields(request, link)
    route = routing.SMARTLINK_CATCH_ALL if choice.catch_all else None
    click = _click(request, link, fields, others, unfilled, smart_link_id=smart["id"], route=route)
    if choice.catch_all:
        url = smart["catch_all_url"]
        return landing_redirect(render(url, click_macros(link, click)) if url else None)
    return landing_redirect(landing_url(link, click))


@require_safe
def impression_pixel(request: HttpRequest, code: str) -> HttpResponse:
    """Record the impression and answer a transparent GIF that no cache keeps."""
    link = link_data(code)
    if link is None:
        response = HttpResponseNotFound(b"")
    else:
        fields, others, _unfilled = _visit_fields(request, link)
        refusal = source_refusal(link, fields)
        if refusal:
            _log_refused_visit(request, traffic_api.IMPRESSION_API, link, fields, others, refusal)
        else:
            try:
                impression_record(link=link, fields=fields, params=others)
            except Exception as error:  # noqa: BLE001 - a failure of ours: the pixel is still answered
                _keep_failed_visit(request, traffic_api.IMPRESSION_API, link, fields, others, error)
        response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


# -- server-to-server APIs (ingest.traffic_api) -------------------------------------------------


def _ingest(request: HttpRequest, kind: traffic_api.ApiKind) -> HttpResponse:
    try:
        params = request_params(request)
    except BadParameters as exc:
        arrival = Arrival.from_request(request, endpoint=kind.endpoint, params=readable_params(request))
        return traffic_api.refused(arrival, None, traffic_api.Refusal(exc.status, str(exc))).response
    arrival = Arrival.from_request(request, endpoint=kind.endpoint, params=params)
    return traffic_api.ingest(kind, arrival).response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def click_api(request: HttpRequest) -> HttpResponse:
    """Server-to-server click: JSON with the click id (`no_redirect=true`) or a redirect."""
    return _ingest(request, traffic_api.CLICK_API)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def impression_api(request: HttpRequest) -> HttpResponse:
    """Server-to-server impression: JSON with the impression id."""
    return _ingest(request, traffic_api.IMPRESSION_API)
