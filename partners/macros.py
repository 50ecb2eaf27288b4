"""The macro registry: every `{macro}` our URLs may carry, its meaning, an example.

This module is the one place that knows macros. It validates templates (the wizard,
the API, the portal's Postback tab), renders them with URL-encoded values (outbound
postbacks, landing URLs) or as plain text (values such as CleverTap's utm parameters, which
are encoded once, as the URL is built) and feeds the macro reference page.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from config.i18n import admin_text


@dataclass(frozen=True)
class Macro:
    """One macro of the registry: its name (written `{name}`), what it carries, an example value."""

    name: str
    meaning: str | Promise
    example: str


MACROS: tuple[Macro, ...] = (
    Macro("click_id", admin_text("Our click id: opaque, unguessable, URL-safe."), "c_8Qv3ZkR1xY2bN7mW"),
    Macro(
        "partner_click_id",
        admin_text("The ad partner's own click id, as it sent it on the click."),
        "abc-123",
    ),
    Macro(
        "ref_id",
        admin_text("The publisher's own click id, passed in the tracking link as ref_id."),
        "pub-777",
    ),
    Macro("sub1", admin_text("Sub id 1 from the tracking link."), "site42"),
    Macro("sub2", admin_text("Sub id 2 from the tracking link."), "campaignA"),
    Macro("sub3", admin_text("Sub id 3 from the tracking link."), "adgroup7"),
    Macro("sub4", admin_text("Sub id 4 from the tracking link."), "banner3"),
    Macro("sub5", admin_text("Sub id 5 from the tracking link."), "x"),
    Macro("app_id", admin_text("Our numeric id of the app."), "12"),
    Macro("app_name", admin_text("The app's name."), "Space Farm"),
    Macro("partner_name", admin_text("The partner's name."), "AdNet One"),
    Macro("channel", admin_text("The integration's marketing channel."), "Social"),
    Macro("campaign_id", admin_text("Our numeric id of the offer (the publisher's campaign)."), "7"),
    Macro("campaign_name", admin_text("The offer's name."), "Space Farm CPI"),
    Macro("landing_id", admin_text("Our id of the landing the click went to."), "3"),
    Macro("creative_id", admin_text("The creative id carried by the click."), "cr-9"),
    Macro("goal", admin_text("The goal's main code."), "install"),
    Macro("lead_id", admin_text("Our numeric id of the lead."), "1024"),
    Macro("exto", admin_text("The advertiser's unique id of the lead."), "ord-5521"),
    Macro("event_name", admin_text("The event's name: the goal's name, or a custom event."), "Install"),
    Macro(
        "status",
        admin_text("The lead's status: new, processing, hold, approved, cancelled or trash."),
        "approved",
    ),
    Macro("payout", admin_text("The publisher's payout for the lead."), "1.50"),
    Macro(
        "aff_payout", admin_text("The publisher's payout, under the name publishers' trackers use."), "1.50"
    ),
    Macro("revenue", admin_text("The advertiser's revenue for the lead."), "2.00"),
    Macro("currency", admin_text("The currency of payout and revenue (ISO 4217)."), "USD"),
    Macro("click_time", admin_text("When the click happened (ISO 8601, UTC)."), "2026-01-31T12:00:00Z"),
    Macro(
        "conversion_time", admin_text("When the lead was created (ISO 8601, UTC)."), "2026-01-31T12:05:00Z"
    ),
    Macro("timestamp", admin_text("Now, in epoch seconds."), "1769860800"),
    Macro(
        "device_id",
        admin_text("The best device id known: IDFA, GAID, Android id or another."),
        "38400000-8cf0-11bd-b23e-10b96e40000d",
    ),
    Macro("idfa", admin_text("Apple's advertising id."), "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
    Macro("gaid", admin_text("Google's advertising id."), "38400000-8cf0-11bd-b23e-10b96e40000d"),
    Macro("android_id", admin_text("The Android device id."), "9774d56d682e549c"),
    Macro("platform", admin_text("The device platform: android, ios or web."), "android"),
    Macro("os", admin_text("The operating system and version."), "Android 14"),
    Macro("device_type", admin_text("mobile, tablet, desktop or bot."), "mobile"),
    Macro(
        "ip", admin_text("The user's IP (obfuscated when the integration's IP privacy is on)."), "203.0.113.7"
    ),
    Macro("user_agent", admin_text("The user's browser user agent."), "Mozilla/5.0 (Linux; Android 14)"),
    Macro("country", admin_text("ISO 3166 country code."), "DE"),
    Macro("language", admin_text("The user's language."), "de"),
    Macro(
        "reject_reason",
        admin_text(
            "Why screening rejected the lead: the rule's reason code, empty for a lead it did not reject. "
            "A partner conversion template that carries it is also sent for a rejected lead, "
            "with {status} = rejected."
        ),
        "ctit_too_short",
    ),
)
# A partner template carrying this macro asks to be told of rejected conversions.
REJECTION_MACRO = "reject_reason"
# The {status} of a rejection postback.
REJECTED_STATUS = "rejected"
MACRO_BY_NAME: dict[str, Macro] = {m.name: m for m in MACROS}

# Marks, in links shown to publishers only, where the publisher puts its own click-id macro.
REPLACE_ME = "replace_me"

# A braced word with however many braces were typed, so `{{click_id}}` is caught, not half-read.
_BRACED_RE = re.compile(r"(\{+)([^{}]*)(\}+)")
# What `render` substitutes: single braces, spaces inside tolerated.
_MACRO_RE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Problem:
    """A finding about a template: an `error` blocks saving, a `warning` does not."""

    level: str
    message: str
    macro: str = ""


def _error(message: str, macro: str = "") -> Problem:
    return Problem("error", message, macro)


def _warning(message: str, macro: str = "") -> Problem:
    return Problem("warning", message, macro)


def _nearest(word: str) -> list[str]:
    return difflib.get_close_matches(word.lower(), MACRO_BY_NAME, n=3, cutoff=0.6)


def _unknown(word: str) -> Problem:
    suggestions = ", ".join("{" + s + "}" for s in _nearest(word))
    names = {"macro": "{" + word + "}", "suggestions": suggestions}
    if suggestions:
        message = _(
            "Unknown macro %(macro)s: it would be sent empty. Did you mean %(suggestions)s? "
            "See the macro reference for the full list."
        )
    else:
        message = _(
            "Unknown macro %(macro)s: it would be sent empty. See the macro reference for the full list."
        )
    return _error(message % names, word)


def _url_problems(template: str) -> list[Problem]:
    try:
        parts = urlsplit(template)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return [_error(_("Enter a full URL starting with https:// (or http://) and a host name."))]
    return []


def _word_problems(opening: str, inner: str, closing: str, *, publisher_link: bool) -> list[Problem]:
    """The problems of one braced word, e.g. `{click_id}`, `{{click_id}}` or `{ clickid }`."""
    word = inner.strip()
    if not word:
        return [_error(_("Empty braces {}: write a macro name inside them, e.g. {click_id}."))]
    if len(opening) > 1 or len(closing) > 1:
        message = _("%(typed)s has double braces: write a macro as %(macro)s.")
        return [_error(message % {"typed": opening + inner + closing, "macro": "{" + word + "}"}, word)]
    problems: list[Problem] = []
    if word != inner:
        problems.append(
            _warning(
                _("%(typed)s has spaces inside the braces; it is read as %(macro)s.")
                % {"typed": "{" + inner + "}", "macro": "{" + word + "}"},
                word,
            )
        )
    if word == REPLACE_ME:
        if not publisher_link:
            problems.append(
                _error(
                    _(
                        "{replace_me} is only for tracking links shown to publishers; "
                        "use one of our macros here, e.g. {click_id}."
                    ),
                    word,
                )
            )
    elif word not in MACRO_BY_NAME:
        problems.append(_unknown(word))
    return problems


def _brace_problems(template: str, *, publisher_link: bool) -> list[Problem]:
    problems: list[Problem] = []
    for opening, inner, closing in _BRACED_RE.findall(template):
        problems += _word_problems(opening, inner, closing, publisher_link=publisher_link)
    leftover = _BRACED_RE.sub("", template)
    if "{" in leftover or "}" in leftover:
        problems.append(
            _error(_("Unbalanced braces: every macro is written {name}, with one brace on each side."))
        )
    return problems


def _bare_name_warnings(template: str) -> list[Problem]:
    """A query value that is a macro name without braces goes out as that very word."""
    query = template.partition("?")[2].partition("#")[0]
    return [
        _warning(
            _("%(typed)s is sent as the literal text “%(value)s”. To send the value, write %(macro)s.")
            % {"typed": f"{key}={value}", "value": value, "macro": f"{key}={{{value}}}"},
            value,
        )
        for key, value in parse_qsl(query, keep_blank_values=True)
        if value in MACRO_BY_NAME
    ]


def validate_template(template: str, *, publisher_link: bool = False) -> list[Problem]:
    """Every error and warning of a URL template, each once.

    - the template must be a full http(s) URL;
    - `{word}` that is not a macro is an error naming it and the nearest known names;
    - braces must pair up, one on each side of a name;
    - a query value equal to a macro name without braces is a warning: it is sent as text;
    - `{replace_me}` is allowed only in links shown to publishers.
    """
    stripped = template.strip()
    if not stripped:
        return [_error(_("Enter a URL."))]
    problems = [
        *_url_problems(stripped),
        *_brace_problems(stripped, publisher_link=publisher_link),
        *_bare_name_warnings(stripped),
    ]
    return list(dict.fromkeys(problems))


def errors_of(template: str, *, publisher_link: bool = False) -> list[str]:
    """The messages of the template's errors alone: what blocks saving it."""
    return [
        p.message for p in validate_template(template, publisher_link=publisher_link) if p.level == "error"
    ]


