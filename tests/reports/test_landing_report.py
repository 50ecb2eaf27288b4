"""The report grouped by landing: landings named with their offer, impressions on their landing, honest CTR.

Traffic arrives through the real tracking endpoints (`/i/<code>` and `/c/<code>`) and reaches the
rollups through the fold (incrementally and by a rebuild), as in production.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.rollups import rollup_rebuild, rollup_refresh
from reports.selectors import report_rows, report_totals
from tests.factories import AppFactory, LandingFactory, OfferFactory, OrganizationFactory, TrackingLinkFactory
from tests.reports.builders import make_publisher

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile"}


@pytest.fixture
def traffic():
    """Two offers, each with a landing named "Play Store"; the publisher's link to X had 4 impressions
    and 2 clicks, its link to Y 3 clicks and no impression (used without the pixel)."""
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    app = AppFactory(organization=organization, name="Space Farm")
    publisher = make_publisher(organization, app, "Alpha Media", "alpha")
    links = {}
    for name in ("Offer X", "Offer Y"):
        offer = OfferFactory(organization=organization, app=app, name=name)
        landing = LandingFactory(offer=offer, name="Play Store")
        links[name] = TrackingLinkFactory(integration=publisher.integration, offer=offer, landing=landing)
    browser = Client()
    for _ in range(4):
        assert browser.get(f"/i/{links['Offer X'].code}", **BROWSER).status_code == 200
    for name, clicks in (("Offer X", 2), ("Offer Y", 3)):
        for _ in range(clicks):
            assert browser.get(f"/c/{links[name].code}", **BROWSER).status_code == 302
    rollup_refresh(settle_seconds=0)
    return publisher


def _period():
    today = timezone.now().date()
    return today - timedelta(days=1), today + timedelta(days=1)


def _by_label(publisher, grouping="landing"):
    start, end = _period()
    rows = report_rows(partner_id=publisher.partner.pk, start=start, end=end, grouping=grouping)
    return {row.label: row for row in rows}


def test_landings_named_alike_are_told_apart_by_their_offer(traffic):
    assert set(_by_label(traffic)) == {"Play Store — Offer X", "Play Store — Offer Y"}


def test_impressions_count_for_the_landing_of_their_link_so_its_ctr_is_not_zero(traffic):
    rows = _by_label(traffic)

    assert rows["Play Store — Offer X"].impressions == 4
    assert rows["Play Store — Offer X"].ctr == 50
    assert "(none)" not in rows


def test_a_rebuild_puts_impressions_on_their_landing_too(traffic):
    rollup_rebuild()

    assert _by_label(traffic)["Play Store — Offer X"].impressions == 4


def test_clicks_without_impressions_have_no_ctr_instead_of_one_above_100_percent(traffic):
    start, end = _period()

    assert _by_label(traffic)["Play Store — Offer Y"].ctr is None
    # 5 clicks on 4 impressions: the date view shows no rate, not 125 %.
    assert [row.ctr for row in _by_label(traffic, "date").values()] == [None]
    assert report_totals(partner_id=traffic.partner.pk, start=start, end=end).ctr is None


def _portal(publisher) -> Client:
    client = Client()
    client.force_login(publisher.user)
    return client


def _page_rows(page: str) -> dict[str, list[str]]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    rows = {}
    for line in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", line, re.S)
        ]
        rows[cells[0]] = cells
    return rows


def test_the_portal_report_by_landing_shows_offers_and_rates(traffic):
    page = _portal(traffic).get(reverse("portal:report"), {"group_by": "landing"}).content.decode()

    rows = _page_rows(page)
    assert set(rows) == {"Play Store — Offer X", "Play Store — Offer Y"}
    assert rows["Play Store — Offer X"][-1] == "50.00"
    assert rows["Play Store — Offer Y"][-1] == "—"
    assert "CTR = clicks ÷ impressions" in page


def test_the_portal_date_view_shows_no_ctr_above_100_percent(traffic):
    page = _portal(traffic).get(reverse("portal:report"), {"group_by": "date"}).content.decode()

    [cells] = _page_rows(page).values()
    assert cells[-1] == "—"  # not 125 %


def test_the_export_leaves_a_rate_without_basis_empty(traffic):
    client = _portal(traffic)
    response = client.get(reverse("portal:report_export", args=["csv"]), {"group_by": "landing"})

    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    ctr = lines[0].index("CTR %")
    by_landing = {line[0]: line[ctr] for line in lines[1:]}
    assert by_landing == {"Play Store — Offer X": "50.00", "Play Store — Offer Y": ""}
