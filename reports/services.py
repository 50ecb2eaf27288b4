"""Writes of the rollups: folding clicks and impressions in, and following every lead change.

- `rollup_refresh()` folds new clicks and impressions (by id, past a watermark) into the
  rollups. It locks the watermark rows, so it is safe to run from beat, a command and a page
  at once, and running it twice folds nothing twice.
- `rollup_lead_created(lead=…)` and `rollup_lead_change(lead=…, from_…=…, to_…=…)` move a
  lead's counters; the lead services call them inside the transaction that changes the lead.
- `rollup_rebuild()` recomputes everything from the raw tables.

The upserts are `INSERT … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`, which
PostgreSQL and SQLite both speak, built around SELECTs the ORM compiles for the backend.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, F, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from leads.models import Click, Impression, Lead, LeadStatus
from reports.models import (
    KEY_FIELDS_DAILY,
    KEY_FIELDS_SUB,
    ClickFingerprint,
    DailyStat,
    SubStat,
    Watermark,
)

PENDING_STATUSES = frozenset({LeadStatus.NEW, LeadStatus.PROCESSING, LeadStatus.HOLD})
REJECTED_STATUSES = frozenset({LeadStatus.CANCELLED, LeadStatus.TRASH})
SUB_SLOTS = (1, 2, 3, 4, 5)
FOLD_BATCH = 500_000
DEFAULT_SETTLE_SECONDS = 2.0
ZERO = Decimal("0")


# --- The upsert ------------------------------------------------------------------------------


def _column(name: str) -> str:
    return connection.ops.quote_name(name)


def _upsert_sql(model: type, keys: Sequence[str], counters: Sequence[str], source: str) -> str:
    """`INSERT INTO rollup (keys, counters) <source> ON CONFLICT (keys) DO UPDATE` adding counters."""
    table = _column(model._meta.db_table)
    columns = ", ".join(_column(c) for c in (*keys, *counters))
    target = ", ".join(_column(k) for k in keys)
    updates = ", ".join(f"{_column(c)} = {table}.{_column(c)} + excluded.{_column(c)}" for c in counters)
    return f"INSERT INTO {table} ({columns}) {source} ON CONFLICT ({target}) DO UPDATE SET {updates}"


def _upsert_select(model: type, keys: Sequence[str], queryset: QuerySet, aliases: Sequence[str]) -> None:
    """Add the grouped rows of `queryset` (its columns named by `aliases`, keys then counters)."""
    inner, params = queryset.query.sql_with_params()
    outer = ", ".join(f"s.{_column(a)}" for a in aliases)
    # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON clause.
    source = f"SELECT {outer} FROM ({inner}) s WHERE 1 = 1"
    counters = aliases[len(keys) :]
    sql = _upsert_sql(model, keys, [c.removeprefix("c_") for c in counters], source)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _values_upsert(
    model: type, keys: Sequence[str], rows: Sequence[tuple[Sequence[Any], Mapping]]
) -> tuple[str, list[Any]]:
    """The upsert adding counters to keyed rows given as values: [(key values, {counter: delta})]."""
    counters = tuple(sorted({name for _, deltas in rows for name in deltas}))
    params = [v for key, deltas in rows for v in (*key, *(deltas.get(c, 0) for c in counters))]
    return _values_upsert_sql(model, tuple(keys), counters, len(rows)), params


@functools.lru_cache(maxsize=512)
def _values_upsert_sql(model: type, keys: tuple[str, ...], counters: tuple[str, ...], rows: int) -> str:
    # Lead changes send the same few shapes over and over: each is built once.
    placeholders = ", ".join(["%s"] * (len(keys) + len(counters)))
    source = "VALUES " + ", ".join(f"({placeholders})" for _ in range(rows))
    return _upsert_sql(model, keys, counters, source)


# --- Clicks and impressions ------------------------------------------------------------------


def _int(expression: Any) -> Coalesce:
    return Coalesce(expression, Value(0), output_field=BigIntegerField())


def _fold_fingerprints(lo: int, hi: int) -> None:
    """Claim (day, link, IP) for the first click of each in the range; earlier claims win."""
    first = (
        Click.objects.filter(id__gt=lo, id__lte=hi)
        .exclude(ip="")
        .annotate(k_day=TruncDate("created_at"))
        .values("k_day", "link_id", "ip")
        .annotate(k_first=Min("id"))
    )
    inner, params = first.query.sql_with_params()
    table = _column(ClickFingerprint._meta.db_table)
    sql = (
        f"INSERT INTO {table} (day, link_id, ip, first_click_id) "
        f"SELECT s.k_day, s.link_id, s.ip, s.k_first FROM ({inner}) s WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _traffic_counters(model: type, lo: int, hi: int) -> dict[str, Any]:
    if model is Impression:
        return {"c_impressions": Count("id")}
    # An uncorrelated IN over the range's fingerprints: hashed once, not probed per click.
    firsts = ClickFingerprint.objects.filter(first_click_id__gt=lo, first_click_id__lte=hi).values(
        "first_click_id"
    )
    unique = Q(ip="") | Q(id__in=firsts)
    return {"c_clicks": Count("id"), "c_unique_clicks": Count("id", filter=unique)}


def _fold_traffic(model: type, lo: int, hi: int) -> None:
    """Add the rows of `model` with ids in (lo, hi] to both rollups."""
    counters = _traffic_counters(model, lo, hi)
    base = model.objects.filter(id__gt=lo, id__lte=hi).annotate(k_day=TruncDate("created_at"))
    landing = _int(F("landing_id")) if model is Click else Value(0, output_field=BigIntegerField())
    daily = (
        base.annotate(k_landing=landing)
        .values(
            "organization_id", "k_day", "partner_id", "offer_id", "k_landing", "country", "device_type", "os"
        )
        .annotate(**counters)
    )
    keys = ["organization_id", "k_day", "partner_id", "offer_id", "k_landing", "country", "device_type", "os"]
    _upsert_select(DailyStat, KEY_FIELDS_DAILY, daily, [*keys, *counters])
    for slot in SUB_SLOTS:
        sub = (
            base.annotate(k_slot=Value(slot), k_value=F(f"sub{slot}"))
            .values("organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value")
            .annotate(**counters)
        )
        sub_keys = ["organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value"]
        _upsert_select(SubStat, KEY_FIELDS_SUB, sub, [*sub_keys, *counters])


def _fold_range(model: type, lo: int, hi: int, *, batch: int = FOLD_BATCH) -> None:
    """Fold ids (lo, hi] in batches; a rebuild passes one batch, so each rollup row is written once."""
    for start in range(lo, hi, batch):
        end = min(start + batch, hi)
        if model is Click:
            _fold_fingerprints(start, end)
        _fold_traffic(model, start, end)


SOURCES: dict[str, type] = {Watermark.Source.CLICKS: Click, Watermark.Source.IMPRESSIONS: Impression}


def _settle_seconds(settle_seconds: float | None) -> float:
    if settle_seconds is not None:
        return settle_seconds
    return float(getattr(settings, "ROLLUP_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


def _refresh_source(source: str, settle: float, *, batch: int = FOLD_BATCH) -> int:
    """Fold what is due of one raw table; the number of ids the watermark moved."""
    Watermark.objects.get_or_create(source=source)
    mark = Watermark.objects.select_for_update().get(source=source)
    model, now = SOURCES[source], timezone.now()
    newest = model.objects.aggregate(newest=Max("id"))["newest"] or 0
    if settle <= 0:
        target = newest
    elif mark.pending_at is not None and mark.pending_at <= now - timedelta(seconds=settle):
        target = mark.pending_id
    else:
        target = mark.folded_id
    moved = max(target - mark.folded_id, 0)
    if moved:
        _fold_range(model, mark.folded_id, target, batch=batch)
        mark.folded_id = target
    if mark.pending_at is None or mark.pending_id <= mark.folded_id:
        mark.pending_id, mark.pending_at = newest, now
    mark.save()
    return moved


@transaction.atomic
def rollup_refresh(*, settle_seconds: float | None = None) -> int:
    """Fold new clicks and impressions into the rollups; how many ids were folded.

    An id is folded once it has been the newest id for `settle_seconds` (default 2, setting
    `ROLLUP_SETTLE_SECONDS`), so an insert still in flight when its id was drawn is never
    skipped. `settle_seconds=0` folds up to the newest id now (tests, rebuilds).
    """
    settle = _settle_seconds(settle_seconds)
    return sum(_refresh_source(source, settle) for source in SOURCES)


# --- Leads -----------------------------------------------------------------------------------


def lead_counters(*, status: str, payout: Decimal | None, revenue: Decimal | None) -> dict[str, Any]:
    """What one lead in this status with this money adds to a rollup row."""
    payout, revenue = payout or ZERO, revenue or ZERO
    counters: dict[str, Any] = {"leads_total": 1}
    if status == LeadStatus.APPROVED:
        counters.update(leads_approved=1, payout_approved=payout, revenue_approved=revenue)
    elif status in PENDING_STATUSES:
        counters.update(leads_pending=1, payout_pending=payout, revenue_pending=revenue)
    elif status in REJECTED_STATUSES:
        counters["leads_rejected"] = 1
    return counters


def _difference(after: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    names = set(after) | set(before)
    deltas = {name: after.get(name, 0) - before.get(name, 0) for name in names}
    return {name: delta for name, delta in deltas.items() if delta}


@dataclass(frozen=True)
class LeadKey:
    """Where a lead counts: its conversion day and its click's dimensions."""

    organization_id: int
    day: date
    partner_id: int
    offer_id: int
    landing_id: int
    country: str
    device_type: str
    os: str
    subs: tuple[str, str, str, str, str]

    @classmethod
    def of(cls, lead: Lead) -> LeadKey:
        click = lead.click if lead.click_id else None
        landing = (click.landing_id if click else None) or lead.link.landing_id or 0
        return cls(
            organization_id=lead.organization_id,
            day=lead.created_at.astimezone(UTC).date(),
            partner_id=lead.partner_id,
            offer_id=lead.offer_id,
            landing_id=landing,
            country=click.country if click else "",
            device_type=click.device_type if click else "",
            os=click.os if click else "",
            subs=tuple(getattr(click, f"sub{n}") if click else "" for n in SUB_SLOTS),  # type: ignore[arg-type]
        )

    def daily(self) -> tuple:
        return (
            self.organization_id,
            self.day,
            self.partner_id,
            self.offer_id,
            self.landing_id,
            self.country,
            self.device_type,
            self.os,
        )

    def sub(self, slot: int) -> tuple:
        return (self.organization_id, self.day, self.partner_id, self.offer_id, slot, self.subs[slot - 1])


