"""Money: one way to add it up, one way to write it for machines, one way to show it to people.

- `MoneySum` adds up a money column as a `Decimal` with the column's places on every backend.
  SQLite adds decimals as floats, and Django converts an aggregate's float back without
  rounding: 3.6 came back as `3.60000000000000`. The sum is quantized to the field's places.
- `money_text` is how answers, macros and CSV write an amount: a plain decimal string.
- `format_money` is how pages show it: the currency's symbol, its minor units (JPY has none)
  and the separators of the viewer's language (Babel's CLDR data, offline).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel import numbers
from django.db.models import DecimalField, Sum
from django.utils import translation

FOUR_PLACES = Decimal("0.0001")
MONEY_FIELD_PLACES = 4
# Excel's number format for amounts: thousands separated, two decimals (the locale shows them).
XLSX_MONEY_FORMAT = "#,##0.00"
XLSX_RATE_FORMAT = "0.00"


def money_text(value: Decimal) -> str:
    """Money as a string with at least two decimals: 1.5 → "1.50", 1.2345 → "1.2345"."""
    value = Decimal(value).normalize()
    return str(value.quantize(Decimal("0.01"))) if value.as_tuple().exponent > -2 else f"{value:f}"


def amount_text(value: Any, currency: str) -> str:
    """An amount for a file a machine reads (CSV, PayPal): plain, in the currency's minor units."""
    return str(in_minor_units(value, currency))


def minor_units(currency: str) -> int:
    """How many decimals the currency has: 2 for USD and EUR, 0 for JPY, 3 for KWD."""
    try:
        return numbers.get_currency_precision(currency.upper())
    except (KeyError, AttributeError):  # an unknown code: the common case
        return 2


def in_minor_units(value: Any, currency: str) -> Decimal:
    """The amount rounded (half up) to the currency's minor units: what is really paid."""
    places = Decimal(1).scaleb(-minor_units(currency))
    return to_decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """Any stored or summed amount as a Decimal (None and floats included, no float digits)."""
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def babel_locale(language: str | None = None) -> str:
    """Babel's name for a Django language code: "pt-br" → "pt_BR"; the active language by default."""
    return translation.to_locale(language or translation.get_language() or "en")


def format_money(value: Any, currency: str, *, language: str | None = None) -> str:
    """An amount as people read it in their language: "$1,234.50", "1.234,50 €", "¥1,235"."""
    code = (currency or "USD").upper()
    amount = in_minor_units(value, code)
    try:
        return numbers.format_currency(amount, code, locale=babel_locale(language), currency_digits=True)
    except (ValueError, LookupError):  # an unknown locale or code: plain, never an error on a page
        return f"{amount:f} {code}"


def format_decimal(value: Any, places: int = 2, *, language: str | None = None) -> str:
    """A number (a rate, a percentage) with `places` decimals and the language's separators."""
    amount = to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return numbers.format_decimal(amount, format=pattern, locale=babel_locale(language))


def format_percent(value: Any, *, language: str | None = None) -> str:
    """A percentage as a rate is written: "30 %", "12.5 %" → "12.50 %" (two places unless whole)."""
    amount = to_decimal(value)
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{format_decimal(amount, places, language=language)} %"


def currency_symbol(currency: str, *, language: str | None = None) -> str:
    """The currency's symbol in the language ("$", "€", "R$"), its code when it has none."""
    try:
        return numbers.get_currency_symbol(currency.upper(), locale=babel_locale(language))
    except (ValueError, LookupError):
        return currency.upper()


def _quantizer(places: int):
    quantum = Decimal(1).scaleb(-places)

    def convert(value: Any, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)

    return convert


class MoneySum(Sum):
    """`Sum` of a money column as a Decimal with the field's places, on SQLite and PostgreSQL."""

    def __init__(self, expression: Any, *, places: int = MONEY_FIELD_PLACES, **extra: Any) -> None:
        extra.setdefault("output_field", DecimalField(max_digits=20, decimal_places=places))
        super().__init__(expression, **extra)
        self.places = places

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [*super().get_db_converters(connection), _quantizer(self.places)]


def number_symbols(*, language: str | None = None) -> dict[str, str]:
    """The language's decimal and grouping separators ("," and "." in English, "," and " " in Russian)."""
    locale = babel_locale(language)
    return {"decimal": numbers.get_decimal_symbol(locale), "group": numbers.get_group_symbol(locale)}


def money_chart_options(currency: str, *, language: str | None = None) -> dict[str, Any]:
    """Chartkick options that write a money axis and its tooltips as the pages do ("$1,234.50")."""
    symbols = number_symbols(language=language)
    sample = format_money(Decimal("1"), currency, language=language)  # "$1.00", "1,00 €"
    digits = minor_units(currency)
    amount = format_decimal(Decimal("1"), digits, language=language)
    prefix, _, suffix = sample.partition(amount)
    return {
        "prefix": prefix,
        "suffix": suffix,
        "thousands": symbols["group"],
        "decimal": symbols["decimal"],
        "round": digits,
        "zeros": True,
    }