def text_errors(template: str) -> list[str]:
    """What blocks saving a text template (not a URL), e.g. a CleverTap utm value: macro errors."""
    problems = _brace_problems(template.strip(), publisher_link=False)
    return [p.message for p in dict.fromkeys(problems) if p.level == "error"]


def _as_text(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def render(template: str, values: Mapping[str, object]) -> str:
    """The template with each known macro replaced by its URL-encoded value.

    A macro without a value (missing or None) renders empty; datetimes render as ISO 8601
    in UTC. Unknown `{words}`, `{replace_me}` among them, are left as they are (validation
    refuses them before a template is saved).
    """
    return _fill(template, values, lambda text: quote(text, safe=""))


def render_text(template: str, values: Mapping[str, object]) -> str:
    """The template with each known macro replaced by its plain value (no URL encoding).

    For values that code puts into a URL later, encoding them itself (CleverTap's utm
    parameters); otherwise as `render`.
    """
    return _fill(template, values, lambda text: text)


def _fill(template: str, values: Mapping[str, object], encode: Callable[[str], str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in MACRO_BY_NAME:
            return match.group(0)
        value = values.get(name)
        return "" if value is None else encode(_as_text(value))

    return _MACRO_RE.sub(substitute, template)


def uses_macro(template: str, name: str) -> bool:
    """Whether the template carries `{name}` (spaces inside the braces tolerated)."""
    return any(match.group(1).strip() == name for match in _MACRO_RE.finditer(template))


def sample_values() -> dict[str, str]:
    """Each macro's example value, for previews."""
    return {m.name: m.example for m in MACROS}


def preview(template: str) -> str:
    """The template filled with every macro's example value."""
    return render(template, sample_values())
