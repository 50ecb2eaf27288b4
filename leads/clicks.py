"""Clicks and impressions: recording, the landing redirect, and the generated API URLs.

The click redirect is the hottest path of the product: the tracking link's configuration
comes resolved from `leads.linkcache` (this process, Redis, else the database), so a warm
click costs one Redis round trip when count rules are active, and one INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.utils import timezone

from config.inserts import RowInsert
from config.masking import mask_secret
from leads import geoip, privacy, routing, screening
from leads.linkcache import SUBS, LinkData
from leads.models import Click, Impression
from leads.privacy import truncate_ip
from leads.useragents import parse_user_agent
from partners.macros import render
from partners.models import Integration, IpPrivacy
from partners.tracking import TRACKING_PARAM_NAMES

# The field a tracking view sets to the country its CDN's header named (never a URL parameter).
CDN_COUNTRY = "cdn_country"
DEVICE_IDS = ("idfa", "gaid", "android_id", "device_id")
# Parameters kept in Click.params: enough for any partner, bounded so a URL cannot bloat a row.
MAX_EXTRA_PARAMS = 30
MAX_EXTRA_KEY = 100
MAX_EXTRA_VALUE = 500

# -- recording --------------------------------------------------------------------------------

# The traffic tables' INSERTs, compiled once: a click is written with no ORM compilation.
insert_click = RowInsert(Click)
insert_impression = RowInsert(Impression)
_MAX_LENGTHS = {field.name: field.max_length for field in Click._meta.fields if field.max_length}


def _clean(name: str, value: str) -> str:
    """A value fit for its column: no NUL (PostgreSQL refuses it), cut to the column's length."""
    return value.replace("\x00", "")[: _MAX_LENGTHS.get(name, 255)]


_country = geoip.country_code


