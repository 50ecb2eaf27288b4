"""CleverTap as an attribution destination: the rules of CleverTap's generic attribution API.

CleverTap takes one GET per event (no batching) at `https://{region host}/attribution` with the
project's credentials in the query. Installs (inorganic, organic) need at least one utm value;
every event needs the device identifier (the CleverTap ID the app's SDK reports), without which
CleverTap drops it, so such an event is never sent and is marked why (`NotSendable`). Answers:
200 done; 400, 401 and 403 final (`{"status": "fail", "error": …}` says why); 5xx and timeouts
retried with exponential backoff; CleverTap times out after 60 seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from config.i18n import admin_text
from postbacks.outbound import POLICIES, AttemptResult, Outcome, RetryPolicy, send

POLICY: RetryPolicy = POLICIES["clevertap"]


@dataclass(frozen=True)
class Region:
    """A CleverTap data center: the code we store, the label a manager picks, the API host."""

    code: str
    label: Promise
    host: str


REGIONS: dict[str, Region] = {
    region.code: region
    for region in (
        Region("EU", admin_text("EU (Europe)"), "api.clevertap.com"),
        Region("IN", admin_text("IN (India)"), "in1.api.clevertap.com"),
        Region("US", admin_text("US (U.S.A)"), "us1.api.clevertap.com"),
        Region("SG", admin_text("SG (Singapore)"), "sg1.api.clevertap.com"),
        Region("SK", admin_text("SK (South Korea)"), "sk1.api.clevertap.com"),
        Region("ID", admin_text("Indonesia"), "aps3.api.clevertap.com"),
        Region("AE", admin_text("Middle East (UAE)"), "mec1.api.clevertap.com"),
    )
}
DEFAULT_REGION = "EU"
REGION_CHOICES: list[tuple[str, Promise]] = [(region.code, region.label) for region in REGIONS.values()]

CREDENTIAL_RE = re.compile(r"^[A-Za-z0-9_-]+$")

# The names of the query parameters CleverTap defines; extra parameters may not reuse them.
STANDARD_PARAMETERS = (
    "partner_name",
    "event_type",
    "timestamp",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device_identifier",
    "account_id",
    "account_token",
    "account_passcode",
    "platform",
)


class EventType(StrEnum):
    """The kinds of attribution event; a custom event is sent under its own name."""

    INORGANIC_INSTALL = "inorganic_install"
    ORGANIC_INSTALL = "organic_install"
    CUSTOM = "custom"


INSTALL_EVENTS = frozenset({EventType.INORGANIC_INSTALL, EventType.ORGANIC_INSTALL})


class NotSendable(ValueError):
    """An event CleverTap would not process, so it is not sent; the message says why."""


def clean_credential(value: str, field: str) -> str:
    """A CleverTap project id, token or passcode, trimmed of spaces, or a `ValidationError`.

    CleverTap has no API to validate credentials, so its guide asks to trim them and to accept
    only letters and digits; its own examples (`W6W-797-865Z`, `aca-060`) also carry `-`, and `_`
    is allowed alike. `field` is the name shown to the person, e.g. "Project ID".
    """
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationError(_("Enter the CleverTap %(field)s.") % {"field": field}, code="required")
    if not CREDENTIAL_RE.match(cleaned):
        raise ValidationError(
            _(
                "The CleverTap %(field)s may contain only letters, digits, “-” and “_”: copy it again "
                "from Settings > Project on the CleverTap dashboard."
            )
            % {"field": field},
            code="invalid",
        )
    return cleaned


def endpoint(region: str) -> str:
    """The attribution endpoint of a region; `CLEVERTAP_BASE_URL` replaces scheme and host."""
    if region not in REGIONS:
        raise NotSendable(
            _("Unknown CleverTap region “%(region)s”: choose one of %(regions)s.")
            % {"region": region, "regions": ", ".join(REGIONS)}
        )
    base = getattr(settings, "CLEVERTAP_BASE_URL", "") or f"https://{REGIONS[region].host}"
    return f"{base.rstrip('/')}/attribution"


def build_attribution_url(
    *,
    region: str,
    partner_name: str,
    event_type: EventType | str,
    custom_event_name: str | None = None,
    timestamp: int | datetime | None,
    device_identifier: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    account_id: str,
    account_token: str,
    account_passcode: str,
    platform: str,
    extra: Mapping[str, object] | None = None,
) -> str:
    """The GET URL that reports one event to CleverTap, or `NotSendable` with the reason.

    Parameters come in the order of CleverTap's guide; empty utm values and a missing timestamp
    (CleverTap then uses the time it processes the event) are left out; `extra` parameters are
    passed through after them. `custom_event_name` is used for custom events only.
    """
    event = EventType(event_type)
    utm = {"utm_source": utm_source, "utm_medium": utm_medium, "utm_campaign": utm_campaign}
    utm = {key: value.strip() for key, value in utm.items() if value and value.strip()}
    params = {
        "partner_name": _required(partner_name, _("the partner name (as whitelisted by CleverTap)")),
        "event_type": _event_name(event, custom_event_name),
        **({"timestamp": str(_epoch(timestamp))} if timestamp is not None else {}),
        **_utm_params(event, utm),
        "device_identifier": _device_identifier(device_identifier),
        "account_id": _credential(account_id, _("Project ID")),
        "account_token": _credential(account_token, _("Project Token")),
        "account_passcode": _credential(account_passcode, _("Project Passcode")),
        "platform": _required(platform, _("the platform (e.g. android or ios)")),
        **_extra_params(extra),
    }
    return f"{endpoint(region)}?{urlencode(params)}"


def _required(value: str, what: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise NotSendable(_("CleverTap requires %(what)s, and it is empty.") % {"what": what})
    return cleaned


def _event_name(event: EventType, custom_event_name: str | None) -> str:
    if event in INSTALL_EVENTS:
        return event.value
    name = (custom_event_name or "").strip()
    if not name:
        raise NotSendable(_("A custom event needs a name, e.g. Add_to_cart."))
    if name in {e.value for e in INSTALL_EVENTS}:
        raise NotSendable(
            _("A custom event cannot be named “%(name)s”: that name is an install event.") % {"name": name}
        )
    return name


def _epoch(timestamp: int | datetime) -> int:
    return int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)


def _utm_params(event: EventType, utm: dict[str, str]) -> dict[str, str]:
    if event in INSTALL_EVENTS and not utm:
        raise NotSendable(_("At least one of utm_source, utm_medium, utm_campaign is required for installs."))
    return utm


def _device_identifier(value: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise NotSendable(
            _(
                "CleverTap does not process events without a device identifier "
                "(the CleverTap ID that the app's CleverTap SDK reports)."
            )
        )
    return cleaned


def _credential(value: str, field: str) -> str:
    try:
        return clean_credential(value, field)
    except ValidationError as error:
        raise NotSendable(" ".join(error.messages)) from None


def _extra_params(extra: Mapping[str, object] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in (extra or {}).items():
        if key in STANDARD_PARAMETERS:
            raise NotSendable(f"The extra parameter “{key}” would replace CleverTap's own; rename it.")
        params[key] = "" if value is None else str(value)
    return params


def parse_failure(body: str) -> str:
    """The `error` of a CleverTap failure answer (`{"status": "fail", "error": …}`), else ""."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    if isinstance(answer, dict) and answer.get("error"):
        return str(answer["error"])
    return ""


def send_event(
    url: str, *, allow_private: bool | None = None, headers: Mapping[str, str] | None = None
) -> AttemptResult:
    """Send one attribution URL under the CleverTap policy; a failure carries CleverTap's reason.

    `headers`: the delivery's idempotency headers (CleverTap's API is not signed)."""
    result = send(url, policy=POLICY, allow_private=allow_private, headers=headers)
    reason = parse_failure(result.response_start) if result.outcome != Outcome.DONE else ""
    if not reason:
        return result
    return replace(result, error=f"CleverTap answered {result.status_code}: {reason}")
