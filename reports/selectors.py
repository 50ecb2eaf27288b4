"""Reads of reports: rows grouped by one dimension, from the rollups only.

Every function takes the partner (publisher) it reports on; the portal passes the logged-in
publisher's partner, so no row of another partner can be summed in. The report reads take the
database to read (`using`): the portal passes the one `config.replica.read_reports` hands it,
the replica when there is one, so rows, labels and "as of" come from the same database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import CharField, F, Min, QuerySet, Sum, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from config.money import MoneySum
from partners.models import Landing, Offer, SmartLink
from reports.models import (
    COUNTER_FIELDS,
    MONEY_FIELDS,
    SLOT_NETWORK,
    SLOT_REDIRECT_REASON,
    SLOT_SMART_LINK,
    DailyStat,
    SubStat,
    Watermark,
)

ZERO = Decimal("0")

# The report's groupings: name → label shown in the form and the table's first column.
GROUPINGS: dict[str, str] = {
    "date": gettext_noop("Date"),
    "campaign": gettext_noop("Campaign"),
    "landing": gettext_noop("Landing"),
    "geo": gettext_noop("Country"),
    "device": gettext_noop("Device type"),
    "os": gettext_noop("OS"),
    "sub1": gettext_noop("Sub 1"),
    "sub2": gettext_noop("Sub 2"),
    "sub3": gettext_noop("Sub 3"),
    "sub4": gettext_noop("Sub 4"),
    "sub5": gettext_noop("Sub 5"),
    "network": gettext_noop("Network (ASN / organization)"),
    "redirect": gettext_noop("Redirect reason"),
    "smartlink": gettext_noop("Smart link → offer"),
}
# Groupings read from SubStat: name → slot.
_SLOTS = {
    **{f"sub{n}": n for n in range(1, 6)},
    "network": SLOT_NETWORK,
    "redirect": SLOT_REDIRECT_REASON,
    "smartlink": SLOT_SMART_LINK,
}
# Why a click went to its offer's fallback (Click.redirect_reason), as a report names it.
REDIRECT_REASONS = {
    "country": gettext_lazy("Outside the targeting: country"),
    "device_type": gettext_lazy("Outside the targeting: device type"),
    "os": gettext_lazy("Outside the targeting: OS"),
    "cap": gettext_lazy("The offer's cap is full"),
}
_DAILY_FIELDS = {
    "date": "day",
    "campaign": "offer_id",
    "landing": "landing_id",
    "geo": "country",
    "device": "device_type",
    "os": "os",
}


@dataclass
class ReportRow:
    """One line of a report: the dimension's value, its label, the counters and derived metrics."""

    key: Any
    label: str = ""
    counters: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name in COUNTER_FIELDS:
            return self.counters.get(name, 0)
        raise AttributeError(name)

    @property
    def cr(self) -> Decimal:
        """Conversion rate, % of clicks."""
        return _ratio(self.leads_total * 100, self.clicks)

    @property
    def epc(self) -> Decimal:
        """Earnings per click: approved payout / clicks."""
        return _ratio(self.payout_approved, self.clicks, places=Decimal("0.0001"))

    @property
    def ctr(self) -> Decimal | None:
        """Click-through rate, % of impressions; None ("—") where the impressions are no basis for the clicks.

        Clicks on links used without the impression pixel have no impression, so where a row
        has more clicks than impressions (or none) the basis is incomplete and a rate would
        read above 100 % or 0 % without reason.
        """
        if not self.impressions or self.clicks > self.impressions:
            return None
        return _ratio(self.clicks * 100, self.impressions)


