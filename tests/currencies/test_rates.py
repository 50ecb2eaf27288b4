"""ECB reference rates: shipped offline, refreshed from the ECB, cross rates, a day off uses the last."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import requests
from django.core.exceptions import ValidationError

from currencies.models import ExchangeRate, RateRefresh
from currencies.selectors import Rate, cross_rate, per_eur
from currencies.services import rates_load_shipped, rates_refresh
from currencies.tasks import rates_refresh_task
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

HEADER = "Date,USD,JPY,GBP,"


def _rates(day: date, **per_eur_of: str) -> None:
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(day=day, currency=code, per_eur=Decimal(value)) for code, value in per_eur_of.items()]
    )


def test_a_fresh_database_answers_from_the_shipped_history_and_a_weekend_uses_fridays_rate():
    """One test for both: loading the shipped history (200,000 rates) is the slow part."""
    friday, saturday, sunday = date(2024, 6, 7), date(2024, 6, 8), date(2024, 6, 9)
    assert not ExchangeRate.objects.exists()

    fridays = per_eur("USD", friday)

    assert RateRefresh.objects.get().source == RateRefresh.Source.SHIPPED
    assert fridays is not None and fridays[1] == friday
    assert per_eur("USD", saturday) == fridays
    assert cross_rate("EUR", "USD", sunday) == Rate(fridays[0], friday)
    assert rates_load_shipped().added == 0  # loading again adds nothing


def test_two_currencies_convert_through_the_euro():
    _rates(date(2026, 11, 27), USD="1.10", GBP="0.85", JPY="160")

    assert cross_rate("GBP", "USD", date(2026, 11, 27)).rate == Decimal("1.2941176471")  # 1.10 / 0.85
    assert cross_rate("USD", "JPY", date(2026, 11, 28)).rate == Decimal("145.4545454545")
    assert cross_rate("USD", "USD", date(2026, 11, 28)).rate == Decimal("1")


def test_a_lowercase_code_converts_like_its_uppercase():
    _rates(date(2026, 11, 27), USD="1.10", GBP="0.85")

    assert cross_rate("usd", "gbp", date(2026, 11, 27)) == cross_rate("USD", "GBP", date(2026, 11, 27))


def test_a_refresh_adds_the_newest_publication():
    _rates(date(2026, 11, 26), USD="1.10", GBP="0.85")
    lines = [HEADER, "2026-11-27,1.12,161.5,0.86,", "2026-11-26,1.10,160,0.85,"]

    refresh = rates_refresh(fetch=lambda: lines)

    assert refresh.ok and refresh.newest_day == date(2026, 11, 27)
    assert refresh.added == 4  # USD, JPY and GBP of the 27th, JPY of the 26th
    assert per_eur("GBP", date(2026, 11, 28)) == (Decimal("0.86"), date(2026, 11, 27))


def _offline():
    raise requests.ConnectionError("Failed to resolve 'www.ecb.europa.eu'")


def test_a_failed_refresh_keeps_the_last_rates_and_the_admin_says_so(admin_user, client):
    _rates(date(2026, 11, 27), USD="1.10", GBP="0.85")
    RateRefresh.objects.create(source=RateRefresh.Source.ECB, ok=True, added=2, newest_day=date(2026, 11, 27))

    refresh = rates_refresh(fetch=_offline)

    assert not refresh.ok
    assert per_eur("USD", date(2026, 11, 28)) == (Decimal("1.10"), date(2026, 11, 27))
    client.force_login(admin_user)
    page = client.get("/admin/currencies/exchangerate/").content.decode()
    assert "Rates as of 2026-11-27" in page
    assert f"last refresh failed at {refresh.started_at:%Y-%m-%d %H:%M} UTC" in page
    assert "Failed to resolve" in page


def test_a_refresh_that_succeeds_after_a_failure_clears_the_warning(admin_user, client):
    rates_refresh(fetch=_offline)
    rates_refresh(fetch=lambda: [HEADER, "2026-11-27,1.12,161.5,0.86,"])

    client.force_login(admin_user)
    page = client.get("/admin/currencies/exchangerate/").content.decode()
    assert "Rates as of 2026-11-27" in page
    assert "last refresh failed" not in page


def test_a_file_without_rates_is_a_failed_refresh():
    _rates(date(2026, 11, 27), USD="1.10")

    refresh = rates_refresh(fetch=lambda: ["<html>maintenance</html>"])

    assert not refresh.ok
    assert ExchangeRate.objects.count() == 1


def test_the_beat_task_asks_nobody_when_the_refresh_is_off(settings, monkeypatch):
    settings.ECB_REFRESH_ENABLED = False
    monkeypatch.setattr("currencies.services.fetch_ecb_history", lambda: pytest.fail("the ECB was called"))

    assert rates_refresh_task() is False
    assert not RateRefresh.objects.exists()


def test_the_beat_task_refreshes_when_on(settings, monkeypatch):
    settings.ECB_REFRESH_ENABLED = True
    monkeypatch.setattr(
        "currencies.services.fetch_ecb_history", lambda: [HEADER, "2026-11-27,1.12,161.5,0.86,"]
    )

    assert rates_refresh_task() is True
    assert ExchangeRate.objects.filter(day=date(2026, 11, 27)).count() == 3


def test_a_base_currency_must_be_one_the_rates_know():
    organization = OrganizationFactory(currency="XYZ")

    with pytest.raises(ValidationError, match="not a currency the ECB"):
        organization.full_clean()
    organization.currency = "GBP"
    organization.full_clean()
