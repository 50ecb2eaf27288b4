"""Payout runs: who a run pays, its PayPal and SEPA files, marking it paid, statements, bank checks."""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from itertools import count
from unittest import mock

import pytest
import sepaxml
import xmlschema
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from leads.models import Lead, LeadStatus
from leads.rollups import rollup_rebuild
from leads.services import lead_freeze_base
from portal import exports, services
from portal.models import PaymentMethod, Payout, PayoutLead, PayoutRun
from tests.factories import MembershipFactory, TrackingLinkFactory
from tests.reports.builders import make_publisher, make_world

pytestmark = pytest.mark.django_db

GOOD_IBAN = "DE89370400440532013000"
GOOD_BIC = "COBADEFFXXX"
DEBTOR = {
    "debtor_name": "Acme Games GmbH",
    "debtor_iban": "FR1420041010050500013M02606",
    "debtor_bic": "PSSTFRPPXXX",
}
_exto = count()


def approved(publisher, *amounts: str, currency: str | None = None, status: str = LeadStatus.APPROVED):
    """Approved leads of `publisher` paying `amounts`, on its first link."""
    link = publisher.links[0]
    leads = [
        Lead(
            organization_id=link.organization_id,
            app_id=link.offer.app_id,
            integration_id=link.integration_id,
            partner_id=link.partner_id,
            offer_id=link.offer_id,
            link=link,
            goal=link.offer.goals.first(),
            exto=f"run-{next(_exto)}",
            status=status,
            payout=Decimal(amount),
            currency=currency or publisher.partner.organization.currency,
        )
        for amount in amounts
    ]
    for lead in leads:
        lead_freeze_base(lead)  # as a conversion would: the base amounts payouts add up
    return Lead.objects.bulk_create(leads)


@pytest.fixture
def world(db, settings):
    """Threshold 20: A is owed 25.00, B exactly 20.00, C 19.99; only approved leads count."""
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_world(min_payout=Decimal("20.00"))
    app = world.offers[0].app
    world.c = make_publisher(world.organization, app, "Gamma Net", "gamma")
    offer = world.offers[0]
    world.c.links.append(
        TrackingLinkFactory(integration=world.c.integration, offer=offer, landing=offer.landings.first())
    )
    approved(world.a, "10.0050", "14.9950")
    approved(world.a, "99.00", status=LeadStatus.HOLD)
    approved(world.b, "20.00")
    approved(world.c, "19.99")
    PaymentMethod.objects.create(partner=world.a.partner, paypal_email="alpha-pay@example.com")
    PaymentMethod.objects.create(
        partner=world.b.partner, kind=PaymentMethod.Kind.BANK, account_holder="Beta Ads", iban="DE00123"
    )
    rollup_rebuild()
    return world


@pytest.fixture
def manager(world):
    return MembershipFactory(organization=world.organization, role=Role.MANAGER, user__username="boss").user


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def _run(world, manager, **kwargs) -> PayoutRun:
    return services.payout_run_create(organization=world.organization, actor=manager, **kwargs)


def _amounts(run: PayoutRun) -> dict[str, Decimal]:
    return {payout.partner.name: payout.amount for payout in run.payouts.select_related("partner")}


def test_a_run_pays_exactly_the_publishers_at_or_above_the_threshold(world, manager):
    run = _run(world, manager)

    assert _amounts(run) == {"Alpha Media": Decimal("25.00"), "Beta Ads": Decimal("20.00")}
    alpha = run.payouts.get(partner=world.a.partner)
    assert sorted(line.amount for line in alpha.lines.all()) == [Decimal("10.0050"), Decimal("14.9950")]
    assert alpha.status == Payout.Status.REQUESTED and alpha.currency == "USD"


def test_a_run_of_picked_publishers_pays_them_even_below_the_threshold(world, manager):
    run = _run(world, manager, partner_ids=[world.c.partner.pk])

    assert _amounts(run) == {"Gamma Net": Decimal("19.99")}


def test_a_second_run_pays_only_leads_approved_since_the_first(world, manager):
    _run(world, manager)
    with pytest.raises(services.RunRefused, match="at or above the threshold"):
        _run(world, manager)

    approved(world.b, "30.00")
    assert _amounts(_run(world, manager)) == {"Beta Ads": Decimal("30.00")}


