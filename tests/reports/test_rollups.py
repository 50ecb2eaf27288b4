"""Report numbers from the rollups equal direct counts over the raw tables, whichever way they are built."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead, LeadStatus
from reports.models import COUNTER_FIELDS, DailyStat, SubStat
from reports.selectors import GROUPINGS, raw_report_rows, report_rows, report_totals
from reports.services import (
    rollup_lead_change,
    rollup_lead_created,
    rollup_lead_events,
    rollup_rebuild,
    rollup_refresh,
)
from tests.reports.builders import make_clicks, make_impressions, make_leads, make_traffic, make_world

pytestmark = pytest.mark.django_db


def _period():
    today = timezone.now().date()
    return today - timedelta(days=30), today + timedelta(days=1)


def _as_table(rows):
    return {
        str(row.key): {name: Decimal(row.counters.get(name) or 0) for name in COUNTER_FIELDS} for row in rows
    }


def _rollup_snapshot():
    fields = [f.name for f in DailyStat._meta.fields if f.name != "id"]
    sub_fields = [f.name for f in SubStat._meta.fields if f.name != "id"]
    daily = sorted(tuple(str(v) for v in row) for row in DailyStat.objects.values_list(*fields))
    subs = sorted(tuple(str(v) for v in row) for row in SubStat.objects.values_list(*sub_fields))
    return daily, subs


@pytest.fixture
def world():
    world = make_world()
    make_traffic(world)
    return world


@pytest.mark.parametrize("grouping", list(GROUPINGS))
def test_every_grouping_of_the_rebuilt_rollups_equals_the_raw_count(world, grouping):
    rollup_rebuild()
    start, end = _period()
    for publisher in (world.a, world.b):
        rolled = report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
        raw = raw_report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
        assert _as_table(rolled) == _as_table(raw)
        assert sum(row.clicks for row in rolled) == len(publisher.clicks)


def test_a_campaign_filter_counts_only_that_campaign(world):
    rollup_rebuild()
    start, end = _period()
    offer = world.offers[0]
    rolled = report_rows(
        partner_id=world.a.partner.pk, start=start, end=end, grouping="geo", offer_id=offer.pk
    )
    raw = raw_report_rows(
        partner_id=world.a.partner.pk, start=start, end=end, grouping="geo", offer_id=offer.pk
    )
    assert _as_table(rolled) == _as_table(raw)
    assert sum(r.clicks for r in rolled) == sum(1 for c in world.a.clicks if c.offer_id == offer.pk)


def test_incremental_refresh_and_lead_hooks_build_the_same_rollups_as_a_rebuild():
    world = make_world()
    make_clicks(world.a, 60, seed=1)
    make_impressions(world.a, 50, seed=2)
    assert rollup_refresh(settle_seconds=0) > 0
    make_clicks(world.b, 40, seed=3)
    first = make_clicks(world.a, 30, seed=4)
    world.a.clicks = first
    rollup_refresh(settle_seconds=0)
    leads = make_leads(world, world.a, 12, seed=5)
    for lead in leads:
        rollup_lead_created(lead=Lead.objects.select_related("click", "link").get(pk=lead.pk))
    moved = Lead.objects.select_related("click", "link").get(pk=leads[0].pk)
    before = (moved.status, moved.payout, moved.revenue)
    Lead.objects.filter(pk=moved.pk).update(status=LeadStatus.APPROVED, payout=Decimal("7.77"))
    moved.refresh_from_db()
    rollup_lead_change(
        lead=moved,
        from_status=before[0],
        to_status=moved.status,
        from_payout=before[1],
        to_payout=moved.payout,
        from_revenue=before[2],
        to_revenue=moved.revenue,
    )
    incremental = _rollup_snapshot()
    rollup_rebuild()
    assert _rollup_snapshot() == incremental


def test_refreshing_twice_folds_nothing_twice(world):
    rollup_refresh(settle_seconds=0)
    start, end = _period()
    once = report_totals(partner_id=world.a.partner.pk, start=start, end=end)
    assert rollup_refresh(settle_seconds=0) == 0
    twice = report_totals(partner_id=world.a.partner.pk, start=start, end=end)
    assert once.clicks == twice.clicks == len(world.a.clicks)


def test_ids_are_folded_only_after_they_settled(world):
    assert rollup_refresh(settle_seconds=60) == 0
    start, end = _period()
    assert report_totals(partner_id=world.a.partner.pk, start=start, end=end).clicks == 0


def test_lead_events_follow_a_status_change_from_pending_to_approved(world):
    rollup_rebuild()
    lead = (
        Lead.objects.select_related("click", "link")
        .filter(partner=world.a.partner, status=LeadStatus.NEW)
        .first()
    )
    start, end = _period()
    before = report_totals(partner_id=world.a.partner.pk, start=start, end=end)

    class Event:
        kind, from_status, from_payout, from_revenue = "status", lead.status, lead.payout, lead.revenue

    lead.status = LeadStatus.APPROVED
    rollup_lead_events(lead=lead, events=[Event()])
    after = report_totals(partner_id=world.a.partner.pk, start=start, end=end)
    assert after.leads_approved == before.leads_approved + 1
    assert after.leads_pending == before.leads_pending - 1
    assert after.payout_approved == before.payout_approved + lead.payout
    assert after.leads_total == before.leads_total


def test_the_report_query_count_does_not_grow_with_rows(world, django_assert_num_queries):
    rollup_rebuild()
    start, end = _period()
    with django_assert_num_queries(2):
        report_rows(partner_id=world.a.partner.pk, start=start, end=end, grouping="campaign")
    assert connection.vendor in ("postgresql", "sqlite")


def test_a_refresh_after_a_rebuild_folds_only_the_traffic_that_arrived_since(world):
    rollup_rebuild()
    assert rollup_refresh(settle_seconds=0) == 0
    later = make_clicks(world.a, 25, seed=7)
    assert rollup_refresh(settle_seconds=0) == len(later)
    start, end = _period()
    rolled = report_rows(partner_id=world.a.partner.pk, start=start, end=end, grouping="date")
    raw = raw_report_rows(partner_id=world.a.partner.pk, start=start, end=end, grouping="date")
    assert _as_table(rolled) == _as_table(raw)
