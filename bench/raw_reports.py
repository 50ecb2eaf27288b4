"""The portal's reports counted straight from the raw clicks, impressions and leads.

What `reports.selectors.report_rows` answers from the rollups, asked of the raw tables: the
benchmark times both, and the tests hold the rollups to these counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from leads.models import Click, Impression, Lead, LeadStatus
from leads.rollups import lead_network_value, network_value
from reports.selectors import ReportRow

# Groupings that count only what has a value: redirected clicks, smart-link clicks (and their leads).
SPARSE = {"redirect": "redirect_reason", "smartlink": "smart_link_id"}


def _int(expression: Any) -> Coalesce:
    return Coalesce(expression, Value(0), output_field=BigIntegerField())


def _smart_link_pair(prefix: str) -> Concat:
    """ "smart link id:offer id", as the report keys a smart link's row."""
    return Concat(
        Cast(f"{prefix}smart_link_id", CharField()),
        Value(":"),
        Cast("offer_id", CharField()),
        output_field=CharField(),
    )


def _traffic_dim(grouping: str, *, impressions: bool) -> Any:
    if grouping in SPARSE and impressions:  # impressions are never redirected nor smart-linked
        return Value("")
    if grouping == "network":
        return network_value("asn", "as_org")
    if grouping == "smartlink":
        return _smart_link_pair("")
    if grouping == "date":
        return TruncDate("created_at")
    if grouping == "landing":
        return _int(F("link__landing_id")) if impressions else _int(F("landing_id"))
    names = {
        "campaign": "offer_id",
        "geo": "country",
        "device": "device_type",
        "os": "os",
        "redirect": "redirect_reason",
    }
    return F(names.get(grouping, grouping))


def _lead_dim(grouping: str) -> Any:
    if grouping == "date":
        return TruncDate("created_at")
    if grouping == "campaign":
        return F("offer_id")
    if grouping == "landing":
        return _int(Coalesce("click__landing_id", "link__landing_id"))
    if grouping == "geo":  # the conversion's own country, else its click's
        return Case(
            When(country="", then=Coalesce("click__country", Value(""))),
            default=F("country"),
            output_field=CharField(),
        )
    if grouping == "network":
        return lead_network_value("")
    if grouping == "smartlink":
        return _smart_link_pair("click__")
    names = {"device": "device_type", "os": "os", "redirect": "redirect_reason"}
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
    """A unique click: no IP, or no earlier click on its link from its IP the same UTC day.

    A click whose IP a privacy operation removed is in no such group and keeps its own verdict.
    """
    earlier = Click.objects.filter(
        link_id=OuterRef("link_id"),
        ip=OuterRef("ip"),
        created_at__date=OuterRef("k_day"),
        id__lt=OuterRef("id"),
        redacted_unique__isnull=True,
    )
    grouped = Q(redacted_unique__isnull=True) & (Q(ip="") | ~Q(Exists(earlier)))
    return Q(redacted_unique=True) | grouped


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
    if grouping in SPARSE:
        field = SPARSE[grouping]
        present = ~Q(**{field: ""}) if field == "redirect_reason" else Q(**{f"{field}__isnull": False})
        clicks, impressions = clicks.filter(present), impressions.none()
        leads = leads.filter(click__in=Click.objects.filter(present).values("id"))
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
        "payout_approved": Sum("payout_base", filter=approved),
        "payout_pending": Sum("payout_base", filter=pending),
        "revenue_approved": Sum("revenue_base", filter=approved),
        "revenue_pending": Sum("revenue_base", filter=pending),
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
