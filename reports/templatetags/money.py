"""`{% load money %}`: amounts and rates on pages, written by `config.money` in the viewer's language."""

from __future__ import annotations

from typing import Any

from django import template

from config.money import format_decimal, format_money

register = template.Library()


@register.filter
def money(value: Any, currency: str = "USD") -> str:
    """`{{ lead.payout|money:lead.currency }}` → "$3.60" (en), "3,60 $" (es)."""
    return format_money(value, currency)


@register.filter
def number(value: Any, places: int = 2) -> str:
    """`{{ row.cr|number:2 }}` → "12.35" (en), "12,35" (pt-br): a rate or a percentage."""
    return format_decimal(value, int(places))
