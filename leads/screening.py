"""Screening: source black/white lists and the filters that flag or reject clicks and conversions.

An integration's screening configuration (IP privacy, active rules, source lists) is resolved
into a plain dict by `leads.linkcache`, cached and embedded in each tracking link's cached data,
so a click is screened without reading the database. Rules that count (clicks or conversions per
IP or device, duplicate devices) keep fixed-window counters in Redis — all of one event's
counters in a single round trip — or, without Redis, in Django's cache (LocMem).
Nothing here scans a table.

Verdicts: every rule that fires is a finding; a reject beats a flag, and the first firing
rule of the stronger action gives the verdict, its reason code and the values that triggered
it (the other reason codes are listed under `also`). A Redis outage skips the count rules
rather than lose traffic, and the hot cache's breaker skips them without waiting on Redis
again until its window is over. A dry run (the postback debugger, `config.trace`) reads the
counters as the event would find them and moves none.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from audit.tracking import record_change
from config import hotcache, trace
from leads.linkcache import Config, screening_forget
from leads.models import Verdict
from leads.useragents import parse_user_agent
from partners.models import Integration, ScreeningRule, SourceListEntry

logger = logging.getLogger(__name__)

Kind = ScreeningRule.Kind
Action = ScreeningRule.Action

# Count rules → the fact they count by.
COUNTED_BY = {
    Kind.CLICKS_PER_IP: "ip",
    Kind.CLICKS_PER_DEVICE: "device_id",
    Kind.CONVERSIONS_PER_IP: "ip",
    Kind.CONVERSIONS_PER_DEVICE: "device_id",
    Kind.DUPLICATE_DEVICE: "device_id",
}
# Words of scripted clients and crawlers that ua-parser does not always call a bot.
BOT_WORDS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-",
    "httpclient",
    "headless",
    "go-http-client",
    "java/",
    "scrapy",
    "phantomjs",
)


# A value that is still a `{macro}`: nobody's ad server filled the tracking URL in.
UNFILLED_MACRO = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.\-]*\}")
UNFILLED_REASON = "unfilled_placeholders"


def is_unfilled(value: str, placeholders: Iterable[str]) -> bool:
    """A parameter value that is an unfilled macro: the partner's own (from the parameter table)
    or any `{word}`. The brace test comes first, so a filled value costs one `in`."""
    return "{" in value and (value in placeholders or UNFILLED_MACRO.search(value) is not None)


def screen_unfilled(names: Iterable[str]) -> Screening | None:
    """A click whose URL still carries unfilled `{placeholders}` (named) is a test, not traffic."""
    unfilled = sorted(set(names))
    if not unfilled:
        return None
    return Screening(
        verdict=Verdict.TEST, rule_id=None, reason=UNFILLED_REASON, details={"unfilled": unfilled}
    )


# -- source lists -----------------------------------------------------------------------------


def source_refusal(config: Config, source: str) -> str | None:
    """Why this source is not imported, or None: the blacklist wins; an empty whitelist allows all."""
    if source in config["black"]:
        return f"Source “{source}” is blacklisted for this integration: it is not imported."
    if config["white"] and source not in config["white"]:
        shown = source or "(no source)"
        return f"Source “{shown}” is not on this integration's whitelist: only listed sources are imported."
    return None


def parse_sources(text: str) -> list[str]:
    """Sources pasted one per line: trimmed, blank lines dropped, duplicates once, order kept."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        source = line.strip()[:255]
        if source:
            seen.setdefault(source, None)
    return list(seen)


@dataclass(frozen=True)
class PasteResult:
    """What a bulk paste changed on one list."""

    added: int
    removed: int
    total: int


