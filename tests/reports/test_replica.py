"""Report reads on the read replica (REPORTS_DATABASE_URL), on two real PostgreSQL databases.

The replica is a second test database (tests/conftest.py). `_replicate` copies the primary's
rows into it, as replication would; afterwards the primary moves on (more clicks folded), so
the two disagree the way a lagging replica does, and each page shows which one it read.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.replica import replica_breaker, reports_db
from config.routers import PrimaryReplicaRouter
from leads.models import Lead
from leads.rollups import rollup_refresh
from partners.models import Offer
from reports.models import DailyStat, Watermark
from tests.conftest import REPLICA
from tests.ingest.test_postback_support import make_world as make_postback_world
from tests.reports.builders import make_clicks, make_world

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a replica is a second PostgreSQL database (set DATABASE_URL)",
    ),
    pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

CAMPAIGNS = reverse("portal:campaigns")
DASHBOARD = reverse("portal:dashboard") + "?period=30d"
REPORT = reverse("portal:report") + "?period=30d&group_by=campaign"
EXPORT = reverse("portal:report_export", kwargs={"fmt": "csv"}) + "?period=30d&group_by=date"
PROJECT = Path(__file__).resolve().parents[2]


def _replicate() -> None:
    """Make the replica a copy of the primary as it is now, as streaming replication would."""
    models = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(m._meta.db_table) for m in models)}")
    for model in models:
        rows = list(model._base_manager.using(DEFAULT_DB_ALIAS).all())
        if rows:
            model._base_manager.using(REPLICA).bulk_create(rows)


def _clicks_total(using: str) -> int:
    return sum(DailyStat.objects.using(using).values_list("clicks", flat=True))


def _kpi_clicks(page: str) -> int:
    return int(re.search(r'id="kpi-clicks">(\d+)<', page).group(1))


def _as_of(using: str):
    return Watermark.objects.using(using).order_by("updated_at").first().updated_at


@pytest.fixture
def lagging(settings):
    """Publisher A's traffic folded on the primary, replicated, then 7 more clicks folded on the primary only.

    The replica's fold time is an hour older than the primary's, as a replica behind would have it.
    """
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_world()
    make_clicks(world.a, 12, seed=5, days=5)
    rollup_refresh(settle_seconds=0)
    _replicate()
    make_clicks(world.a, 7, seed=6, days=5)
    rollup_refresh(settle_seconds=0)
    Watermark.objects.using(REPLICA).update(updated_at=timezone.now() - timedelta(hours=1))
    assert (_clicks_total(REPLICA), _clicks_total(DEFAULT_DB_ALIAS)) == (12, 19)
    client = Client()
    client.force_login(world.a.user)
    return client


@pytest.fixture
def replica_on(settings):
    settings.REPORTS_DATABASE = REPLICA


def test_without_a_replica_the_dashboard_reads_the_primary(lagging):
    page = lagging.get(DASHBOARD).content.decode()

    assert _kpi_clicks(page) == 19
    assert f"Figures as of {_as_of(DEFAULT_DB_ALIAS):%H:%M:%S} UTC" in page


def test_with_a_replica_the_dashboard_reads_its_rows_and_its_time(lagging, replica_on):
    page = lagging.get(DASHBOARD).content.decode()

    assert _kpi_clicks(page) == 12
    # "As of" comes from the database the rows came from: the replica's older fold.
    assert f"Figures as of {_as_of(REPLICA):%H:%M:%S} UTC" in page
    assert f"Figures as of {_as_of(DEFAULT_DB_ALIAS):%H:%M:%S} UTC" not in page


def _report_table(page: str) -> list[dict[str, str]]:
    """The report's body rows, each as {column header: cell}."""
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    header = [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)
    ]
    body = table.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return [
        dict(
            zip(
                header, (cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)), strict=False
            )
        )
        for row in body.split("<tr")[1:]
    ]


def _report_clicks(page: str) -> int:
    return sum(int(row["Clicks"]) for row in _report_table(page))


def test_the_report_page_reads_the_replica_and_labels_its_rows_from_it(lagging, replica_on):
    names = sorted(
        Offer.objects.filter(pk__in=DailyStat.objects.values("offer_id")).values_list("name", flat=True)
    )
    # Renamed on the primary after the replica's copy: the replica's rows carry the replica's names.
    for pk in Offer.objects.values_list("pk", flat=True):
        Offer.objects.filter(pk=pk).update(name=f"Renamed {pk}")

    page = lagging.get(REPORT).content.decode()

    assert sorted(row["Campaign"] for row in _report_table(page)) == names
    assert _report_clicks(page) == 12