def test_a_lead_is_never_in_two_payouts(world, manager):
    run = _run(world, manager)
    line = PayoutLead.objects.filter(payout__run=run).first()
    other = Payout.objects.create(
        organization=world.organization, partner=line.lead.partner, amount=Decimal("1.00"), method="x"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutLead.objects.create(payout=other, lead=line.lead, amount=line.amount)


def test_a_run_takes_in_the_publishers_open_payout_request(world, manager):
    request = Payout.objects.create(
        organization=world.organization, partner=world.a.partner, amount=Decimal("21.00"), method="PayPal"
    )

    run = _run(world, manager)

    request.refresh_from_db()
    assert request.run == run and request.amount == Decimal("25.00")
    assert run.payouts.filter(partner=world.a.partner).count() == 1


def test_discarding_a_draft_run_frees_its_leads(world, manager):
    run = _run(world, manager)
    services.payout_run_discard(run=run)

    assert not PayoutRun.objects.exists() and not PayoutLead.objects.exists()
    assert _amounts(_run(world, manager)) == {"Alpha Media": Decimal("25.00"), "Beta Ads": Decimal("20.00")}


# --- Files ---------------------------------------------------------------------------------------


def test_the_paypal_csv_has_paypals_columns_and_plain_decimal_amounts(world, manager):
    run = _run(world, manager)
    alpha = run.payouts.get(partner=world.a.partner)

    rows = list(csv.reader(io.StringIO(exports.paypal_csv(run, "USD"))))

    # PayPal's Payouts Web file: recipient, amount, currency, reference id, note, wallet; no header.
    assert rows == [
        [
            "alpha-pay@example.com",
            "25.00",
            "USD",
            f"PD-PAYOUT-{alpha.pk}",
            f"Acme Games: payout #{alpha.pk}",
            "PAYPAL",
        ]
    ]
    assert len(rows[0]) == len(exports.PAYPAL_COLUMNS)
    assert re.fullmatch(r"\d+\.\d{2}", rows[0][1])


def test_a_lead_in_another_currency_is_paid_at_its_frozen_base_amount(world, manager):
    """A 50.00 EUR lead on Alpha's USD books: its base amount (USD, at the conversion day's rate) is paid."""
    (euro,) = approved(world.a, "50.00", currency="EUR")
    euro.refresh_from_db()
    assert euro.base_currency == "USD" and euro.payout_base not in (0, Decimal("50.00"))

    run = _run(world, manager, partner_ids=[world.a.partner.pk])

    alpha = run.payouts.get(partner=world.a.partner)
    assert alpha.currency == "USD"
    assert alpha.amount == (Decimal("25.00") + euro.payout_base).quantize(Decimal("0.01"))
    assert alpha.lines.filter(lead=euro).exists()


@pytest.fixture
def euro_world(world):
    """The same publishers paid in EUR, B by a valid bank account."""
    world.organization.currency = "EUR"
    world.organization.save(update_fields=["currency"])
    Lead.objects.update(currency="EUR", base_currency="EUR", fx_rate=Decimal("1"), payout_base=F("payout"))
    PaymentMethod.objects.filter(partner=world.b.partner).update(iban=GOOD_IBAN, bic=GOOD_BIC)
    return world


def test_the_sepa_file_validates_against_the_pain_001_schema(euro_world, manager):
    run = _run(euro_world, manager, **DEBTOR)
    beta = run.payouts.get(partner=euro_world.b.partner)

    xml = exports.sepa_xml(run)

    schema_file = os.path.join(os.path.dirname(sepaxml.__file__), "schemas", "pain.001.001.03.xsd")
    xmlschema.XMLSchema(schema_file).validate(xml.decode())  # the schema is local: no network
    text = xml.decode()
    assert f"<IBAN>{GOOD_IBAN}</IBAN>" in text and "<Nm>Beta Ads</Nm>" in text
    assert '<InstdAmt Ccy="EUR">20.00</InstdAmt>' in text
    assert f"<EndToEndId>PD-PAYOUT-{beta.pk}</EndToEndId>" in text
    assert "alpha" not in text.lower()  # A is paid by PayPal, not in the SEPA file


def test_the_sepa_export_asks_for_the_debtor_account_when_it_is_missing(euro_world, manager_client, manager):
    run = _run(euro_world, manager)

    response = manager_client.get(reverse("admin:portal_payoutrun_sepa", args=[run.pk]), follow=True)

    assert "Set the debtor account" in response.content.decode()
    run.refresh_from_db()
    assert run.status == PayoutRun.Status.DRAFT


def test_exporting_from_the_run_page_downloads_the_file_and_marks_the_run_exported(
    euro_world, manager_client, manager
):
    run = _run(euro_world, manager, **DEBTOR)

    response = manager_client.get(reverse("admin:portal_payoutrun_sepa", args=[run.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert b"CstmrCdtTrfInitn" in response.content
    run.refresh_from_db()
    assert run.status == PayoutRun.Status.EXPORTED


# --- Review, paying ------------------------------------------------------------------------------


def test_the_run_page_lists_each_payout_with_its_warnings(world, manager_client, manager):
    run = _run(world, manager, partner_ids=[world.a.partner.pk, world.b.partner.pk, world.c.partner.pk])

    page = manager_client.get(reverse("admin:portal_payoutrun_change", args=[run.pk])).content.decode()

    assert "Alpha Media" in page and "alpha-pay@example.com" in page and "25.00" in page
    assert "Invalid IBAN: The IBAN has the wrong length" in page  # Beta's IBAN
    assert "No payment method: ask the publisher to set one in Payments." in page  # Gamma
    assert "Below the threshold of $20.00." in page


def test_marking_a_run_paid_pays_every_payout_with_the_reference(world, manager_client, manager):
    run = _run(world, manager)

    manager_client.post(reverse("admin:portal_payoutrun_pay", args=[run.pk]), {"reference": "BATCH-7"})

    run.refresh_from_db()
    assert run.status == PayoutRun.Status.PAID and run.reference == "BATCH-7"
    assert set(run.payouts.values_list("status", "reference")) == {(Payout.Status.PAID, "BATCH-7")}


def test_marking_a_run_paid_is_all_or_nothing(world, manager):
    run = _run(world, manager)

    with (
        mock.patch.object(PayoutRun, "save", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.payout_run_mark_paid(run=run, actor=manager, reference="BATCH-8")

    assert not Payout.objects.filter(status=Payout.Status.PAID).exists()
    assert PayoutRun.objects.get().status == PayoutRun.Status.DRAFT


def test_a_paid_run_cannot_be_paid_again(world, manager):
    run = _run(world, manager)
    services.payout_run_mark_paid(run=run, actor=manager, reference="BATCH-9")

    with pytest.raises(services.RunRefused, match="already paid"):
        services.payout_run_mark_paid(run=run, actor=manager, reference="BATCH-10")


def test_a_manager_creates_a_run_in_the_admin(world, manager_client):
    response = manager_client.post(reverse("admin:portal_payoutrun_add"), DEBTOR)

    run = PayoutRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/change/")
    assert run.debtor_iban == DEBTOR["debtor_iban"] and run.created_by.username == "boss"


def test_an_analyst_cannot_create_or_export_a_run(world, manager):
    run = _run(world, manager)
    analyst = MembershipFactory(organization=world.organization, role=Role.ANALYST, user__username="eye").user
    client = Client()
    client.force_login(analyst)

    assert client.post(reverse("admin:portal_payoutrun_add"), DEBTOR).status_code == 403
    assert client.get(reverse("admin:portal_payoutrun_paypal", args=[run.pk, "USD"])).status_code == 403


# --- Statements ----------------------------------------------------------------------------------


def _login(publisher) -> Client:
    client = Client()
    client.force_login(publisher.user)
    return client


def test_a_publisher_downloads_the_statement_of_its_payout(world, manager):
    run = _run(world, manager)
    alpha = run.payouts.get(partner=world.a.partner)
    client = _login(world.a)

    payments = client.get(reverse("portal:payments")).content.decode()
    response = client.get(reverse("portal:statement", args=[alpha.pk]))

    assert reverse("portal:statement", args=[alpha.pk]) in payments and "2 leads (CSV)" in payments
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "lead", "campaign", "goal", "amount", "currency"]
    leads = Lead.objects.filter(partner=world.a.partner, status=LeadStatus.APPROVED, currency="USD")
    assert sorted(int(row[1]) for row in rows[1:-1]) == sorted(leads.values_list("pk", flat=True))
    assert rows[1][2:] == ["Space Farm CPI", "Install", "10.01", "USD"]
    assert rows[-1] == ["total", "", "", "", "25.00", "USD"]


def test_a_publisher_never_gets_another_publishers_statement(world, manager):
    run = _run(world, manager)
    beta = run.payouts.get(partner=world.b.partner)

    assert _login(world.a).get(reverse("portal:statement", args=[beta.pk])).status_code == 404


def test_a_manager_downloads_a_statement_only_in_its_organization(world, manager_client, manager):
    run = _run(world, manager)
    alpha = run.payouts.get(partner=world.a.partner)
    other = MembershipFactory(role=Role.MANAGER, user__username="stranger").user
    stranger = Client()
    stranger.force_login(other)

    mine = manager_client.get(reverse("admin:portal_payout_statement", args=[alpha.pk]))

    assert mine.status_code == 200 and b"Space Farm CPI" in mine.content
    assert stranger.get(reverse("admin:portal_payout_statement", args=[alpha.pk])).status_code == 404


# --- Payment method: fields of the chosen kind, IBAN and BIC -------------------------------------


def _save_method(client: Client, **data: str):
    return client.post(reverse("portal:payment_method"), data)


@pytest.mark.parametrize(
    ("iban", "bic", "field", "message"),
    [
        ("DE89370400440532013001", "", "iban", "The IBAN checksum is wrong"),
        ("DE8937040044053201300", "", "iban", "The IBAN has the wrong length for its country"),
        ("XX89370400440532013000", "", "iban", "The IBAN starts with an unknown country code"),
        (GOOD_IBAN, "BNPAFRPPXXX", "bic", "The BIC does not match the IBAN's bank country"),
        (GOOD_IBAN, "COBA", "bic", "This is not a valid BIC"),
    ],
)
def test_the_payment_method_form_says_what_is_wrong_with_bank_details(world, iban, bic, field, message):
    response = _save_method(_login(world.a), kind="bank", account_holder="Alpha", iban=iban, bic=bic)

    assert message in response.context["form"].errors[field][0]
    assert PaymentMethod.objects.get(partner=world.a.partner).kind == PaymentMethod.Kind.PAYPAL


def test_a_valid_iban_is_saved_without_spaces(world):
    _save_method(
        _login(world.a), kind="bank", account_holder="Alpha", iban="de89 3704 0044 0532 0130 00", bic=GOOD_BIC
    )

    method = PaymentMethod.objects.get(partner=world.a.partner)
    assert (method.kind, method.iban, method.bic, method.paypal_email) == ("bank", GOOD_IBAN, GOOD_BIC, "")


def test_only_the_chosen_methods_fields_are_checked_and_kept(world):
    response = _save_method(
        _login(world.a),
        kind="paypal",
        paypal_email="new@example.com",
        iban="not an iban",
        wallet_address="0xabc",
    )

    assert response.status_code == 302
    method = PaymentMethod.objects.get(partner=world.a.partner)
    assert (method.paypal_email, method.iban, method.wallet_address) == ("new@example.com", "", "")


def test_the_payment_method_page_marks_each_field_with_its_method_for_the_script(world):
    page = _login(world.a).get(reverse("portal:payment_method")).content.decode()

    assert 'name="kind"' in page and "data-method-kind" in page
    assert re.search(r'name="iban"[^>]*data-method="bank"|data-method="bank"[^>]*name="iban"', page)
    assert re.search(
        r'data-method="crypto"[^>]*name="wallet_address"|name="wallet_address"[^>]*data-method="crypto"', page
    )
    assert "portal/portal.js" in page  # the script that hides the other methods' fields


def test_adding_a_payment_method_in_the_admin_is_a_form_not_a_500(world, manager_client):
    url = reverse("admin:portal_paymentmethod_add")

    assert manager_client.get(url).status_code == 200
    bad = manager_client.post(
        url, {"partner": world.c.partner.pk, "kind": "bank", "account_holder": "G", "iban": "DE00"}
    )
    good = manager_client.post(
        url, {"partner": world.c.partner.pk, "kind": "bank", "account_holder": "Gamma", "iban": GOOD_IBAN}
    )

    assert bad.status_code == 200 and "The IBAN" in bad.content.decode()
    assert good.status_code == 302
    assert PaymentMethod.objects.get(partner=world.c.partner).iban == GOOD_IBAN


def test_the_run_list_and_a_payouts_page_show_the_run_and_its_statement(world, manager_client, manager):
    run = _run(world, manager)
    alpha = run.payouts.get(partner=world.a.partner)

    listing = manager_client.get(reverse("admin:portal_payoutrun_changelist")).content.decode()
    payout_page = manager_client.get(reverse("admin:portal_payout_change", args=[alpha.pk])).content.decode()

    assert f"Payout run #{run.pk}" in listing and "45.00" in listing
    assert reverse("admin:portal_payout_statement", args=[alpha.pk]) in payout_page


def test_a_publisher_paid_in_euros_gets_its_payout_in_euros(world, manager):
    from currencies.selectors import cross_rate

    world.a.partner.payout_currency = "EUR"
    world.a.partner.save(update_fields=["payout_currency"])

    run = _run(world, manager, partner_ids=[world.a.partner.pk])

    alpha = run.payouts.get(partner=world.a.partner)
    lines = list(alpha.lines.select_related("lead"))
    day = (lines[0].lead.status_changed_at or lines[0].lead.created_at).date()
    rate = cross_rate("USD", "EUR", day).rate
    assert alpha.currency == "EUR"
    assert alpha.amount == (Decimal("25.00") * rate).quantize(Decimal("0.01"))
    statement = exports.statement_csv(alpha)
    assert statement.strip().splitlines()[-1].endswith(f"{alpha.amount},EUR")
