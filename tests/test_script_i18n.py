"""The scripts' words go through gettext (issue 15): a publisher reads the portal script's in the
portal's language, and the admin script's are marked like the rest of the admin.

Our scripts (static/**/*.js) are read token by token: comments and regular expressions are
skipped, and every string literal that reads as words (a word and a space, or a capitalized word)
must be an argument of gettext, ngettext or pgettext. Keys, selectors, attribute and event names
do not read as words; the few that do are allowed below.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

SCRIPTS = sorted((Path(settings.BASE_DIR) / "static").rglob("*.js"))

# Strings that look like words but are code: a directive, a CSS selector list, an HTTP header.
ALLOWED = {"use strict", "input, select, textarea", "Accept"}

WORD = re.compile(r"[^\W\d_]{2,}")
# A capitalized identifier, not a word: all capitals (POST, DELETE) or capitals inside
# (DOMContentLoaded, X-CSRFToken).
IDENTIFIER = re.compile(r"[A-Z0-9_\-]+|[A-Z][\w\-]*[A-Z][\w\-]*")
# The translation functions and how many strings each takes: ngettext a plural after the
# singular, pgettext the message after its context.
STRING_ARGUMENTS = {"gettext": 1, "ngettext": 2, "pgettext": 2, "npgettext": 3}
CALL = re.compile(r"\b(gettext|ngettext|pgettext|npgettext)\(\s*$")
NEXT_ARGUMENT = re.compile(r"\x00\s*,\s*$")
# After these a slash starts a regular expression, not a division.
BEFORE_REGEX = set("(,=:[!&|?{};+-*%<>~^") | {""}


def reads_as_words(text: str) -> bool:
    if text in ALLOWED or not WORD.search(text):
        return False
    return " " in text or (text[0].isupper() and not IDENTIFIER.fullmatch(text))


def _skip_regex(source: str, start: int) -> int:
    """The index after the regular expression literal that opens at `start` (its flags included)."""
    index, in_class = start + 1, False
    while source[index] != "/" or in_class:
        if source[index] == "\\":
            index += 1
        elif source[index] == "[":
            in_class = True
        elif source[index] == "]":
            in_class = False
        index += 1
    index += 1
    while index < len(source) and source[index].isalpha():
        index += 1
    return index


def string_literals(source: str) -> list[tuple[str, bool]]:
    """Each string literal of a script, as written, and whether a translation function takes it."""
    found: list[tuple[str, bool]] = []
    taken_by: tuple[str, int] | None = None  # the function that took the last string, and as which
    code: list[str] = []  # the source read so far, without comments and literals
    index = 0
    while index < len(source):
        char, following = source[index], source[index + 1 : index + 2]
        if char == "/" and following == "/":
            index = source.find("\n", index)
            index = len(source) if index < 0 else index
        elif char == "/" and following == "*":
            index = source.index("*/", index) + 2
        elif char == "/" and "".join(code).rstrip()[-1:] in BEFORE_REGEX:
            index = _skip_regex(source, index)
            code.append(" /regex/ ")
        elif char in "\"'`":
            end = index + 1
            while source[end] != char:
                end += 2 if source[end] == "\\" else 1
            before = "".join(code)
            call = CALL.search(before)
            if call:
                taken_by = (call[1], 1)
            elif taken_by and taken_by[1] < STRING_ARGUMENTS[taken_by[0]] and NEXT_ARGUMENT.search(before):
                taken_by = (taken_by[0], taken_by[1] + 1)
            else:
                taken_by = None
            found.append((source[index + 1 : end], taken_by is not None))
            code.append("\x00")
            index = end + 1
        else:
            code.append(char)
            index += 1
    return found


def unmarked_words(source: str) -> list[str]:
    return [text for text, marked in string_literals(source) if not marked and reads_as_words(text)]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_every_word_a_script_shows_goes_through_gettext(path):
    assert unmarked_words(path.read_text()) == []


def test_both_scripts_are_checked():
    assert {path.name for path in SCRIPTS} >= {"portal.js", "partners.js"}


def test_the_check_finds_bare_words_and_passes_marked_ones():
    source = r"""
        "use strict";  // Don't count "this" or 'that' in a comment.
        /* Nor "Words in here". */
        const SAFE = /[!'"()*]/g, half = total / 2 / count;
        button.textContent = "Copied";
        button.title = gettext("Copy the link");
        row.dataset.role = 'Kept as test delivery #' + number;
        link.textContent = interpolate(gettext("Kept as test delivery #%(number)s"), {number: n}, true);
        shown = ngettext("%(count)s row", "%(count)s rows", count) + pgettext("button", "Send");
        area.setAttribute("readonly", "");
        document.querySelectorAll("input, select, textarea");
        fetch(url, {method: "POST", headers: {"Accept": "application/json", "X-CSRFToken": token}});
        document.addEventListener("DOMContentLoaded", start);
        preview.textContent = answer.preview || "\u2014";
        error = `The server answered ${status}`;
        rows = [[gettext("URL sent"), "Bare words"]];
    """

    assert unmarked_words(source) == [
        "Copied",
        "Kept as test delivery #",
        "The server answered ${status}",
        "Bare words",
    ]
