"""The reports benchmark runs end to end on a small scale (PostgreSQL only: it uses COPY)."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import reports

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="The benchmark uses PostgreSQL COPY."),
]


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{user}{password}@{host}/{settings['NAME']}"


def test_the_benchmark_fills_rebuilds_and_prints_the_report_lines_last():
    lines = reports.run(_database_url(), clicks=20_000, runs=3)
    values = dict(line.split(": ") for line in lines)
    assert int(values["reports_clicks"]) == 20_000
    assert int(values["reports_leads"]) == 2_000
    assert lines[-2].startswith("report_p95_ms: ")
    assert lines[-1].startswith("report_raw_vs_rollup: ")
    assert float(values["report_p95_ms"]) > 0
    assert float(values["report_p95_during_rebuild_ms"]) > 0
