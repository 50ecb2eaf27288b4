"""The visitor's address behind our own proxies (SPEC 4.1 "Where the visitor is").

The socket address (REMOTE_ADDR) is the truth unless proxies of ours stand in front of the app.
Then each proxy appends the address it received from to `X-Forwarded-For`, so the entries to
trust are the rightmost ones: we walk from the right, skip our own proxies (a count,
`TRUSTED_PROXY_COUNT`, or networks, `TRUSTED_PROXIES`) and answer the first hop that is not
ours. The leftmost value is whatever the browser sent and is never believed on its own.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=256)
def networks(cidrs: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    """The networks of these CIDRs or addresses (parsed once per list; a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """One hop as an address, or None when it is not one (a port or brackets are tolerated)."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:443"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def forwarded_ip(remote_addr: str, forwarded_for: str, *, proxy_count: int, proxies: tuple[str, ...]) -> str:
    """The visitor's address from the socket address and the X-Forwarded-For header.

    With neither a proxy count nor proxy networks, the socket address is answered and the header
    ignored (anyone can send it). Malformed hops are dropped before walking.
    """
    if proxy_count <= 0 and not proxies:
        return remote_addr
    proxy_networks = networks(proxies)
    hops = [address for value in forwarded_for.split(",") if (address := _address(value)) is not None]
    socket = _address(remote_addr)
    chain = [*hops, socket] if socket is not None else hops
    if proxy_networks:
        # Our proxies, from the right; the first address outside them is the visitor.
        for address in reversed(chain):
            if not any(address in network for network in proxy_networks):
                return str(address)
        return str(chain[0]) if chain else remote_addr
    # A fixed count of proxies: the socket is the last one, each proxy added one hop.
    if len(hops) >= proxy_count:
        return str(hops[-proxy_count])
    return str(hops[0]) if hops else remote_addr


def is_allowed(address: str | None, cidrs: tuple[str, ...]) -> bool:
    """Whether the address is inside one of the networks (an unreadable or missing address is not)."""
    found = _address(address or "")
    return found is not None and any(found in network for network in networks(cidrs))


def client_ip(request: HttpRequest) -> str:
    """The visitor's address as our settings say to read it; '' when there is none."""
    meta = request.META
    return forwarded_ip(
        meta.get("REMOTE_ADDR", ""),
        meta.get("HTTP_X_FORWARDED_FOR", ""),
        proxy_count=settings.TRUSTED_PROXY_COUNT,
        proxies=tuple(settings.TRUSTED_PROXIES),
    )
