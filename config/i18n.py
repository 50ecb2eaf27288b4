"""Marking the admin's own words for translation while keeping them out of the portal's catalogues.

The portal is translated (locale/*/LC_MESSAGES/django.po, `make messages`); the admin stays in
English but its words are marked, so that translating it later is a matter of extracting them.
Most of the admin's words live in files `make messages` skips (admin.py, templates/admin/, the
Makefile's ADMIN_ONLY), but the models' words (field names, help texts, choice labels) sit in
models.py beside the few labels the portal shows (a lead's status, a delivery's state), which
are marked with gettext_lazy and translated. `admin_text` is gettext_lazy under a name that
`makemessages` does not extract by default: the admin's words stay out of the portal's
catalogues, and whoever translates the admin extracts them with the keyword `admin_text`.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


def admin_text(message: str) -> Promise:
    """`message` translated when shown (gettext_lazy), extracted only with `--keyword=admin_text`."""
    return gettext_lazy(message)
