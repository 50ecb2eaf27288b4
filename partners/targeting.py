"""Targeting of offers and landings (SPEC 4.5): who may see them, checked on every click.

An offer (and, optionally, one of its landings) may allow only some countries, block others,
and take only some device types and operating systems. The manager writes them as text (codes
separated by commas or spaces; OS names by commas); the click path never parses that text: the
link's cached data (`leads.linkcache`) carries a `Targeting` of frozensets, so a click's check
is a few set look-ups.

Matching rules, as a manager expects them:
- an *allowed* list that is set admits only the listed values; a click whose country (or device
  type, or OS) is unknown is outside it;
- a *blocked* country list refuses the listed countries; an unknown country passes it;
- operating systems match by family: "Android" takes "Android 13", "Mac OS X" takes
  "Mac OS X 10.15.7" (the click's `os` is the family and its version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext as _

# The values leads.useragents produces for a click's device type.
DEVICE_TYPES = ("mobile", "tablet", "desktop", "other", "bot")
# OS families as ua-parser names them (a click's `os` starts with one of these).
KNOWN_OS_FAMILIES = (
    "Android",
    "iOS",
    "Windows",
    "Mac OS X",
    "Linux",
    "Chrome OS",
    "Ubuntu",
    "Fedora",
    "Windows Phone",
    "BlackBerry OS",
    "KaiOS",
    "HarmonyOS",
    "Tizen",
    "FreeBSD",
)
# What managers type for the families above → ua-parser's spelling.
_OS_SPELLINGS = {family.lower(): family for family in KNOWN_OS_FAMILIES} | {
    "macos": "Mac OS X",
    "mac os": "Mac OS X",
    "mac": "Mac OS X",
    "osx": "Mac OS X",
    "os x": "Mac OS X",
    "ipados": "iOS",
    "chromeos": "Chrome OS",
}
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

# The reasons a click is redirected for (Click.redirect_reason), in the order they are checked.
COUNTRY = "country"
DEVICE_TYPE = "device_type"
OS = "os"
CAP = "cap"


def country_list(text: str) -> list[str]:
    """Country codes written with commas or spaces → sorted upper-case codes."""
    return sorted({code.upper() for code in text.replace(",", " ").split() if code})


def device_list(text: str) -> list[str]:
    """Device types written with commas or spaces → lower-case names in the usual order."""
    names = {name.lower() for name in text.replace(",", " ").split() if name}
    return [name for name in DEVICE_TYPES if name in names] + sorted(names - set(DEVICE_TYPES))


def os_list(text: str) -> list[str]:
    """OS families written with commas (names have spaces) → ua-parser's spelling, in order given."""
    families: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        family = _OS_SPELLINGS.get(name.lower(), name)
        if family and family not in families:
            families.append(family)
    return families


class HasTargeting(Protocol):
    allowed_countries: str
    blocked_countries: str
    device_types: str
    operating_systems: str


def targeting_errors(row: HasTargeting) -> dict[str, str]:
    """What is wrong with the targeting fields, as messages next to each field."""
    errors: dict[str, str] = {}
    for field in ("allowed_countries", "blocked_countries"):
        bad = [code for code in country_list(getattr(row, field)) if not COUNTRY_RE.match(code)]
        if bad:
            errors[field] = f"Not two-letter country codes (ISO 3166-1, e.g. US, DE, BR): {', '.join(bad)}."
    both = set(country_list(row.allowed_countries)) & set(country_list(row.blocked_countries))
    if both and "blocked_countries" not in errors:
        errors["blocked_countries"] = (
            f"Both allowed and blocked: {', '.join(sorted(both))}. Keep each country in one list."
        )
    unknown = [name for name in device_list(row.device_types) if name not in DEVICE_TYPES]
    if unknown:
        errors["device_types"] = f"Unknown device types: {', '.join(unknown)}. Use {', '.join(DEVICE_TYPES)}."
    bad_os = [name for name in os_list(row.operating_systems) if not re.fullmatch(r"[\w .()/-]{1,50}", name)]
    if bad_os:
        errors["operating_systems"] = (
            f"Not operating system names: {', '.join(bad_os)}. Write families separated by commas, "
            f"e.g. {', '.join(KNOWN_OS_FAMILIES[:4])}."
        )
    return errors


def normalize(row: HasTargeting) -> None:
    """Write the fields back in one spelling (upper-case codes, known OS names), as shown later."""
    row.allowed_countries = ", ".join(country_list(row.allowed_countries))
    row.blocked_countries = ", ".join(country_list(row.blocked_countries))
    row.device_types = ", ".join(device_list(row.device_types))
    row.operating_systems = ", ".join(os_list(row.operating_systems))


@dataclass(frozen=True)
class Targeting:
    """Targeting compiled for the click path: empty sets mean "no restriction"."""

    allowed: frozenset[str]
    blocked: frozenset[str]
    devices: frozenset[str]
    # Lower-case families; matched as a prefix of the click's lower-case `os` (see os_matches).
    systems: tuple[str, ...]

    def refusal(self, country: str, device_type: str, os: str) -> str:
        """The reason this click is outside the targeting (`country`, `device_type`, `os`), or ""."""
        if (self.allowed and country not in self.allowed) or country in self.blocked:
            return COUNTRY
        if self.devices and device_type not in self.devices:
            return DEVICE_TYPE
        if self.systems and not os_matches(self.systems, os):
            return OS
        return ""


def os_matches(systems: tuple[str, ...], os: str) -> bool:
    """Whether the click's OS ("Android 13") is of one of these lower-case families."""
    os = os.lower()
    return any(os == family or os.startswith(family + " ") for family in systems)


def compile_targeting(row: HasTargeting) -> Targeting | None:
    """The row's targeting ready for clicks, or None when it restricts nothing (the common case)."""
    targeting = Targeting(
        allowed=frozenset(country_list(row.allowed_countries)),
        blocked=frozenset(country_list(row.blocked_countries)),
        devices=frozenset(device_list(row.device_types)),
        systems=tuple(family.lower() for family in os_list(row.operating_systems)),
    )
    if not (targeting.allowed or targeting.blocked or targeting.devices or targeting.systems):
        return None
    return targeting


def describe(row: HasTargeting) -> list[str]:
    """The targeting in words, one sentence per restriction (empty: open to everyone)."""
    words: list[str] = []
    if allowed := country_list(row.allowed_countries):
        words.append(_("Only these countries: %(list)s.") % {"list": ", ".join(allowed)})
    if blocked := country_list(row.blocked_countries):
        words.append(_("Not in these countries: %(list)s.") % {"list": ", ".join(blocked)})
    if devices := device_list(row.device_types):
        words.append(_("Only these devices: %(list)s.") % {"list": ", ".join(devices)})
    if systems := os_list(row.operating_systems):
        words.append(_("Only these operating systems: %(list)s.") % {"list": ", ".join(systems)})
    return words
