"""Country and network (ASN, AS organization) of an IP address, from an offline database.

SPEC 4.1 "Where the visitor is". MaxMind-format databases (GeoLite2, DB-IP Lite) are read
through `geoip2` when GEOIP_COUNTRY_DB / GEOIP_ASN_DB name files; otherwise the data shipped
inside the `geoip2fast` package answers (country and AS organization, IPv4 and IPv6; its data
carries no AS numbers, so `asn` stays empty there). Readers open once per process, on first
use, and answers are cached per address: a click costs one in-memory lookup, no query.
Private, loopback and malformed addresses answer nothing, never an error.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from django.conf import settings

LOOKUP_CACHE_SIZE = 65536
SHIPPED_DATA = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True)
class Network:
    """What the database knows about an address."""

    country: str = ""
    asn: int | None = None
    as_org: str = ""
    private: bool = False
    database: str = ""


class _MaxMind:
    """GEOIP_COUNTRY_DB / GEOIP_ASN_DB through geoip2's readers (either may be unset)."""

    def __init__(self, country_db: str, asn_db: str) -> None:
        import geoip2.database

        self.country = geoip2.database.Reader(country_db) if country_db else None
        self.asn = geoip2.database.Reader(asn_db) if asn_db else None
        self.name = "mmdb"

    def network(self, ip: str) -> Network:
        import geoip2.errors

        country, asn, org = "", None, ""
        if self.country is not None:
            with contextlib.suppress(geoip2.errors.AddressNotFoundError):
                country = self.country.country(ip).country.iso_code or ""
        if self.asn is not None:
            try:
                answer = self.asn.asn(ip)
                asn, org = answer.autonomous_system_number, answer.autonomous_system_organization or ""
            except geoip2.errors.AddressNotFoundError:
                pass
        return Network(country=country, asn=asn, as_org=org, database=self.name)


class _Shipped:
    """The data file inside the geoip2fast package: nothing to download."""

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        self.reader = GeoIP2Fast(geoip2fast_data_file=SHIPPED_DATA)
        self.name = "geoip2fast"

    def network(self, ip: str) -> Network:
        answer: Any = self.reader.lookup(ip)
        country = getattr(answer, "country_code", "") or ""
        # Its codes for "not found" and "private" are not countries ("--", "-1"...).
        country = country if re.fullmatch(r"[A-Z]{2}", country) else ""
        return Network(country=country, as_org=getattr(answer, "asn_name", "") or "", database=self.name)


@cache
def _reader() -> _MaxMind | _Shipped:
    if settings.GEOIP_COUNTRY_DB or settings.GEOIP_ASN_DB:
        return _MaxMind(settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB)
    return _Shipped()


@lru_cache(maxsize=LOOKUP_CACHE_SIZE)
def lookup(ip: str) -> Network:
    """What the database says of `ip`; an empty answer for a private or malformed address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return Network()
    if not address.is_global:
        return Network(private=True)
    return _reader().network(str(address))


def warm() -> None:
    """Open the database now (gunicorn's post_worker_init) rather than on the first click."""
    _reader()


def database_name() -> str:
    """Which database answers lookups, as the IP lookup page names it (opens it if needed)."""
    reader = _reader()
    if isinstance(reader, _MaxMind):
        return ", ".join(path for path in (settings.GEOIP_COUNTRY_DB, settings.GEOIP_ASN_DB) if path)
    return f"{reader.name} (shipped with the package)"


def reset() -> None:
    """Forget the readers and cached answers (settings changed: tests, a refreshed database)."""
    _reader.cache_clear()
    lookup.cache_clear()


def country_code(value: str) -> str:
    """A sent or CDN-given country as we store it: two letters, upper case, else ''."""
    value = value.strip().upper()
    # "XX" is Cloudflare's "unknown", "T1" its Tor exit: neither is a country.
    return value if re.fullmatch(r"[A-Z]{2}", value) and value not in ("XX", "T1") else ""


@dataclass(frozen=True)
class Location:
    """A visit's country and network, and which source named the country."""

    country: str
    asn: int | None
    as_org: str
    country_source: str


def locate(ip: str, *, header: str = "", param: str = "") -> Location:
    """The country by GEOIP_COUNTRY_SOURCES' precedence; ASN and organization from the lookup.

    `header` and `param` are already cleaned country codes ('' when absent or not a country).
    """
    network = lookup(ip) if ip else Network()
    given = {"header": header, "param": param, "lookup": network.country}
    for source in settings.GEOIP_COUNTRY_SOURCES:
        if given.get(source):
            return Location(given[source], network.asn, network.as_org, source)
    return Location("", network.asn, network.as_org, "")
