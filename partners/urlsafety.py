"""SSRF safety for outbound URLs: postbacks only ever go to the public internet.

A postback URL is typed by a manager, a publisher or a partner, so it must not let them make
our servers call themselves, the office network or the cloud metadata service. `check_url`
refuses such URLs with a sentence the person can act on. It runs when a URL is saved and again
right before each send; the sender also dials through requests-hardened, which re-checks the
address it actually connects to, so a host name that changes its DNS answer in between (DNS
rebinding) cannot slip through.

Saving goes through one rule, `validate_outbound_url` (`validate_outbound` as a Django / DRF
validator): the model fields, the wizard, the admin forms, the management API and the portal's
Postback tab all use it, so a URL refused on one surface is refused on every one. It checks the
macros (`partners.macros`), refuses a macro in the host (a click would choose where we call),
then checks the address.

`OUTBOUND_ALLOW_PRIVATE` (or `allow_private=True`) lifts the address rules for local
development, where receivers run on 127.0.0.1; the form rules (scheme, host, no credentials)
and the refusal of cloud metadata endpoints always apply.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.macros import errors_of, preview

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")

# Every non-public range, named so that the refusal says what the address is.
# Python's `is_global` alone misses some of these on older 3.11 patch releases (gh-113171).
_NAMED_NETWORKS: tuple[tuple[str, Promise], ...] = (
    ("127.0.0.0/8", gettext_lazy("a loopback address (this very server)")),
    ("10.0.0.0/8", gettext_lazy("a private network address")),
    ("172.16.0.0/12", gettext_lazy("a private network address")),
    ("192.168.0.0/16", gettext_lazy("a private network address")),
    ("100.64.0.0/10", gettext_lazy("a carrier-grade NAT (shared network) address")),
    ("169.254.0.0/16", gettext_lazy("a link-local address (where cloud metadata lives)")),
    ("0.0.0.0/8", gettext_lazy("an unspecified (“this host”) address")),
    ("224.0.0.0/4", gettext_lazy("a multicast address")),
    ("240.0.0.0/4", gettext_lazy("a reserved address")),
    ("192.0.0.0/24", gettext_lazy("an IETF protocol address")),
    ("192.0.2.0/24", gettext_lazy("a documentation-only address")),
    ("198.18.0.0/15", gettext_lazy("a benchmarking-only address")),
    ("198.51.100.0/24", gettext_lazy("a documentation-only address")),
    ("203.0.113.0/24", gettext_lazy("a documentation-only address")),
    ("192.88.99.0/24", gettext_lazy("a 6to4 relay address")),
    ("::1/128", gettext_lazy("a loopback address (this very server)")),
    ("::/128", gettext_lazy("an unspecified address")),
    ("::/96", gettext_lazy("an IPv4-compatible address (deprecated)")),
    ("fc00::/7", gettext_lazy("a unique local (private network) address")),
    ("fe80::/10", gettext_lazy("a link-local address")),
    ("fec0::/10", gettext_lazy("a site-local (private network) address")),
    ("ff00::/8", gettext_lazy("a multicast address")),
    ("64:ff9b::/96", gettext_lazy("a NAT64 translation address")),
    ("64:ff9b:1::/48", gettext_lazy("a NAT64 translation address")),
    ("2002::/16", gettext_lazy("a 6to4 translation address")),
    ("2001::/32", gettext_lazy("a Teredo tunnel address")),
    ("2001:db8::/32", gettext_lazy("a documentation-only address")),
    ("100::/64", gettext_lazy("a discard-only address")),
)
_NETWORKS = tuple((ipaddress.ip_network(cidr), name) for cidr, name in _NAMED_NETWORKS)

# Never a postback receiver, and the prize of an SSRF in the cloud: refused even in development.
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

# What C's inet_aton reads as an IPv4 address, which resolvers and browsers accept too:
# 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
_NUMERIC_HOST_RE = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}\.?$", re.IGNORECASE)
_UNSAFE_CHARS_RE = re.compile(r"[\s\x00-\x1f\x7f\\]")
# The authority of a URL as urlsplit reads it: after `scheme://`, up to the first / ? or #.
_AUTHORITY_RE = re.compile(r"^[^:/?#]*:(?://([^/?#]*))?")
# Any braced word, however spelled: `{sub1}`, `{ sub1 }`, `{{sub1}}`.
_MACRO_IN_AUTHORITY_RE = re.compile(r"\{+[^{}]*\}+")


class UnsafeURL(ValueError):
    """An outbound URL we refuse to call; the message says why and what to do instead."""


def private_allowed(allow_private: bool | None = None) -> bool:
    """The explicit choice, else the `OUTBOUND_ALLOW_PRIVATE` setting (off unless set)."""
    if allow_private is not None:
        return allow_private
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE", False))


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise `UnsafeURL` unless `url` is a well-formed http(s) URL to a public address.

    Host names are resolved and every address they resolve to must be public; a name that
    does not resolve passes (its call would fail anyway, and the send re-checks at connect time).
    """
    parts = _split(url)
    host = _host_of(parts)
    if _is_local_name(host):
        if private_allowed(allow_private):
            return
        raise UnsafeURL(
            _(
                "“%(host)s” is this very server: postbacks may only go to public internet addresses. "
                "Use the receiver's public host name (or, for local development only, set "
                "OUTBOUND_ALLOW_PRIVATE=true)."
            )
            % {"host": host}
        )
    literal = _literal_address(host)
    if literal is not None:
        _check_address(literal, host=host, resolved=False, allow_private=private_allowed(allow_private))
    elif not private_allowed(allow_private):
        for address in _resolve(host):
            _check_address(address, host=host, resolved=True, allow_private=False)