@transaction.atomic
def source_list_paste(
    *, integration: Integration, list_kind: str, sources: Iterable[str], replace: bool
) -> PasteResult:
    """Add pasted sources to a list; with `replace`, the list becomes exactly the pasted sources."""
    wanted = list(dict.fromkeys(sources))
    entries = SourceListEntry.objects.filter(integration=integration, list=list_kind)
    existing = set(entries.values_list("source", flat=True))
    removed = 0
    if replace:
        removed, _ = entries.exclude(source__in=wanted).delete()
    new = [
        SourceListEntry(integration=integration, list=list_kind, source=s)
        for s in wanted
        if s not in existing
    ]
    SourceListEntry.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        # Pasted lists can be long: one entry on the integration names what was added.
        added = ", ".join(entry.source for entry in new)
        record_change(integration, **{f"{list_kind}_sources_added": ("", added)})
    # Bulk writes send no signals: forget the cached configuration here.
    screening_forget(integration.pk)
    return PasteResult(added=len(new), removed=removed, total=entries.count())


# -- facts and findings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the user's (stored) IP, agent, device, country and network, and for a
    conversion its click's time, its own time and the offer's attribution window."""

    ip: str = ""
    user_agent: str = ""
    device_id: str = ""
    country: str = ""
    asn: int | None = None
    as_org: str = ""
    offer_id: int = 0
    user_agent_known: bool = True
    click_at: datetime | None = None
    converted_at: datetime | None = None
    window_days: int = 0


@dataclass(frozen=True)
class Screening:
    """A verdict other than `ok`, with its rule, reason code and the values that triggered it."""

    verdict: str
    rule_id: int | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The model fields of a click or lead that carry this verdict."""
        return {
            "verdict": self.verdict,
            "verdict_reason": self.reason[:200],
            "verdict_rule_id": self.rule_id,
            "verdict_details": self.details,
        }


@dataclass(frozen=True)
class _Finding:
    rule: dict[str, Any]
    details: dict[str, Any]


def is_bot_user_agent(user_agent: str) -> bool:
    """An empty agent, a crawler's, or a scripted HTTP client's."""
    agent = user_agent.strip().lower()
    if not agent:
        return True
    return any(word in agent for word in BOT_WORDS) or parse_user_agent(user_agent).device_type == "bot"


def _instant(rule: dict[str, Any], facts: Facts) -> dict[str, Any] | None:
    """The details of a rule that needs no counter, when it fires."""
    kind = rule["kind"]
    if kind == Kind.COUNTRY:
        return {"country": facts.country} if facts.country and facts.country in rule["countries"] else None
    if kind == Kind.DATACENTER:
        matched = rule["networks"].match(facts.asn, facts.as_org)
        if matched is None:
            return None
        return {"asn": facts.asn, "as_org": facts.as_org, "matched": matched}
    if kind == Kind.BOT_USER_AGENT:
        if facts.user_agent_known and is_bot_user_agent(facts.user_agent):
            return {"user_agent": facts.user_agent[:200]}
        return None
    if facts.click_at is None or facts.converted_at is None:
        return None
    seconds = int((facts.converted_at - facts.click_at).total_seconds())
    if kind == Kind.CTIT and seconds < rule["threshold"]:
        return {"ctit_seconds": seconds, "threshold": rule["threshold"]}
    if kind == Kind.CLICK_TOO_OLD and seconds > facts.window_days * 86400:
        return {"click_age_days": round(seconds / 86400, 1), "window_days": facts.window_days}
    return None


# -- counters ---------------------------------------------------------------------------------


def _counter_key(rule: dict[str, Any], value: str, offer_id: int, now: float) -> str:
    # Hashed, so no IP or device id sits in Redis in clear; the bucket makes the window fixed.
    scope = f"{offer_id}|" if rule["kind"] == Kind.DUPLICATE_DEVICE else ""
    digest = hashlib.blake2b(f"{scope}{value}".encode(), digest_size=10).hexdigest()
    return f"scr:n:{rule['id']}:{int(now // rule['window'])}:{digest}"


