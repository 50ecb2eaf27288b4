"""Money on the publisher's pages and in its exports: formatted for people, exact for machines.

SQLite adds decimals as floats: before `config.money.MoneySum`, the report showed earnings as
`3.60000000000000`. These tests use amounts that a float sum cannot hold exactly.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from leads.models import Lead, LeadStatus
from leads.rollups import rollup_rebuild

pytestmark = pytest.mark.django_db

FLOAT_ARTEFACT = re.compile(r"\d+\.\d{6,}")


@pytest.fixture
def awkward_amounts(world):
    """A's approved leads pay 1.20 and 2.40 alternately: 0.1-step amounts floats cannot add exactly."""
    leads = list(Lead.objects.filter(partner=world.a.partner).order_by("pk"))
    for index, lead in enumerate(leads):
        lead.payout = lead.payout_base = Decimal("1.20") if index % 2 else Decimal("2.40")  # base: USD
        lead.status = LeadStatus.APPROVED
    Lead.objects.bulk_update(leads, ["payout", "payout_base", "status"])
    rollup_rebuild()
    return sum((lead.payout for lead in leads), Decimal("0"))


def _csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_report_totals_equal_the_sum_of_the_leads_to_the_cent(world, client_a, awkward_amounts):
    rows = _csv_rows(client_a.get(reverse("portal:report_export", args=["csv"]) + "?period=30d&group_by=geo"))
    earned = sum((Decimal(row["Earnings"]) for row in rows), Decimal("0"))
    assert earned == awkward_amounts.quantize(Decimal("0.01"))
    # Plain decimal strings with two places and the currency beside them.
    assert all(re.fullmatch(r"\d+\.\d{2}", row["Earnings"]) for row in rows)
    assert {row["Currency"] for row in rows} == {world.organization.currency}


def test_the_report_page_shows_formatted_money_without_float_digits(world, client_a, awkward_amounts):
    page = client_a.get(reverse("portal:report") + "?period=30d&group_by=date").content.decode()
    assert not FLOAT_ARTEFACT.search(page)
    total = f"${awkward_amounts:,.2f}"
    assert total in page
    dashboard = client_a.get(reverse("portal:dashboard") + "?period=30d").content.decode()
    assert total in dashboard
    assert not FLOAT_ARTEFACT.search(dashboard)


def test_xlsx_cells_are_numbers_with_a_number_format(world, client_a, awkward_amounts):
    response = client_a.get(reverse("portal:report_export", args=["xlsx"]) + "?period=30d&group_by=geo")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    earnings, clicks = header.index("Earnings"), header.index("Clicks")
    body = list(sheet.iter_rows(min_row=2))
    assert body
    for row in body:
        assert isinstance(row[earnings].value, int | float)
        assert row[earnings].number_format == "#,##0.00"
        assert isinstance(row[clicks].value, int)
    total = sum(Decimal(str(row[earnings].value)) for row in body)
    assert total == awkward_amounts.quantize(Decimal("0.01"))


def test_the_conversion_export_writes_payouts_in_minor_units(world, client_a, awkward_amounts):
    rows = _csv_rows(client_a.get(reverse("portal:conversions_export", args=["csv"])))
    assert rows
    assert all(re.fullmatch(r"\d+\.\d{2}", row["Payout"]) for row in rows)
    xlsx = client_a.get(reverse("portal:conversions_export", args=["xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    payout = [cell.value for cell in sheet[1]].index("Payout")
    assert all(isinstance(row[payout].value, int | float) for row in sheet.iter_rows(min_row=2))
