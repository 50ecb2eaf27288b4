"""What counts as personal data in a row, how to find a person's rows, and what replaces the data.

- **anonymize** keeps what is not identifying: an IP becomes its /24 (/48) network as
  `leads.privacy.truncate_ip` stores it under "store only the truncated IP", a user agent its
  browser and OS families ("Chrome on Android"), a referer its host; device ids are removed.
- **erase** blanks all of them.

Report dimensions (country, network, device type, OS, browser, sub ids) are not personal and
stay, so rows keep counting where they counted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import user_agents
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from leads.privacy import IP_PARAM_NAMES, display_ip, truncate_ip

ANONYMIZE = "anonymize"
ERASE = "erase"

DEVICE_FIELDS = ("device_id", "idfa", "gaid", "android_id")
# Parameter names whose values identify a device or a person's browser, in every endpoint's vocabulary.
DEVICE_PARAM_NAMES = frozenset(
    {*DEVICE_FIELDS, "ct_id", "device_identifier", "adid", "aaid", "idfv", "advertising_id"}
)
USER_AGENT_PARAM_NAMES = frozenset({"user_agent", "ua", "useragent"})
PERSONAL_PARAM_NAMES = IP_PARAM_NAMES | DEVICE_PARAM_NAMES | USER_AGENT_PARAM_NAMES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def reduce_user_agent(agent: str) -> str:
    """A user agent reduced to its browser and OS families, no versions: "Chrome on Android"."""
    if not agent:
        return ""
    parsed = user_agents.parse(agent[:512])
    parts = [f for f in (parsed.browser.family, parsed.os.family) if f and f != "Other"]
    return " on ".join(parts)


def anonymized_referer(referer: str) -> str:
    """Only the referring site: its path and query may name the person."""
    try:
        parts = urlsplit(referer)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname}/" if parts.scheme and parts.hostname else ""


def replace_ip(ip: str | None, action: str) -> str:
    return truncate_ip(ip) if ip and action == ANONYMIZE else ""


def replace_user_agent(agent: str, action: str) -> str:
    return reduce_user_agent(agent) if action == ANONYMIZE else ""


def _param_replacement(name: str, value: Any, action: str) -> Any:
    """The stored value of one personal parameter; None removes it."""
    if action == ERASE or not isinstance(value, str) or name in DEVICE_PARAM_NAMES:
        return None
    if name in IP_PARAM_NAMES:
        return truncate_ip(value)
    return reduce_user_agent(value)


def scrub_params(params: Mapping[str, Any] | None, action: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Parameters without their personal values, and which raw strings became what (for bodies and URLs)."""
    kept: dict[str, Any] = {}
    replaced: dict[str, str] = {}
    for key, value in (params or {}).items():
        if key.lower() not in PERSONAL_PARAM_NAMES:
            kept[key] = value
            continue
        replacement = _param_replacement(key.lower(), value, action)
        if replacement is not None:
            kept[key] = replacement
        if isinstance(value, str) and value.strip():
            replaced[value] = replacement or ""
    return kept, replaced


def scrub_text(text: str, replaced: Mapping[str, str]) -> str:
    """A raw body or URL with each personal value (plain or URL-encoded) replaced."""
    for value, replacement in sorted(replaced.items(), key=lambda item: -len(item[0])):
        if value:
            text = text.replace(value, replacement).replace(
                quote(value, safe=""), quote(replacement, safe="")
            )
    return text


