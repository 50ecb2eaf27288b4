"""`config.money`: one way to show an amount, in the currency's units and the reader's language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Value

from config.money import (
    MoneySum,
    format_decimal,
    format_money,
    in_minor_units,
    minor_units,
    money_chart_options,
)


@pytest.mark.parametrize(
    ("language", "currency", "amount", "shown"),
    [
        ("en", "USD", "1234.5", "$1,234.50"),
        ("en", "EUR", "3.6", "€3.60"),
        ("en", "JPY", "1234.5", "¥1,235"),  # no minor units: rounded to the yen
        ("de", "EUR", "1234.5", "1.234,50\xa0€"),  # comma decimals, dot thousands
        ("pt-br", "BRL", "1234.5", "R$\xa01.234,50"),
        ("ru", "RUB", "1234.5", "1\xa0234,50\xa0₽"),
    ],
)
def test_amounts_are_written_for_the_currency_and_the_language(language, currency, amount, shown):
    assert format_money(Decimal(amount), currency, language=language) == shown


def test_minor_units_come_from_the_currency():
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert in_minor_units(Decimal("0.125"), "USD") == Decimal("0.13")  # half up, as paid
    assert in_minor_units(3.6000000000000005, "EUR") == Decimal("3.60")


def test_rates_use_the_language_separators():
    assert format_decimal(Decimal("12.345"), 2, language="en") == "12.35"
    assert format_decimal(Decimal("12.345"), 2, language="es") == "12,35"


def test_chart_options_match_the_page_format():
    assert money_chart_options("USD", language="en")["prefix"] == "$"
    german = money_chart_options("EUR", language="de")
    assert (german["suffix"], german["decimal"], german["thousands"]) == ("\xa0€", ",", ".")
    assert money_chart_options("JPY", language="en")["round"] == 0


@pytest.mark.django_db
def test_money_sums_are_exact_decimals_on_every_backend():
    from tests.factories import OrganizationFactory

    for _ in range(30):
        OrganizationFactory(min_payout=Decimal("0.10"))
    from accounts.models import Organization

    total = Organization.objects.aggregate(total=MoneySum("min_payout", places=2))["total"]
    assert total == Decimal("3.00")
    assert str(total) == "3.00"
    assert Organization.objects.none().aggregate(total=MoneySum(Value(Decimal("1"))))["total"] is None
