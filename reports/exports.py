"""Exports of tables: CSV streamed row by row, XLSX written with openpyxl (numeric cells).

A table is a header and an iterable of rows; the caller builds both from the same selector
and filter as the page, so an export holds exactly what the page shows (all pages of it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import formats
from django.utils.translation import gettext, gettext_noop
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from config.money import (
    XLSX_MONEY_FORMAT,
    XLSX_RATE_FORMAT,
    format_decimal,
    format_money,
    in_minor_units,
    to_decimal,
)
from reports.selectors import ReportRow

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_value(value: Any) -> Any:
    """Numbers stay numbers (an amount is a Decimal, so a spreadsheet adds it up); the rest is text."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | float | Decimal):
        return value
    return str(value)


def xlsx_response(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    number_formats: Sequence[str | None] = (),
) -> HttpResponse:
    """The table as an XLSX workbook: numeric cells, money and rates with a number format."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=filename[:31])
    sheet.append(list(header))
    formats = list(number_formats)
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if index < len(formats) and formats[index] and isinstance(cell.value, int | float | Decimal):
                cell.number_format = formats[index]
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def table_response(
    fmt: str,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    number_formats: Sequence[str | None] = (),
) -> HttpResponse:
    """The table as `fmt` (csv or xlsx). CSV writes amounts as plain decimal strings ("3.60")."""
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows, number_formats)
    return csv_response(filename, header, rows)


# The publisher's report: payout is the publisher's earnings; our revenue is never shown.
# Pages and files alike title the columns in the viewer's language; files keep values as data.
# Each column: the row's attribute, its title, and what it holds (count, percent, money, epc).
COUNT, PERCENT, MONEY, EPC = "count", "percent", "money", "epc"
PUBLISHER_REPORT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("impressions", gettext_noop("Impressions"), COUNT),
    ("clicks", gettext_noop("Clicks"), COUNT),
    ("unique_clicks", gettext_noop("Unique clicks"), COUNT),
    ("leads_total", gettext_noop("Conversions"), COUNT),
    ("leads_approved", gettext_noop("Approved"), COUNT),
    ("leads_pending", gettext_noop("Pending"), COUNT),
    ("leads_rejected", gettext_noop("Rejected"), COUNT),
    ("cr", gettext_noop("CR %"), PERCENT),
    ("payout_approved", gettext_noop("Earnings"), MONEY),
    ("payout_pending", gettext_noop("Pending earnings"), MONEY),
    ("epc", gettext_noop("EPC"), EPC),
    ("ctr", gettext_noop("CTR %"), PERCENT),
)
_XLSX_FORMATS = {COUNT: "#,##0", PERCENT: XLSX_RATE_FORMAT, MONEY: XLSX_MONEY_FORMAT, EPC: "0.0000"}


def _value(row: ReportRow, name: str, kind: str, currency: str) -> Any:
    """A report cell as data: counts as ints, money in the currency's minor units, rates as Decimals."""
    value = getattr(row, name)
    if value is None:  # a rate without a basis (CTR): an empty cell
        return None
    if kind == MONEY:
        return in_minor_units(value, currency)
    if kind == EPC:
        return to_decimal(value).quantize(Decimal("0.0001"))
    if kind == PERCENT:
        return to_decimal(value).quantize(Decimal("0.01"))
    return int(value or 0)


def report_table(
    rows: Sequence[ReportRow], grouping_label: str, currency: str
) -> tuple[list[str], Iterator[list[Any]], list[str | None]]:
    """Header, rows and XLSX number formats of a publisher report; the currency is the last column."""
    titles = (gettext(label) for _, label, _ in PUBLISHER_REPORT_COLUMNS)
    header = [gettext(grouping_label), *titles, gettext("Currency")]
    lines = ([row.label, *(_value(row, n, k, currency) for n, k in _columns()), currency] for row in rows)
    formats = [None, *(_XLSX_FORMATS[kind] for _, _, kind in PUBLISHER_REPORT_COLUMNS), None]
    return header, lines, formats


def _columns() -> Iterator[tuple[str, str]]:
    return ((name, kind) for name, _, kind in PUBLISHER_REPORT_COLUMNS)


def report_display(rows: Sequence[ReportRow], grouping_label: str, currency: str) -> tuple[list[str], list]:
    """The same report for a page: titles, dates, amounts and rates in the viewer's language."""
    header = [gettext(grouping_label), *(gettext(label) for _, label, _ in PUBLISHER_REPORT_COLUMNS)]
    lines = [[_shown_label(row), *(_shown(row, n, k, currency) for n, k in _columns())] for row in rows]
    return header, lines


def _shown_label(row: ReportRow) -> str:
    """A day as the pages write dates (DATE_FORMAT of the language); any other label as it is."""
    return formats.date_format(row.key) if isinstance(row.key, date) else row.label


def _shown(row: ReportRow, name: str, kind: str, currency: str) -> str:
    value = _value(row, name, kind, currency)
    if value is None:
        return "—"
    if kind == MONEY:
        return format_money(value, currency)
    if kind == EPC:
        return format_decimal(value, 4)
    return format_decimal(value, 2 if kind == PERCENT else 0)
