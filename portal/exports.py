"""The files of payouts: a run's PayPal Payouts CSV and SEPA credit transfer XML, a payout's statement.

Each builder reads what the run page shows (`selectors.run_payouts`), so a payout goes into the
file the page says, and one the page warns about goes into none.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.core.exceptions import ValidationError
from sepaxml import SepaTransfer

from config.money import amount_text
from portal import banking
from portal.models import Payout, PayoutRun
from portal.selectors import RunPayout, run_payouts, statement_lines

# PayPal's Payouts Web file: no header row, one payout per row, one currency per file.
PAYPAL_COLUMNS = ("recipient", "amount", "currency", "reference id", "note", "recipient wallet")
SEPA_SCHEMA = "pain.001.001.03"


def paypal_currencies(run: PayoutRun) -> list[str]:
    """The currencies of the run's PayPal payouts: one file each, as PayPal requires."""
    return sorted({row.payout.currency for row in run_payouts(run) if row.channel == "paypal"})


def paypal_csv(run: PayoutRun, currency: str) -> str:
    """The run's PayPal payouts in `currency` as a Payouts Web file (amounts like `12.50`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _rows(run, "paypal"):
        if row.payout.currency == currency:
            writer.writerow(
                [
                    row.method.paypal_email,
                    amount_text(row.payout.amount, row.payout.currency),
                    row.payout.currency,
                    _reference(row.payout),
                    f"{run.organization.name}: payout #{row.payout.pk}",
                    "PAYPAL",
                ]
            )
    return out.getvalue()


def sepa_xml(run: PayoutRun, *, execution_date: date | None = None) -> bytes:
    """The run's bank-transfer payouts in EUR as a pain.001 file, validated against its schema."""
    debtor = _debtor(run)
    transfer = SepaTransfer(debtor, schema=SEPA_SCHEMA, clean=True)
    rows = _rows(run, "sepa")
    if not rows:
        raise ValidationError(
            "No payout of this run is a bank transfer in EUR: there is no SEPA file to make."
        )
    for row in rows:
        payment = {
            "name": row.method.account_holder,
            "IBAN": banking.normalized(row.method.iban),
            "amount": int(row.payout.amount * 100),
            "execution_date": execution_date or date.today(),
            "description": f"{run.organization.name} payout {row.payout.pk}",
            "endtoend_id": _reference(row.payout),
        }
        if row.method.bic:
            payment["BIC"] = banking.normalized(row.method.bic)
        transfer.add_payment(payment)
    return transfer.export(validate=True)


def _debtor(run: PayoutRun) -> dict:
    missing = [
        label
        for label, value in (("name", run.debtor_name), ("IBAN", run.debtor_iban), ("BIC", run.debtor_bic))
        if not value
    ]
    if missing:
        raise ValidationError(
            f"Set the debtor account's {', '.join(missing)} on the run (or PAYOUT_DEBTOR_* in the "
            "settings) before exporting the SEPA file."
        )
    if error := banking.iban_error(run.debtor_iban):
        raise ValidationError(f"The debtor account: {error}")
    return {
        "name": run.debtor_name,
        "IBAN": run.debtor_iban,
        "BIC": run.debtor_bic,
        "batch": True,
        "currency": "EUR",
    }


def _rows(run: PayoutRun, channel: str) -> list[RunPayout]:
    return [
        row
        for row in run_payouts(run)
        if row.channel == channel and row.payout.status == Payout.Status.REQUESTED
    ]


def _reference(payout: Payout) -> str:
    """The payout's id in the payment files, so a bank or PayPal report points back to it."""
    return f"PD-PAYOUT-{payout.pk}"


STATEMENT_COLUMNS = ("date", "lead", "campaign", "goal", "amount", "currency")


def statement_csv(payout: Payout) -> str:
    """The leads a payout pays, one row each, and the payout's total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(STATEMENT_COLUMNS)
    for line in statement_lines(payout):
        lead = line.lead
        writer.writerow(
            [
                lead.created_at.date().isoformat(),
                lead.pk,
                lead.offer.name,
                lead.goal.name if lead.goal_id else "",
                amount_text(line.amount, payout.currency),
                payout.currency,
            ]
        )
    writer.writerow(["total", "", "", "", amount_text(payout.amount, payout.currency), payout.currency])
    return out.getvalue()
