"""User-agent parsing for clicks and impressions, cached by the user-agent string.

Parsing runs ua-parser's regular expressions (through the `user_agents` package) and
costs far more than the rest of a click; ad traffic repeats the same few thousand
browsers, so an in-process LRU cache makes it nearly free on the hot path.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import user_agents

MAX_USER_AGENT_LENGTH = 512


class ParsedUserAgent(NamedTuple):
    """What reports and macros use of a user agent: device type, OS and browser."""

    device_type: str
    os: str
    browser: str


EMPTY = ParsedUserAgent("", "", "")


def _device_type(agent: user_agents.parsers.UserAgent) -> str:
    if agent.is_bot:
        return "bot"
    if agent.is_tablet:
        return "tablet"
    if agent.is_mobile:
        return "mobile"
    if agent.is_pc:
        return "desktop"
    return "other"


def _name(family: str, version: str) -> str:
    if not family or family == "Other":
        return ""
    return f"{family} {version}".strip()[:50]


def parse_user_agent(user_agent: str) -> ParsedUserAgent:
    """Device type (mobile, tablet, desktop, bot, other), OS and browser with their versions."""
    # Only the stored prefix is parsed and cached, so huge headers cannot bloat the cache.
    return _parse(user_agent[:MAX_USER_AGENT_LENGTH]) if user_agent else EMPTY


@functools.lru_cache(maxsize=4096)
def _parse(user_agent: str) -> ParsedUserAgent:
    agent = user_agents.parse(user_agent)
    return ParsedUserAgent(
        device_type=_device_type(agent),
        os=_name(agent.os.family, agent.os.version_string),
        browser=_name(agent.browser.family, agent.browser.version_string),
    )