def _apply(lead: Lead, deltas: Mapping[str, Any]) -> None:
    if not deltas:
        return
    key = LeadKey.of(lead)
    daily_sql, daily_params = _values_upsert(DailyStat, KEY_FIELDS_DAILY, [(key.daily(), deltas)])
    sub_rows = [(key.sub(slot), deltas) for slot in SUB_SLOTS]
    sub_sql, sub_params = _values_upsert(SubStat, KEY_FIELDS_SUB, sub_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip: the daily upsert runs as a data-modifying CTE of the sub-id one.
            cursor.execute(f"WITH daily AS ({daily_sql}) {sub_sql}", [*daily_params, *sub_params])
        else:
            cursor.execute(daily_sql, daily_params)
            cursor.execute(sub_sql, sub_params)


def rollup_lead_created(*, lead: Lead) -> None:
    """Count a new lead (call inside the transaction that inserted it)."""
    _apply(lead, lead_counters(status=lead.status, payout=lead.payout, revenue=lead.revenue))


def rollup_lead_change(
    *,
    lead: Lead,
    from_status: str,
    to_status: str,
    from_payout: Decimal | None,
    to_payout: Decimal | None,
    from_revenue: Decimal | None,
    to_revenue: Decimal | None,
) -> None:
    """Move a lead's counters from its old status and money to the new (inside the change's transaction)."""
    before = lead_counters(status=from_status, payout=from_payout, revenue=from_revenue)
    after = lead_counters(status=to_status, payout=to_payout, revenue=to_revenue)
    _apply(lead, _difference(after, before))


def rollup_lead_events(*, lead: Lead, events: Iterable[Any]) -> None:
    """Follow a batch of a lead's LeadEvents (as `_record_changes` saves them) in one step.

    A batch that starts with the creation counts the lead as it is now; otherwise the lead
    moves from the first event's `from_*` to its current status and money.
    """
    events = list(events)
    if not events:
        return
    first = events[0]
    if first.kind == "created":
        rollup_lead_created(lead=lead)
        return
    rollup_lead_change(
        lead=lead,
        from_status=first.from_status,
        to_status=lead.status,
        from_payout=first.from_payout,
        to_payout=lead.payout,
        from_revenue=first.from_revenue,
        to_revenue=lead.revenue,
    )


def _lead_aggregates() -> dict[str, Any]:
    approved = Q(status=LeadStatus.APPROVED)
    pending = Q(status__in=PENDING_STATUSES)
    money = {"output_field": DailyStat._meta.get_field("payout_approved"), "default": Value(ZERO)}
    return {
        "c_leads_total": Count("id"),
        "c_leads_approved": Count("id", filter=approved),
        "c_leads_pending": Count("id", filter=pending),
        "c_leads_rejected": Count("id", filter=Q(status__in=REJECTED_STATUSES)),
        "c_payout_approved": Sum("payout", filter=approved, **money),
        "c_payout_pending": Sum("payout", filter=pending, **money),
        "c_revenue_approved": Sum("revenue", filter=approved, **money),
        "c_revenue_pending": Sum("revenue", filter=pending, **money),
    }


def _fold_all_leads() -> None:
    """Add every lead to the rollups by the keys `LeadKey` computes, in SQL."""
    counters = _lead_aggregates()
    base = Lead.objects.annotate(k_day=TruncDate("created_at"))
    daily = (
        base.annotate(
            k_landing=_int(Coalesce("click__landing_id", "link__landing_id")),
            k_country=Coalesce("click__country", Value("")),
            k_device=Coalesce("click__device_type", Value("")),
            k_os=Coalesce("click__os", Value("")),
        )
        .values(
            "organization_id", "k_day", "partner_id", "offer_id", "k_landing", "k_country", "k_device", "k_os"
        )
        .annotate(**counters)
    )
    keys = [
        "organization_id",
        "k_day",
        "partner_id",
        "offer_id",
        "k_landing",
        "k_country",
        "k_device",
        "k_os",
    ]
    _upsert_select(DailyStat, KEY_FIELDS_DAILY, daily, [*keys, *counters])
    for slot in SUB_SLOTS:
        sub = (
            base.annotate(k_slot=Value(slot), k_value=Coalesce(f"click__sub{slot}", Value("")))
            .values("organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value")
            .annotate(**counters)
        )
        sub_keys = ["organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value"]
        _upsert_select(SubStat, KEY_FIELDS_SUB, sub, [*sub_keys, *counters])


# --- The rebuild -----------------------------------------------------------------------------

# The day of a row as `TruncDate` computes it with TIME_ZONE = "UTC".
_DAY = "(({alias}.created_at AT TIME ZONE 'UTC')::date)"
_SUB_VALUES = ", ".join(f"sub{slot}" for slot in SUB_SLOTS)


def _slot_case() -> str:
    """Which sub slot a grouping-set row belongs to (NULL for the daily set)."""
    arms = " ".join(f"WHEN GROUPING(sub{slot}) = 0 THEN {slot}" for slot in SUB_SLOTS)
    return f"CASE {arms} END"


def _grouped_sql(facts: str, counters: Sequence[str]) -> str:
    """One pass over `facts` grouped by the daily key and by each sub slot's key (GROUPING SETS)."""
    common = "organization_id, day, partner_id, offer_id"
    daily = f"({common}, landing_id, country, device_type, os)"
    subs = ", ".join(f"({common}, sub{slot})" for slot in SUB_SLOTS)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in counters)
    return (
        f"SELECT {common}, landing_id, country, device_type, os, {_slot_case()} AS slot, "
        f"COALESCE({_SUB_VALUES}) AS value, {sums} FROM ({facts}) facts "
        f"GROUP BY GROUPING SETS ({daily}, {subs})"
    )


