"""Reads of reports: rows grouped by one dimension, from the rollups (and, to check them, from raw tables).

Every function takes the partner (publisher) it reports on; the portal passes the logged-in
publisher's partner, so no row of another partner can be summed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from leads.models import Click, Impression, Lead, LeadStatus
from partners.models import Landing, Offer
from reports.models import COUNTER_FIELDS, DailyStat, SubStat, Watermark

ZERO = Decimal("0")

# The report's groupings: name → label shown in the form and the table's first column.
GROUPINGS: dict[str, str] = {
    "date": "Date",
    "campaign": "Campaign",
    "landing": "Landing",
    "geo": "Country",
    "device": "Device type",
    "os": "OS",
    "sub1": "Sub 1",
    "sub2": "Sub 2",
    "sub3": "Sub 3",
    "sub4": "Sub 4",
    "sub5": "Sub 5",
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
    def ctr(self) -> Decimal:
        """Click-through rate, % of impressions."""
        return _ratio(self.clicks * 100, self.impressions)


def _ratio(numerator: Any, denominator: Any, *, places: Decimal = Decimal("0.01")) -> Decimal:
    if not denominator:
        return ZERO.quantize(places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(places)


def _sums() -> dict[str, Any]:
    return {name: Sum(name) for name in COUNTER_FIELDS}


def _rollup(partner_id: int, start: date, end: date, grouping: str, offer_id: int | None) -> QuerySet:
    if grouping.startswith("sub"):
        queryset = SubStat.objects.filter(slot=int(grouping[3:])).annotate(dim=F("value"))
    else:
        queryset = DailyStat.objects.annotate(dim=F(_DAILY_FIELDS[grouping]))
    queryset = queryset.filter(partner_id=partner_id, day__gte=start, day__lte=end)
    return queryset.filter(offer_id=offer_id) if offer_id else queryset


def report_rows(
    *, partner_id: int, start: date, end: date, grouping: str, offer_id: int | None = None
) -> list[ReportRow]:
    """The report grouped by `grouping` (a key of GROUPINGS), from the rollups, labelled."""
    grouped = (
        _rollup(partner_id, start, end, grouping, offer_id).values("dim").annotate(**_sums()).order_by("dim")
    )
    rows = [ReportRow(key=row.pop("dim"), counters=row) for row in grouped]
    return label_rows(rows, grouping)


def report_totals(*, partner_id: int, start: date, end: date, offer_id: int | None = None) -> ReportRow:
    """The period's totals (dashboard cards, the report's last line)."""
    totals = _rollup(partner_id, start, end, "date", offer_id).aggregate(**_sums())
    return ReportRow(key=None, label="Total", counters={k: v or 0 for k, v in totals.items()})


def _ids(partner_ids: Iterable[int]) -> Iterable[int]:
    """A subquery stays a subquery (one query); anything else becomes a list."""
    return partner_ids if isinstance(partner_ids, QuerySet) else list(partner_ids)


def earnings_total(*, partner_ids: Iterable[int]) -> Decimal:
    """All approved payouts ever earned by these partners."""
    total = DailyStat.objects.filter(partner_id__in=_ids(partner_ids)).aggregate(total=Sum("payout_approved"))
    return total["total"] or ZERO


def _labels(grouping: str, keys: Sequence[Any]) -> dict[Any, str]:
    if grouping == "campaign":
        return dict(Offer.objects.filter(pk__in=keys).values_list("pk", "name"))
    if grouping == "landing":
        return dict(Landing.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {}


def _label(grouping: str, key: Any, names: Mapping[Any, str]) -> str:
    if grouping in ("campaign", "landing"):
        return names.get(key, "(none)" if not key else f"#{key}")
    if key in ("", None):
        return "(empty)"
    return str(key)


def label_rows(rows: list[ReportRow], grouping: str) -> list[ReportRow]:
    """Give each row its label: names for campaigns and landings (one query), values otherwise."""
    names = _labels(grouping, [row.key for row in rows])
    for row in rows:
        row.label = _label(grouping, row.key, names)
    return rows


def rollups_behind() -> bool:
    """Whether clicks or impressions exist past the folded watermark (two index lookups and one read)."""
    folded = dict(Watermark.objects.values_list("source", "folded_id"))
    newest_click = Click.objects.aggregate(m=Max("id"))["m"] or 0
    newest_impression = Impression.objects.aggregate(m=Max("id"))["m"] or 0
    return newest_click > folded.get("clicks", 0) or newest_impression > folded.get("impressions", 0)


# --- The same reports straight from the raw tables (tests and the benchmark compare) ----------


def _int(expression: Any) -> Coalesce:
    return Coalesce(expression, Value(0), output_field=BigIntegerField())


def _traffic_dim(grouping: str, *, impressions: bool) -> Any:
    if grouping == "date":
        return TruncDate("created_at")
    if grouping == "landing":
        return Value(0, output_field=BigIntegerField()) if impressions else _int(F("landing_id"))
    names = {"campaign": "offer_id", "geo": "country", "device": "device_type", "os": "os"}
    return F(names.get(grouping, grouping))


def _lead_dim(grouping: str) -> Any:
    if grouping == "date":
        return TruncDate("created_at")
    if grouping == "campaign":
        return F("offer_id")
    if grouping == "landing":
        return _int(Coalesce("click__landing_id", "link__landing_id"))
    names = {"geo": "country", "device": "device_type", "os": "os"}
    return Coalesce(f"click__{names.get(grouping, grouping)}", Value(""))


def _raw_filter(
    queryset: QuerySet, partner_id: int, start: date, end: date, offer_id: int | None
) -> QuerySet:
    # A range on created_at itself (UTC days), so the raw tables' time indexes can serve it.
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    queryset = queryset.filter(partner_id=partner_id, created_at__gte=since, created_at__lt=until)
    return queryset.filter(offer_id=offer_id) if offer_id else queryset


def _first_of_day() -> Q:
    """A unique click: no IP, or no earlier click on its link from its IP the same UTC day."""
    earlier = Click.objects.filter(
        link_id=OuterRef("link_id"),
        ip=OuterRef("ip"),
        created_at__date=OuterRef("k_day"),
        id__lt=OuterRef("id"),
    )
    return Q(ip="") | ~Q(Exists(earlier))


def _raw_parts(
    partner_id: int, start: date, end: date, grouping: str, offer_id: int | None, *, unique: bool
) -> list[Iterable[dict[str, Any]]]:
    clicks = _raw_filter(Click.objects, partner_id, start, end, offer_id).annotate(
        k_day=TruncDate("created_at"), dim=_traffic_dim(grouping, impressions=False)
    )
    click_counts: dict[str, Any] = {"clicks": Count("id")}
    if unique:
        click_counts["unique_clicks"] = Count("id", filter=_first_of_day())
    impressions = _raw_filter(Impression.objects, partner_id, start, end, offer_id).annotate(
        dim=_traffic_dim(grouping, impressions=True)
    )
    leads = _raw_filter(Lead.objects, partner_id, start, end, offer_id).annotate(dim=_lead_dim(grouping))
    return [
        clicks.values("dim").annotate(**click_counts).order_by(),
        impressions.values("dim").annotate(impressions=Count("id")).order_by(),
        leads.values("dim").annotate(**_raw_lead_counters()).order_by(),
    ]


def _raw_lead_counters() -> dict[str, Any]:
    approved = Q(status=LeadStatus.APPROVED)
    pending = Q(status__in=[LeadStatus.NEW, LeadStatus.PROCESSING, LeadStatus.HOLD])
    return {
        "leads_total": Count("id"),
        "leads_approved": Count("id", filter=approved),
        "leads_pending": Count("id", filter=pending),
        "leads_rejected": Count("id", filter=Q(status__in=[LeadStatus.CANCELLED, LeadStatus.TRASH])),
        "payout_approved": Sum("payout", filter=approved),
        "payout_pending": Sum("payout", filter=pending),
        "revenue_approved": Sum("revenue", filter=approved),
        "revenue_pending": Sum("revenue", filter=pending),
    }


def raw_report_rows(
    *,
    partner_id: int,
    start: date,
    end: date,
    grouping: str,
    offer_id: int | None = None,
    unique: bool = True,
) -> list[ReportRow]:
    """What `report_rows` answers, counted over the raw clicks, impressions and leads."""
    merged: dict[Any, dict[str, Any]] = {}
    for part in _raw_parts(partner_id, start, end, grouping, offer_id, unique=unique):
        for row in part:
            counters = merged.setdefault(str(row.pop("dim")), {})
            counters.update({k: v or 0 for k, v in row.items()})
    rows = [ReportRow(key=key, counters=counters) for key, counters in sorted(merged.items())]
    return rows


def earnings_by_partner(*, partner_ids: Iterable[int]) -> dict[int, Decimal]:
    """Approved payouts per partner, in one query."""
    rows = (
        DailyStat.objects.filter(partner_id__in=_ids(partner_ids))
        .values("partner_id")
        .annotate(total=Sum("payout_approved"))
        .order_by()
    )
    return {row["partner_id"]: row["total"] or ZERO for row in rows}
