"""Forms of the ingest app's admin pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ingest.debugger import MAX_BODY_LENGTH, MAX_URL_LENGTH, METHODS


class PostbackDebugForm(forms.Form):
    """A pasted inbound URL, and how it would be sent (GET, or POST with a body)."""

    url = forms.CharField(
        label=_("Inbound URL"),
        max_length=MAX_URL_LENGTH,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "class": "vLargeTextField",
                "placeholder": "https://track.example/postback/status?token=…&click=…&status=approved",
            }
        ),
        help_text=_(
            "Any lead, status, conversion, click or impression URL a partner would call. "
            "It is parsed, never requested."
        ),
    )
    method = forms.ChoiceField(
        label=_("Method"), choices=[(method, method) for method in METHODS], initial="GET"
    )
    body = forms.CharField(
        label=_("Body (POST)"),
        required=False,
        strip=False,
        max_length=MAX_BODY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField", "placeholder": "a=1&b=2 or {…}"}),
        help_text=_("A form body (a=1&b=2) or JSON ({…}); parameters in it win over the URL's."),
    )


class IpLookupForm(forms.Form):
    """An IPv4 or IPv6 address to look up in our GeoIP data."""

    ip = forms.GenericIPAddressField(
        label=_("IP address"),
        unpack_ipv4=True,
        widget=forms.TextInput(attrs={"placeholder": _("203.0.113.7 or 2001:db8::1"), "autofocus": True}),
        error_messages={
            "invalid": _("Enter an IPv4 address (203.0.113.7) or an IPv6 address (2001:db8::1).")
        },
    )