def _export_clicks(response) -> int:
    lines = b"".join(response.streaming_content).decode().splitlines()
    column = lines[0].split(",").index("Clicks")
    return sum(int(line.split(",")[column]) for line in lines[1:])


def test_the_report_export_reads_the_replica_when_set_and_the_primary_otherwise(lagging, settings):
    on_primary = _export_clicks(lagging.get(EXPORT))
    settings.REPORTS_DATABASE = REPLICA
    on_replica = _export_clicks(lagging.get(EXPORT))

    assert (on_primary, on_replica) == (19, 12)


def test_the_screening_report_api_reads_the_replica(api_client_for, manager, organization, replica_on):
    world = make_postback_world(organization)
    world.click(sub1="site-7", verdict="flagged", verdict_reason="bot")
    _replicate()
    world.click(sub1="site-7", verdict="flagged", verdict_reason="bot")

    rows = api_client_for(manager).get("/api/v1/leads/screening-report/").json()

    assert [(row["source"], row["clicks_flagged"]) for row in rows] == [("site-7", 1)]


def test_a_lead_is_written_to_the_primary_while_reports_read_the_replica(organization, replica_on):
    world = make_postback_world(organization)
    click = world.click()
    _replicate()

    response = Client().get(world.url("/postback/lead", click=click.click_id))

    assert response.status_code == 200
    assert Lead.objects.using(DEFAULT_DB_ALIAS).filter(click=click).count() == 1
    assert Lead.objects.using(REPLICA).count() == 0


def test_the_fold_writes_the_rollups_on_the_primary(organization, replica_on, settings):
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_postback_world(organization)
    world.click()
    _replicate()

    rollup_refresh(settle_seconds=0)

    assert (_clicks_total(DEFAULT_DB_ALIAS), _clicks_total(REPLICA)) == (1, 0)


def test_the_router_writes_to_the_primary_and_migrates_only_there(settings):
    settings.REPORTS_DATABASE = REPLICA
    router = PrimaryReplicaRouter()
    read_there = DailyStat.objects.using(REPLICA).model()

    assert router.db_for_write(DailyStat, instance=read_there) == DEFAULT_DB_ALIAS
    assert router.db_for_read(DailyStat) is None
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "reports")
    assert not router.allow_migrate(REPLICA, "reports")


# --- A replica that does not answer ------------------------------------------------------------

# Run in a process of its own, so that REPORTS_DATABASE_URL is read as in production, when the
# settings load: publisher A asks for the dashboard, then the report; each answer's status, clicks and time.
FALLBACK_SCRIPT = """
import json, re, sys, time
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username=sys.argv[1]))
for path in sys.argv[2:]:
    started = time.monotonic()
    response = client.get(path, secure=True)
    page = response.content.decode()
    print(json.dumps([response.status_code, time.monotonic() - started, page]))
"""


def _free_port() -> int:
    """A loopback port where nothing listens (bound and released: connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_replica_falls_back_to_the_primary_and_is_skipped_meanwhile(settings):
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_world()
    make_clicks(world.a, 19, seed=5, days=5)
    rollup_refresh(settle_seconds=0)
    primary = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{quote(primary['USER'])}:{quote(primary['PASSWORD'] or '')}"
            f"@{primary['HOST'] or 'localhost'}:{primary['PORT'] or 5432}/{primary['NAME']}"
        ),
        "REPORTS_DATABASE_URL": f"postgres://postgres@127.0.0.1:{_free_port()}/partnerdesk",
        "REPORTS_DATABASE_TIMEOUT": "0.5",
        "REDIS_URL": "",
    }

    run = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, world.a.user.username, CAMPAIGNS, DASHBOARD, REPORT],
        env=environment,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    # The campaigns page reads no report: it warms the process up (imports, templates) first.
    _, (status, first_took, dashboard), (second_status, second_took, report) = map(
        json.loads, run.stdout.splitlines()
    )
    assert (status, second_status) == (200, 200)
    # The primary's figures, not an error page.
    assert _kpi_clicks(dashboard) == 19
    assert _report_clicks(report) == 19
    # The first read waited for the replica at most about its timeout; the next one skipped it.
    assert first_took < 0.5 + 1.5
    assert second_took < 1
    assert "Reports replica unavailable" in run.stderr


def test_reports_db_is_the_primary_while_the_replica_is_skipped(settings):
    settings.REPORTS_DATABASE = REPLICA
    assert reports_db() == REPLICA

    replica_breaker.trip(ConnectionRefusedError("refused"))

    assert reports_db() == DEFAULT_DB_ALIAS
