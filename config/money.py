"""Money as text, the one way every answer, macro and export writes an amount."""

from __future__ import annotations

from decimal import Decimal


def money_text(value: Decimal) -> str:
    """Money as a string with at least two decimals: 1.5 → "1.50", 1.2345 → "1.2345"."""
    value = Decimal(value).normalize()
    return str(value.quantize(Decimal("0.01"))) if value.as_tuple().exponent > -2 else f"{value:f}"