def tracking_fields(
    link: LinkData, params: Iterable[tuple[str, str]]
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Split a tracking URL's parameters into our fields and the others, and name those whose
    value is still an unfilled `{macro}` (the URL was opened as handed out: a test click).

    A partner's own name (from its macro in the parameter table, or the inbound mapping)
    counts as ours; our own name wins when both are sent. A value that is still the
    partner's unfilled macro (`{clickid}`) is no value at all.
    """
    fields: dict[str, str] = {}
    others: dict[str, str] = {}
    unfilled_names: list[str] = []
    aliases, unfilled = link["aliases"], link["unfilled"]
    for name, value in params:
        if screening.is_unfilled(value, unfilled):
            unfilled_names.append(name)
        ours = name if name in TRACKING_PARAM_NAMES else aliases.get(name)
        if ours is None:
            others[name] = value
        elif name == ours or not fields.get(ours):
            fields[ours] = "" if value in unfilled else value
    return fields, others, unfilled_names


def extra_params(params: Mapping[str, str], ip_privacy: str = IpPrivacy.OFF) -> dict[str, str]:
    """Parameters we have no column for, bounded in number and size, IPs as privacy stores them."""
    kept: dict[str, str] = {}
    for key, value in params.items():
        if len(kept) >= MAX_EXTRA_PARAMS:
            break
        kept[key.replace("\x00", "")[:MAX_EXTRA_KEY]] = value.replace("\x00", "")[:MAX_EXTRA_VALUE]
    return privacy.stored_params(kept, ip_privacy) if ip_privacy == IpPrivacy.AT_REST else kept


def _device_values(link: LinkData, fields: Mapping[str, str]) -> dict[str, Any]:
    """The columns a click and an impression share, from the request's fields."""
    ip = fields.get("ip", "")
    agent = fields.get("user_agent", "")
    parsed = parse_user_agent(agent)
    values = {name: fields.get(name) or link["subs"][name] for name in SUBS}
    values |= {name: fields.get(name, "") for name in (*DEVICE_IDS, "referer", "language")}
    values |= {
        "ip": privacy.stored_ip(ip, link["ip_privacy"]),
        "user_agent": agent,
        "device_type": parsed.device_type,
        "os": parsed.os,
        "browser": parsed.browser,
    }
    values = {name: _clean(name, value) for name, value in values.items()}
    # Looked up on the address as received, before IP privacy truncates what is stored.
    where = geoip.locate(
        ip, header=_country(fields.get(CDN_COUNTRY, "")), param=_country(fields.get("country", ""))
    )
    return values | {"country": where.country, "asn": where.asn, "as_org": _clean("as_org", where.as_org)}


def _link_ids(link: LinkData) -> dict[str, int]:
    return {
        "organization_id": link["organization_id"],
        "integration_id": link["integration_id"],
        "link_id": link["link_id"],
        "partner_id": link["partner_id"],
        "offer_id": link["offer_id"],
    }


def _landing_id(link: LinkData, wanted: str) -> int | None:
    """The `landing_id` the URL asked for when it is one of the offer's, else the link's own."""
    return int(wanted) if wanted in link["landings"] else link["landing_id"]


def source_of(link: LinkData, fields: Mapping[str, str]) -> str:
    """The partner's source of a click or impression: its sub1, else the link's default sub1."""
    return _clean("sub1", fields.get("sub1") or link["subs"]["sub1"])


def source_refusal(link: LinkData, fields: Mapping[str, str]) -> str | None:
    """Why the integration's source lists keep this traffic out, or None (no query: cached)."""
    return screening.source_refusal(link["screening"], source_of(link, fields))


def click_draft(
    *,
    link: LinkData,
    fields: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
    click_id: str | None = None,
    smart_link_id: int | None = None,
    route: str | None = None,
) -> Click:
    """The click as it would be recorded, not saved: recorded, screened or only redirected.

    Its routing is decided here (`leads.routing`: targeting, caps, the fallback), so every
    path that records or only redirects a click sends it to the same place. `click_id` and
    `route` are given only when a visit we failed to record is recorded later: its redirect
    already carried that id and went where that redirect reason sent it.
    """
    click = Click(
        **({"click_id": click_id} if click_id else {}),
        **_link_ids(link),
        **_device_values(link, fields),
        landing_id=_landing_id(link, fields.get("landing_id", "")),
        partner_click_id=_clean("partner_click_id", fields.get("partner_click_id", "")),
        ref_id=_clean("ref_id", fields.get("ref_id", "")),
        creative_id=_clean("creative_id", fields.get("creative_id", "")),
        params=extra_params(params or {}, link["ip_privacy"]),
        smart_link_id=smart_link_id,
        created_at=created_at or timezone.now(),
    )
    routing.reroute(link, click, routing.redirect_reason(link, click) if route is None else route)
    return click


def _click_facts(click: Click) -> screening.Facts:
    return screening.Facts(
        ip=click.ip,
        user_agent=click.user_agent,
        device_id=click.idfa or click.gaid or click.android_id or click.device_id,
        country=click.country,
        asn=click.asn,
        as_org=click.as_org,
        offer_id=click.offer_id,
    )


def click_record(
    *,
    link: LinkData,
    fields: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
    click_id: str | None = None,
    smart_link_id: int | None = None,
    route: str | None = None,
    unfilled: Sequence[str] = (),
) -> Click:
    """Screen and record one click with a single INSERT: the link and its rules come from the cache.

    `unfilled` names the URL's parameters that were still `{macros}`: such a click is kept as a
    test (verdict `test`), passes no screening rule (it counts toward none) and no report counts it.
    """
    click = click_draft(
        link=link,
        fields=fields,
        params=params,
        created_at=created_at,
        click_id=click_id,
        smart_link_id=smart_link_id,
        route=route,
    )
    verdict = screening.screen_unfilled(unfilled) or screening.screen_click(
        link["screening"], _click_facts(click)
    )
    if verdict is not None:
        for name, value in verdict.fields().items():
            setattr(click, name, value)
    insert_click(click)
    return click


def impression_record(
    *,
    link: LinkData,
    fields: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
) -> Impression:
    """Record one impression with a single INSERT."""
    # An impression has no columns for these; they are kept with the other parameters.
    kept = {name: fields[name] for name in ("ref_id", "creative_id", "landing_id") if fields.get(name)}
    impression = Impression(
        **_link_ids(link),
        **_device_values(link, fields),
        partner_click_id=_clean("partner_click_id", fields.get("partner_click_id", "")),
        params=extra_params({**kept, **(params or {})}, link["ip_privacy"]),
        created_at=created_at or timezone.now(),
    )
    insert_impression(impression)
    return impression


# -- the landing ------------------------------------------------------------------------------


def click_macros(link: LinkData, click: Click) -> dict[str, object]:
    """Our macro values for a click: the configuration's, then the click's own."""
    best_device_id = click.idfa or click.gaid or click.android_id or click.device_id
    ip = click.ip if link["ip_privacy"] == IpPrivacy.OFF else truncate_ip(click.ip)
    return {
        **link["macros"],
        **{name: getattr(click, name) for name in (*SUBS, "idfa", "gaid", "android_id")},
        "click_id": click.click_id,
        "partner_click_id": click.partner_click_id,
        "ref_id": click.ref_id,
        "landing_id": click.landing_id,
        "creative_id": click.creative_id,
        "click_time": click.created_at,
        "timestamp": int(click.created_at.timestamp()),
        "device_id": best_device_id,
        "os": click.os,
        "device_type": click.device_type,
        "ip": ip,
        "user_agent": click.user_agent,
        "country": click.country,
        "language": click.language,
    }


def landing_url(link: LinkData, click: Click) -> str | None:
    """Where the click goes, with our macros filled: its landing (else the app's default URL),
    or for a redirected click its offer's fallback; None: the "offer not available" page."""
    if not click.redirect_reason:
        template = link["landings"].get(str(click.landing_id)) or link["default_url"]
        return render(template, click_macros(link, click))
    template, macros = routing.fallback_template(link, click)
    return None if template is None else render(template, {**click_macros(link, click), **macros})


def visitor_facts(fields: Mapping[str, str]) -> tuple[str, str, str]:
    """The visitor's country, device type and OS, as a click from these fields records them."""
    where = geoip.locate(
        fields.get("ip", ""),
        header=_country(fields.get(CDN_COUNTRY, "")),
        param=_country(fields.get("country", "")),
    )
    parsed = parse_user_agent(fields.get("user_agent", ""))
    return where.country, parsed.device_type, parsed.os


def landing_redirect(url: str | None) -> HttpResponse:
    """A 302 to a landing, built by hand: landings may be app deeplinks (myapp://…), which
    HttpResponseRedirect refuses. No URL: the plain "offer not available" page (404)."""
    if url is None:
        response = HttpResponseNotFound(render_to_string("leads/offer_not_available.html"))
    else:
        response = HttpResponse(status=302)
        response["Location"] = url
    response["Cache-Control"] = "no-store"
    return response


# -- the server-to-server API URLs ------------------------------------------------------------

# The seed's example URLs: each parameter with the placeholder a partner replaces.
CLICK_API_PARAMS = (
    ("advertiser", "ADVERTISER"),
    ("publisher", "PUBLISHER"),
    ("offer", "OFFER"),
    ("sub_id", "SUBID"),
    ("click_time", "YYYY-MM-DD hh:mm:ss"),
    ("referer", "REFERER_URL"),
    ("click_ip", "CLICK_IP"),
    ("user_agent", "USER_AGENT"),
    ("device_id", "DEVICE_ID"),
    ("revenue", "REVENUE"),
    ("payout", "PAYOUT"),
)
IMPRESSION_API_PARAMS = (
    ("advertiser", "ADVERTISER"),
    ("publisher", "PUBLISHER"),
    ("sub_id", "SUBID"),
    ("offer", "OFFER"),
    ("impression_time", "YYYY-MM-DD hh:mm:ss"),
    ("site_url", "SITE_URL"),
    ("impression_ip", "IMPRESSION_IP"),
    ("user_agent", "USER_AGENT"),
    ("payout", "PAYOUT"),
    ("revenue", "REVENUE"),
    ("device_id", "DEVICE_ID"),
    ("external_transaction_id", "PUBLISHER_CLICKID"),
)
CONVERSION_API_PARAMS = (
    ("advertiser", "ADVERTISER"),
    ("publisher", "PUBLISHER"),
    ("offer", "OFFER"),
    ("sub_id", "SUBID"),
    ("conversion_time", "YYYY-MM-DD hh:mm:ss"),
    ("conversion_ip", "CONVERSION_IP"),
    ("user_agent", "USER_AGENT"),
    ("referer", "REFERER_URL"),
    ("revenue", "REVENUE"),
    ("payout", "PAYOUT"),
    ("click_time", "YYYY-MM-DD hh:mm:ss"),
    ("external_transaction_id", "PUBLISHER_CLICKID"),
    ("third_party_rejected_reason", "3RD_PARTY_CONVERSION_REJECTED_REASON"),
    ("third_party_status", "3RD_PARTY_CONVERSION_STATUS"),
    ("browser_languages", "BROWSER_LANGUAGES"),
    ("device_id", "DEVICE_ID"),
    ("purchase_value", "PURCHASE_VALUE"),
    ("session_time", "SESSION_TIME_IN_SECONDS"),
)


def _api_url(path: str, token: str, pairs: Iterable[tuple[str, str]], mapping: Mapping[str, Any]) -> str:
    query = [f"token={token}"]
    for name, placeholder in pairs:
        query.append(f"{quote(str(mapping.get(name) or name), safe='_')}={quote(placeholder, safe=':-_')}")
    return f"{settings.PUBLIC_BASE_URL}{path}?{'&'.join(query)}"


def api_urls(integration: Integration, *, reveal: bool = True) -> dict[str, str]:
    """The integration's Click, Impression and Conversion API URLs, ready to copy.

    Parameter names are the seed's unless the integration's inbound mapping renames them;
    clicks and impressions carry the integration's token, conversions the app's. Without
    `reveal` (read-only staff) the tokens are masked (config.masking).
    """
    mapping = integration.inbound_mapping or {}
    shown = (lambda token: quote(token, safe="")) if reveal else mask_secret
    token, app_token = shown(integration.token), shown(integration.app.token)
    return {
        "click": _api_url("/api/v1/clicks", token, [("no_redirect", "true"), *CLICK_API_PARAMS], mapping),
        "impression": _api_url("/api/v1/impressions", token, IMPRESSION_API_PARAMS, mapping),
        "conversion": _api_url("/api/v1/conversions", app_token, CONVERSION_API_PARAMS, mapping),
    }
