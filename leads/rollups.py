"""The one writer of the report rollups: folding clicks, impressions and lead events in.

- `rollup_refresh()` folds new clicks and impressions (by id, past a watermark that waits for
  ids to settle) and every lead event not folded yet. Beat runs it every 10 s, `make run`'s
  `manage.py rollup_refresh --every 10` without Celery. It locks the watermark rows, so
  refreshes run one at a time and running it twice folds nothing twice.
- `rollup_rebuild()` recomputes everything from the raw tables; on PostgreSQL into new tables
  that it swaps in at the end, so reports keep reading the old ones meanwhile.

Money is added up in the organization's base currency: each lead freezes its rate at conversion
and keeps its base amounts, each event carries the base amounts it moves (`*_base`), so a report
never adds EUR to USD, and the fold and the rebuild add up the same figures.

Lead changes never write a rollup row: they insert a `LeadEvent` (from and to status and
money) and the fold adds each event's move to its lead's rows, stamping the event folded in
the same transaction. An event is claimed by its marker, not by its id, so a transaction
that commits after a higher id was folded is still counted, once.

The upserts are `INSERT … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`, which
PostgreSQL and SQLite both speak, built around SELECTs the ORM compiles for the backend, and
they go in in key order, so two writers would lock rollup rows in one order, never in a cycle.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, Substr, Trim, TruncDate
from django.db.models.lookups import IsNull
from django.utils import timezone

from leads.models import Click, Impression, Lead, LeadEvent, LeadStatus, Verdict
from leads.partitions import raw_horizon
from reports.models import (
    COUNTER_FIELDS,
    KEY_FIELDS_DAILY,
    KEY_FIELDS_SUB,
    SLOT_NETWORK,
    SLOT_REDIRECT_REASON,
    SLOT_SMART_LINK,
    SPARSE_SLOTS,
    ClickFingerprint,
    DailyStat,
    SubStat,
    Watermark,
)

PENDING_STATUSES = frozenset({LeadStatus.NEW, LeadStatus.PROCESSING, LeadStatus.HOLD})
REJECTED_STATUSES = frozenset({LeadStatus.CANCELLED, LeadStatus.TRASH})
SUB_SLOTS = (1, 2, 3, 4, 5)
FOLD_BATCH = 500_000
# Events are claimed as lists of ids, bound as parameters: SQLite takes at most 999 at once.
EVENT_BATCH = 500
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
    order = ", ".join(f"s.{_column(a)}" for a in aliases[: len(keys)])
    # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON clause; rows go in
    # in key order, so the rollup rows are locked in one order by whoever writes them.
    source = f"SELECT {outer} FROM ({inner}) s WHERE 1 = 1 ORDER BY {order}"
    counters = aliases[len(keys) :]
    sql = _upsert_sql(model, keys, [c.removeprefix("c_") for c in counters], source)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- The dimensions beyond the columns ---------------------------------------------------------


def network_value(asn: str, as_org: str) -> Any:
    """A network as its report row names it: "AS15169 GOOGLE", "GOOGLE" without a number, '' unknown.

    `_network_sql` is the same text in SQL (the PostgreSQL rebuild); both must agree.
    """
    return _network(F(asn), F(as_org))


def _network(asn: Any, as_org: Any) -> Any:
    numbered = Concat(Value("AS"), Cast(asn, CharField()), Value(" "), as_org, output_field=CharField())
    named = Case(When(IsNull(asn, True), then=as_org), default=numbered, output_field=CharField())
    return Substr(Trim(named), 1, 255)


def _fact(prefix: str, name: str) -> Cast:
    """One of a lead's click facts (`Lead.click_facts`, what it copied of its click), as text."""
    return Cast(KeyTextTransform(name, f"{prefix}click_facts"), CharField())


def _network_sql(alias: str) -> str:
    numbered = f"'AS' || CAST({alias}.asn AS TEXT) || ' ' || {alias}.as_org"
    named = f"CASE WHEN {alias}.asn IS NULL THEN {alias}.as_org ELSE {numbered} END"
    return f"SUBSTR(TRIM({named}), 1, 255)"


def _smart_link_value(field: Any) -> Any:
    return Coalesce(Cast(field, CharField()), Value(""))


def _traffic_slots(model: type) -> dict[int, Any]:
    """Each SubStat slot of a click or impression → its value."""
    slots: dict[int, Any] = {slot: F(f"sub{slot}") for slot in SUB_SLOTS}
    slots[SLOT_NETWORK] = network_value("asn", "as_org")
    if model is Click:
        slots[SLOT_REDIRECT_REASON] = F("redirect_reason")
        slots[SLOT_SMART_LINK] = _smart_link_value("smart_link_id")
    return slots


def lead_network_value(prefix: str) -> Any:
    """A lead's own network (its conversion's), else its click's."""
    own = Q(**{f"{prefix}asn__isnull": False}) | ~Q(**{f"{prefix}as_org": ""})
    clicks = Coalesce(_network(_fact(prefix, "asn"), _fact(prefix, "as_org")), Value(""))
    return Case(
        When(own, then=network_value(f"{prefix}asn", f"{prefix}as_org")),
        default=clicks,
        output_field=CharField(),
    )


