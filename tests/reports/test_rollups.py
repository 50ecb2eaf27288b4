"""Report numbers from the rollups equal direct counts over the raw tables, whichever way they are built.

Leads reach the rollups only through the fold: a lead service writes its lead and event, and
`rollup_refresh` counts the event later, once.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.raw_reports import raw_report_rows
from leads.models import Lead, LeadEvent, LeadStatus
from leads.rollups import rollup_rebuild, rollup_refresh
from leads.services import lead_change_goal, lead_create, lead_set_status
from reports.models import COUNTER_FIELDS, DailyStat, SubStat
from reports.selectors import GROUPINGS, report_rows, report_totals
from tests.factories import GoalFactory
from tests.reports.builders import make_clicks, make_impressions, make_traffic, make_world

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


def _counted_clicks(publisher, grouping):
    """The clicks a grouping counts: all, or only those with a value for the sparse ones."""
    if grouping == "redirect":
        return [c for c in publisher.clicks if c.redirect_reason]
    if grouping == "smartlink":
        return [c for c in publisher.clicks if c.smart_link_id]
    return publisher.clicks


def _assert_every_grouping_equals_the_raw_count(world, grouping):
    start, end = _period()
    for publisher in (world.a, world.b):
        rolled = report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
        raw = raw_report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
        assert _as_table(rolled) == _as_table(raw)
        assert sum(row.clicks for row in rolled) == len(_counted_clicks(publisher, grouping)) > 0
        assert sum(row.leads_total for row in rolled) > 0


@pytest.mark.parametrize("grouping", list(GROUPINGS))
def test_every_grouping_of_the_rebuilt_rollups_equals_the_raw_count(world, grouping):
    rollup_rebuild()

    _assert_every_grouping_equals_the_raw_count(world, grouping)


def _created_events(leads):
    """The events the lead services write when they create these (seeded) leads."""
    LeadEvent.objects.bulk_create(
        LeadEvent(
            lead=lead,
            kind=LeadEvent.Kind.CREATED,
            from_status="",
            to_status=lead.status,
            to_payout=lead.payout,
            to_revenue=lead.revenue,
            to_payout_base=lead.payout_base,
            to_revenue_base=lead.revenue_base,
        )
        for lead in leads
    )


@pytest.mark.parametrize("grouping", ["geo", "network", "redirect", "smartlink", "sub2"])
def test_every_grouping_of_incrementally_folded_rollups_equals_the_raw_count(world, grouping):
    _created_events(Lead.objects.all())
    rollup_refresh(settle_seconds=0)

    _assert_every_grouping_equals_the_raw_count(world, grouping)


def test_a_network_row_names_the_as_number_when_the_data_has_one(world):
    rollup_rebuild()
    start, end = _period()

    rows = report_rows(partner_id=world.a.partner.pk, start=start, end=end, grouping="network")

    labels = {row.label for row in rows}
    assert {
        "AS15169 GOOGLE",
        "GOOGLE",
        "AS24940 Hetzner Online GmbH",
        "AS64512",
        "(unknown network)",
    } <= labels


def test_redirect_reasons_and_smart_links_are_labelled(world):
    rollup_rebuild()
    start, end = _period()

    reasons = report_rows(partner_id=world.b.partner.pk, start=start, end=end, grouping="redirect")
    smart = report_rows(partner_id=world.b.partner.pk, start=start, end=end, grouping="smartlink")

    assert {row.label for row in reasons} == {
        "Outside the targeting: country",
        "Outside the targeting: OS",
        "The offer's cap is full",
    }
    assert {row.label for row in smart} == {f"Beta Ads smart link → {offer.name}" for offer in world.offers}


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


def _leads_through_the_services(world, count: int) -> list[Lead]:
    """Leads created, moved and re-goaled by the lead services, as postbacks and managers do."""
    link = world.a.links[0]
    clicks = [click for click in world.a.clicks if click.link_id == link.pk][:count]
    statuses = [LeadStatus.NEW, LeadStatus.APPROVED, LeadStatus.HOLD, LeadStatus.TRASH]
    leads = [
        lead_create(app=link.offer.app, link=link, click=click, status=statuses[n % 4])[0]
        for n, click in enumerate(clicks)
    ]
    purchase = GoalFactory(offer=link.offer, code="purchase", payout=Decimal("9"), revenue=Decimal("12"))
    lead_set_status(lead=leads[0], status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    lead_change_goal(lead=leads[0], goal=purchase, source=LeadEvent.Source.ADMIN)
    lead_change_goal(lead=leads[2], goal=purchase, source=LeadEvent.Source.ADMIN)
    lead_set_status(lead=leads[1], status=LeadStatus.CANCELLED, source=LeadEvent.Source.ADMIN)
    return leads


def test_incremental_folds_of_traffic_and_lead_events_build_the_same_rollups_as_a_rebuild():
    world = make_world()
    make_clicks(world.a, 60, seed=1)
    make_impressions(world.a, 50, seed=2)
    assert rollup_refresh(settle_seconds=0) > 0
    make_clicks(world.b, 40, seed=3)
    world.a.clicks = make_clicks(world.a, 30, seed=4)
    rollup_refresh(settle_seconds=0)
    _leads_through_the_services(world, 12)
    rollup_refresh(settle_seconds=0)

    incremental = _rollup_snapshot()
    rollup_rebuild()
    assert _rollup_snapshot() == incremental
    assert sum(DailyStat.objects.values_list("leads_total", flat=True)) == Lead.objects.count() == 12


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


def _new_lead(world) -> Lead:
    return Lead.objects.filter(partner=world.a.partner, status=LeadStatus.NEW, click__isnull=False).first()


def test_a_status_change_counts_in_the_reports_at_the_next_fold_and_only_once(world):
    rollup_rebuild()
    lead = _new_lead(world)
    start, end = _period()
    before = report_totals(partner_id=world.a.partner.pk, start=start, end=end)

    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    unfolded = report_totals(partner_id=world.a.partner.pk, start=start, end=end)
    rollup_refresh(settle_seconds=0)
    rollup_refresh(settle_seconds=0)
    after = report_totals(partner_id=world.a.partner.pk, start=start, end=end)

    assert unfolded.counters == before.counters
    assert after.leads_approved == before.leads_approved + 1
    assert after.leads_pending == before.leads_pending - 1
    assert after.payout_approved == before.payout_approved + lead.payout
    assert after.leads_total == before.leads_total
    assert not LeadEvent.objects.filter(folded_at__isnull=True).exists()


def test_a_lead_change_writes_no_rollup_row(world):
    rollup_rebuild()
    lead = _new_lead(world)

    with CaptureQueriesContext(connection) as queries:
        lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)

    assert [q["sql"] for q in queries if "reports_" in q["sql"]] == []


def test_a_rebuild_counts_unfolded_events_once_through_their_leads(world):
    rollup_rebuild()
    lead_set_status(lead=_new_lead(world), status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    rollup_rebuild()
    rebuilt = _rollup_snapshot()

    assert rollup_refresh(settle_seconds=0) == 0
    assert _rollup_snapshot() == rebuilt


def test_the_refresh_command_folds_waiting_lead_events(world):
    rollup_rebuild()
    lead_set_status(lead=_new_lead(world), status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    out = io.StringIO()

    call_command("rollup_refresh", "--now", stdout=out)

    assert out.getvalue().strip() == "Folded 1 new rows into the rollups."


def test_the_refresh_command_keeps_folding_until_stopped(world, monkeypatch):
    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("config.repeat.time.sleep", stop)
    out = io.StringIO()

    call_command("rollup_refresh", "--every", "10", "--now", stdout=out)

    assert out.getvalue().splitlines()[-1] == "Rollup folding stopped."
    start, end = _period()
    assert report_totals(partner_id=world.a.partner.pk, start=start, end=end).clicks == len(world.a.clicks)


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
