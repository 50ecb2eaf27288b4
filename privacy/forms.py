"""The admin's privacy form: whose data (a device id, an IP or network, a publisher) and what to do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from partners.models import Partner
from privacy.models import PrivacyOperation
from privacy.redaction import Criterion, criterion_parse


class PrivacyOperationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Find by"), choices=PrivacyOperation.Kind.choices)
    value = forms.CharField(
        label=gettext_lazy("Device id or IP"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "A GAID, IDFA, Android id or device id; or one IP address (203.0.113.7) "
            "or a network (203.0.113.0/24)."
        ),
    )
    publisher = forms.ModelChoiceField(
        label=gettext_lazy("Publisher"),
        queryset=Partner.objects.none(),
        required=False,
        help_text=gettext_lazy("When finding by publisher."),
    )
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=PrivacyOperation.Action.choices,
        widget=forms.RadioSelect,
        initial=PrivacyOperation.Action.ANONYMIZE,
        help_text=gettext_lazy(
            "Anonymize keeps an IP's network and a user agent's browser and OS; erase blanks them. "
            "Erase by publisher also erases the publisher's account and stops its logins."
        ),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["publisher"].queryset = Partner.objects.filter(organization=organization)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind is None:
            return cleaned
        if kind == PrivacyOperation.Kind.PUBLISHER:
            publisher = cleaned.get("publisher")
            if publisher is None:
                raise ValidationError(
                    {"publisher": _("Choose the publisher whose data to erase or anonymize.")}
                )
            value = str(publisher.pk)
        else:
            value = cleaned.get("value", "")
        try:
            cleaned["criterion"] = criterion_parse(
                kind=kind,
                value=value,
                partner_ids=self.fields["publisher"].queryset.values_list("pk", flat=True),
            )
        except ValidationError as error:
            field = "publisher" if kind == PrivacyOperation.Kind.PUBLISHER else "value"
            raise ValidationError({field: error.messages}) from None
        return cleaned

    @property
    def criterion(self) -> Criterion:
        return self.cleaned_data["criterion"]
