"""Raw tables partitioned by time, partitions made ahead, and the retention that drops them (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import partitions
from leads.models import Click, Impression, Lead, RawPartitionDrop
from leads.outbound import lead_for_delivery, lead_macro_values
from leads.partitions import partitions_ensure, partitions_retain, raw_horizon
from leads.rollups import rollup_rebuild, rollup_refresh
from reports.models import DailyStat, SubStat
from tests.ingest.test_postback_support import get_json
from tests.ingest.test_postback_support import make_world as make_postback_world
from tests.reports.builders import make_traffic, make_world

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite keeps plain tables, partitioning is a no-op",
    ),
]


def _partition_of(table: str, row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _check_deferred_constraints() -> None:
    # The test's rows were inserted in this same transaction: PostgreSQL alters no table with
    # foreign-key checks still pending, which a real run (its own transaction) never has.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _rollups() -> tuple[list, list]:
    daily = [f.name for f in DailyStat._meta.fields if f.name != "id"]
    sub = [f.name for f in SubStat._meta.fields if f.name != "id"]
    return sorted(DailyStat.objects.values_list(*daily)), sorted(SubStat.objects.values_list(*sub))


def test_the_raw_tables_are_partitioned_with_a_default_partition():
    for table in ("leads_click", "leads_impression", "postbacks_inboundpostback"):
        assert partitions.is_partitioned(connection, table)
        assert any(p.is_default for p in partitions.partitions(connection, table))


@override_settings(RAW_PARTITION_INTERVAL="month", RAW_PARTITIONS_AHEAD=2)
def test_partitions_are_created_ahead_and_clicks_go_to_their_months_partition(organization):
    created = partitions_ensure(now=datetime(2030, 1, 15, tzinfo=UTC))

    assert created["leads_click"] == [
        "leads_click_p20300101",
        "leads_click_p20300201",
        "leads_click_p20300301",
    ]
    assert "postbacks_inboundpostback_p20300301" in created["postbacks_inboundpostback"]
    world = make_postback_world(organization)
    click = world.click(created_at=datetime(2030, 2, 10, 8, tzinfo=UTC))
    assert _partition_of("leads_click", click.pk) == "leads_click_p20300201"
    assert partitions_ensure(now=datetime(2030, 1, 15, tzinfo=UTC))["leads_click"] == []


@override_settings(RAW_PARTITION_INTERVAL="day", RAW_PARTITIONS_AHEAD=150)
def test_the_command_creates_day_partitions_after_the_month_ones():
    out = StringIO()
    months = partitions.partitions(connection, "leads_impression")
    end_of_months = max(p.upper for p in months if p.upper is not None)

    call_command("partitions_ensure", "--since", "2020-01-01", stdout=out)

    after = {p.name: p for p in partitions.partitions(connection, "leads_impression")}
    first_day = after[partitions.partition_name("leads_impression", end_of_months)]
    assert first_day.upper - first_day.lower == timedelta(days=1)
    assert {p.name for p in months} <= set(after)  # the months stay; days only fill what they leave
    assert "leads_impression: " in out.getvalue()


def test_a_click_of_a_period_without_a_partition_waits_in_the_default_then_moves_to_its_partition(
    organization,
):
    world = make_postback_world(organization)
    click = world.click(created_at=datetime(2035, 6, 5, 12, tzinfo=UTC))
    assert _partition_of("leads_click", click.pk) == "leads_click_default"

    with override_settings(RAW_PARTITION_INTERVAL="month", RAW_PARTITIONS_AHEAD=0):
        created = partitions_ensure(now=datetime(2035, 1, 1, tzinfo=UTC))

    assert "leads_click_p20350601" in created["leads_click"]
    assert _partition_of("leads_click", click.pk) == "leads_click_p20350601"
    moved = Click.objects.get(click_id=click.click_id)
    assert (moved.pk, moved.created_at, moved.link_id) == (click.pk, click.created_at, click.link_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_click_default")
        assert cursor.fetchone()[0] == 0


def test_a_lead_copies_its_clicks_facts_when_it_is_created(client, organization):
    world = make_postback_world(organization)
    click = world.click(sub1="site-7", os="iOS", country="DE", ip="203.0.113.9")

    status, body = get_json(client, world.url("/postback/lead", click=click.click_id, exto="e1"))

    assert status == 200, body
    facts = Lead.objects.get(pk=body["lead"]["id"]).click_facts
    assert (facts["click_id"], facts["sub1"], facts["os"], facts["ip"]) == (
        click.click_id,
        "site-7",
        "iOS",
        "203.0.113.9",
    )


@override_settings(RAW_RETENTION_DAYS=395)
def test_the_retention_drops_whole_partitions_while_leads_and_reports_keep_the_clicks_facts():
    world = make_world()
    make_traffic(world, clicks=40, leads=15)
    rollup_refresh(settle_seconds=0)
    before = _rollups()
    lead = Lead.objects.filter(click__isnull=False).first()
    click = lead.click
    macros_before = lead_macro_values(lead_for_delivery(lead.pk))
    leads = Lead.objects.count()
    holder = _partition_of("leads_click", click.pk)

    later = timezone.now() + timedelta(days=500)
    _check_deferred_constraints()
    with CaptureQueriesContext(connection) as queries:
        dropped = partitions_retain(now=later)

    assert not any(q["sql"].lstrip().upper().startswith("DELETE") for q in queries.captured_queries)
    assert not Click.objects.exists() and not Impression.objects.exists()
    assert not _exists(holder)
    assert holder in {d.partition for d in dropped}
    assert Lead.objects.count() == leads
    assert _rollups() == before
    after = lead_macro_values(lead_for_delivery(lead.pk))
    for name in ("click_id", "sub1", "sub5", "ip", "os", "country", "landing_id", "click_time", "ref_id"):
        assert after.get(name) == macros_before.get(name), name
    assert after["click_id"] == click.click_id
    assert raw_horizon() == max(
        d.range_end for d in dropped if d.table in ("leads_click", "leads_impression")
    )
    assert RawPartitionDrop.objects.filter(partition=holder).exists()
    # A rebuild keeps the rollups of the days whose raw clicks are gone instead of recounting
    # them from nothing.
    rollup_rebuild()
    assert _rollups() == before


@override_settings(RAW_RETENTION_DAYS=0)
def test_a_retention_of_zero_days_keeps_every_partition(organization):
    world = make_postback_world(organization)
    world.click()

    assert partitions_retain(now=timezone.now() + timedelta(days=5000)) == []
    assert Click.objects.count() == 1
    assert raw_horizon() is None


def test_a_plain_table_with_rows_becomes_partitioned_without_losing_a_row(organization):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE demo_raw (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "code varchar(32) NOT NULL, organization_id bigint NOT NULL REFERENCES accounts_organization(id) "
            "DEFERRABLE INITIALLY DEFERRED, created_at timestamptz NOT NULL, "
            "CONSTRAINT demo_raw_code_time UNIQUE (code, created_at))"
        )
        cursor.execute("CREATE INDEX demo_raw_org_time ON demo_raw (organization_id, created_at)")
        for n, when in enumerate(["2024-03-02", "2025-11-30", "2026-01-15 10:00"]):
            cursor.execute(
                "INSERT INTO demo_raw (code, organization_id, created_at) VALUES (%s, %s, %s)",
                [f"c{n}", organization.pk, f"{when}+00"],
            )

    _check_deferred_constraints()
    partitions.convert_to_partitioned(
        connection, "demo_raw", "created_at", interval="month", ahead=1, now=datetime(2026, 3, 10, tzinfo=UTC)
    )

    assert partitions.is_partitioned(connection, "demo_raw")
    names = [p.name for p in partitions.partitions(connection, "demo_raw")]
    assert names == ["demo_raw_legacy", "demo_raw_p20260301", "demo_raw_p20260401", "demo_raw_default"]
    legacy = partitions.partitions(connection, "demo_raw")[0]
    assert (legacy.lower, legacy.upper) == (None, datetime(2026, 2, 1, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code, tableoid::regclass::text FROM demo_raw ORDER BY id")
        assert cursor.fetchall() == [
            (1, "c0", "demo_raw_legacy"),
            (2, "c1", "demo_raw_legacy"),
            (3, "c2", "demo_raw_legacy"),
        ]
        cursor.execute(
            "INSERT INTO demo_raw (code, organization_id, created_at) VALUES ('new', %s, '2026-03-11+00') "
            "RETURNING id, tableoid::regclass::text",
            [organization.pk],
        )
        assert cursor.fetchone() == (4, "demo_raw_p20260301")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'demo_raw'::regclass ORDER BY conname"
        )
        constraints = [row[0] for row in cursor.fetchall()]
        assert "demo_raw_code_time" in constraints and "demo_raw_pkey" in constraints
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'demo_raw_pkey'")
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, created_at)"
