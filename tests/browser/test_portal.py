"""A publisher uses the portal in a real browser: dashboard, report by geo, CSV export, postback, payout."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from portal.models import Payout
from portal.services import payment_method_set
from tests.reports.builders import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal_page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def alpha(settings, publisher_world):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    payment_method_set(partner=publisher_world.a.partner, kind="paypal", paypal_email="alpha@example.com")
    return publisher_world


def _log_in(page) -> None:
    from playwright.sync_api import expect

    page.goto("/portal/login/")
    page.get_by_label("Username").fill("alpha")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_publisher_reports_by_geo_exports_sets_a_postback_and_requests_a_payout(portal_page, alpha):
    from playwright.sync_api import expect

    page = portal_page
    _log_in(page)
    page.locator("select[name=period]").select_option("30d")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#kpi-clicks")).to_have_text(str(len(alpha.a.clicks)))
    # Money as people read it: the currency's symbol and two decimals, never a float's digits.
    expect(page.locator("#pd-balance")).to_have_text(re.compile(r"^Balance\$\d[\d,]*\.\d{2}$"))

    page.get_by_role("link", name="Report").click()
    page.locator("select[name=period]").select_option("30d")
    page.locator("select[name=group_by]").select_option("geo")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#report-table thead")).to_contain_text("Country")
    earnings = page.locator("#report-table tbody tr td:nth-child(10)").all_inner_texts()
    assert earnings and all(re.fullmatch(r"\$\d[\d,]*\.\d{2}", cell) for cell in earnings), earnings
    assert not re.search(r"\d+\.\d{6,}", page.locator("#report-table").inner_text())
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Country", "Impressions", "Clicks"]
    assert sum(int(row[2]) for row in rows[1:]) == len(alpha.a.clicks)
    assert {row[0] for row in rows[1:]} <= {"DE", "US", "FR", "(empty)"}

    page.get_by_role("link", name="Postback").click()
    page.get_by_label("Postback URL").fill("https://93.184.216.34/pb?clickid={clickid}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist")).to_contain_text("Unknown macro {clickid}")
    page.get_by_label("Postback URL").fill("https://93.184.216.34/pb?clickid={ref_id}&payout={aff_payout}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".pd-messages")).to_contain_text("Postback URL saved.")
    expect(page.locator("#pd-postback-preview")).to_have_text(
        "https://93.184.216.34/pb?clickid=pub-777&payout=1.50"
    )

    page.get_by_role("link", name="Payments").click()
    page.get_by_label("Amount").fill("1.00")
    page.get_by_role("button", name="Request payout").click()
    expect(page.locator(".errorlist")).to_contain_text("The minimum payout is $10.00")
    page.get_by_label("Amount").fill("10.00")
    page.get_by_role("button", name="Request payout").click()
    expect(page.locator(".pd-messages")).to_contain_text("Payout requested")
    expect(page.locator("#payouts-table")).to_contain_text("$10.00")
    assert Payout.objects.get(partner=alpha.a.partner).amount == Decimal("10.00")


def test_the_payment_method_form_shows_only_the_chosen_methods_fields(portal_page, alpha):
    from playwright.sync_api import expect

    page = portal_page
    _log_in(page)
    page.goto("/portal/payments/method/")
    expect(page.get_by_label("PayPal e-mail")).to_be_visible()
    expect(page.get_by_label("IBAN")).to_be_hidden()
    expect(page.get_by_label("Wallet address")).to_be_hidden()

    page.get_by_label("Method").select_option("bank")
    expect(page.get_by_label("PayPal e-mail")).to_be_hidden()
    page.get_by_label("Account holder").fill("Alpha Media")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The IBAN checksum is wrong")).to_be_visible()
    expect(page.get_by_label("PayPal e-mail")).to_be_hidden()  # the chosen method stays chosen

    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Payment method saved.")).to_be_visible()


def test_the_postback_tabs_single_preview_follows_what_is_typed(portal_page, alpha):
    from playwright.sync_api import expect

    page = portal_page
    _log_in(page)
    page.get_by_role("link", name="Postback").click()
    page.get_by_label("Postback URL").fill("https://93.184.216.34/pb?clickid={ref_id}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#pd-postback-preview")).to_have_text("https://93.184.216.34/pb?clickid=pub-777")

    page.get_by_label("Postback URL").fill("https://93.184.216.34/pb?clickid={ref_id}&payout={aff_payout}")

    expect(page.locator("#pd-postback-preview")).to_have_text(
        "https://93.184.216.34/pb?clickid=pub-777&payout=1.50"
    )
    expect(page.get_by_text("Preview with sample values")).to_have_count(1)
    expect(page.locator("code", has_text="clickid=pub-777")).to_have_count(1)
