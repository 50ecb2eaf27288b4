"""The portal's forms: login, sign-up, payment method, payout request, postback, profile."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password

from accounts.models import STAFF_ROLES, Role
from accounts.permissions import membership_of
from partners.urlsafety import validate_outbound
from portal.models import PaymentMethod, PublisherSignup
from portal.selectors import signup_of


class PortalLoginForm(AuthenticationForm):
    """Publishers whose sign-up is approved may enter; staff pass, to be sent on to the admin."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        membership = membership_of(user)
        if membership is None or (membership.role != Role.PUBLISHER and membership.role not in STAFF_ROLES):
            raise forms.ValidationError("This login has no access to the publisher portal.", code="no_portal")
        if membership.role == Role.PUBLISHER:
            signup = signup_of(membership.partner_id)
            if signup is not None and signup.status == PublisherSignup.Status.PENDING:
                raise forms.ValidationError(
                    "Your sign-up is awaiting a manager's approval: you can log in once it is approved.",
                    code="pending",
                )
            if signup is not None and signup.status == PublisherSignup.Status.REJECTED:
                raise forms.ValidationError("Your sign-up was not approved.", code="rejected")


class SignupForm(forms.Form):
    """A new publisher account: company, contact e-mail, login and password."""

    company = forms.CharField(max_length=200, label="Company or site name")
    website = forms.URLField(required=False, label="Website", assume_scheme="https")
    email = forms.EmailField(label="E-mail")
    username = forms.CharField(max_length=150, label="Username")
    password = forms.CharField(widget=forms.PasswordInput, label="Password")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken: pick another.")
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
    """The payment method; the fields of the chosen kind are required."""

    REQUIRED = {
        PaymentMethod.Kind.PAYPAL: ("paypal_email",),
        PaymentMethod.Kind.BANK: ("account_holder", "iban"),
        PaymentMethod.Kind.CRYPTO: ("wallet_network", "wallet_address"),
    }

    class Meta:
        model = PaymentMethod
        fields = ["kind", "paypal_email", "account_holder", "iban", "bic", "wallet_network", "wallet_address"]
        labels = {"kind": "Method", "paypal_email": "PayPal e-mail", "iban": "IBAN", "bic": "BIC / SWIFT"}

    def clean_iban(self) -> str:
        iban = self.cleaned_data["iban"].replace(" ", "").upper()
        if iban and not (
            iban[:2].isalpha() and iban[2:4].isdigit() and 15 <= len(iban) <= 34 and iban.isalnum()
        ):
            raise forms.ValidationError("This is not an IBAN: it starts with a country code and two digits.")
        return iban

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in self.REQUIRED.get(cleaned.get("kind"), ()):
            if not cleaned.get(name):
                self.add_error(name, "Required for this payment method.")
        return cleaned


class PayoutRequestForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), label="Amount")


class PostbackForm(forms.Form):
    """The publisher's postback URL, checked like every outbound URL (empty turns it off)."""

    url = forms.CharField(
        max_length=2000,
        required=False,
        label="Postback URL",
        validators=[validate_outbound],
        widget=forms.TextInput(
            attrs={"placeholder": "https://tracker.example/postback?clickid={ref_id}&payout={aff_payout}"}
        ),
    )


class AccessRequestForm(forms.Form):
    message = forms.CharField(max_length=500, required=False, label="Message to the manager (optional)")


class ProfileForm(forms.Form):
    contact_name = forms.CharField(max_length=200, required=False, label="Contact name")
    email = forms.EmailField(label="E-mail")
    website = forms.URLField(required=False, label="Website", assume_scheme="https")
