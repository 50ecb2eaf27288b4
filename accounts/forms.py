"""Forms of the second factor's pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class CodeForm(forms.Form):
    """One code: six digits from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "size": 12}
        ),
    )