def _rollup_sql(facts: str, counters: Sequence[str], *, prelude: str = "") -> str:
    """Upsert the grouping sets of `facts` into DailyStat and SubStat in one statement (one snapshot).

    Rows go in in the order of the report indexes, so one partner's month sits on a few pages
    of the fresh tables instead of one page per row.
    """
    daily_keys = [
        "organization_id",
        "day",
        "partner_id",
        "offer_id",
        "landing_id",
        "country",
        "device_type",
        "os",
    ]
    sub_keys = ["organization_id", "day", "partner_id", "offer_id", "slot", "value"]
    daily = _upsert_sql(
        DailyStat,
        KEY_FIELDS_DAILY,
        counters,
        f"SELECT {', '.join([*daily_keys, *counters])} FROM grouped WHERE slot IS NULL "
        "ORDER BY partner_id, day",
    )
    sub = _upsert_sql(
        SubStat,
        KEY_FIELDS_SUB,
        counters,
        f"SELECT {', '.join([*sub_keys, *counters])} FROM grouped WHERE slot IS NOT NULL "
        "ORDER BY partner_id, slot, day",
    )
    return f"WITH {prelude}grouped AS ({_grouped_sql(facts, counters)}), daily AS ({daily}) {sub}"


def _click_facts_sql() -> str:
    """The fingerprints (earliest click of each day, link and IP), then each click flagged unique or not.

    A click is a repeat only in a (day, link, IP) group of more than one click, a small share
    of the groups: the clicks are joined to those alone, not to every fingerprint.
    """
    fingerprints = _column(ClickFingerprint._meta.db_table)
    day = _DAY.format(alias="c")
    prelude = (
        f"groups AS MATERIALIZED (SELECT {day} AS day, c.link_id, c.ip, MIN(c.id) AS first_id, "
        "COUNT(*) AS n FROM leads_click c WHERE c.id <= %(clicks)s AND c.ip <> '' GROUP BY 1, 2, 3), "
        # In key order, each index of the fingerprints grows at its end instead of all over.
        f"firsts AS (INSERT INTO {fingerprints} (day, link_id, ip, first_click_id) "
        "SELECT day, link_id, ip, first_id FROM groups ORDER BY day, link_id, ip), "
    )
    facts = (
        f"SELECT c.organization_id, {day} AS day, c.partner_id, c.offer_id, "
        f"COALESCE(c.landing_id, 0) AS landing_id, c.country, c.device_type, c.os, {_SUB_VALUES}, "
        "1 AS clicks, CASE WHEN r.first_id IS NULL OR r.first_id = c.id THEN 1 ELSE 0 END AS unique_clicks "
        f"FROM leads_click c LEFT JOIN groups r ON r.n > 1 AND r.day = {day} "
        "AND r.link_id = c.link_id AND r.ip = c.ip WHERE c.id <= %(clicks)s"
    )
    return _rollup_sql(facts, ["clicks", "unique_clicks"], prelude=prelude)


