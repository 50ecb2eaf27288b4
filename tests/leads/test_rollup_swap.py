"""A rollup rebuild never blocks the reports: it fills new tables and swaps them in.

The concurrency tests need PostgreSQL (SQLite rebuilds in place, one writer at a time); keeping
the rollups of old days holds on both databases.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

import leads.rollups
from bench.raw_reports import raw_report_rows
from leads.models import Lead, LeadEvent, LeadStatus
from leads.rollups import rollup_rebuild, rollup_refresh
from leads.services import lead_set_status
from reports.models import COUNTER_FIELDS, ClickFingerprint, DailyStat, SubStat
from reports.selectors import GROUPINGS, report_rows, report_totals
from tests.reports.builders import make_clicks, make_impressions, make_leads, make_traffic, make_world

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): SQLite rebuilds in place, one writer at a time",
)
# How long the paused rebuild waits for the other side of a test before going on regardless.
PAUSE_LIMIT = 60
# A read that takes longer than this was waiting for the rebuild, not answering.
READ_LIMIT = 2.0
READS = 10


def _period():
    today = timezone.now().date()
    return today - timedelta(days=90), today + timedelta(days=1)


def _as_table(rows):
    return {
        str(row.key): {name: Decimal(row.counters.get(name) or 0) for name in COUNTER_FIELDS} for row in rows
    }


def _rollup_snapshot():
    def rows(model: type) -> list:
        fields = [f.name for f in model._meta.fields if f.name != "id"]
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*fields))

    return rows(DailyStat), rows(SubStat), rows(ClickFingerprint)


def _assert_reports_equal_the_raw_counts(world) -> None:
    start, end = _period()
    for publisher in (world.a, world.b):
        for grouping in GROUPINGS:
            rolled = report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
            raw = raw_report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
            assert _as_table(rolled) == _as_table(raw), grouping


class PausedRebuild:
    """A rebuild in a thread that stops between building its new tables and swapping them in.

    It waits there until `go()` (or PAUSE_LIMIT, so a test whose other side hangs fails
    instead of hanging); `paused` is set when it got there.
    """

    def __init__(self, monkeypatch, **options) -> None:
        self.paused, self.released, self.done = threading.Event(), threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        built = leads.rollups._index_next

        def pause(cursor, layouts) -> None:
            built(cursor, layouts)
            self.paused.set()
            self.released.wait(PAUSE_LIMIT)

        monkeypatch.setattr(leads.rollups, "_index_next", pause)
        self.thread = threading.Thread(target=self._run, kwargs=options)

    def _run(self, **options) -> None:
        try:
            rollup_rebuild(**options)
        except BaseException as error:  # noqa: BLE001 - reported by finish()
            self.errors.append(error)
        finally:
            self.done.set()
            connections.close_all()

    def start(self) -> None:
        self.thread.start()
        assert self.paused.wait(PAUSE_LIMIT), "the rebuild never reached its pause"

    def go(self) -> None:
        self.released.set()
        self.thread.join(PAUSE_LIMIT)
        assert not self.thread.is_alive(), "the rebuild did not finish"
        assert self.errors == []


def _in_thread(call):
    """Run `call` on its own connection (a thread), as another process would; its result."""
    results: list = []

    def run() -> None:
        try:
            results.append(call())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_reports_answer_from_the_old_rollups_during_a_rebuild_and_from_the_new_ones_after(monkeypatch):
    world = make_world()
    make_traffic(world)
    rollup_rebuild()
    start, end = _period()
    partner = world.a.partner.pk
    before = report_totals(partner_id=partner, start=start, end=end)
    make_clicks(world.a, 40, seed=77)  # not folded: only the rebuild counts them
    rebuild = PausedRebuild(monkeypatch)
    rebuild.start()
    reads: list[tuple[float, dict, bool]] = []

    def read() -> None:
        for _ in range(READS):
            started = time.perf_counter()
            totals = report_totals(partner_id=partner, start=start, end=end)
            report_rows(partner_id=partner, start=start, end=end, grouping="geo")
            reads.append((time.perf_counter() - started, totals.counters, rebuild.done.is_set()))

    reader, _ = _in_thread(read)
    reader.join(PAUSE_LIMIT)
    rebuild.go()

    assert len(reads) == READS
    assert all(seconds < READ_LIMIT for seconds, _, _ in reads)
    assert not any(finished for _, _, finished in reads)
    assert all(counters == before.counters for _, counters, _ in reads)
    after = report_totals(partner_id=partner, start=start, end=end)
    assert after.clicks == before.clicks + 40
    _assert_reports_equal_the_raw_counts(world)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_clicks_lead_changes_and_a_refresh_during_a_rebuild_are_each_counted_once(monkeypatch):
    world = make_world()
    make_traffic(world)
    rollup_rebuild()
    rebuild = PausedRebuild(monkeypatch)
    rebuild.start()

    make_clicks(world.b, 30, seed=91)
    make_impressions(world.b, 20, seed=92)
    lead = Lead.objects.filter(partner=world.a.partner, status=LeadStatus.NEW).first()
    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    refresher, folded = _in_thread(lambda: rollup_refresh(settle_seconds=0))
    refresher.join(1.0)
    waited_for_the_rebuild = refresher.is_alive()
    rebuild.go()
    refresher.join(PAUSE_LIMIT)
    rollup_refresh(settle_seconds=0)

    assert waited_for_the_rebuild
    assert folded == [30 + 20 + 1]
    _assert_reports_equal_the_raw_counts(world)
    assert not LeadEvent.objects.filter(folded_at__isnull=True).exists()
    counted = _rollup_snapshot()
    rollup_rebuild()
    assert _rollup_snapshot() == counted


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_swap_waits_out_a_long_reader_without_making_other_readers_wait_long(monkeypatch, settings):
    settings.ROLLUP_SWAP_LOCK_TIMEOUT_MS = 100
    world = make_world()
    make_traffic(world)
    rollup_rebuild()
    start, end = _period()
    partner = world.a.partner.pk
    rebuild = PausedRebuild(monkeypatch)
    rebuild.start()
    holding, release = threading.Event(), threading.Event()

    def long_reader() -> None:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT count(*) FROM reports_dailystat")
            holding.set()
            release.wait(PAUSE_LIMIT)
            cursor.execute("COMMIT")

    reader, _ = _in_thread(long_reader)
    assert holding.wait(PAUSE_LIMIT)
    rebuild.released.set()  # the swap now tries, and gives way, while the long reader holds on
    waits = []
    for _ in range(READS):
        started = time.perf_counter()
        report_totals(partner_id=partner, start=start, end=end)
        waits.append(time.perf_counter() - started)
        time.sleep(0.05)
    swapped_meanwhile = rebuild.done.is_set()
    release.set()
    reader.join(PAUSE_LIMIT)
    rebuild.go()

    assert not swapped_meanwhile
    assert max(waits) < 1.0
    _assert_reports_equal_the_raw_counts(world)


@postgresql_only
def test_the_swapped_tables_keep_the_names_their_migrations_gave_them(world_with_traffic):
    tables = [model._meta.db_table for model in (DailyStat, SubStat, ClickFingerprint)]

    def layout() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid) "
                "FROM pg_index WHERE indrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
                [tables],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
                "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
                [tables],
            )
            constraints = cursor.fetchall()
            cursor.execute("SELECT t, pg_get_serial_sequence(t, 'id') FROM unnest(%s::text[]) t", [tables])
            return [indexes, constraints, cursor.fetchall()]

    migrated = layout()
    rollup_rebuild()

    assert layout() == migrated
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname ~ '_(next|retired)'")
        assert cursor.fetchall() == []


# --- Keeping the rollups of old days (both databases) -------------------------------------------


@pytest.fixture
def world_with_traffic():
    world = make_world()
    make_traffic(world)
    return world


def _old_rows(world, day):
    """Rollup rows of a day whose raw traffic is gone (retention), as the fold left them."""
    keys = {
        "organization": world.organization,
        "day": day,
        "partner": world.a.partner,
        "offer": world.offers[0],
    }
    DailyStat.objects.create(
        **keys, clicks=50, unique_clicks=40, leads_total=3, payout_approved=Decimal("4.50")
    )
    SubStat.objects.create(**keys, slot=1, value="siteA", clicks=50, leads_total=3)
    ClickFingerprint.objects.create(
        day=day, link_id=world.a.links[0].pk, ip="192.0.2.9", first_click_id=10**9
    )


def test_a_rebuild_keeping_old_days_keeps_their_rows_and_recounts_the_rest(world_with_traffic):
    world = world_with_traffic
    today = timezone.now().date()
    old_day, keep_before = today - timedelta(days=80), today - timedelta(days=40)
    _old_rows(world, old_day)
    # A wrong row of a recent day: recounted away.
    DailyStat.objects.create(
        organization=world.organization, day=today, partner=world.a.partner, offer=world.offers[1], os="BeOS"
    )

    rollup_rebuild(keep_before=keep_before)

    assert DailyStat.objects.get(day=old_day).clicks == 50
    assert SubStat.objects.get(day=old_day, slot=1, value="siteA").leads_total == 3
    assert ClickFingerprint.objects.filter(day=old_day, ip="192.0.2.9").exists()
    assert not DailyStat.objects.filter(os="BeOS").exists()
    _assert_reports_equal_the_raw_counts_after(world, old_day)


def _assert_reports_equal_the_raw_counts_after(world, old_day) -> None:
    """Every report from the day after `old_day` equals the raw count; `old_day` keeps its rows."""
    end = timezone.now().date() + timedelta(days=1)
    for publisher in (world.a, world.b):
        for grouping in ("date", "geo", "sub1", "network"):
            scope = {"partner_id": publisher.partner.pk, "start": old_day + timedelta(days=1), "end": end}
            rolled = report_rows(grouping=grouping, **scope)
            assert _as_table(rolled) == _as_table(raw_report_rows(grouping=grouping, **scope))


def test_a_full_rebuild_recounts_old_days_too(world_with_traffic):
    old_day = timezone.now().date() - timedelta(days=80)
    _old_rows(world_with_traffic, old_day)

    rollup_rebuild()

    assert not DailyStat.objects.filter(day=old_day).exists()
    assert not ClickFingerprint.objects.filter(day=old_day).exists()


def test_keeping_old_days_then_refreshing_equals_a_full_rebuild_when_the_raw_rows_are_all_there():
    """Late traffic of the kept days is folded into them first; their leads' changes, by the next fold."""
    world = make_world()
    for n, publisher in enumerate((world.a, world.b)):
        make_clicks(publisher, 120, seed=10 + n, days=60)
        make_impressions(publisher, 200, seed=20 + n, days=60)
        make_leads(world, publisher, 40, seed=30 + n)
    rollup_rebuild()
    keep_before = timezone.now().date() - timedelta(days=30)
    late = make_clicks(world.a, 60, seed=44, days=60)  # not folded yet, some of them on kept days
    make_impressions(world.b, 60, seed=45, days=60)
    old_lead = Lead.objects.filter(
        status=LeadStatus.NEW, click__isnull=False, created_at__date__lt=keep_before
    ).first()
    lead_set_status(lead=old_lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)

    rollup_rebuild(keep_before=keep_before)
    unfolded = list(LeadEvent.objects.filter(folded_at__isnull=True).values_list("lead_id", flat=True))
    rollup_refresh(settle_seconds=0)
    kept_and_folded = _rollup_snapshot()
    rollup_rebuild()

    assert any(click.created_at.date() < keep_before for click in late)
    assert unfolded == [old_lead.pk]
    assert kept_and_folded == _rollup_snapshot()


def test_the_rebuild_command_keeps_the_days_before_the_date_it_is_given(world_with_traffic):
    today = timezone.now().date()
    old_day, keep_before = today - timedelta(days=80), today - timedelta(days=40)
    _old_rows(world_with_traffic, old_day)
    out = io.StringIO()

    call_command("rollup_refresh", "--rebuild", "--keep-before", keep_before.isoformat(), stdout=out)

    assert out.getvalue().strip() == f"Rollups rebuilt from the raw tables (days before {keep_before} kept)."
    assert DailyStat.objects.get(day=old_day).clicks == 50


def test_the_refresh_command_refuses_to_keep_days_without_rebuilding():
    with pytest.raises(CommandError, match="--keep-before goes with --rebuild"):
        call_command("rollup_refresh", "--keep-before", "2026-01-01")
