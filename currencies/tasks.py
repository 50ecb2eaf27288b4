"""Celery tasks of the exchange rates: the daily refresh from the ECB (beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from currencies.services import rates_refresh


@shared_task(name="currencies.rates_refresh", ignore_result=True)
def rates_refresh_task() -> bool:
    """Refresh the rates from the ECB when `ECB_REFRESH_ENABLED`; True when it brought rates."""
    if not settings.ECB_REFRESH_ENABLED:
        return False
    return rates_refresh().ok
