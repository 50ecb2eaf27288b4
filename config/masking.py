"""Which parameter names carry secrets, and how URLs and texts are shown without them.

One list for everything a person reads: attempt and delivery URLs (`mask_url`, in the admin,
the API and the portal), the inbound log (`mask_params`, `mask_text`) and the process logs
(`SecretsFilter` on the console handler: runserver's request lines, urllib3's at DEBUG,
tracebacks). A name is secret when it is one of `SECRET_NAMES` or ends in one of
`SECRET_SUFFIXES`, in any letter case: `token`, `auth_token`, `X-Signature`, `payload_hmac`.

The signature names (`sig`, `signature`, `hash`, `hmac`) match whole or after an underscore
(`signature` after a hyphen too), so that `x_sig` is hidden but `design` or `cashhash` are not;
the other names match any ending (`apikey`, `authtoken`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

MASK = "***"

SECRET_NAMES = frozenset(
    {
        "token",
        "passcode",
        "account_passcode",
        "account_token",
        "secret",
        "password",
        "key",
        "api_key",
        "sig",
        "signature",
        "hash",
        "hmac",
    }
)
SECRET_SUFFIXES = (
    "token",
    "passcode",
    "secret",
    "password",
    "key",
    "_sig",
    "_signature",
    "-signature",
    "_hash",
    "_hmac",
)


def _stem(name: str) -> str:
    return re.split(r"[_-]", name)[-1]


# The last word of every secret name, lower case: a name is looked at in full only where one of
# these is followed by `=` or `:`. Bodies are logged on every request, so a text without any of
# them is let through after plain substring tests, and the pattern runs on a lower-cased copy
# (a case-blind pattern of several words is some ten times slower).
_STEMS = sorted({_stem(name) for name in (*SECRET_NAMES, *SECRET_SUFFIXES)}, key=len, reverse=True)
_STEM_PAIR = re.compile(rf"""({"|".join(_STEMS)})(["']?\s*[=:]\s*["']?)([^&"'\s,}}]+)""")
_STEM_PAIR_ANY_CASE = re.compile(_STEM_PAIR.pattern, re.IGNORECASE)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def is_secret_name(name: str) -> bool:
    """Whether a parameter of this name carries a secret (a token, a passcode, a signature…)."""
    name = name.strip().lower()
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def mask_secret(value: str) -> str:
    """Enough of a secret to recognize it (in the log, on a read-only page), never enough to use it."""
    return f"{value[:4]}…" if len(value) > 4 else "…" if value else ""


def mask_url(url: str) -> str:
    """The URL with secrets replaced by `***`: secret-named query values and any password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if parts.password:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hostport}"
    query = "&".join(_mask_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_pair(pair: str) -> str:
    key, equals, value = pair.partition("=")
    if value and is_secret_name(unquote_plus(key)):
        return f"{key}{equals}{MASK}"
    return pair


def mask_params(params: Mapping[str, str], hide: Callable[[str], str]) -> dict[str, str]:
    """The parameters with each secret-named value replaced by `hide(value)`."""
    return {key: hide(value) if value and is_secret_name(key) else value for key, value in params.items()}


def mask_text(text: str, hide: Callable[[str], str]) -> str:
    """A text (a body we keep as received) with `secret=value` and `"secret": "value"` values hidden."""
    lowered = text.lower()
    if not any(stem in lowered for stem in _STEMS):
        return text
    # Lower-casing keeps every position unless a character grows (e.g. "İ"): then search as typed.
    found_pairs = (
        _STEM_PAIR.finditer(lowered) if len(lowered) == len(text) else _STEM_PAIR_ANY_CASE.finditer(text)
    )
    pieces: list[str] = []
    done = 0
    for found in found_pairs:
        name_start = found.start()
        while name_start and text[name_start - 1] in _NAME_CHARS:
            name_start -= 1
        value_start, value_end = found.span(3)
        value = text[value_start:value_end]
        secret = is_secret_name(text[name_start : found.end(1)])
        # A value that is not a secret may still be a URL that carries one.
        pieces += [text[done:value_start], hide(value) if secret else mask_text(value, hide)]
        done = value_end
    return "".join(pieces) + text[done:] if pieces else text


class SecretsFilter(logging.Filter):
    """Hides secret values in every log line a handler writes: message and traceback alike.

    Django's development server logs each request line with its query string, urllib3 (at DEBUG)
    each URL it calls, and an error's traceback may quote a URL or a body: `token=…`, `sig=…`,
    `"passcode": "…"` become `***` before the line is written anywhere.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, _hide)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, _hide)
        return True


def _hide(value: str) -> str:
    return MASK
