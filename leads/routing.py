"""Where a click goes: its landing, or its offer's fallback, and which entry a smart link picks.

Everything here reads the link's cached data (`leads.linkcache`), never the database, so the
click path stays one INSERT on a warm cache.

Targeting (SPEC 4.5): a click outside the offer's targeting, or outside its landing's own
targeting, is recorded with `redirect_reason` (`country`, `device_type` or `os`, the first that
excludes it) and sent to the offer's fallback:
- a fallback offer (same app): the click *becomes* a click on that offer and its first landing
  (`params["redirected_from_offer"]` keeps the offer it was meant for), so a conversion credits
  the offer the user saw; it stays on its link (partner, integration) for attribution;
- a fallback URL: the URL with the click's macros;
- neither: the plain "offer not available" page (404); the click is recorded all the same.
A landing's targeting does not look for another landing of the offer that fits: it falls back
like the offer's does, which keeps the rule one sentence long.

Caps: a link whose `capped_until` (epoch seconds, set by the caps' cache data) lies in the future
sends its clicks to the fallback with reason `cap` when the offer has one; without a fallback
the click goes to its landing as usual (the conversion will be marked `cap_reached`).

Smart links: priority mode takes the first eligible entry, weight mode a weighted random one
among the eligible; an entry is skipped when its link is paused or unknown, the click is outside
its targeting, or its offer is capped. With none left the click is recorded on the first live
entry's link with reason `smartlink_catch_all` and goes to the catch-all URL (or the 404 page).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from leads.linkcache import LinkData, link_data
from leads.models import Click
from partners.models import SmartLink
from partners.targeting import CAP, COUNTRY, DEVICE_TYPE, OS

SMARTLINK_CATCH_ALL = "smartlink_catch_all"
# Reasons that send a click to its offer's fallback (a catch-all is the smart link's own).
FALLBACK_REASONS = frozenset({COUNTRY, DEVICE_TYPE, OS, CAP})
# The click's parameter that keeps the offer a fallback offer replaced.
REDIRECTED_FROM = "redirected_from_offer"


def is_capped(link: LinkData, now: float | None = None) -> bool:
    """Whether the link's offer is full for its partner right now (caps put `capped_until` in)."""
    until = link.get("capped_until")
    return until is not None and until > (time.time() if now is None else now)


def targeting_refusal(link: LinkData, landing_id: int | None, country: str, device_type: str, os: str) -> str:
    """Why the click is outside the offer's or the landing's targeting, or ""."""
    offer = link.get("targeting")
    if offer is not None and (reason := offer.refusal(country, device_type, os)):
        return reason
    landing = link.get("landing_targeting", {}).get(str(landing_id))
    if landing is not None:
        return landing.refusal(country, device_type, os)
    return ""


def redirect_reason(link: LinkData, click: Click) -> str:
    """Why this click does not go to its landing: targeting first, then a full cap; "" when it does."""
    reason = targeting_refusal(link, click.landing_id, click.country, click.device_type, click.os)
    if reason:
        return reason
    if link.get("fallback") is not None and is_capped(link):
        return CAP
    return ""


def reroute(link: LinkData, click: Click, reason: str) -> None:
    """Write the decision on the click: its reason and, to a fallback offer, that offer and landing."""
    click.redirect_reason = reason
    fallback = link.get("fallback")
    if reason in FALLBACK_REASONS and fallback is not None and fallback["offer_id"] is not None:
        click.params = {**click.params, REDIRECTED_FROM: str(click.offer_id)}
        click.offer_id = fallback["offer_id"]
        click.landing_id = fallback["landing_id"]


def fallback_template(link: LinkData, click: Click) -> tuple[str | None, dict[str, Any]]:
    """A redirected click's URL template (None: the 404 page) and the macros its fallback overrides."""
    fallback = link.get("fallback")
    if fallback is None:
        return None, {}
    if fallback["offer_id"] is not None:
        return fallback["landings"].get(str(click.landing_id)) or link["default_url"], fallback["macros"]
    return fallback["url"], {}


# -- smart links ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A smart link's pick: the link the click is recorded on, and whether it is the catch-all."""

    link: LinkData | None
    catch_all: bool


def eligible(link: LinkData, country: str, device_type: str, os: str, now: float) -> bool:
    """Whether a smart link may send this click to this (live) link."""
    if is_capped(link, now):
        return False
    return not targeting_refusal(link, link["landing_id"], country, device_type, os)


def choose(
    smart: dict[str, Any], country: str, device_type: str, os: str, rng: random.Random | None = None
) -> Choice:
    """The entry this click goes to, by the smart link's mode; the catch-all when none may take it.

    Priority mode stops at the first eligible entry; weight mode weighs every eligible one (an
    entry of weight 0 takes nothing). The catch-all is recorded on the first live entry's link.
    """
    now = time.time()
    first_live: LinkData | None = None
    candidates: list[tuple[LinkData, int]] = []
    by_priority = smart["mode"] != SmartLink.Mode.WEIGHT
    for entry in smart["entries"]:
        link = link_data(entry["code"])
        if link is None:
            continue
        first_live = first_live or link
        if not eligible(link, country, device_type, os, now):
            continue
        if by_priority:
            return Choice(link, catch_all=False)
        if entry["weight"] > 0:
            candidates.append((link, entry["weight"]))
    if candidates:
        links, weights = zip(*candidates, strict=True)
        return Choice((rng or random).choices(links, weights)[0], catch_all=False)
    return Choice(first_live, catch_all=True)
