"""The columnar part of `make bench`: the same raw-click GROUP BY on PostgreSQL and on ClickHouse.

`run(database_url)` takes the clicks the reports section filled (organization "bench-reports")
and has chdb (the embedded ClickHouse engine, in a temporary directory) read them from
PostgreSQL with its postgresql() table function into the table the exporter creates. Then it
times the drill-downs of `columnar.selectors` for the largest publisher: clicks by day, country
and device over 30 days, and by sub1 (with distinct IPs) over 60 days, each on PostgreSQL (the
`_from_database` twins) and on chdb, after checking that both answer the same rows. A
drill-down is both queries, one after the other; the last lines are its p95 on each side and
their ratio (`raw_report_pg_vs_columnar`). chdb runs in this process with the machine's cores,
as a ClickHouse server would on its own machine.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from accounts.models import Organization
from bench.reports import DAYS, PERIOD_DAYS, SLUG, _check_database, _largest_partner, _percentile
from columnar import selectors
from columnar.clickhouse import COLUMN_NAMES, COLUMNS, TABLE, connect
from leads.models import Click

# Click columns that may be NULL in PostgreSQL (ids of an optional relation, the AS number).
_NULLABLE = {"landing_id", "smart_link_id", "asn"}


def _say(message: str) -> None:
    print(f"bench: columnar: {message}", flush=True)


def _load(database_url: str, organization_id: int, client: Any) -> int:
    """Copy the organization's clicks into chdb, read by its postgresql() table function; the count.

    ClickHouse reads PostgreSQL with COPY itself, column by column as the exporter names them,
    so nothing passes through Python or a file (NULL ids become 0, as `click_columns` does).
    """
    config = _check_database(database_url)
    source = ", ".join(
        f"'{value}'"
        for value in (
            f"{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 5432}",
            config["NAME"],
            "leads_click",
            config.get("USER") or "postgres",
            config.get("PASSWORD") or "",
        )
    )
    columns = ", ".join(f"ifNull({field}, 0)" if field in _NULLABLE else field for _, _, field in COLUMNS)
    client.command(
        f"INSERT INTO {TABLE} ({', '.join(COLUMN_NAMES)}) SELECT {columns} "
        f"FROM postgresql({source}) WHERE organization_id = {int(organization_id)}"
    )
    return client.query(f"SELECT count() FROM {TABLE}").result_rows[0][0]


def _drilldowns(organization_id: int, partner_id: int) -> dict[str, dict[str, Any]]:
    """The two questions' scopes: the last 30 days, and the whole 60 days of the dataset."""
    tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    scope = {"organization_id": organization_id, "partner_id": partner_id, "until": tomorrow}
    return {
        "country": {**scope, "since": tomorrow - timedelta(days=PERIOD_DAYS)},
        "sub1": {**scope, "since": tomorrow - timedelta(days=DAYS + 1)},
    }


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _p95s(questions: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    """Each question's p95 and the drill-down's (both in a row), in ms, after a warm-up."""
    for call in questions.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in [*questions, "both"]}
    for _ in range(runs):
        times = {name: _timed(call) for name, call in questions.items()}
        for name, value in times.items():
            samples[name].append(value)
        samples["both"].append(sum(times.values()))
    return {name: _percentile(values, 0.95) for name, values in samples.items()}


def _same_rows(client: Any, scopes: dict[str, dict[str, Any]]) -> bool:
    by_country = scopes["country"]
    by_sub1 = scopes["sub1"]
    return selectors.clicks_by_country_device_day(
        client, **by_country
    ) == selectors.clicks_by_country_device_day_from_database(**by_country) and sorted(
        selectors.clicks_by_sub1(client, **by_sub1)
    ) == sorted(selectors.clicks_by_sub1_from_database(**by_sub1))


def _measure(database_url: str, organization: Organization, runs: int, directory: Path) -> list[str]:
    client = connect(f"chdb://{directory / 'chdb'}")
    try:
        started = time.perf_counter()
        loaded = _load(database_url, organization.pk, client)
        load_s = time.perf_counter() - started
        _say(f"{loaded} clicks loaded into chdb in {load_s:.1f} s; timing")
        scopes = _drilldowns(organization.pk, _largest_partner(organization))
        same = _same_rows(client, scopes)
        pg = _p95s(
            {
                "country": lambda: selectors.clicks_by_country_device_day_from_database(**scopes["country"]),
                "sub1": lambda: selectors.clicks_by_sub1_from_database(**scopes["sub1"]),
            },
            max(3, runs // 4),
        )
        columnar = _p95s(
            {
                "country": lambda: selectors.clicks_by_country_device_day(client, **scopes["country"]),
                "sub1": lambda: selectors.clicks_by_sub1(client, **scopes["sub1"]),
            },
            runs,
        )
    finally:
        client.close()
    return [
        f"columnar_clicks: {loaded}",
        f"columnar_load_s: {load_s:.1f}",
        f"columnar_rows_match_pg: {'yes' if same else 'NO'}",
        f"raw_report_country_30d_pg_p95_ms: {pg['country']:.1f}",
        f"raw_report_country_30d_columnar_p95_ms: {columnar['country']:.1f}",
        f"raw_report_sub1_60d_pg_p95_ms: {pg['sub1']:.1f}",
        f"raw_report_sub1_60d_columnar_p95_ms: {columnar['sub1']:.1f}",
        f"raw_report_pg_p95_ms: {pg['both']:.1f}",
        f"raw_report_columnar_p95_ms: {columnar['both']:.1f}",
        f"raw_report_pg_vs_columnar: {pg['both'] / max(columnar['both'], 0.001):.1f}",
    ]


def run(database_url: str, *, runs: int = 20) -> list[str]:
    """Load the reports section's clicks into chdb and time; `raw_report_pg_vs_columnar` last."""
    try:
        import chdb  # noqa: F401  (a development dependency: requirements-dev.txt)
    except ImportError:
        return ["raw_report_pg_vs_columnar: n/a (chdb is not installed)"]
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None or not Click.objects.filter(organization=organization).exists():
        return ["raw_report_pg_vs_columnar: n/a (no reports dataset: run the reports section first)"]
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as directory:
        return _measure(database_url, organization, runs, Path(directory))
