"""A lead keeps its own amounts and currency and, frozen at conversion, the rate and its base amounts.

The world: an organization with base currency GBP, an offer priced in USD, and the ECB's rates
of the day (1 EUR = 1.10 USD = 0.85 GBP). Reports add up base amounts only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from config import hotcache
from currencies.models import ExchangeRate
from leads.models import Lead, LeadEvent, LeadStatus
from leads.rollups import rollup_rebuild, rollup_refresh
from leads.services import lead_freeze_base
from reports.selectors import report_totals
from tests.ingest.test_postback_support import get_json, make_world

pytestmark = pytest.mark.django_db

LEAD = "/api/site/click.json"
STATUS = "/api/site/status.json"
USD_TO_GBP = Decimal("0.7727272727")  # 0.85 / 1.10, to ten places


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


def _rates(day: date, **per_eur_of: str) -> None:
    for code, value in per_eur_of.items():
        ExchangeRate.objects.update_or_create(day=day, currency=code, defaults={"per_eur": Decimal(value)})


@pytest.fixture
def world(organization):
    organization.currency = "GBP"
    organization.save()
    _rates(_today(), USD="1.10", GBP="0.85")
    return make_world(organization)


def test_a_lead_in_eur_on_a_usd_offer_freezes_its_rate_into_the_gbp_base(client, world):
    click = world.click()

    status, body = get_json(client, world.url(LEAD, click=click.click_id, pay=30, wm=12, cc="EUR"))

    assert status == 200 and body["lead"]["currency"] == "EUR"
    lead = Lead.objects.get()
    assert (lead.payout, lead.revenue, lead.currency) == (Decimal("12"), Decimal("30"), "EUR")
    assert (lead.base_currency, lead.fx_rate, lead.fx_date) == ("GBP", Decimal("0.85"), _today())
    assert (lead.payout_base, lead.revenue_base) == (Decimal("10.2"), Decimal("25.5"))


def test_a_lead_priced_by_its_usd_goal_converts_into_the_base(client, world):
    get_json(client, world.url(LEAD, click=world.click().click_id))

    lead = Lead.objects.get()
    assert (lead.payout, lead.currency, lead.fx_rate) == (Decimal("1.50"), "USD", USD_TO_GBP)
    assert (lead.payout_base, lead.revenue_base) == (Decimal("1.1591"), Decimal("1.5455"))


def test_later_money_changes_recompute_the_base_at_the_frozen_rate(client, world):
    click = world.click()
    get_json(client, world.url(LEAD, click=click.click_id, pay=30, wm=12, cc="EUR"))
    ExchangeRate.objects.filter(currency="GBP").update(per_eur=Decimal("0.90"))  # the rates move on
    hotcache.clear()
    cache.clear()

    get_json(client, world.url(STATUS, click=click.click_id, status="approved", wm=14))

    lead = Lead.objects.get()
    assert (lead.status, lead.payout, lead.fx_rate) == ("approved", Decimal("14"), Decimal("0.85"))
    assert lead.payout_base == Decimal("11.9")
    event = LeadEvent.objects.filter(kind=LeadEvent.Kind.MONEY).get()
    assert (event.from_payout_base, event.to_payout_base) == (Decimal("10.2"), Decimal("11.9"))


def test_a_goal_change_recomputes_the_base_amounts(client, world):
    click = world.click()
    get_json(client, world.url(LEAD, click=click.click_id))

    get_json(client, world.url(STATUS, click=click.click_id, status="approved", goal="reg"))

    lead = Lead.objects.get()
    assert lead.payout == Decimal("3.00")
    assert lead.payout_base == (Decimal("3") * USD_TO_GBP).quantize(Decimal("0.0001"))


def test_a_currency_change_refreezes_at_the_conversion_days_rate(client, world):
    click = world.click()
    get_json(client, world.url(LEAD, click=click.click_id, pay=30, wm=12, cc="EUR"))

    get_json(client, world.url(STATUS, click=click.click_id, status="approved", cc="USD"))

    lead = Lead.objects.get()
    assert (lead.currency, lead.fx_rate, lead.fx_date) == ("USD", USD_TO_GBP, _today())
    assert (lead.payout_base, lead.revenue_base) == (Decimal("9.2727"), Decimal("23.1818"))


def test_a_currency_without_rates_is_refused_with_a_sentence(client, world):
    status, body = get_json(client, world.url(LEAD, click=world.click().click_id, pay=5, cc="XYZ"))

    assert status == 422
    assert "No exchange rate is known for currency XYZ" in body["error"]
    assert not Lead.objects.exists()


def test_a_lead_converted_on_a_saturday_uses_fridays_rate(organization):
    organization.currency = "GBP"
    organization.save()
    friday = date(2026, 11, 27)
    _rates(friday, USD="1.10", GBP="0.85")
    _rates(friday - timedelta(days=1), USD="1.20", GBP="0.80")
    saturday_noon = datetime(2026, 11, 28, 12, tzinfo=UTC)
    lead = Lead(organization=organization, currency="EUR", payout=Decimal("10"), created_at=saturday_noon)

    lead_freeze_base(lead)

    assert (lead.fx_rate, lead.fx_date, lead.payout_base) == (Decimal("0.85"), friday, Decimal("8.5"))


def _period() -> tuple[date, date]:
    return _today() - timedelta(days=1), _today() + timedelta(days=1)


def test_reports_add_up_base_amounts_never_eur_to_usd(client, world):
    eur, usd = world.click(), world.click()
    get_json(client, world.url(LEAD, click=eur.click_id, pay=30, wm=12, cc="EUR", status="approved"))
    get_json(client, world.url(LEAD, click=usd.click_id))
    get_json(client, world.url(STATUS, click=eur.click_id, status="approved"))
    get_json(client, world.url(STATUS, click=usd.click_id, status="approved"))

    rollup_refresh(settle_seconds=0)

    totals = report_totals(partner_id=world.link.partner_id, start=_period()[0], end=_period()[1])
    assert totals.payout_approved == Decimal("10.2") + Decimal("1.1591")  # not 12 + 1.50
    assert totals.revenue_approved == Decimal("25.5") + Decimal("1.5455")
    rollup_rebuild()
    rebuilt = report_totals(partner_id=world.link.partner_id, start=_period()[0], end=_period()[1])
    assert (rebuilt.payout_approved, rebuilt.revenue_approved) == (
        totals.payout_approved,
        totals.revenue_approved,
    )


def test_report_totals_equal_the_sum_of_the_leads_base_amounts_to_the_cent(client, world):
    _rates(_today(), JPY="161.37", CHF="0.9413")
    currencies = ["EUR", "USD", "GBP", "JPY", "CHF"]
    for n in range(40):
        click = world.click()
        money = {"pay": f"{(n * 7.31) % 97 + 0.01:.2f}", "wm": f"{(n * 3.17) % 41 + 0.03:.2f}"}
        get_json(client, world.url(LEAD, click=click.click_id, cc=currencies[n % 5], **money))
        get_json(client, world.url(STATUS, click=click.click_id, status="approved" if n % 3 else "hold"))

    rollup_refresh(settle_seconds=0)

    leads = Lead.objects.all()
    approved = [lead for lead in leads if lead.status == LeadStatus.APPROVED]
    pending = [lead for lead in leads if lead.status == LeadStatus.HOLD]
    totals = report_totals(partner_id=world.link.partner_id, start=_period()[0], end=_period()[1])
    cent = Decimal("0.01")
    assert totals.payout_approved.quantize(cent) == sum(lead.payout_base for lead in approved).quantize(cent)
    assert totals.revenue_pending.quantize(cent) == sum(lead.revenue_base for lead in pending).quantize(cent)
    assert totals.payout_approved == sum(lead.payout_base for lead in approved)


def test_an_organization_with_leads_keeps_its_base_currency_in_the_admin(client, admin_user, world):
    client.force_login(admin_user)
    url = f"/admin/accounts/organization/{world.app.organization_id}/change/"
    assert 'name="currency"' in client.get(url).content.decode()

    get_json(client, world.url(LEAD, click=world.click().click_id))

    assert 'name="currency"' not in client.get(url).content.decode()


def test_the_api_shows_the_frozen_rate_and_base_amounts(client, world, admin_user, api_client_for):
    get_json(client, world.url(LEAD, click=world.click().click_id, pay=30, wm=12, cc="EUR"))

    body = api_client_for(admin_user).get(f"/api/v1/leads/{Lead.objects.get().pk}/").json()

    assert (body["currency"], body["payout"], body["base_currency"]) == ("EUR", "12.0000", "GBP")
    assert (body["fx_rate"], body["payout_base"], body["revenue_base"]) == (
        "0.8500000000",
        "10.2000",
        "25.5000",
    )
    assert body["fx_date"] == _today().isoformat()
