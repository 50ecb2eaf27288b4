"""Money as the payout pages and files show it.

One small function on purpose: the formatting helper of issue 13, point 2 (currency symbols,
minor units, locale separators) replaces it in one place.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """A plain decimal string with two places, never a float's digits: `12.5` → `12.50`."""
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))
