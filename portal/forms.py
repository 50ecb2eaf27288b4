"""The portal's forms: login, sign-up, payment method, payout request, postback, profile."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.password_validation import validate_password
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import STAFF_ROLES, Role
from accounts.permissions import membership_of
from partners.urlsafety import validate_outbound
from portal import banking
from portal.models import PaymentMethod, PublisherSignup
from portal.selectors import signup_of


class PortalLoginForm(AuthenticationForm):
    """Publishers whose sign-up is approved may enter; staff pass, to be sent on to the admin."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        membership = membership_of(user)
        if membership is None or (membership.role != Role.PUBLISHER and membership.role not in STAFF_ROLES):
            raise forms.ValidationError(
                _("This login has no access to the publisher portal."), code="no_portal"
            )
        if membership.role == Role.PUBLISHER:
            signup = signup_of(membership.partner_id)
            if signup is not None and signup.status == PublisherSignup.Status.PENDING:
                raise forms.ValidationError(
                    _("Your sign-up is awaiting a manager's approval: you can log in once it is approved."),
                    code="pending",
                )
            if signup is not None and signup.status == PublisherSignup.Status.REJECTED:
                raise forms.ValidationError(_("Your sign-up was not approved."), code="rejected")


class PortalPasswordResetForm(PasswordResetForm):
    """Django's password reset e-mail, written in the publisher's saved language (else the page's)."""

    def send_mail(self, subject: str, body: str, context: dict, *args: Any, **kwargs: Any) -> None:
        membership = membership_of(context["user"])
        language = (membership.language if membership is not None else "") or translation.get_language()
        with translation.override(language):
            super().send_mail(subject, body, context, *args, **kwargs)


class SignupForm(forms.Form):
    """A new publisher account: company, contact e-mail, login and password."""

    company = forms.CharField(max_length=200, label=gettext_lazy("Company or site name"))
    website = forms.URLField(required=False, label=gettext_lazy("Website"), assume_scheme="https")
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    username = forms.CharField(max_length=150, label=gettext_lazy("Username"))
    password = forms.CharField(widget=forms.PasswordInput, label=gettext_lazy("Password"))

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken: pick another."))
        return username

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password"):
            user = get_user_model()(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                validate_password(cleaned["password"], user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PaymentMethodForm(forms.ModelForm):
    """The payment method: every field is shown, only the chosen kind's are required and checked.

    Each detail field carries its kind (`data-method`), so the page's script can hide the other
    kinds' fields; without the script the form still works, the other kinds' values are ignored.
    """

    REQUIRED = {
        PaymentMethod.Kind.PAYPAL: ("paypal_email",),
        PaymentMethod.Kind.BANK: ("account_holder", "iban"),
        PaymentMethod.Kind.CRYPTO: ("wallet_network", "wallet_address"),
    }

    class Meta:
        model = PaymentMethod
        fields = ["kind", "paypal_email", "account_holder", "iban", "bic", "wallet_network", "wallet_address"]
        labels = {
            "kind": gettext_lazy("Method"),
            "paypal_email": gettext_lazy("PayPal e-mail"),
            "account_holder": gettext_lazy("Account holder"),
            "iban": "IBAN",
            "bic": gettext_lazy("BIC / SWIFT"),
            "wallet_network": gettext_lazy("Wallet network"),
            "wallet_address": gettext_lazy("Wallet address"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.attrs["data-method-kind"] = ""
        for kind, names in PaymentMethod.DETAILS.items():
            for name in names:
                self.fields[name].widget.attrs["data-method"] = kind

    def clean_iban(self) -> str:
        return banking.normalized(self.cleaned_data["iban"])

    def clean_bic(self) -> str:
        return banking.normalized(self.cleaned_data["bic"])

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        for name in self.REQUIRED.get(kind, ()):
            if not cleaned.get(name):
                self.add_error(name, _("Required for this payment method."))
        if kind == PaymentMethod.Kind.BANK:
            self._check_bank(cleaned)
        return cleaned

    def _check_bank(self, cleaned: dict) -> None:
        iban, bic = cleaned.get("iban", ""), cleaned.get("bic", "")
        if iban and (error := banking.iban_error(iban)):
            self.add_error("iban", error)
        if bic and (error := banking.bic_error(bic, iban)):
            self.add_error("bic", error)


class PayoutRequestForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), label=gettext_lazy("Amount")
    )


class PostbackForm(forms.Form):
    """The publisher's postback URL, checked like every outbound URL (empty turns it off)."""

    url = forms.CharField(
        max_length=2000,
        required=False,
        label=gettext_lazy("Postback URL"),
        validators=[validate_outbound],
        widget=forms.TextInput(
            attrs={"placeholder": "https://tracker.example/postback?clickid={ref_id}&payout={aff_payout}"}
        ),
    )


class AccessRequestForm(forms.Form):
    message = forms.CharField(
        max_length=500, required=False, label=gettext_lazy("Message to the manager (optional)")
    )


class ProfileForm(forms.Form):
    contact_name = forms.CharField(max_length=200, required=False, label=gettext_lazy("Contact name"))
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    website = forms.URLField(required=False, label=gettext_lazy("Website"), assume_scheme="https")


class PaymentMethodAdminForm(PaymentMethodForm):
    """The admin's payment method: the portal form's checks, with the publisher to pay."""

    class Meta(PaymentMethodForm.Meta):
        fields = ["partner", *PaymentMethodForm.Meta.fields]


class PayoutRunForm(forms.Form):
    """A new payout run: the publishers picked (none: all at or above the threshold) and the debtor."""

    partners = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Publishers"),
        help_text=gettext_lazy("Leave all unticked to pay every publisher at or above the threshold."),
    )
    debtor_name = forms.CharField(max_length=70, required=False, label=gettext_lazy("Debtor account holder"))
    debtor_iban = forms.CharField(max_length=42, required=False, label=gettext_lazy("Debtor IBAN"))
    debtor_bic = forms.CharField(max_length=11, required=False, label=gettext_lazy("Debtor BIC"))

    def __init__(self, *args: Any, candidates: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partners"].choices = [(partner.pk, str(partner)) for partner, _, _ in candidates]

    def clean_debtor_iban(self) -> str:
        iban = banking.normalized(self.cleaned_data["debtor_iban"])
        if iban and (error := banking.iban_error(iban)):
            raise forms.ValidationError(error)
        return iban

    def clean_debtor_bic(self) -> str:
        bic = banking.normalized(self.cleaned_data["debtor_bic"])
        if bic and (error := banking.bic_error(bic, self.cleaned_data.get("debtor_iban", ""))):
            raise forms.ValidationError(error)
        return bic


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        max_length=200,
        label=gettext_lazy("Payment reference"),
        help_text=gettext_lazy("The bank's or PayPal's batch id."),
    )
