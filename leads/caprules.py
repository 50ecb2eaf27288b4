"""What a cap is as the hot paths hold it: its scope, metric and limit, and its periods.

A `partners.Cap` row becomes a `CapRule` (plain, cacheable: `leads.linkcache.offer_caps`).
Periods are computed in the organization's time zone: a day starts at local midnight, a month
on the 1st at local midnight; a total cap has one period for ever. A period is named by the
local date it starts on (`CapUse.period_start`), so a new period is simply a new counter row:
caps reset at the boundary without any job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from partners.models import Cap

Metric = Cap.Metric
Period = Cap.Period

# A total cap's only period; any fixed date would do, this one reads as "from the beginning".
TOTAL_PERIOD_START = date(1970, 1, 1)
# `capped_until` of a full total cap: the end of time as epoch seconds, finite so any client
# can still turn it into a date.
FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("UTC"))
ONE = Decimal("1")


@dataclass(frozen=True)
class CapRule:
    """One active cap, with its organization's time zone."""

    id: int
    offer_id: int
    partner_id: int | None
    goal_id: int | None
    metric: str
    period: str
    limit: Decimal
    time_zone: str

    @classmethod
    def of(cls, cap: Cap, time_zone: str) -> CapRule:
        return cls(
            id=cap.pk,
            offer_id=cap.offer_id,
            partner_id=cap.partner_id,
            goal_id=cap.goal_id,
            metric=cap.metric,
            period=cap.period,
            limit=cap.limit,
            time_zone=time_zone,
        )

    def applies_to(self, *, partner_id: int, goal_id: int | None) -> bool:
        """A conversion of this partner and goal (on the cap's offer) counts toward the cap."""
        return self.partner_id in (None, partner_id) and self.goal_id in (None, goal_id)

    @property
    def guards_clicks(self) -> bool:
        """A full cap without a goal stops the offer's clicks (a goal cap stops only that goal)."""
        return self.goal_id is None

    def amount(self, payout: Decimal) -> Decimal:
        """What one conversion uses of the cap: one, or the publisher payout it would pay."""
        return ONE if self.metric == Metric.CONVERSIONS else payout

    def period_start(self, moment: datetime) -> date:
        """The local date the period holding `moment` starts on."""
        if self.period == Period.TOTAL:
            return TOTAL_PERIOD_START
        local = moment.astimezone(ZoneInfo(self.time_zone)).date()
        return local if self.period == Period.DAILY else local.replace(day=1)

    def resets_at(self, moment: datetime) -> datetime | None:
        """When the period holding `moment` ends (local midnight, aware); None for a total cap."""
        if self.period == Period.TOTAL:
            return None
        start = self.period_start(moment)
        if self.period == Period.DAILY:
            following = start + timedelta(days=1)
        else:
            following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return datetime.combine(following, time(0), tzinfo=ZoneInfo(self.time_zone))

    def is_full(self, used: Decimal, refused: int) -> bool:
        """Nothing more fits: the next conversion would not, or one was already turned away.

        For a payout cap "the next" is unknown until it comes: full means the limit is used up.
        """
        if self.metric == Metric.CONVERSIONS:
            return used + ONE > self.limit or refused > 0
        return used >= self.limit or refused > 0


def describe(rule: CapRule) -> str:
    """ "daily conversions cap of 10" — the words the lead's verdict and the pages use."""
    return f"{rule.period} {rule.metric} cap of {rule.limit.normalize():f}"