def _impression_facts_sql() -> str:
    facts = (
        f"SELECT i.organization_id, {_DAY.format(alias='i')} AS day, i.partner_id, i.offer_id, "
        f"0 AS landing_id, i.country, i.device_type, i.os, {_SUB_VALUES}, 1 AS impressions "
        "FROM leads_impression i WHERE i.id <= %(impressions)s"
    )
    return _rollup_sql(facts, ["impressions"])


def _lead_facts_sql() -> str:
    """Each lead with its click's dimensions (a lead without a click has empty ones), as `LeadKey` does."""
    approved = "l.status = 'approved'"
    pending = "l.status IN ({})".format(", ".join(f"'{s}'" for s in sorted(PENDING_STATUSES)))
    rejected = "l.status IN ({})".format(", ".join(f"'{s}'" for s in sorted(REJECTED_STATUSES)))
    subs = ", ".join(f"COALESCE(c.sub{slot}, '') AS sub{slot}" for slot in SUB_SLOTS)
    facts = (
        f"SELECT l.organization_id, {_DAY.format(alias='l')} AS day, l.partner_id, l.offer_id, "
        "COALESCE(c.landing_id, k.landing_id, 0) AS landing_id, COALESCE(c.country, '') AS country, "
        "COALESCE(c.device_type, '') AS device_type, COALESCE(c.os, '') AS os, "
        f"{subs}, 1 AS leads_total, "
        f"CASE WHEN {approved} THEN 1 ELSE 0 END AS leads_approved, "
        f"CASE WHEN {pending} THEN 1 ELSE 0 END AS leads_pending, "
        f"CASE WHEN {rejected} THEN 1 ELSE 0 END AS leads_rejected, "
        f"CASE WHEN {approved} THEN l.payout ELSE 0 END AS payout_approved, "
        f"CASE WHEN {pending} THEN l.payout ELSE 0 END AS payout_pending, "
        f"CASE WHEN {approved} THEN l.revenue ELSE 0 END AS revenue_approved, "
        f"CASE WHEN {pending} THEN l.revenue ELSE 0 END AS revenue_pending "
        "FROM leads_lead l JOIN partners_trackinglink k ON k.id = l.link_id "
        "LEFT JOIN leads_click c ON c.id = l.click_id"
    )
    counters = [
        "leads_total",
        "leads_approved",
        "leads_pending",
        "leads_rejected",
        "payout_approved",
        "payout_pending",
        "revenue_approved",
        "revenue_pending",
    ]
    return _rollup_sql(facts, counters)


