"""Recognizing the `status` a postback sends: the documented synonym table and the overrides.

Advertisers name statuses in their own words. A value is first looked up in the request's
own overrides (`sta`, `stc`, `stt`, `sth`, `stw`, `stn`, each a comma-separated list), then in
the synonym table below; both comparisons ignore case and surrounding spaces. The table is
rendered on the admin's postback reference page, so what partners read is what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leads.models import LeadStatus

# Status → the words recognized as it without any override; each status's own name included.
SYNONYMS: dict[str, tuple[str, ...]] = {
    LeadStatus.NEW: ("new", "pending", "created", "lead", "open"),
    LeadStatus.PROCESSING: ("processing", "in_progress", "in progress", "wait", "waiting", "review"),
    LeadStatus.HOLD: ("hold", "on_hold", "on hold", "pending_approval", "hold_on"),
    LeadStatus.APPROVED: ("approved", "approve", "confirmed", "confirm", "sale", "success", "paid", "1"),
    LeadStatus.CANCELLED: (
        "cancelled",
        "canceled",
        "cancel",
        "declined",
        "decline",
        "rejected",
        "reject",
        "0",
        "-1",
    ),
    LeadStatus.TRASH: ("trash", "fraud", "spam", "invalid", "duplicate"),
}

# Request parameter → the status its words stand for (the CPA-network seed's names).
OVERRIDES: dict[str, str] = {
    "sta": LeadStatus.APPROVED,
    "stc": LeadStatus.CANCELLED,
    "stt": LeadStatus.TRASH,
    "sth": LeadStatus.HOLD,
    "stw": LeadStatus.PROCESSING,
    "stn": LeadStatus.NEW,
}

_AUTOMATIC: dict[str, str] = {word: status for status, words in SYNONYMS.items() for word in words}


class UnknownStatus(ValueError):
    """The value matched neither the request's overrides nor the synonym table."""


@dataclass(frozen=True)
class StatusMatch:
    """A recognized status, and whether it came from `stn` (which may create the lead).

    `parameter` is the override that named the word (`sta`…`stn`), empty when the synonym
    table did: the postback debugger shows which.
    """

    status: str
    by_stn: bool = False
    parameter: str = ""


def _words(raw: str) -> set[str]:
    return {word.strip().lower() for word in raw.split(",") if word.strip()}


def recognize_status(value: str, params: Mapping[str, str]) -> StatusMatch:
    """The status `value` stands for: the request's overrides first, then the synonym table."""
    word = value.strip().lower()
    for parameter, status in OVERRIDES.items():
        if word in _words(params.get(parameter, "")):
            return StatusMatch(status, by_stn=parameter == "stn", parameter=parameter)
    if word in _AUTOMATIC:
        return StatusMatch(_AUTOMATIC[word])
    raise UnknownStatus(
        f"Unrecognized status “{value}”: send one of the documented words "
        "(e.g. approved, cancelled, trash, hold, processing, new) "
        "or name your own with sta, stc, stt, sth, stw or stn."
    )


def synonym_rows() -> list[tuple[str, str, str]]:
    """(status, its label, the words recognized as it) for the reference page."""
    return [(status, LeadStatus(status).label, ", ".join(words)) for status, words in SYNONYMS.items()]
