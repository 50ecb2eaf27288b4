"""Exports of tables: CSV streamed row by row, XLSX through tablib.

A table is a header and an iterable of rows; the caller builds both from the same selector
and filter as the page, so an export holds exactly what the page shows (all pages of it).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import tablib
from django.http import HttpResponse, StreamingHttpResponse

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


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    dataset = tablib.Dataset(headers=list(header), title=filename[:31])
    for row in rows:
        dataset.append([str(v) if v is not None and not isinstance(v, int | float) else v for v in row])
    response = HttpResponse(dataset.export("xlsx"), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def table_response(
    fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """The table as `fmt` (csv or xlsx)."""
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows)
    return csv_response(filename, header, rows)


# The publisher's report: payout is the publisher's earnings; our revenue is never shown.
PUBLISHER_REPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("impressions", "Impressions"),
    ("clicks", "Clicks"),
    ("unique_clicks", "Unique clicks"),
    ("leads_total", "Conversions"),
    ("leads_approved", "Approved"),
    ("leads_pending", "Pending"),
    ("leads_rejected", "Rejected"),
    ("cr", "CR %"),
    ("payout_approved", "Earnings"),
    ("payout_pending", "Pending earnings"),
    ("epc", "EPC"),
    ("ctr", "CTR %"),
)


def report_table(rows: Sequence[ReportRow], grouping_label: str) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and rows of a publisher report, grouped by `grouping_label`."""
    header = [grouping_label, *(label for _, label in PUBLISHER_REPORT_COLUMNS)]
    lines = ([row.label, *(getattr(row, name) for name, _ in PUBLISHER_REPORT_COLUMNS)] for row in rows)
    return header, lines