def _rebuild_postgresql(newest: Mapping[str, int]) -> None:
    """Recompute the rollups in three statements, one pass over each raw table.

    TRUNCATE makes readers and the lead hooks wait for the rebuild instead of seeing it half
    done; a hook that waited then adds its lead on top of the rebuilt rows, counting it once.
    """
    tables = ", ".join(_column(m._meta.db_table) for m in (DailyStat, SubStat, ClickFingerprint))
    ids = {"clicks": newest[Watermark.Source.CLICKS], "impressions": newest[Watermark.Source.IMPRESSIONS]}
    with connection.cursor() as cursor:
        # Whole-table hash aggregates and the fingerprint hash join stay in memory, not on disk.
        cursor.execute("SET LOCAL work_mem = '1GB'")
        # TRUNCATE refuses while deferred FK checks of this transaction's rollup writes are
        # pending; check them now, then return Django's constraints to their deferred mode.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(_click_facts_sql(), ids)
        cursor.execute(_impression_facts_sql(), ids)
        cursor.execute(_lead_facts_sql())


def _rebuild_portable() -> None:
    """Recompute the rollups with the incremental code's statements (SQLite and other databases)."""
    DailyStat.objects.all().delete()
    SubStat.objects.all().delete()
    ClickFingerprint.objects.all().delete()
    Watermark.objects.update(folded_id=0, pending_id=0, pending_at=None)
    for source in SOURCES:
        _refresh_source(source, settle=0, batch=2**62)
    _fold_all_leads()


@transaction.atomic
def rollup_rebuild() -> None:
    """Recompute every rollup from the raw clicks, impressions and leads.

    Everything up to the newest click and impression id is folded, and the watermarks move
    there, so a later `rollup_refresh` continues from where the rebuild stopped.
    """
    for source in SOURCES:
        Watermark.objects.get_or_create(source=source)
    list(Watermark.objects.select_for_update().all())
    if connection.vendor != "postgresql":
        _rebuild_portable()
        return
    newest = {source: model.objects.aggregate(m=Max("id"))["m"] or 0 for source, model in SOURCES.items()}
    _rebuild_postgresql(newest)
    now = timezone.now()
    for source, top in newest.items():
        Watermark.objects.filter(source=source).update(folded_id=top, pending_id=top, pending_at=now)
