"""No portal page's query count grows with the number of rows it shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.rollups import rollup_refresh
from portal.models import OfferAccessRequest, Payout, PublisherSignup
from tests.reports.builders import make_clicks, make_leads, make_publisher

pytestmark = pytest.mark.django_db

PAGES = [
    ("portal:dashboard", "?period=30d"),
    ("portal:campaigns", ""),
    ("portal:campaign", None),
    ("portal:report", "?period=30d&group_by=campaign"),
    ("portal:report", "?period=30d&group_by=sub1"),
    ("portal:payments", ""),
    ("portal:payment_method", ""),
    ("portal:conversions", ""),
    ("portal:postback", ""),
    ("portal:profile", ""),
    ("portal:referrals", ""),
]


def _url(world, name: str, query: str | None) -> str:
    if query is None:
        return reverse(name, args=[world.offers[0].pk])
    return reverse(name) + query


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _more_rows(world, count: int, seed: int) -> None:
    """More of everything every page lists: traffic, leads, payouts, requests, referrals."""
    world.a.clicks = make_clicks(world.a, 40 * count, seed=seed)
    make_leads(world, world.a, 15 * count, seed=seed)
    rollup_refresh(settle_seconds=0)
    for n in range(count):
        Payout.objects.create(
            organization=world.organization, partner=world.a.partner, amount=5 + n, method="x"
        )
        name = f"r{seed}-{n}"
        referred = make_publisher(world.organization, world.offers[0].app, name, name)
        PublisherSignup.objects.create(
            organization=world.organization,
            partner=referred.partner,
            referrer=world.a.partner,
            status="approved",
        )
    OfferAccessRequest.objects.get_or_create(
        organization=world.organization, partner=world.a.partner, offer=world.offers[1], status="pending"
    )


@pytest.mark.parametrize(("name", "query"), PAGES)
def test_page_query_count_does_not_grow_with_rows(world, client_a, django_assert_num_queries, name, query):
    url = _url(world, name, query)
    _more_rows(world, 1, seed=50)
    client_a.get(url)
    baseline = _count(client_a, url)
    _more_rows(world, 3, seed=60)
    client_a.get(url)
    with django_assert_num_queries(baseline):
        client_a.get(url)
