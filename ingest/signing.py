"""Signed inbound requests and source-IP allow lists (SPEC 4, "Signed postbacks").

An app or an integration (`partners.models.InboundCredentials`) may require its requests to
be signed, and may name the source addresses it takes requests from. A signed request carries
two more parameters:

- `ts`: the time of signing, in epoch seconds (an integer);
- `sig`: the hex HMAC-SHA256, with the owner's signing secret (as shown, UTF-8) as the key, of
  the *canonical string* of the request's parameters.

The canonical string: every parameter the endpoint reads (query string and form or JSON body
together, as one name → value map; `ts` included, `sig` left out), sorted by name (code-point
order, as Python's `sorted` and `LC_ALL=C sort`), each written `name=value` with name and value
percent-encoded as RFC 3986 says (UTF-8; every byte but the unreserved `A-Z a-z 0-9 - . _ ~`
becomes `%XX` in upper case, a space is `%20`), joined by `&`. `token=abc&click=x y&ts=1700000000`
signs `click=x%20y&token=abc&ts=1700000000`.

Refused with 401: `ts` or `sig` missing, `ts` more than `SIGNED_REQUEST_TOLERANCE_SECONDS`
(300) away from our clock, a wrong `sig`, and a signature already received (a replay: the
`SignatureUse` row of (owner, sig) exists; the database decides, Redis plays no part). A
source address outside the allow list is refused with 403. Replays of logged requests by staff
(`ingest.services`) are not checked again: they are ours, not the sender's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from config.inserts import RowInsert
from ingest import clientip
from ingest.models import SignatureUse
from partners.models import InboundCredentials, allow_list_lines

SIG = "sig"
TS = "ts"
# A replayed request must find the row of its first arrival: rows are kept this much past the
# tolerance (clock differences between our processes), then pruned.
PRUNE_MARGIN_SECONDS = 60
insert_signature = RowInsert(SignatureUse, ignore_conflicts=True)


@dataclass(frozen=True)
class InboundRefusal:
    """Why a request with a good token is refused: the status and a sentence the sender can act on."""

    status: int
    message: str


def _encoded(text: str) -> str:
    return quote(text, safe="-._~")


def canonical_string(params: Mapping[str, str]) -> str:
    """What `sig` signs: the parameters but `sig`, sorted by name, as RFC 3986 `name=value` pairs."""
    return "&".join(f"{_encoded(name)}={_encoded(params[name])}" for name in sorted(params) if name != SIG)


def signature(secret: str, params: Mapping[str, str]) -> str:
    """The hex HMAC-SHA256 of the parameters' canonical string with the secret."""
    return hmac.new(secret.encode(), canonical_string(params).encode(), hashlib.sha256).hexdigest()


def owner_key(owner: InboundCredentials) -> str:
    """Whose secret a signature is made with, as `SignatureUse.owner` names it."""
    return f"{owner._meta.model_name}:{owner.pk}"


def inbound_refusal(
    owner: InboundCredentials, *, params: Mapping[str, str], source_ip: str | None
) -> InboundRefusal | None:
    """Why the owner refuses this request (allow list, then signature), or None: it may go on.

    An owner with neither an allow list nor required signing is answered without a query.
    """
    if owner.allowed_ips and not clientip.is_allowed(source_ip, tuple(allow_list_lines(owner.allowed_ips))):
        noun = owner._meta.verbose_name
        return InboundRefusal(
            403,
            f"Source IP {source_ip or 'unknown'} is not on this {noun}'s allow list: send from an "
            f"allowed address, or ask the {noun}'s manager to add this one.",
        )
    if owner.signing_required:
        return _signature_refusal(owner, params, str(owner._meta.verbose_name))
    return None


def _signature_refusal(
    owner: InboundCredentials, params: Mapping[str, str], noun: str
) -> InboundRefusal | None:
    ts, sig = params.get(TS, "").strip(), params.get(SIG, "").strip().lower()
    if not ts or not sig:
        missing = " and ".join(name for name, value in ((TS, ts), (SIG, sig)) if not value)
        return InboundRefusal(
            401,
            f"This {noun} takes signed requests only: add {missing} (ts = epoch seconds, sig = hex "
            "HMAC-SHA256 of the parameters sorted by name, without sig; see the postback reference page).",
        )
    if not ts.isdigit():
        return InboundRefusal(401, f"ts must be the time of signing in epoch seconds (digits), not “{ts}”.")
    now = timezone.now()
    tolerance = settings.SIGNED_REQUEST_TOLERANCE_SECONDS
    skew = abs(now.timestamp() - int(ts))
    if skew > tolerance:
        return InboundRefusal(
            401,
            f"The signature has expired: ts is {int(skew)} s away from our clock (at most {tolerance} s "
            "allowed). Sign each request when sending it, with the current time.",
        )
    secret = owner.inbound_secret
    if not secret or not hmac.compare_digest(sig, signature(secret, params)):
        return InboundRefusal(
            401,
            f"The signature is wrong: sig must be the hex HMAC-SHA256, with this {noun}'s signing secret, "
            "of the parameters (ts included, sig left out) sorted by name and written name=value with "
            "RFC 3986 percent-encoding, joined by &.",
        )
    use = SignatureUse(owner=owner_key(owner), sig=sig, signed_at=datetime.fromtimestamp(int(ts), tz=UTC))
    if not insert_signature(use):
        return InboundRefusal(
            401, "This signed request was received already (same ts and sig): sign each request anew."
        )
    return None


def signature_uses_prune(*, now: datetime | None = None) -> int:
    """Forget signatures too old to be accepted again (their ts is outside the tolerance); how many."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.SIGNED_REQUEST_TOLERANCE_SECONDS + PRUNE_MARGIN_SECONDS)
    deleted, _ = SignatureUse.objects.filter(signed_at__lt=horizon).delete()
    return deleted


SECRET_PLACEHOLDER = "YOUR_SIGNING_SECRET"

_PYTHON_EXAMPLE = """import hashlib
import hmac
import time
from urllib.parse import quote

SECRET = {secret!r}
params = {params!r}
params["ts"] = str(int(time.time()))


def encode(text):
    return quote(text, safe="-._~")


canonical = "&".join(f"{{encode(name)}}={{encode(params[name])}}" for name in sorted(params))
params["sig"] = hmac.new(SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest()
url = {endpoint!r} + "?" + "&".join(f"{{encode(name)}}={{encode(value)}}" for name, value in params.items())
print(url)
"""

_SHELL_EXAMPLE = """SECRET='{secret}'
TS=$(date +%s)
# The parameters sorted by name, ts included, values percent-encoded (RFC 3986):
QUERY="{query}"
SIG=$(printf '%s' "$QUERY" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
curl "{endpoint}?$QUERY&sig=$SIG"
"""


def signing_examples(*, endpoint: str, params: Mapping[str, str], secret: str) -> dict[str, str]:
    """A shell (openssl) and a Python example that sign `params` for `endpoint` now, as printed.

    Both compute `ts` when run and build the canonical string as `canonical_string` does.
    """
    names = sorted([*params, TS])
    query = "&".join(f"{_encoded(name)}={'$TS' if name == TS else _encoded(params[name])}" for name in names)
    return {
        "shell": _SHELL_EXAMPLE.format(secret=secret, query=query, endpoint=endpoint),
        "python": _PYTHON_EXAMPLE.format(secret=secret, params=dict(params), endpoint=endpoint),
    }