# All of one event's counters in one command: each is incremented, given its window's TTL
# when this increment created it, and the new counts are answered in order.
COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = n
end
return counts
"""
COUNT_SCRIPT_SHA = hashlib.sha1(COUNT_SCRIPT.encode()).hexdigest()


def _increment(keys: list[tuple[str, int]]) -> list[int]:
    """Add one to each counter (created with its TTL) and answer the new counts."""
    if not settings.REDIS_URL:
        return [_locmem_incr(key, ttl) for key, ttl in keys]
    # The cache's prefix, so cache.clear() empties the counters too.
    names = [cache.make_key(key) for key, _ttl in keys]
    ttls = [ttl for _key, ttl in keys]
    # One EVALSHA on a pooled connection: on a click, redis-py's pipeline object cost more
    # CPU than the round trip itself.
    pool = hotcache.redis_client(settings.REDIS_URL).connection_pool
    connection = pool.get_connection()
    try:
        try:
            connection.send_command("EVALSHA", COUNT_SCRIPT_SHA, len(names), *names, *ttls)
            return connection.read_response()
        except redis.exceptions.NoScriptError:  # a restarted Redis has forgotten the script
            connection.send_command("EVAL", COUNT_SCRIPT, len(names), *names, *ttls)
            return connection.read_response()
    except BaseException:
        connection.disconnect()  # an unread answer must not meet the next command
        raise
    finally:
        pool.release(connection)


def _peek(keys: list[tuple[str, int]]) -> list[int]:
    """What `_increment` would answer, moving no counter: a dry run (config.trace) counts nothing."""
    if not settings.REDIS_URL:
        return [int(cache.get(key) or 0) + 1 for key, _ttl in keys]
    client = hotcache.redis_client(settings.REDIS_URL)
    return [int(value or 0) + 1 for value in client.mget([cache.make_key(key) for key, _ttl in keys])]


def _locmem_incr(key: str, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first event
        cache.set(key, 1, ttl)
        return 1


def _counted(rules: list[dict[str, Any]], facts: Facts) -> list[_Finding]:
    """Findings of the count rules, all counters moved in one round trip."""
    now = time.time()
    todo = [(rule, getattr(facts, COUNTED_BY[rule["kind"]])) for rule in rules if rule["kind"] in COUNTED_BY]
    todo = [(rule, value) for rule, value in todo if value]
    if not todo:
        return []
    keys = [(_counter_key(rule, value, facts.offer_id, now), rule["window"] + 1) for rule, value in todo]
    count = _peek if trace.active() else _increment
    counts = hotcache.guarded(lambda: count(keys), default=None)
    if counts is None:  # Redis down (now or moments ago): count rules are skipped, the traffic is kept
        return []
    findings = []
    for (rule, value), count in zip(todo, counts, strict=True):
        if int(count) >= rule["threshold"] > 0:
            name = COUNTED_BY[rule["kind"]]
            details = {name: value, "count": int(count), "threshold": rule["threshold"]}
            findings.append(_Finding(rule, details | {"window_seconds": rule["window"]}))
    return findings


# -- verdicts ---------------------------------------------------------------------------------


def _verdict(findings: list[_Finding]) -> Screening | None:
    if not findings:
        return None
    chosen = next((f for f in findings if f.rule["action"] == Action.REJECT), findings[0])
    details = dict(chosen.details)
    also = [f.rule["reason"] for f in findings if f is not chosen]
    if also:
        details["also"] = also
    verdict = Verdict.REJECTED if chosen.rule["action"] == Action.REJECT else Verdict.FLAGGED
    return Screening(
        verdict=verdict, rule_id=chosen.rule["id"], reason=chosen.rule["reason"], details=details
    )


def _screen(rules: list[dict[str, Any]], facts: Facts) -> Screening | None:
    if not rules:
        return None
    instant = [rule for rule in rules if rule["kind"] not in COUNTED_BY]
    findings = [_Finding(rule, details) for rule in instant if (details := _instant(rule, facts))]
    return _verdict(findings + _counted(rules, facts))


def screen_click(config: Mapping[str, Any], facts: Facts) -> Screening | None:
    """The verdict of a click by the integration's click rules; None when it passes."""
    return _screen(config["click_rules"], facts)


def screen_conversion(config: Mapping[str, Any], facts: Facts) -> Screening | None:
    """The verdict of a new conversion by the integration's conversion rules; None when it passes."""
    return _screen(config["conversion_rules"], facts)
