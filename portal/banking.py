"""Bank details checked with schwifty: the IBAN's checksum and structure, a BIC that fits the IBAN.

The portal's payment-method form, the admin's and the payout run's warnings all ask here, so a
publisher, a manager and the run page give the same sentence for the same mistake.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from schwifty import BIC, IBAN
from schwifty import exceptions as bank_errors

# In the language of whoever reads them: the publisher's on the portal, English in the admin.
IBAN_MESSAGES: dict[type[Exception], Promise] = {
    bank_errors.InvalidCountryCode: gettext_lazy(
        "The IBAN starts with an unknown country code: check its first letters."
    ),
    bank_errors.InvalidLength: gettext_lazy(
        "The IBAN has the wrong length for its country: a digit is missing or extra."
    ),
    bank_errors.InvalidChecksumDigits: gettext_lazy(
        "The IBAN checksum is wrong: a character was probably mistyped."
    ),
    bank_errors.InvalidBBANChecksum: gettext_lazy(
        "The IBAN's national checksum is wrong: a character is mistyped."
    ),
    bank_errors.InvalidStructure: gettext_lazy(
        "The IBAN does not have its country's format: check letters and digits."
    ),
    bank_errors.InvalidBankCode: gettext_lazy(
        "The IBAN's bank code does not exist: check the IBAN with your bank."
    ),
    bank_errors.InvalidBranchCode: gettext_lazy(
        "The IBAN's branch code does not exist: check the IBAN with your bank."
    ),
    bank_errors.InvalidAccountCode: gettext_lazy(
        "The IBAN's account number is malformed: check the IBAN with your bank."
    ),
}


def normalized(value: str) -> str:
    """Upper case without spaces, as IBANs and BICs are stored and exported."""
    return "".join(value.split()).upper()


def iban_error(iban: str) -> str | None:
    """Why this IBAN cannot be paid to, or None when it is valid."""
    try:
        IBAN(iban)
    except bank_errors.SchwiftyException as error:
        for kind, message in IBAN_MESSAGES.items():
            if isinstance(error, kind):
                return str(message)
        return _("This is not a valid IBAN: check it with your bank.")
    return None


def bic_error(bic: str, iban: str = "") -> str | None:
    """Why this BIC is wrong (alone, or for this IBAN), or None when it is valid."""
    try:
        parsed = BIC(bic)
    except bank_errors.SchwiftyException:
        return _("This is not a valid BIC: it has 8 or 11 letters and digits, e.g. COBADEFFXXX.")
    if iban and iban_error(iban) is None and parsed.country_code != IBAN(iban).country_code:
        return _("The BIC does not match the IBAN's bank country: check both with your bank.")
    return None
