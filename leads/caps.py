"""Caps (SPEC 4.5): a new paying lead claims every cap that applies to it; the database decides.

A claim, per cap in id order (a fixed order, so two conversions never wait on each other's
rows in a circle):

    INSERT INTO leads_capuse … ON CONFLICT DO NOTHING          -- the period's counter exists
    UPDATE leads_capuse SET used = used + :amount
     WHERE cap_id = … AND period_start = … AND used + :amount <= :limit

The UPDATE's row count is the answer: racing conversions queue on the counter row and each
re-reads it before deciding, so a cap of 10 takes exactly 10, whatever the concurrency. Never
check-then-act. When a cap refuses, the caps this lead already took are given back in the same
transaction (compensating UPDATEs on rows it holds locked), so a refused lead consumes nothing,
and the refusal is counted on the cap's row (`refused`: clicks then see the offer as full).

The caller (`leads.services`) marks a refused lead `cap_reached`; it is kept and pays nothing.
When a claim fills a cap that guards clicks, or a cap refuses, the offer's links forget their
cached data, so clicks see `capped_until` within the near cache's seconds.

Reads for people (admin, API, portal): `cap_uses` — each cap's use in its current period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from config.i18n import admin_text
from config.money import money_text
from leads import linkcache
from leads.caprules import CapRule
from leads.models import CapUse
from partners.models import Cap

_TABLE = CapUse._meta.db_table
_OPEN = (
    f"INSERT INTO {_TABLE} (cap_id, period_start, used, refused) VALUES (%s, %s, 0, 0) "
    "ON CONFLICT (cap_id, period_start) DO NOTHING"
)
# `used <= limit - amount` is `used + amount <= limit` with the bound computed here: SQLite
# compares a bound parameter with the column's numeric affinity only when it stands alone.
_TAKE = (
    f"UPDATE {_TABLE} SET used = used + %s "
    "WHERE cap_id = %s AND period_start = %s AND used <= %s RETURNING used"
)
_GIVE_BACK = f"UPDATE {_TABLE} SET used = used - %s WHERE cap_id = %s AND period_start = %s"
_REFUSE = f"UPDATE {_TABLE} SET refused = refused + 1 WHERE cap_id = %s AND period_start = %s RETURNING used"


@dataclass(frozen=True)
class Refusal:
    """The cap that turned a conversion away, as the lead's verdict details keep it."""

    rule: CapRule
    period_start: date
    used: Decimal
    amount: Decimal

    def details(self) -> dict[str, str | int]:
        return {
            "cap_id": self.rule.id,
            "metric": self.rule.metric,
            "period": self.rule.period,
            "period_start": self.period_start.isoformat(),
            "limit": f"{self.rule.limit.normalize():f}",
            "used": f"{self.used.normalize():f}",
            "amount": f"{self.amount.normalize():f}",
        }


def caps_claim(
    *, offer_id: int, partner_id: int, goal_id: int | None, payout: Decimal, at: datetime
) -> Refusal | None:
    """Claim every cap that applies to a conversion at `at`; the refusing cap, or None when all took it.

    Runs in the caller's transaction: a rollback gives every claim back. With no cap on the
    offer it costs no query (the offer's caps come from the near cache).
    """
    rules = [
        rule
        for rule in linkcache.offer_caps(offer_id)
        if rule.applies_to(partner_id=partner_id, goal_id=goal_id)
    ]
    if not rules:
        return None
    taken: list[tuple[CapRule, str, Decimal]] = []
    filled = False
    with connection.cursor() as cursor:
        for rule in rules:
            amount, start = rule.amount(payout), rule.period_start(at)
            day = connection.ops.adapt_datefield_value(start)
            cursor.execute(_OPEN, [rule.id, day])
            cursor.execute(_TAKE, [amount, rule.id, day, rule.limit - amount])
            row = cursor.fetchone()
            if row is None:
                cursor.execute(_REFUSE, [rule.id, day])
                used = Decimal(str(cursor.fetchone()[0]))
                for done, done_day, done_amount in taken:
                    cursor.execute(_GIVE_BACK, [done_amount, done.id, done_day])
                if rule.guards_clicks:
                    linkcache.offer_links_forget([offer_id])
                return Refusal(rule, start, used, amount)
            taken.append((rule, day, amount))
            filled = filled or (rule.guards_clicks and rule.is_full(Decimal(str(row[0])), 0))
    if filled:
        linkcache.offer_links_forget([offer_id])
    return None


@dataclass(frozen=True)
class CapUseNow:
    """A cap's use in its current period, as managers and publishers see it."""

    cap_id: int
    period_start: date
    used: Decimal
    limit: Decimal
    refused: int
    resets_at: datetime | None

    @property
    def remaining(self) -> Decimal:
        return max(self.limit - self.used, Decimal("0"))


def cap_uses(caps: Iterable[Cap], *, now: datetime | None = None) -> dict[int, CapUseNow]:
    """Each cap's use in the period holding `now` (one query); caps need `organization` loaded."""
    now = now or timezone.now()
    rules = [CapRule.of(cap, cap.organization.time_zone) for cap in caps]
    if not rules:
        return {}
    starts = {rule.id: rule.period_start(now) for rule in rules}
    wanted = Q()
    for cap_id, start in starts.items():
        wanted |= Q(cap_id=cap_id, period_start=start)
    rows = {use.cap_id: use for use in CapUse.objects.filter(wanted)}
    zero = CapUse(used=Decimal("0"), refused=0)
    return {
        rule.id: CapUseNow(
            cap_id=rule.id,
            period_start=starts[rule.id],
            used=Decimal(rows.get(rule.id, zero).used),
            limit=rule.limit,
            refused=rows.get(rule.id, zero).refused,
            resets_at=rule.resets_at(now),
        )
        for rule in rules
    }


# How much of a cap is used, by its period, as managers read it in the admin.
_USE_TEXTS = {
    "daily": admin_text("%(used)s / %(limit)s today"),
    "monthly": admin_text("%(used)s / %(limit)s this month"),
    "total": admin_text("%(used)s / %(limit)s in total"),
}


def _amount_text(value: Decimal, cap: Cap) -> str:
    if cap.metric == Cap.Metric.CONVERSIONS:
        return f"{value.normalize():f}"
    return f"{money_text(value)} {cap.offer.currency}"


def cap_use_text(cap: Cap, use: CapUseNow) -> str:
    """ "7 / 10 today, resets 2026-11-29 00:00 Europe/Berlin" — a cap's use as managers read it."""
    parts = [
        _USE_TEXTS[cap.period] % {"used": _amount_text(use.used, cap), "limit": _amount_text(use.limit, cap)}
    ]
    if use.refused:
        parts.append(admin_text("%(refused)d refused") % {"refused": use.refused})
    if use.resets_at is None:
        parts.append(str(admin_text("never resets")))
    else:
        parts.append(
            admin_text("resets %(time)s %(zone)s")
            % {"time": f"{use.resets_at:%Y-%m-%d %H:%M}", "zone": cap.organization.time_zone}
        )
    return ", ".join(parts)
