"""A tracking URL opened as handed out, its {placeholders} unfilled: kept as a test click, not traffic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from leads.models import Click, Verdict
from leads.rollups import rollup_rebuild, rollup_refresh
from leads.selectors import screening_report
from partners.models import TrackingParameter
from reports.models import DailyStat
from tests.factories import IntegrationFactory, LandingFactory, OfferFactory, TrackingLinkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(organization):
    integration = IntegrationFactory(organization=organization)
    TrackingParameter.objects.create(
        integration=integration, name="partner_click_id", placeholder="{clickid}"
    )
    offer = OfferFactory(organization=organization, app=integration.app)
    landing = LandingFactory(offer=offer, url="https://land.example/?c={click_id}")
    return TrackingLinkFactory(integration=integration, offer=offer, landing=landing)


def test_a_click_with_unfilled_placeholders_is_kept_as_a_test_and_still_redirected(client, link):
    response = client.get(f"/c/{link.code}?sub1={{sub1}}&click_id={{click_id}}")

    assert response.status_code == 302
    assert response["Location"].startswith("https://land.example/?c=")
    click = Click.objects.get()
    assert click.verdict == Verdict.TEST
    assert click.verdict_reason == "unfilled_placeholders"
    assert click.verdict_details == {"unfilled": ["click_id", "sub1"]}
    assert click.sub1 == "{sub1}"


def test_the_partners_own_unfilled_macro_makes_a_test_click(client, link):
    client.get(f"/c/{link.code}?clickid={{clickid}}")

    click = Click.objects.get()
    assert click.verdict == Verdict.TEST
    assert click.verdict_details == {"unfilled": ["clickid"]}
    assert click.partner_click_id == ""


def test_a_filled_click_and_a_brace_in_plain_text_stay_clean(client, link):
    client.get(f"/c/{link.code}?clickid=abc-123&sub1=summer&sub2=a{{b")

    assert Click.objects.get().verdict == Verdict.OK


def test_a_test_click_costs_the_same_single_insert(client, link, django_assert_num_queries):
    client.get(f"/c/{link.code}?sub1=warm-up")

    with django_assert_num_queries(1) as context:
        response = client.get(f"/c/{link.code}?sub1={{sub1}}", HTTP_USER_AGENT="Mozilla/5.0")

    assert response.status_code == 302
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')


def counted_clicks() -> int:
    return DailyStat.objects.aggregate(total=Sum("clicks"))["total"] or 0


def test_reports_count_real_clicks_and_not_test_clicks(client, link, settings):
    settings.ROLLUP_SETTLE_SECONDS = 0
    client.get(f"/c/{link.code}?clickid=real-1")
    client.get(f"/c/{link.code}?clickid={{clickid}}&sub1={{sub1}}")

    rollup_refresh(settle_seconds=0)
    assert counted_clicks() == 1
    rollup_rebuild()
    assert counted_clicks() == 1


def test_the_screening_report_sets_test_clicks_apart_with_their_reason(client, link, organization):
    client.get(f"/c/{link.code}?sub1={{sub1}}")
    now = timezone.now()

    rows = screening_report(organization, since=now - timedelta(hours=1), until=now + timedelta(hours=1))

    assert [(row["reason"], row["clicks_flagged"]) for row in rows] == [("unfilled_placeholders", 1)]
