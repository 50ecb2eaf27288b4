"""Forms of the partner wizard and of the partners admin."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from partners.macros import validate_template
from partners.models import Channel, GoalAlias, Partner, PostbackTemplate, TrackingLink, TrackingParameter
from partners.services import ParameterRow, validate_parameters
from partners.tracking import REQUIRED_TRACKING_PARAMS, TRACKING_PARAMS
from partners.urlsafety import validate_outbound

REQUIRED_NAMES = frozenset(p.name for p in REQUIRED_TRACKING_PARAMS)

# The usual macro syntaxes of ad servers: {clickid}, [clickid], __CLICKID__, $clickid.
_PARTNER_MACRO_RE = re.compile(r"\{[^{}]+\}|\[[^\[\]]+\]|__[A-Za-z0-9_]+__|\$\w+")


def placeholder_warning(placeholder: str) -> str:
    """A warning for a placeholder that no ad server would fill in, else ""."""
    value = placeholder.strip()
    if not value or _PARTNER_MACRO_RE.search(value):
        return ""
    return _(
        "“%(value)s” has no macro delimiters ({…}, […], __…__ or $…): it is sent as a hard-coded value."
    ) % {"value": value}


class PartnerDetailsForm(forms.Form):
    """Step 1: the partner's name and its default channel (an existing one or a new one)."""

    partner_name = forms.CharField(label=gettext_lazy("Partner name"), max_length=200)
    channel = forms.ModelChoiceField(
        label=gettext_lazy("Default channel"),
        queryset=Channel.objects.none(),
        required=False,
        empty_label=gettext_lazy("Choose a channel"),
        help_text=gettext_lazy("The channel this partner's campaigns are reported under."),
    )
    new_channel = forms.CharField(
        label=gettext_lazy("New channel"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Type a name to create the channel when the partner is connected."),
    )

    def __init__(self, *args: Any, organization: Organization, partner: Partner | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.partner = partner
        self.fields["channel"].queryset = Channel.objects.filter(organization=organization)
        if partner is not None:
            # An existing partner keeps its name: it is the same partner on every app.
            self.fields["partner_name"].disabled = True
            self.fields["partner_name"].initial = partner.name
            self.fields["partner_name"].help_text = _("An existing partner keeps its name.")

    def clean_partner_name(self) -> str:
        name = self.cleaned_data["partner_name"].strip()
        if (
            self.partner is None
            and Partner.objects.filter(organization=self.organization, name__iexact=name).exists()
        ):
            raise ValidationError(
                _("A partner named “%(name)s” exists already: pick it from the partner list.")
                % {"name": name}
            )
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        new_channel = (cleaned.get("new_channel") or "").strip()
        if new_channel:
            # Typing the name of a channel that exists picks it instead of making a twin.
            existing = Channel.objects.filter(
                organization=self.organization, name__iexact=new_channel
            ).first()
            if existing is not None:
                cleaned["channel"], new_channel = existing, ""
        cleaned["new_channel"] = new_channel
        if cleaned.get("channel") is None and not new_channel and "channel" not in self.errors:
            self.add_error("channel", _("Choose a channel, or create a new one."))
        return cleaned


class InstallPostbackForm(forms.Form):
    """Step 2: the partner's install postback URL, checked like every outbound URL (macros, host, address)."""

    postback_url = forms.CharField(
        label=gettext_lazy("Postback URL"),
        max_length=2000,
        validators=[validate_outbound],
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "vLargeTextField"}),
        help_text=gettext_lazy(
            "The partner's URL, with OUR macros in curly braces where it wants our values, e.g. "
            "https://partner.example/pb?click={partner_click_id}&event={event_name}: {partner_click_id} "
            "gives the partner back its own click id, {click_id} is the click id we gave the click."
        ),
    )

    @property
    def warnings(self) -> list[str]:
        """Findings that do not block (e.g. a macro name without braces)."""
        url = (self["postback_url"].value() or "").strip()
        if not url:
            return []
        return [p.message for p in validate_template(url) if p.level == "warning"]


