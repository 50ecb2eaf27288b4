"""The columnar benchmark loads the reports dataset into chdb and times both sides (PostgreSQL only)."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import columnar, reports
from tests.test_bench_reports import _database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="The benchmark uses PostgreSQL COPY."),
]


def test_the_columnar_benchmark_answers_as_postgresql_and_prints_its_ratio_last():
    url = _database_url()
    reports.run(url, clicks=20_000, runs=1)

    lines = columnar.run(url, runs=2)

    values = dict(line.split(": ") for line in lines)
    assert int(values["columnar_clicks"]) == 20_000
    assert values["columnar_rows_match_pg"] == "yes"
    assert float(values["raw_report_pg_p95_ms"]) > 0
    assert float(values["raw_report_columnar_p95_ms"]) > 0
    assert lines[-1].startswith("raw_report_pg_vs_columnar: ")


def test_the_columnar_benchmark_says_why_without_a_dataset():
    assert columnar.run(_database_url()) == [
        "raw_report_pg_vs_columnar: n/a (no reports dataset: run the reports section first)"
    ]