def _lead_slots(prefix: str) -> dict[int, Any]:
    """Each SubStat slot of a lead → its value: its click's subs, redirect and smart link; its network.

    The click's values come from the lead's copy of them, so they stay when the click's row is gone.
    """
    slots: dict[int, Any] = {slot: Coalesce(_fact(prefix, f"sub{slot}"), Value("")) for slot in SUB_SLOTS}
    slots[SLOT_NETWORK] = lead_network_value(prefix)
    slots[SLOT_REDIRECT_REASON] = Coalesce(_fact(prefix, "redirect_reason"), Value(""))
    slots[SLOT_SMART_LINK] = _smart_link_value(_fact(prefix, "smart_link_id"))
    return slots


def _slot_rows(queryset: QuerySet, slot: int, value: Any) -> QuerySet:
    """The rows of `queryset` keyed for one slot; a sparse slot keeps only rows with a value."""
    keyed = queryset.annotate(k_slot=Value(slot), k_value=value)
    return keyed.exclude(k_value="") if slot in SPARSE_SLOTS else keyed


# --- Clicks and impressions ------------------------------------------------------------------


def _int(expression: Any) -> Coalesce:
    return Coalesce(expression, Value(0), output_field=BigIntegerField())


def _counted(model: type) -> QuerySet:
    """The rows that count as traffic: a test click (its URL's `{placeholders}` unfilled) does not."""
    if model is Click:
        return Click.objects.exclude(verdict=Verdict.TEST)
    return model.objects.all()