class TrackingParameterForm(forms.Form):
    """One row of the tracking-URL table."""

    name = forms.ChoiceField(
        label=gettext_lazy("Parameter"),
        choices=[("", gettext_lazy("Choose a parameter"))] + [(p.name, p.name) for p in TRACKING_PARAMS],
    )
    placeholder = forms.CharField(
        label=gettext_lazy("Partner's macro"),
        max_length=200,
        help_text=gettext_lazy(
            "The PARTNER's own macro for this value, in its syntax, e.g. {clickid} or [CLICK_ID]; "
            "its ad server fills it in. Not one of our macros."
        ),
    )
    in_click = forms.BooleanField(label=gettext_lazy("Click URL"), required=False, initial=True)
    in_impression = forms.BooleanField(label=gettext_lazy("Impression URL"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("name") and not (cleaned.get("in_click") or cleaned.get("in_impression")):
            self.add_error("in_click", _("Tick click URL, impression URL or both."))
        return cleaned

    @property
    def is_required_row(self) -> bool:
        return (self["name"].value() or "") in REQUIRED_NAMES

    @property
    def warning(self) -> str:
        return placeholder_warning(self["placeholder"].value() or "")


class BaseTrackingParameterFormSet(forms.BaseFormSet):
    """The parameter table; `validate_parameters` is the rule, rows only place the errors."""

    def live_forms(self) -> list[TrackingParameterForm]:
        return [
            form
            for form in self.forms
            if form.has_changed() or not form.empty_permitted
            if not (self.can_delete and self._should_delete_form(form))
        ]

    def rows(self) -> list[ParameterRow]:
        return [
            ParameterRow(
                name=form.cleaned_data["name"],
                placeholder=form.cleaned_data["placeholder"].strip(),
                in_click=form.cleaned_data["in_click"],
                in_impression=form.cleaned_data["in_impression"],
            )
            for form in self.live_forms()
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.live_forms():
            name = form.cleaned_data["name"]
            if name in seen:
                form.add_error(
                    "name", _("“%(name)s” appears twice; keep one row per parameter.") % {"name": name}
                )
            seen.add(name)
        if any(self.errors):
            return
        errors = validate_parameters(self.rows())
        if errors:
            raise ValidationError(errors)


TrackingParameterFormSet = forms.formset_factory(
    TrackingParameterForm,
    formset=BaseTrackingParameterFormSet,
    extra=1,
    can_delete=True,
    max_num=len(TRACKING_PARAMS),
    validate_max=True,
)


class ReviewForm(forms.Form):
    """Step 4: nothing to fill in; submitting it connects the partner."""


class PostbackTemplateForm(forms.ModelForm):
    """Admin: a postback template, checked like in the wizard by its model field's `validate_outbound`."""

    class Meta:
        model = PostbackTemplate
        fields = ["goal", "event", "url", "is_active"]


class GoalAliasInlineFormSet(forms.BaseInlineFormSet):
    """Admin: an alias belongs to its goal's offer, and a code is used once per offer."""

    def clean(self) -> None:
        super().clean()
        offer_id = self.instance.offer_id
        if offer_id is None:
            return
        for form in self.forms:
            code = form.cleaned_data.get("code") if hasattr(form, "cleaned_data") else None
            if not code or self._should_delete_form(form):
                continue
            form.instance.offer_id = offer_id
            taken = GoalAlias.objects.filter(offer_id=offer_id, code=code).exclude(pk=form.instance.pk)
            if taken.exists():
                form.add_error(
                    "code", _("“%(code)s” is already an alias of a goal of this offer.") % {"code": code}
                )


class TrackingParameterInlineFormSet(forms.BaseInlineFormSet):
    """Admin: an integration's parameter table follows the wizard's rules."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            ParameterRow(
                name=form.cleaned_data["name"],
                placeholder=form.cleaned_data.get("placeholder", ""),
                in_click=form.cleaned_data.get("in_click", False),
                in_impression=form.cleaned_data.get("in_impression", False),
            )
            for form in self.forms
            if form.cleaned_data.get("name") and not self._should_delete_form(form)
        ]
        errors = validate_parameters(rows)
        if errors:
            raise ValidationError(errors)


class PostbackTemplateInlineFormSet(forms.BaseInlineFormSet):
    """Admin: one postback per goal and event, and one install postback (no goal) per event.

    The database refuses a second one (`postbacktemplate_unique_install` / `_unique_goal`);
    two new rows in one save never reach the per-form checks, so the formset says it first.
    """

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        seen: set[tuple[int | None, str]] = set()
        for form in self.forms:
            if self._should_delete_form(form) or not form.cleaned_data.get("url"):
                continue
            goal = form.cleaned_data.get("goal")
            key = (goal.pk if goal else None, form.cleaned_data.get("event"))
            if key in seen:
                what = (
                    _("goal %(goal)s") % {"goal": goal.code} if goal else _("the install postback (no goal)")
                )
                raise ValidationError(
                    _("Two postbacks for %(what)s and the same event: keep one row and edit its URL.")
                    % {"what": what}
                )
            seen.add(key)


class TrackingParameterAdminForm(forms.ModelForm):
    """Admin: a parameter row whose name is one of ours."""

    name = forms.ChoiceField(label=gettext_lazy("Name"), choices=[(p.name, p.name) for p in TRACKING_PARAMS])

    class Meta:
        model = TrackingParameter
        fields = ["name", "placeholder", "in_click", "in_impression", "position"]


class TrackingLinkForm(forms.ModelForm):
    """Admin: a link's offer must be one of its integration's app."""

    class Meta:
        model = TrackingLink
        fields = ["integration", "offer", "landing", "status", "sub1", "sub2", "sub3", "sub4", "sub5"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        integration, offer, landing = cleaned.get("integration"), cleaned.get("offer"), cleaned.get("landing")
        if integration and offer and offer.app_id != integration.app_id:
            self.add_error(
                "offer", _("Pick an offer of %(app)s, the integration's app.") % {"app": integration.app.name}
            )
        if offer and landing and landing.offer_id != offer.pk:
            self.add_error("landing", _("Pick a landing of %(offer)s.") % {"offer": offer.name})
        if integration:
            self.instance.partner = integration.partner
        return cleaned