def _ratio(numerator: Any, denominator: Any, *, places: Decimal = Decimal("0.01")) -> Decimal:
    if not denominator:
        return ZERO.quantize(places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(places)


def _sums() -> dict[str, Any]:
    return {name: MoneySum(name) if name in MONEY_FIELDS else Sum(name) for name in COUNTER_FIELDS}


def _rollup(
    partner_id: int, start: date, end: date, grouping: str, offer_id: int | None, using: str
) -> QuerySet:
    if grouping == "smartlink":
        # One row per smart link and the offer its clicks went to: "12:7".
        key = Concat(F("value"), Value(":"), Cast("offer_id", CharField()), output_field=CharField())
        queryset = SubStat.objects.using(using).filter(slot=SLOT_SMART_LINK).annotate(dim=key)
    elif grouping in _SLOTS:
        queryset = SubStat.objects.using(using).filter(slot=_SLOTS[grouping]).annotate(dim=F("value"))
    else:
        queryset = DailyStat.objects.using(using).annotate(dim=F(_DAILY_FIELDS[grouping]))
    queryset = queryset.filter(partner_id=partner_id, day__gte=start, day__lte=end)
    return queryset.filter(offer_id=offer_id) if offer_id else queryset


def report_rows(
    *,
    partner_id: int,
    start: date,
    end: date,
    grouping: str,
    offer_id: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[ReportRow]:
    """The report grouped by `grouping` (a key of GROUPINGS), from the rollups, labelled."""
    grouped = (
        _rollup(partner_id, start, end, grouping, offer_id, using)
        .values("dim")
        .annotate(**_sums())
        .order_by("dim")
    )
    rows = [ReportRow(key=row.pop("dim"), counters=row) for row in grouped]
    return label_rows(rows, grouping, using=using)


def report_totals(
    *, partner_id: int, start: date, end: date, offer_id: int | None = None, using: str = DEFAULT_DB_ALIAS
) -> ReportRow:
    """The period's totals (dashboard cards, the report's last line)."""
    totals = _rollup(partner_id, start, end, "date", offer_id, using).aggregate(**_sums())
    return ReportRow(key=None, label="Total", counters={k: v or 0 for k, v in totals.items()})


def _ids(partner_ids: Iterable[int]) -> Iterable[int]:
    """A subquery stays a subquery (one query); anything else becomes a list."""
    return partner_ids if isinstance(partner_ids, QuerySet) else list(partner_ids)


def earnings_total(*, partner_ids: Iterable[int]) -> Decimal:
    """All approved payouts ever earned by these partners."""
    total = DailyStat.objects.filter(partner_id__in=_ids(partner_ids)).aggregate(
        total=MoneySum("payout_approved")
    )
    return total["total"] or ZERO


def _smart_link_labels(keys: Sequence[str], using: str) -> dict[Any, str]:
    """ "smart link id:offer id" → "Smart link → Offer" (two queries)."""
    pairs = [tuple(int(part) for part in key.split(":")) for key in keys]
    links = dict(
        SmartLink.objects.using(using).filter(pk__in={p[0] for p in pairs}).values_list("pk", "name")
    )
    offers = dict(Offer.objects.using(using).filter(pk__in={p[1] for p in pairs}).values_list("pk", "name"))
    return {
        key: f"{links.get(link, f'#{link}')} → {offers.get(offer, f'#{offer}')}"
        for key, (link, offer) in zip(keys, pairs, strict=True)
    }


def _labels(grouping: str, keys: Sequence[Any], using: str) -> dict[Any, str]:
    if grouping == "campaign":
        return dict(Offer.objects.using(using).filter(pk__in=keys).values_list("pk", "name"))
    if grouping == "landing":
        # With its offer, so two landings named alike ("Play Store") are told apart.
        landings = Landing.objects.using(using).filter(pk__in=keys).values_list("pk", "name", "offer__name")
        return {pk: f"{name} — {offer}" for pk, name, offer in landings}
    if grouping == "smartlink":
        return _smart_link_labels(keys, using)
    if grouping == "redirect":
        return {reason: str(label) for reason, label in REDIRECT_REASONS.items()}
    return {}


def _label(grouping: str, key: Any, names: Mapping[Any, str]) -> str:
    if grouping in ("campaign", "landing"):
        return names.get(key, gettext("(none)") if not key else f"#{key}")
    if key in ("", None):
        return gettext("(unknown network)") if grouping == "network" else gettext("(empty)")
    return names.get(key, str(key))


def label_rows(rows: list[ReportRow], grouping: str, *, using: str = DEFAULT_DB_ALIAS) -> list[ReportRow]:
    """Give each row its label: names for campaigns and landings (one query), values otherwise."""
    names = _labels(grouping, [row.key for row in rows], using)
    for row in rows:
        row.label = _label(grouping, row.key, names)
    return rows


def rollups_as_of(*, using: str = DEFAULT_DB_ALIAS) -> datetime | None:
    """When the rollups were last brought up to date (the fold's last run); None before the first.

    Pages show it as "figures as of": they read the rollups as they are and never fold. Read it
    from the database the rows came from: a replica's watermarks lag with its rollups.
    """
    return Watermark.objects.using(using).aggregate(as_of=Min("updated_at"))["as_of"]


def earnings_by_partner(*, partner_ids: Iterable[int]) -> dict[int, Decimal]:
    """Approved payouts per partner, in one query."""
    rows = (
        DailyStat.objects.filter(partner_id__in=_ids(partner_ids))
        .values("partner_id")
        .annotate(total=MoneySum("payout_approved"))
        .order_by()
    )
    return {row["partner_id"]: row["total"] or ZERO for row in rows}
