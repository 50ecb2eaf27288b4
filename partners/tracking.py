"""The tracking-URL parameters we understand, and the URLs built from them.

A tracking URL is ours (`/c/<code>` for clicks, `/i/<code>` for impressions); its query
string carries *our* parameter names with the *partner's* macros as values, which the
partner's ad server fills in: `/c/5FAC-D4E8?partner_click_id={clickid}&sub1={site}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.utils.functional import Promise

from config.i18n import admin_text


@dataclass(frozen=True)
class TrackingParam:
    name: str
    meaning: str | Promise
    required: bool = False


TRACKING_PARAMS: tuple[TrackingParam, ...] = (
    TrackingParam(
        "partner_click_id", admin_text("The partner's own click id; posted back as {partner_click_id}."), True
    ),
    TrackingParam("sub1", admin_text("Sub id 1: usually the partner's source, site or publisher id."), True),
    TrackingParam("ref_id", admin_text("The publisher's own click id; posted back to it as {ref_id}.")),
    TrackingParam("sub2", admin_text("Sub id 2: e.g. the partner's campaign.")),
    TrackingParam("sub3", admin_text("Sub id 3: e.g. the ad group.")),
    TrackingParam("sub4", admin_text("Sub id 4: e.g. the ad or creative.")),
    TrackingParam("sub5", admin_text("Sub id 5: free use.")),
    TrackingParam("idfa", admin_text("Apple's advertising id (iOS).")),
    TrackingParam("gaid", admin_text("Google's advertising id (Android).")),
    TrackingParam("android_id", admin_text("The Android device id.")),
    TrackingParam("device_id", admin_text("Any other device id the partner has.")),
    TrackingParam("creative_id", admin_text("The partner's creative id.")),
    TrackingParam("landing_id", admin_text("Our landing id, to pick one of the offer's landings.")),
    TrackingParam("country", admin_text("ISO country code, when the partner knows it better than the IP.")),
    TrackingParam("language", admin_text("The user's language.")),
    TrackingParam("ip", admin_text("The user's IP, when the partner calls server to server.")),
    TrackingParam("user_agent", admin_text("The user's browser, when the partner calls server to server.")),
)
TRACKING_PARAM_NAMES = frozenset(p.name for p in TRACKING_PARAMS)
REQUIRED_TRACKING_PARAMS = tuple(p for p in TRACKING_PARAMS if p.required)

# The wizard's starting rows for a custom partner: the required parameters, with
# placeholders the manager replaces by the partner's own macros.
DEFAULT_PARAMETER_ROWS: tuple[dict, ...] = (
    {"name": "partner_click_id", "placeholder": "{click_id}", "in_click": True, "in_impression": True},
    {"name": "sub1", "placeholder": "{source}", "in_click": True, "in_impression": True},
)

# Placeholders stay readable in a URL to copy: braces, brackets, dollars and
# underscores are the usual macro syntaxes of ad servers.
_PLACEHOLDER_SAFE = "{}[]$_-.~%:"


def build_tracking_url(path: str, parameters: Iterable[tuple[str, str]]) -> str:
    """`PUBLIC_BASE_URL + path` with `name=placeholder` pairs in their given order."""
    pairs = [
        f"{quote(name, safe='_')}={quote(placeholder, safe=_PLACEHOLDER_SAFE)}"
        for name, placeholder in parameters
    ]
    url = f"{settings.PUBLIC_BASE_URL}{path}"
    return f"{url}?{'&'.join(pairs)}" if pairs else url


def click_url(code: str, parameters: Iterable[tuple[str, str]]) -> str:
    return build_tracking_url(f"/c/{code}", parameters)


def smart_link_url(code: str) -> str:
    """A smart link's URL: the publisher adds its own parameters like on any click URL."""
    return build_tracking_url(f"/s/{code}", ())


def impression_url(code: str, parameters: Iterable[tuple[str, str]]) -> str:
    return build_tracking_url(f"/i/{code}", parameters)