def _network_prefix(network: Network) -> str:
    """The text every address of the network starts with (whole IPv4 octets; IPv6 is not narrowed)."""
    if network.version == 6:
        return ""
    octets = str(network.network_address).split(".")
    return ".".join(octets[: network.prefixlen // 8]) + "." if network.prefixlen >= 8 else ""


@dataclasses.dataclass(frozen=True)
class Criterion:
    """Whose data: a device id, an IP or network, or a publisher (partner) of one organization."""

    kind: str
    value: str = ""
    network: Network | None = None
    partner_id: int | None = None

    @property
    def masked(self) -> str:
        """What the operation's record keeps instead of the identifier itself."""
        if self.kind == "device_id":
            return "sha256:" + hashlib.sha256(self.value.lower().encode()).hexdigest()[:16]
        if self.kind == "ip" and self.network is not None:
            if self.network.num_addresses == 1:
                return display_ip(str(self.network.network_address), "reports")
            return f"{display_ip(str(self.network.network_address), 'reports')}/{self.network.prefixlen}"
        return f"partner #{self.partner_id}"

    # --- SQL: a superset of the rows, narrowed in Python by `matches` ---------------------------

    def _ip_q(self, field: str) -> Q:
        assert self.network is not None
        if self.network.num_addresses == 1:
            return Q(**{field: str(self.network.network_address)})
        prefix = _network_prefix(self.network)
        return Q(**{f"{field}__startswith": prefix}) if prefix else Q(**{f"{field}__contains": ":"})

    def _params_q(self, names: Iterable[str]) -> Q:
        q = Q()
        for name in sorted(names):
            if self.kind == "device_id":
                q |= Q(**{f"params__{name}__iexact": self.value})
            else:
                q |= self._ip_q(f"params__{name}")
        return q

    def traffic_q(self) -> Q:
        """Clicks and impressions that may be this person's."""
        if self.kind == "publisher":
            return Q(partner_id=self.partner_id)
        if self.kind == "device_id":
            q = Q()
            for field in DEVICE_FIELDS:
                q |= Q(**{f"{field}__iexact": self.value})
            return q
        return self._ip_q("ip")

    def lead_q(self) -> Q:
        """Leads that may be this person's: through their click or their own parameters."""
        if self.kind == "publisher":
            return Q(partner_id=self.partner_id)
        names = DEVICE_PARAM_NAMES if self.kind == "device_id" else IP_PARAM_NAMES
        q = _prefixed(self.traffic_q(), "click__") | self._params_q(names)
        # The lead's copy of its click outlives the click's row; IPs in it go with the IP retention.
        return (q | _prefixed(self.traffic_q(), "click_facts__")) if self.kind == "device_id" else q

    def inbound_q(self) -> Q:
        if self.kind == "publisher":
            return Q(integration__partner_id=self.partner_id) | Q(lead__partner_id=self.partner_id)
        names = DEVICE_PARAM_NAMES if self.kind == "device_id" else IP_PARAM_NAMES
        q = self._params_q(names) | _prefixed(self.lead_q(), "lead__")
        return q | self._ip_q("source_ip") if self.kind == "ip" else q

    # --- Python: the exact test ---------------------------------------------------------------

    def matches_value(self, value: Any) -> bool:
        if not isinstance(value, str) or not value:
            return False
        if self.kind == "device_id":
            return value.strip().lower() == self.value.lower()
        try:
            return self.network is not None and ipaddress.ip_address(value.strip()) in self.network
        except ValueError:
            return False

    def matches_traffic(self, row: Any) -> bool:
        if self.kind == "publisher":
            return row.partner_id == self.partner_id
        if self.kind == "device_id":
            return any(self.matches_value(getattr(row, field)) for field in DEVICE_FIELDS)
        return self.matches_value(row.ip)

    def matches_params(self, params: Mapping[str, Any] | None) -> bool:
        names = DEVICE_PARAM_NAMES if self.kind == "device_id" else IP_PARAM_NAMES
        return any(
            key.lower() in names and self.matches_value(value) for key, value in (params or {}).items()
        )

    def matches_lead(self, lead: Any) -> bool:
        if self.kind == "publisher":
            return lead.partner_id == self.partner_id
        matched = any(self.matches_traffic(click) for click in lead_clicks(lead))
        return matched or self.matches_params(lead.params)

    def matches_inbound(self, row: Any) -> bool:
        if self.kind == "publisher":
            return (row.integration_id and row.integration.partner_id == self.partner_id) or (
                row.lead_id is not None and row.lead.partner_id == self.partner_id
            )
        if self.kind == "ip" and self.matches_value(row.source_ip):
            return True
        return self.matches_params(row.params) or (row.lead_id is not None and self.matches_lead(row.lead))


def lead_clicks(lead: Any) -> list[Any]:
    """The lead's click as its row says (while there is one) and as the lead's copy says."""
    try:
        row = lead.click
    except ObjectDoesNotExist:  # dropped with its partition (retention)
        row = None
    return [click for click in (row, lead.click_seen) if click is not None]


def _prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related model (`click__`, `lead__`)."""
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    copy.children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        for child in q.children
    ]
    return copy


def criterion_parse(*, kind: str, value: str, partner_ids: Iterable[int] = ()) -> Criterion:
    """The criterion a person typed, checked; ValidationError with what to type instead."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Type the device id, IP address (or network) or publisher to look for."))
    if kind == "device_id":
        if len(value) < 6:
            raise ValidationError(
                _("A device id is at least 6 characters (a GAID, IDFA, Android id or our device id).")
            )
        return Criterion(kind=kind, value=value)
    if kind == "ip":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError as error:
            raise ValidationError(
                _(
                    "“%(value)s” is no IP address or network: type one address (203.0.113.7, 2001:db8::1) "
                    "or a network in CIDR form (203.0.113.0/24)."
                )
                % {"value": value}
            ) from error
        if network.prefixlen < (16 if network.version == 4 else 32):
            raise ValidationError(
                _("That network is too wide: at most a /16 (IPv4) or a /32 (IPv6) at once.")
            )
        return Criterion(kind=kind, network=network)
    if kind == "publisher":
        try:
            partner_id = int(value)
        except ValueError as error:
            raise ValidationError(
                _("“%(value)s” is no publisher id: choose the publisher by its id.") % {"value": value}
            ) from error
        if partner_id not in set(partner_ids):
            raise ValidationError(_("Your organization has no publisher #%(id)d.") % {"id": partner_id})
        return Criterion(kind=kind, partner_id=partner_id)
    raise ValidationError(_("“%(kind)s” is not a kind: use device_id, ip or publisher.") % {"kind": kind})