def _fold_fingerprints(lo: int, hi: int, when: Q) -> None:
    """Claim (day, link, IP) for the first click of each in the range; earlier claims win."""
    first = (
        _counted(Click)
        .filter(when, id__gt=lo, id__lte=hi, redacted_unique__isnull=True)
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
    # A click whose IP a privacy operation removed keeps the verdict it had (leads.models.Click).
    unique = Q(redacted_unique=True) | Q(redacted_unique__isnull=True) & (Q(ip="") | Q(id__in=firsts))
    return {"c_clicks": Count("id"), "c_unique_clicks": Count("id", filter=unique)}


def _fold_traffic(model: type, lo: int, hi: int, when: Q) -> None:
    """Add the rows of `model` with ids in (lo, hi] (and `when`) to both rollups."""
    counters = _traffic_counters(model, lo, hi)
    base = _counted(model).filter(when, id__gt=lo, id__lte=hi).annotate(k_day=TruncDate("created_at"))
    # A click knows the landing it was sent to; an impression counts for its link's landing, if it names one.
    landing = _int(F("landing_id")) if model is Click else _int(F("link__landing_id"))
    daily = (
        base.annotate(k_landing=landing)
        .values(
            "organization_id", "k_day", "partner_id", "offer_id", "k_landing", "country", "device_type", "os"
        )
        .annotate(**counters)
    )
    keys = ["organization_id", "k_day", "partner_id", "offer_id", "k_landing", "country", "device_type", "os"]
    _upsert_select(DailyStat, KEY_FIELDS_DAILY, daily, [*keys, *counters])
    for slot, value in _traffic_slots(model).items():
        sub = (
            _slot_rows(base, slot, value)
            .values("organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value")
            .annotate(**counters)
        )
        sub_keys = ["organization_id", "k_day", "partner_id", "offer_id", "k_slot", "k_value"]
        _upsert_select(SubStat, KEY_FIELDS_SUB, sub, [*sub_keys, *counters])


def _fold_range(model: type, lo: int, hi: int, *, batch: int = FOLD_BATCH, when: Q | None = None) -> None:
    """Fold ids (lo, hi] in batches; a rebuild passes one batch, so each rollup row is written once.

    `when` narrows the rows by their time (a rebuild that keeps the rollups of old days).
    """
    when = Q() if when is None else when
    for start in range(lo, hi, batch):
        end = min(start + batch, hi)
        if model is Click:
            _fold_fingerprints(start, end, when)
        _fold_traffic(model, start, end, when)


SOURCES: dict[str, type] = {Watermark.Source.CLICKS: Click, Watermark.Source.IMPRESSIONS: Impression}


def _settle_seconds(settle_seconds: float | None) -> float:
    if settle_seconds is not None:
        return settle_seconds
    return float(getattr(settings, "ROLLUP_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


def settled_id(done: int, pending_id: int, pending_at: datetime | None, newest: int, settle: float) -> int:
    """The id a watermark at `done` may move to: the newest id now without a settle time, else the
    id that was the newest when last looked at (`pending_id`, `pending_at`) once it has been so
    for `settle` seconds (a transaction given a lower id may still be committing), else `done`."""
    if settle <= 0:
        return newest
    if pending_at is not None and pending_at <= timezone.now() - timedelta(seconds=settle):
        return pending_id
    return done


def _refresh_source(source: str, settle: float, *, batch: int = FOLD_BATCH, when: Q | None = None) -> int:
    """Fold what is due of one raw table; the number of ids the watermark moved."""
    Watermark.objects.get_or_create(source=source)
    mark = Watermark.objects.select_for_update().get(source=source)
    model, now = SOURCES[source], timezone.now()
    newest = model.objects.aggregate(newest=Max("id"))["newest"] or 0
    target = settled_id(mark.folded_id, mark.pending_id, mark.pending_at, newest, settle)
    moved = max(target - mark.folded_id, 0)
    if moved:
        _fold_range(model, mark.folded_id, target, batch=batch, when=when)
        mark.folded_id = target
    if mark.pending_at is None or mark.pending_id <= mark.folded_id:
        mark.pending_id, mark.pending_at = newest, now
    mark.save()
    return moved


# --- Leads ------------------------------------------------------------------------------------

_DAILY_ALIASES = ("k_org", "k_day", "k_partner", "k_offer", "k_landing", "k_country", "k_device", "k_os")
_SUB_ALIASES = ("k_org", "k_day", "k_partner", "k_offer", "k_slot", "k_value")


def _lead_key(prefix: str) -> dict[str, Any]:
    """Where a lead counts (reached through `prefix`): its day, and its click's dimensions or empty ones.

    None of these ever changes for a lead, so each of its events counts where the lead does.
    Its country is its own (the conversion's, `leads.services._where`), else its click's.
    The click's dimensions are the lead's copy of them (`Lead.click_facts`).
    """
    return {
        "k_org": F(f"{prefix}organization_id"),
        "k_day": TruncDate(f"{prefix}created_at"),
        "k_partner": F(f"{prefix}partner_id"),
        "k_offer": F(f"{prefix}offer_id"),
        "k_landing": _int(
            Coalesce(Cast(_fact(prefix, "landing_id"), BigIntegerField()), f"{prefix}link__landing_id")
        ),
        "k_country": Case(
            When(**{f"{prefix}country": ""}, then=Coalesce(_fact(prefix, "country"), Value(""))),
            default=F(f"{prefix}country"),
            output_field=CharField(),
        ),
        "k_device": Coalesce(_fact(prefix, "device_type"), Value("")),
        "k_os": Coalesce(_fact(prefix, "os"), Value("")),
    }


def _fold_leads(queryset: QuerySet, prefix: str, counters: Mapping[str, Any]) -> None:
    """Add `counters` of `queryset`'s rows (leads, or events with `prefix` "lead__") to both rollups."""
    keyed = queryset.annotate(**_lead_key(prefix)).order_by()
    daily = keyed.values(*_DAILY_ALIASES).annotate(**counters)
    _upsert_select(DailyStat, KEY_FIELDS_DAILY, daily, [*_DAILY_ALIASES, *counters])
    for slot, value in _lead_slots(prefix).items():
        sub = _slot_rows(keyed, slot, value).values(*_SUB_ALIASES).annotate(**counters)
        _upsert_select(SubStat, KEY_FIELDS_SUB, sub, [*_SUB_ALIASES, *counters])


def _money() -> dict[str, Any]:
    return {"output_field": DailyStat._meta.get_field("payout_approved"), "default": Value(ZERO)}


def _lead_counters() -> dict[str, Any]:
    """What leads add to a rollup row, by their status and money now (the rebuild)."""
    approved = Q(status=LeadStatus.APPROVED)
    pending = Q(status__in=PENDING_STATUSES)
    return {
        "c_leads_total": Count("id"),
        "c_leads_approved": Count("id", filter=approved),
        "c_leads_pending": Count("id", filter=pending),
        "c_leads_rejected": Count("id", filter=Q(status__in=REJECTED_STATUSES)),
        "c_payout_approved": Sum("payout_base", filter=approved, **_money()),
        "c_payout_pending": Sum("payout_base", filter=pending, **_money()),
        "c_revenue_approved": Sum("revenue_base", filter=approved, **_money()),
        "c_revenue_pending": Sum("revenue_base", filter=pending, **_money()),
    }


def _moved(statuses: frozenset[str] | set[str], amount: str | None = None) -> Any:
    """What events move into `statuses` minus what they move out: a count, or the `amount` they carry."""
    into, out = Q(to_status__in=statuses), Q(from_status__in=statuses)
    if amount is None:
        return Count("id", filter=into) - Count("id", filter=out)
    return Sum(f"to_{amount}", filter=into, **_money()) - Sum(f"from_{amount}", filter=out, **_money())


def _event_counters() -> dict[str, Any]:
    """What events add to a rollup row: each moves its lead from its `from_*` to its `to_*`.

    A lead's events chain (each starts where the one before ended, the first from nothing),
    so the events of a lead add up to what the lead is now.
    """
    approved = {LeadStatus.APPROVED.value}
    return {
        "c_leads_total": Count("id", filter=Q(kind=LeadEvent.Kind.CREATED)),
        "c_leads_approved": _moved(approved),
        "c_leads_pending": _moved(PENDING_STATUSES),
        "c_leads_rejected": _moved(REJECTED_STATUSES),
        "c_payout_approved": _moved(approved, "payout_base"),
        "c_payout_pending": _moved(PENDING_STATUSES, "payout_base"),
        "c_revenue_approved": _moved(approved, "revenue_base"),
        "c_revenue_pending": _moved(PENDING_STATUSES, "revenue_base"),
    }


def _fold_events(now: datetime, *, batch: int = EVENT_BATCH) -> int:
    """Fold every lead event not folded yet; how many.

    A batch is claimed by locking its rows (skipping rows another fold holds) and stamped
    `folded_at` in this transaction, with the upserts: it commits counted and stamped, or
    neither. An event whose transaction commits later than higher ids is simply still
    unstamped at the next fold.
    """
    unfolded = LeadEvent.objects.filter(folded_at__isnull=True).order_by("id")
    folded = 0
    while True:
        claimed = list(unfolded.select_for_update(skip_locked=True).values_list("id", flat=True)[:batch])
        if not claimed:
            return folded
        _fold_leads(LeadEvent.objects.filter(id__in=claimed), "lead__", _event_counters())
        LeadEvent.objects.filter(id__in=claimed).update(folded_at=now)
        folded += len(claimed)


@transaction.atomic
def rollup_refresh(*, settle_seconds: float | None = None) -> int:
    """Fold new clicks, impressions and lead events into the rollups; how many rows were folded.

    A click or impression id is folded once it has been the newest id for `settle_seconds`
    (default 2, setting `ROLLUP_SETTLE_SECONDS`), so an insert still in flight when its id was
    drawn is never skipped; `settle_seconds=0` folds up to the newest id now (tests). Lead
    events need no settling: each is folded once, when it is there. The watermarks' save
    times are when the figures were last brought up to date ("figures as of").
    """
    settle = _settle_seconds(settle_seconds)
    traffic = sum(_refresh_source(source, settle) for source in SOURCES)
    return traffic + _fold_events(timezone.now())


# --- The rebuild -----------------------------------------------------------------------------

# The day of a row as `TruncDate` computes it with TIME_ZONE = "UTC".
_DAY = "(({alias}.created_at AT TIME ZONE 'UTC')::date)"
_SUB_VALUES = ", ".join(f"sub{slot}" for slot in SUB_SLOTS)
# The facts' column of each SubStat slot (the facts name them so, whatever the raw table).
_SLOT_COLUMNS = {
    **{slot: f"sub{slot}" for slot in SUB_SLOTS},
    SLOT_NETWORK: "network",
    SLOT_REDIRECT_REASON: "redirect_reason",
    SLOT_SMART_LINK: "smart_link",
}
_SLOT_VALUES = ", ".join(_SLOT_COLUMNS.values())
# The tables a rebuild replaces, and the suffixes of the new tables and of the ones they replace.
REBUILT: tuple[type, ...] = (DailyStat, SubStat, ClickFingerprint)
NEXT, RETIRED = "_next", "_retired"
# How long the swap and the drop of the replaced tables wait for a lock before trying again
# (setting ROLLUP_SWAP_LOCK_TIMEOUT_MS): readers that come meanwhile queue behind the swap.
DEFAULT_SWAP_LOCK_TIMEOUT_MS = 500
SWAP_ATTEMPTS = 30
RETIRE_ATTEMPTS = 5

logger = logging.getLogger(__name__)


def _slot_case() -> str:
    """Which slot a grouping-set row belongs to (NULL for the daily set)."""
    arms = " ".join(f"WHEN GROUPING({column}) = 0 THEN {slot}" for slot, column in _SLOT_COLUMNS.items())
    return f"CASE {arms} END"


def _counter_columns(given: Mapping[str, str]) -> str:
    """Every counter of a grouped row, in COUNTER_FIELDS order: the `given` ones, 0 for the others."""
    return ", ".join(f"{given.get(name, '0')} AS {name}" for name in COUNTER_FIELDS)


def _grouped_sql(facts: str, counters: Sequence[str]) -> str:
    """One pass over `facts` grouped by the daily key and by each slot's key (GROUPING SETS).

    In a slot's grouping set the other slots' columns are NULL, so COALESCE picks its value.
    A source sums its own counters only, not zeros for every other one per click; the others
    come out as 0, for the union of the sources.
    """
    common = "organization_id, day, partner_id, offer_id"
    daily = f"({common}, landing_id, country, device_type, os)"
    subs = ", ".join(f"({common}, {column})" for column in _SLOT_COLUMNS.values())
    sums = _counter_columns({c: f"SUM({c})" for c in counters})
    return (
        f"SELECT {common}, landing_id, country, device_type, os, {_slot_case()} AS slot, "
        f"COALESCE({_SLOT_VALUES}) AS value, {sums} FROM ({facts}) facts "
        f"GROUP BY GROUPING SETS ({daily}, {subs})"
    )


# The rebuild's twin of `_counted(Click)`.
_NOT_TEST = f"c.verdict <> '{Verdict.TEST.value}'"


def _since(alias: str, keep_before: date | None) -> str:
    """The condition leaving out the rows of the kept days (none when nothing is kept)."""
    return "" if keep_before is None else f" AND {alias}.created_at >= %(keep_from)s"


def _click_facts(keep_before: date | None) -> tuple[str, str]:
    """The fingerprints (earliest click of each day, link and IP), then each click flagged unique or not.

    A click is a repeat only in a (day, link, IP) group of more than one click, a small share
    of the groups: the clicks are joined to those alone, not to every fingerprint. A click whose
    IP was redacted (privacy operations, retention) is in no group and keeps its own verdict.
    """
    fingerprints = _column(ClickFingerprint._meta.db_table + NEXT)
    day, since = _DAY.format(alias="c"), _since("c", keep_before)
    prelude = (
        f"groups AS MATERIALIZED (SELECT {day} AS day, c.link_id, c.ip, MIN(c.id) AS first_id, "
        f"COUNT(*) AS n FROM leads_click c WHERE c.id <= %(clicks)s{since} AND c.ip <> '' "
        f"AND c.redacted_unique IS NULL AND {_NOT_TEST} GROUP BY 1, 2, 3), "
        # In key order, each index of the fingerprints is built from rows already sorted.
        f"firsts AS (INSERT INTO {fingerprints} (day, link_id, ip, first_click_id) "
        "SELECT day, link_id, ip, first_id FROM groups ORDER BY day, link_id, ip), "
    )
    unique = (
        "CASE WHEN c.redacted_unique IS NOT NULL THEN CASE WHEN c.redacted_unique THEN 1 ELSE 0 END "
        "WHEN r.first_id IS NULL OR r.first_id = c.id THEN 1 ELSE 0 END"
    )
    facts = (
        f"SELECT c.organization_id, {day} AS day, c.partner_id, c.offer_id, "
        f"COALESCE(c.landing_id, 0) AS landing_id, c.country, c.device_type, c.os, {_SUB_VALUES}, "
        f"{_network_sql('c')} AS network, c.redirect_reason, "
        "COALESCE(CAST(c.smart_link_id AS TEXT), '') AS smart_link, "
        f"1 AS clicks, {unique} AS unique_clicks "
        f"FROM leads_click c LEFT JOIN groups r ON r.n > 1 AND r.day = {day} "
        f"AND r.link_id = c.link_id AND r.ip = c.ip WHERE c.id <= %(clicks)s{since} AND {_NOT_TEST}"
    )
    return prelude, facts


def _impression_facts(keep_before: date | None) -> str:
    subs = ", ".join(f"i.sub{slot}" for slot in SUB_SLOTS)  # the link has sub columns too
    return (
        f"SELECT i.organization_id, {_DAY.format(alias='i')} AS day, i.partner_id, i.offer_id, "
        f"COALESCE(k.landing_id, 0) AS landing_id, i.country, i.device_type, i.os, {subs}, "
        f"{_network_sql('i')} AS network, '' AS redirect_reason, '' AS smart_link, "
        "1 AS impressions "
        "FROM leads_impression i JOIN partners_trackinglink k ON k.id = i.link_id "
        f"WHERE i.id <= %(impressions)s{_since('i', keep_before)}"
    )


# The lead's copy of its click's facts as the columns of a click row (NULL without a click).
_LEAD_CLICK_SQL = "SELECT " + ", ".join(
    [
        *(f"l.click_facts ->> '{name}' AS {name}" for name in ("country", "device_type", "os", "as_org")),
        *(f"l.click_facts ->> 'sub{slot}' AS sub{slot}" for slot in SUB_SLOTS),
        "l.click_facts ->> 'redirect_reason' AS redirect_reason",
        "CAST(l.click_facts ->> 'asn' AS BIGINT) AS asn",
        "CAST(l.click_facts ->> 'landing_id' AS BIGINT) AS landing_id",
        "CAST(l.click_facts ->> 'smart_link_id' AS BIGINT) AS smart_link_id",
    ]
)


def _lead_facts(keep_before: date | None) -> tuple[str, str, list[str]]:
    """Each lead with its click's dimensions (a lead without a click has empty ones), as `_lead_key` does;
    its country and network are its own, else its click's. The click's are the lead's copy of
    them (`Lead.click_facts`): no join with the clicks, whose old partitions may be gone.

    The same statement stamps every event of those leads not folded yet: the leads it reads
    already include them, and one statement reads and stamps in one snapshot, so an event
    committed meanwhile is either in both or in neither (then the next refresh folds it). The
    events of kept days' leads stay unstamped: the kept rows hold what was folded of those
    leads, and the next refresh adds the rest.
    """
    approved = "l.status = 'approved'"
    pending = "l.status IN ({})".format(", ".join(f"'{s}'" for s in sorted(PENDING_STATUSES)))
    rejected = "l.status IN ({})".format(", ".join(f"'{s}'" for s in sorted(REJECTED_STATUSES)))
    subs = ", ".join(f"COALESCE(c.sub{slot}, '') AS sub{slot}" for slot in SUB_SLOTS)
    counters = {
        "leads_total": "1",
        "leads_approved": f"CASE WHEN {approved} THEN 1 ELSE 0 END",
        "leads_pending": f"CASE WHEN {pending} THEN 1 ELSE 0 END",
        "leads_rejected": f"CASE WHEN {rejected} THEN 1 ELSE 0 END",
        "payout_approved": f"CASE WHEN {approved} THEN l.payout_base ELSE 0 END",
        "payout_pending": f"CASE WHEN {pending} THEN l.payout_base ELSE 0 END",
        "revenue_approved": f"CASE WHEN {approved} THEN l.revenue_base ELSE 0 END",
        "revenue_pending": f"CASE WHEN {pending} THEN l.revenue_base ELSE 0 END",
    }
    since = _since("l", keep_before)
    facts = (
        f"SELECT l.organization_id, {_DAY.format(alias='l')} AS day, l.partner_id, l.offer_id, "
        "COALESCE(c.landing_id, k.landing_id, 0) AS landing_id, "
        "CASE WHEN l.country <> '' THEN l.country ELSE COALESCE(c.country, '') END AS country, "
        "COALESCE(c.device_type, '') AS device_type, COALESCE(c.os, '') AS os, "
        f"{subs}, CASE WHEN l.asn IS NOT NULL OR l.as_org <> '' THEN {_network_sql('l')} "
        f"ELSE COALESCE({_network_sql('c')}, '') END AS network, "
        "COALESCE(c.redirect_reason, '') AS redirect_reason, "
        "COALESCE(CAST(c.smart_link_id AS TEXT), '') AS smart_link, "
        f"{', '.join(f'{expression} AS {name}' for name, expression in counters.items())} "
        "FROM leads_lead l JOIN partners_trackinglink k ON k.id = l.link_id "
        f"CROSS JOIN LATERAL ({_LEAD_CLICK_SQL}) c WHERE true{since}"
    )
    events = _column(LeadEvent._meta.db_table)
    if keep_before is None:
        stamp = f"stamped AS (UPDATE {events} SET folded_at = %(now)s WHERE folded_at IS NULL), "
    else:
        stamp = (
            f"stamped AS (UPDATE {events} e SET folded_at = %(now)s FROM leads_lead l "
            f"WHERE e.folded_at IS NULL AND l.id = e.lead_id{since}), "
        )
    return stamp, facts, list(counters)


def _recount_sql(keep_before: date | None) -> str:
    """Count every click, impression and lead (past the kept days) into the new tables in one statement.

    One statement reads the raw tables in one snapshot. Each source is grouped on its own,
    then their rows are added up by key, so the new tables (no index yet) get plain INSERTs of
    one row per key. Rows go in in the order of the report indexes, so one partner's month
    sits on a few pages, not one page per row.
    """
    click_prelude, clicks = _click_facts(keep_before)
    stamp, leads, lead_counters = _lead_facts(keep_before)
    sources = " UNION ALL ".join(
        [
            _grouped_sql(clicks, ["clicks", "unique_clicks"]),
            _grouped_sql(_impression_facts(keep_before), ["impressions"]),
            _grouped_sql(leads, lead_counters),
        ]
    )
    sums = ", ".join(f"SUM({c})" for c in COUNTER_FIELDS)
    daily_keys, sub_keys = ", ".join(KEY_FIELDS_DAILY), ", ".join(KEY_FIELDS_SUB)
    daily_next = _column(DailyStat._meta.db_table + NEXT)
    sub_next = _column(SubStat._meta.db_table + NEXT)
    counters = ", ".join(COUNTER_FIELDS)
    return (
        f"WITH {click_prelude}{stamp}grouped AS ({sources}), "
        f"daily AS (INSERT INTO {daily_next} ({daily_keys}, {counters}) SELECT {daily_keys}, {sums} "
        f"FROM grouped WHERE slot IS NULL GROUP BY {daily_keys} ORDER BY partner_id, day) "
        f"INSERT INTO {sub_next} ({sub_keys}, {counters}) SELECT {sub_keys}, {sums} FROM grouped "
        f"WHERE slot IS NOT NULL AND (slot NOT IN ({', '.join(map(str, SPARSE_SLOTS))}) OR value <> '') "
        f"GROUP BY {sub_keys} ORDER BY partner_id, slot, day"
    )


# The order rows are copied in: the order the recount writes them in.
_COPY_ORDER = {
    DailyStat: "partner_id, day",
    SubStat: "partner_id, slot, day",
    ClickFingerprint: "day, link_id, ip",
}


def _copy_kept(cursor: Any, keep_before: date) -> None:
    """Copy the rows of days before `keep_before` from the live tables into the new ones, as they are."""
    for model in REBUILT:
        table = model._meta.db_table
        columns = ", ".join(_column(f.column) for f in model._meta.concrete_fields if not f.primary_key)
        cursor.execute(
            f"INSERT INTO {_column(table + NEXT)} ({columns}) SELECT {columns} FROM {_column(table)} "
            f"WHERE day < %(keep_before)s ORDER BY {_COPY_ORDER[model]}",
            {"keep_before": keep_before},
        )


class _Layout:
    """A live table's indexes and constraints as its migrations created them, read from the catalog.

    The new table gets the same ones under temporary names (`<table>_next_<n>`), built after
    its fill; the swap gives them the live names, and the replaced table's the `_retired` ones.
    """

    def __init__(self, cursor: Any, table: str) -> None:
        self.table = table
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
            [table],
        )
        rows = cursor.fetchall()
        # Primary key and unique constraints: each builds its own index.
        self.keys = [(name, definition) for name, kind, definition in rows if kind in "pu"]
        self.foreign_keys = [(name, definition) for name, kind, definition in rows if kind == "f"]
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "AND k.conrelid = i.indrelid) ORDER BY c.relname",
            [table],
        )
        self.indexes = cursor.fetchall()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        self.sequence = cursor.fetchone()[0].rpartition(".")[2].strip('"')

    def temporary(self, suffix: str, n: int) -> str:
        return _column(f"{self.table}{suffix}_{n}")

    def build(self, cursor: Any) -> None:
        """Build the new table's keys and indexes (temporary names), after its rows are in."""
        new = _column(self.table + NEXT)
        for n, (_, definition) in enumerate(self.keys):
            cursor.execute(f"ALTER TABLE {new} ADD CONSTRAINT {self.temporary(NEXT, n)} {definition}")
        for n, (_, definition) in enumerate(self.indexes, start=len(self.keys)):
            match = re.fullmatch(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ (USING .+)", definition)
            if match is None:
                raise ValueError(f"Unexpected index definition: {definition}")
            unique, rest = match.group(1) or "", match.group(2)
            cursor.execute(f"CREATE {unique}INDEX {self.temporary(NEXT, n)} ON {new} {rest}")

    def swap(self, cursor: Any) -> None:
        """Rename the live table away and the new one in its place, names of everything included.

        The foreign keys are added NOT VALID (no scan while the tables are locked) and
        validated after the swap commits (`validate`).
        """
        live, new, retired = (_column(self.table + suffix) for suffix in ("", NEXT, RETIRED))
        indexes = [name for name, _ in self.indexes]
        cursor.execute(f"ALTER TABLE {live} RENAME TO {retired}")
        cursor.execute(
            f"ALTER SEQUENCE {_column(self.sequence)} RENAME TO {_column(self.table + RETIRED + '_id_seq')}"
        )
        for n, (name, _) in enumerate(self.keys):
            cursor.execute(
                f"ALTER TABLE {retired} RENAME CONSTRAINT {_column(name)} TO {self.temporary(RETIRED, n)}"
            )
        for n, name in enumerate(indexes, start=len(self.keys)):
            cursor.execute(f"ALTER INDEX {_column(name)} RENAME TO {self.temporary(RETIRED, n)}")
        cursor.execute(f"ALTER TABLE {new} RENAME TO {live}")
        cursor.execute(
            f"ALTER SEQUENCE {_column(self.table + NEXT + '_id_seq')} RENAME TO {_column(self.sequence)}"
        )
        for n, (name, _) in enumerate(self.keys):
            cursor.execute(
                f"ALTER TABLE {live} RENAME CONSTRAINT {self.temporary(NEXT, n)} TO {_column(name)}"
            )
        for n, name in enumerate(indexes, start=len(self.keys)):
            cursor.execute(f"ALTER INDEX {self.temporary(NEXT, n)} RENAME TO {_column(name)}")
        for name, definition in self.foreign_keys:
            cursor.execute(f"ALTER TABLE {live} ADD CONSTRAINT {_column(name)} {definition} NOT VALID")

    def validate(self, cursor: Any) -> None:
        """Check the rows against the foreign keys: a scan that blocks neither readers nor the fold."""
        for name, _ in self.foreign_keys:
            cursor.execute(f"ALTER TABLE {_column(self.table)} VALIDATE CONSTRAINT {_column(name)}")


def _lock_timeout_ms() -> int:
    return int(getattr(settings, "ROLLUP_SWAP_LOCK_TIMEOUT_MS", DEFAULT_SWAP_LOCK_TIMEOUT_MS))


def _briefly(cursor: Any, attempts: int, what: str, step: Any) -> bool:
    """Run `step(cursor)` in a savepoint with a lock timeout, again after a pause when a lock was not had.

    True once it ran; False after `attempts` tries. The timeout is put back as it was, so it
    does not outlive the step in a caller's transaction.
    """
    cursor.execute("SELECT current_setting('lock_timeout')")
    (before,) = cursor.fetchone()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{_lock_timeout_ms()}ms"])
                step(cursor)
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
            return True
        except OperationalError as error:  # a lock timeout or a deadlock: the savepoint undid the step
            logger.info(
                "rollup rebuild: %s waited too long for a lock (attempt %d): %s", what, attempt, error
            )
            time.sleep(min(0.1 * attempt, 1.0))
    return False


def _drop(cursor: Any, tables: str) -> None:
    _check_deferred(cursor)
    cursor.execute(f"DROP TABLE IF EXISTS {tables}")


def _retire(cursor: Any) -> bool:
    """Drop the replaced tables; True when they are gone (or there were none).

    Dropping a table with foreign keys takes an exclusive lock on the tables they point to
    (organizations, partners, offers) for a moment, so it waits at most the lock timeout.
    """
    tables = ", ".join(_column(model._meta.db_table + RETIRED) for model in REBUILT)
    return _briefly(
        cursor,
        RETIRE_ATTEMPTS,
        "dropping the replaced tables",
        lambda c: _drop(c, tables),
    )


def _build_next(
    cursor: Any, layouts: Sequence[_Layout], ids: Mapping[str, Any], keep_before: date | None
) -> None:
    """Create the new tables, fill them, then build their indexes and statistics."""
    for layout in layouts:
        new = _column(layout.table + NEXT)
        cursor.execute(f"CREATE TABLE {new} (LIKE {_column(layout.table)} INCLUDING ALL EXCLUDING INDEXES)")
    started = time.perf_counter()
    if keep_before is not None:
        _copy_kept(cursor, keep_before)
    cursor.execute(_recount_sql(keep_before), ids)
    filled = time.perf_counter()
    _index_next(cursor, layouts)
    logger.info(
        "rollup rebuild: new tables filled in %.1f s, indexed in %.1f s",
        filled - started,
        time.perf_counter() - filled,
    )


def _index_next(cursor: Any, layouts: Sequence[_Layout]) -> None:
    for layout in layouts:
        layout.build(cursor)
        cursor.execute(f"ANALYZE {_column(layout.table + NEXT)}")


def _check_deferred(cursor: Any) -> None:
    """Run the deferred FK checks of this transaction's rollup writes now.

    Renaming or dropping a table refuses while such checks are pending on it; Django's
    constraints go back to their deferred mode after.
    """
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _swap(cursor: Any, layouts: Sequence[_Layout]) -> float:
    """Swap every new table in; when the exclusive locks were had (perf_counter)."""
    _check_deferred(cursor)
    tables = ", ".join(_column(layout.table) for layout in layouts)
    cursor.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
    locked = time.perf_counter()
    for layout in layouts:
        layout.swap(cursor)
    return locked


def _fold_late(newest: Mapping[str, int], keep_from: datetime) -> None:
    """Fold the kept days' clicks and impressions that the fold has not reached yet into the live tables.

    The kept rows are copied as they are, so what is due of those days must be in them first.
    """
    for source, model in SOURCES.items():
        folded = Watermark.objects.get(source=source).folded_id
        _fold_range(model, folded, newest[source], when=Q(created_at__lt=keep_from))


def _rebuild_postgresql(
    newest: Mapping[str, int], now: datetime, keep_before: date | None
) -> tuple[list[_Layout], float]:
    """Recompute the rollups into new tables and swap them in; readers read the old ones meanwhile.

    The live tables are locked in SHARE mode for the rebuild: readers go on, and any write to
    them (the fold is already held off by the watermarks; a privacy operation deleting a
    fingerprint, a deleted organization's rows) waits for the swap and then lands in the new
    tables, instead of in tables about to be dropped. The swap takes the exclusive locks for
    a few renames only, with a lock timeout so it never waits behind a long reader while
    readers queue behind it; it tries again after a pause.
    """
    ids = {
        "clicks": newest[Watermark.Source.CLICKS],
        "impressions": newest[Watermark.Source.IMPRESSIONS],
        "now": now,
        "keep_from": None if keep_before is None else datetime.combine(keep_before, dt_time.min, tzinfo=UTC),
    }
    with connection.cursor() as cursor:
        if not _retire(cursor):
            raise OperationalError("The tables an earlier rollup rebuild replaced could not be dropped.")
        layouts = [_Layout(cursor, model._meta.db_table) for model in REBUILT]
        live = ", ".join(_column(layout.table) for layout in layouts)
        cursor.execute(f"LOCK TABLE {live} IN SHARE MODE")
        if keep_before is not None:
            _fold_late(newest, ids["keep_from"])
        # Whole-table hash aggregates and the fingerprint hash join stay in memory, not on disk.
        cursor.execute("SET LOCAL work_mem = '1GB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        _build_next(cursor, layouts, ids, keep_before)
        locked: list[float] = []
        if not _briefly(cursor, SWAP_ATTEMPTS, "the swap", lambda c: locked.append(_swap(c, layouts))):
            raise OperationalError("The rebuilt rollups could not be swapped in: the tables stayed busy.")
    return layouts, locked[-1]


def _rebuild_portable(now: datetime, keep_before: date | None) -> None:
    """Recompute the rollups with the incremental code's statements (SQLite and other databases).

    The DELETEs come first: from there on this transaction is the database's one writer
    (SQLite), so the leads it counts and the events it stamps are the same.
    """
    recounted, leads, events = Q(), Lead.objects.all(), LeadEvent.objects.filter(folded_at__isnull=True)
    if keep_before is not None:
        keep_from = datetime.combine(keep_before, dt_time.min, tzinfo=UTC)
        newest = {source: model.objects.aggregate(m=Max("id"))["m"] or 0 for source, model in SOURCES.items()}
        _fold_late(newest, keep_from)
        recounted = Q(created_at__gte=keep_from)
        leads = leads.filter(recounted)
        events = events.filter(lead__created_at__gte=keep_from)
    for model in REBUILT:
        rows = model.objects.all()
        (rows if keep_before is None else rows.filter(day__gte=keep_before)).delete()
    Watermark.objects.update(folded_id=0, pending_id=0, pending_at=None)
    for source in SOURCES:
        _refresh_source(source, settle=0, batch=2**62, when=recounted)
    _fold_leads(leads, "", _lead_counters())
    events.update(folded_at=now)


def _first_whole_raw_day() -> date | None:
    """The first day whose raw clicks and impressions are all still there, when retention dropped
    older ones (None when it dropped nothing): a rebuild keeps the rollups of the days before."""
    horizon = raw_horizon()
    if horizon is None:
        return None
    moment = horizon.astimezone(UTC)
    whole = moment.time() == dt_time(0)
    return moment.date() if whole else moment.date() + timedelta(days=1)


def rollup_rebuild(*, keep_before: date | None = None) -> None:
    """Recompute every rollup from the raw clicks, impressions and leads.

    Everything up to the newest click and impression id is folded, and the watermarks move
    there, so a later `rollup_refresh` continues from where the rebuild stopped; every lead
    event is stamped folded, since the leads were counted as they are now.

    With `keep_before`, the rows of days before it are kept as they are instead of being
    recounted (their raw clicks may be gone: retention): clicks and impressions of those days
    that the fold had not reached are folded into them first, and their leads' events not
    folded yet are left for the next refresh.

    On PostgreSQL the rebuild fills new tables while reports read the old ones, then swaps
    them in one short lock (`_rebuild_postgresql`). The watermark rows stay locked throughout,
    so `rollup_refresh` waits for the swap and then folds what came meanwhile (ids past the
    moved watermarks, events the rebuild did not stamp) into the new tables: each click,
    impression and event counts once.
    """
    if keep_before is None:
        keep_before = _first_whole_raw_day()
    with transaction.atomic():
        for source in SOURCES:
            Watermark.objects.get_or_create(source=source)
        list(Watermark.objects.select_for_update().all())
        now = timezone.now()
        if connection.vendor != "postgresql":
            _rebuild_portable(now, keep_before)
            return
        newest = {source: model.objects.aggregate(m=Max("id"))["m"] or 0 for source, model in SOURCES.items()}
        layouts, locked = _rebuild_postgresql(newest, now, keep_before)
        for source, top in newest.items():
            Watermark.objects.filter(source=source).update(
                folded_id=top, pending_id=top, pending_at=now, updated_at=now
            )
    logger.info(
        "rollup rebuild: swapped in, readers held off for %.0f ms", (time.perf_counter() - locked) * 1000
    )
    with connection.cursor() as cursor:
        # Both after the commit: neither needs the report readers or the fold to wait.
        if not _retire(cursor):
            logger.warning("rollup rebuild: the replaced tables stay until the next rebuild drops them")
        for layout in layouts:
            layout.validate(cursor)
