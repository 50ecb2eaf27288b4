"""A catalogue that marks what it translates: the check that words go through gettext (issue 15).

With it answering for the admin's language (English), every string that went through gettext,
gettext_lazy or config.i18n.admin_text comes out wrapped in ⟪…⟫, and a string that never did
comes out bare. tests/conftest.py's `marked` fixture installs it for one test.
"""

from __future__ import annotations

import gettext

from django.conf import settings


class Marking(gettext.NullTranslations):
    """English wrapped in ⟪…⟫: what goes through gettext shows the marks, what does not is bare."""

    def gettext(self, message: str) -> str:
        if "\x04" in message:  # pgettext's context: given back as is, Django then shows the message
            return message
        return f"⟪{message}⟫"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if "\x04" in singular:
            return singular if n == 1 else plural
        return f"⟪{singular if n == 1 else plural}⟫"

    def to_language(self) -> str:
        return settings.LANGUAGE_CODE


def is_marked(text: object) -> bool:
    """Whether a word, once rendered under the marking catalogue, went through gettext."""
    rendered = str(text)
    return rendered.startswith("⟪") and rendered.endswith("⟫")
