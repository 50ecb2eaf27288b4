"""IP privacy: the one place that decides how a user's IP is stored and how it is shown.

An integration's `ip_privacy` is one of:

- `off`: the full IP is stored and shown;
- `reports`: the full IP is stored (the screening filters key on it) but every page, API
  answer, report and export shows it obfuscated (`display_ip`);
- `at_rest`: the full IP is never stored. What is stored is the IP **truncated** to its
  network: IPv4 /24 (`203.0.113.57` → `203.0.113.0`), IPv6 /48 (`2001:db8:1:2::9` →
  `2001:db8:1::`). It is shown obfuscated like `reports`.

Truncation rather than a keyed hash: an HMAC of an IPv4 address is reversible by anyone
holding the key (2³² guesses), while a truncated address cannot be reversed by anyone; it
still tells a person which network traffic came from, and the per-IP screening filters,
which key on the stored value, then count per /24 (/48) network — stricter on carrier
NAT, which thresholds should allow for.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Value, When

from partners.models import Integration

OFF = "off"
REPORTS = "reports"
AT_REST = "at_rest"

# Parameter names whose values are a user's IP, in every endpoint's vocabulary.
IP_PARAM_NAMES = frozenset({"ip", "click_ip", "conversion_ip", "impression_ip", "user_ip", "client_ip"})


def truncate_ip(ip: str) -> str:
    """The IP with its host part zeroed (IPv4 /24, IPv6 /48); "" for what is no IP."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def stored_ip(ip: str, privacy: str) -> str:
    """What is written to the database for this IP under the integration's privacy setting."""
    return truncate_ip(ip) if privacy == AT_REST and ip else ip


def display_ip(ip: str | None, privacy: str) -> str:
    """The IP as a person may see it: pages, API answers, reports and exports.

    With privacy on, IPv4 shows its /24 as `203.0.113.xxx` and IPv6 its /48 as
    `2001:db8:1::/48`; a value that is no IP shows as "" rather than risk leaking it.
    """
    if not ip or privacy == OFF:
        return ip or ""
    network = truncate_ip(ip)
    if not network:
        return ""
    if ":" in network:
        return f"{network}/48"
    return network.rsplit(".", 1)[0] + ".xxx"


class _Logged(Protocol):
    params: dict[str, str]
    body: str


LoggedT = TypeVar("LoggedT", bound=_Logged)
T = TypeVar("T")


def _is_ip_param(name: str) -> bool:
    return name.lower() in IP_PARAM_NAMES


def carries_ip(params: Mapping[str, Any]) -> bool:
    """Whether any parameter is named like a user's IP (only those need the privacy looked up)."""
    return any(_is_ip_param(key) for key in params)


def stored_params(params: Mapping[str, Any], privacy: str) -> dict[str, Any]:
    """Parameters as stored: under `at_rest` every IP-named value is truncated."""
    if privacy != AT_REST:
        return dict(params)
    return {
        key: stored_ip(value, privacy) if _is_ip_param(key) and isinstance(value, str) else value
        for key, value in params.items()
    }


def display_params(params: Mapping[str, Any] | None, privacy: str) -> dict[str, Any]:
    """Parameters (or screening details) as shown: every IP-named value obfuscated."""
    if not params:
        return {}
    if privacy == OFF:
        return dict(params)
    return {
        key: display_ip(value, privacy) if _is_ip_param(key) and isinstance(value, str) else value
        for key, value in params.items()
    }


def scrub_text(text: str, params: Mapping[str, Any], privacy: str) -> str:
    """A raw request body with the IPs its parameters carry replaced by their stored form."""
    if privacy != AT_REST or not text:
        return text
    for key, value in params.items():
        if _is_ip_param(key) and isinstance(value, str) and value.strip():
            text = text.replace(value, stored_ip(value, privacy))
    return text


def display_text(text: str, params: Mapping[str, Any], privacy: str) -> str:
    """A raw request body as shown: the IPs its parameters carry obfuscated like display_ip."""
    if privacy == OFF or not text:
        return text
    for key, value in params.items():
        if _is_ip_param(key) and isinstance(value, str) and value.strip():
            text = text.replace(value, display_ip(value, privacy))
    return text


# How strict each setting is: where several integrations may apply, the strictest wins.
_STRICTNESS = {OFF: 0, REPORTS: 1, AT_REST: 2}

# The annotation `with_inbound_privacy` puts on each inbound row: its app's strictest privacy.
APP_PRIVACY_ANNOTATION = "app_ip_privacy"


def strictest(privacies: Iterable[str]) -> str:
    """The strictest of these settings (at_rest > reports > off); off when there is none.

    A value this module does not know counts as the strictest: showing too little is safe.
    """
    return max(privacies, key=lambda privacy: _STRICTNESS.get(privacy, len(_STRICTNESS)), default=OFF)


def app_privacy(app_id: int | None) -> str:
    """The strictest IP privacy among an app's integrations: for requests tied to no integration."""
    if app_id is None:
        return OFF
    return strictest(
        Integration.objects.filter(app_id=app_id).values_list("ip_privacy", flat=True).distinct()
    )


def with_inbound_privacy(queryset: QuerySet[T]) -> QuerySet[T]:
    """Inbound log rows that `inbound_privacy` answers without a query of its own.

    The integration and the lead's integration come along (select_related); the app's
    strictest privacy is computed by the same SQL statement (`APP_PRIVACY_ANNOTATION`), so a
    list costs the same number of queries however many rows it shows, and nothing is cached
    that a change of privacy would have to invalidate.
    """

    def any_integration(privacy: str) -> Exists:
        return Exists(Integration.objects.filter(app_id=OuterRef("app_id"), ip_privacy=privacy))

    app_strictest = Case(
        When(any_integration(AT_REST), then=Value(AT_REST)),
        When(any_integration(REPORTS), then=Value(REPORTS)),
        default=Value(OFF),
        output_field=CharField(),
    )
    return queryset.select_related("integration", "lead__integration").annotate(
        **{APP_PRIVACY_ANNOTATION: app_strictest}
    )


def inbound_privacy(inbound: Any) -> str:
    """The IP privacy that applies to a logged request (ingest.models.InboundPostback).

    Its integration's when the request named one; else its lead's integration's (a conversion
    or a lead postback sent with the app token); else the strictest among its app's
    integrations, so that a request tied to neither (a rejected one) shows no full IP when any
    integration of the app hides them. Rows from `with_inbound_privacy` need no query here.
    """
    if inbound.integration_id:
        return inbound.integration.ip_privacy
    if inbound.lead_id:
        return inbound.lead.integration.ip_privacy
    annotated = getattr(inbound, APP_PRIVACY_ANNOTATION, None)
    return annotated if annotated is not None else app_privacy(inbound.app_id)


def stored_arrival(arrival: LoggedT, privacy: str) -> LoggedT:
    """An inbound request (ingest.log.Arrival) as the inbound log may keep it."""
    if privacy != AT_REST:
        return arrival
    return dataclasses.replace(  # type: ignore[type-var]
        arrival,
        params=stored_params(arrival.params, privacy),
        body=scrub_text(arrival.body, arrival.params, privacy),
    )