def validate_outbound_url(url: str, *, allow_private: bool | None = None) -> list[str]:
    """Every reason `url` (a URL template with `{macros}` or a plain URL) cannot be saved; empty if none.

    Macro mistakes and macros in the host come first; only a template free of both has its
    address checked, with every macro filled with its example value, as it will be sent.
    """
    url = url.strip()
    problems = errors_of(url) + host_macro_errors(url)
    if problems:
        return problems
    try:
        check_url(preview(url), allow_private=allow_private)
    except UnsafeURL as refusal:
        return [str(refusal)]
    return []


def host_macro_errors(url: str) -> list[str]:
    """A refusal when a macro sits in the URL's authority (user, host or port); empty otherwise.

    A macro's value comes from the click, so `https://{sub1}/pb` would let whoever makes the
    click choose the server we call, whatever its example value says. In the path and the
    query a macro's value is URL-encoded and cannot move the call elsewhere.
    """
    found = _AUTHORITY_RE.match(url)
    macros = _MACRO_IN_AUTHORITY_RE.findall(found.group(1) or "") if found else []
    if not macros:
        return []
    named = ", ".join(dict.fromkeys(macros))
    return [
        _(
            "The host of a postback URL must be written out: "
            "a macro in the host (%(macros)s) would let a click choose where we call."
        )
        % {"macros": named}
    ]


def _split(url: str) -> SplitResult:
    if _UNSAFE_CHARS_RE.search(url):
        raise UnsafeURL(_("The URL contains spaces, backslashes or control characters: URL-encode them."))
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise UnsafeURL(
            _("The URL cannot be read (%(error)s): check the brackets around an IPv6 address.")
            % {"error": error}
        ) from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        if not parts.scheme:
            raise UnsafeURL(_("Only http:// and https:// URLs can be called; this one has no scheme."))
        raise UnsafeURL(
            _("Only http:// and https:// URLs can be called; this one has “%(scheme)s://”.")
            % {"scheme": parts.scheme}
        )
    return parts


def _host_of(parts: SplitResult) -> str:
    if "@" in parts.netloc:
        raise UnsafeURL(
            _(
                "The URL has a user name or password before the host (user:pass@host): remove it and "
                "send credentials the way the receiver documents, e.g. as a query parameter."
            )
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL(
            _("The URL has no host name: write it in full, e.g. https://partner.example/postback.")
        )
    try:
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError:
        raise UnsafeURL(_("The URL's port is not a number from 1 to 65535.")) from None
    return host


def _is_local_name(host: str) -> bool:
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP means, in any spelling; None for a host name."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(_("“%(host)s” is not a valid IPv6 address.") % {"host": host}) from None
    if not _NUMERIC_HOST_RE.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        raise UnsafeURL(
            _("“%(host)s” looks like an IP address but is not a valid one.") % {"host": host}
        ) from None


def _resolve(host: str) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise UnsafeURL(_("“%(host)s” is not a valid host name.") % {"host": host}) from None
    except OSError:
        return []
    return [ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers]


def _check_address(address: IPAddress, *, host: str, resolved: bool, allow_private: bool) -> None:
    embedded = getattr(address, "ipv4_mapped", None)
    if embedded is not None:
        address = embedded
    kind = _non_public_kind(address)
    if kind is None or (allow_private and address not in _METADATA_ADDRESSES):
        return
    names = {"host": host, "address": address, "kind": kind}
    if resolved:
        subject = _("“%(host)s” resolves to %(address)s, %(kind)s") % names
    elif host != str(address):
        subject = _("“%(host)s” means %(address)s, %(kind)s") % names
    else:
        subject = f"{address}, {kind}"
    if address in _METADATA_ADDRESSES:
        advice = _(
            "%(subject)s: postbacks may only go to public internet addresses. "
            "Use the receiver's public host name."
        )
    else:
        advice = _(
            "%(subject)s: postbacks may only go to public internet addresses. Use the receiver's public "
            "host name (or, for local development only, set OUTBOUND_ALLOW_PRIVATE=true)."
        )
    raise UnsafeURL(advice % {"subject": subject})


def _non_public_kind(address: IPAddress) -> Promise | str | None:
    """What kind of non-public address this is, or None for a public internet address."""
    for network, name in _NETWORKS:
        if address.version == network.version and address in network:
            return name
    if not address.is_global or address.is_multicast or address.is_reserved:
        return _("a non-public address")
    return None


def validate_outbound(value: str) -> None:
    """The validator of every outbound URL field (models, forms, serializers); blank passes.

    Raises Django's ValidationError, which DRF turns into a field error too.
    """
    problems = validate_outbound_url(value) if value.strip() else []
    if problems:
        raise ValidationError(problems, code="unsafe_url")
