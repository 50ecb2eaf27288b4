"""The ClickHouse exporter and the drill-down SQL, run on chdb (the embedded ClickHouse engine).

The client is clickhouse-connect's own, backed by chdb: the same inserts and queries the product
sends to a ClickHouse server, checked against what the database answers for the same clicks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import OperationalError
from django.core.management import CommandError, call_command
from django.test import override_settings

from columnar import selectors
from columnar.clickhouse import TABLE, connect, create_table_sql
from columnar.models import ExportMark
from columnar.services import CLICKS, export_clicks
from leads.models import Click, Verdict
from tests.factories import LandingFactory, OrganizationFactory, TrackingLinkFactory

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
SINCE, UNTIL = NOW - timedelta(days=30), NOW + timedelta(hours=1)


@pytest.fixture
def clickhouse(tmp_path):
    """A clickhouse-connect client on a fresh chdb engine, the clicks table created by `connect`."""
    client = connect(f"chdb://{tmp_path / 'chdb'}")
    yield client
    client.close()


def _count(client) -> int:
    return client.query(f"SELECT count() FROM {TABLE}").result_rows[0][0]


def _traffic(count: int = 120) -> tuple[int, list[int]]:
    """Clicks of two publishers of one organization over 40 days (a few past the period), varied."""
    organization = OrganizationFactory()
    links = [TrackingLinkFactory(integration__organization=organization) for _ in range(2)]
    landing = LandingFactory(offer=links[0].offer)
    countries, devices, subs = ("DE", "US", "", "BR"), ("mobile", "desktop", ""), ("site-a", "site-b", "")
    verdicts = (Verdict.OK, Verdict.OK, Verdict.FLAGGED, Verdict.REJECTED)
    clicks = [
        Click(
            organization=organization,
            integration=link.integration,
            link=link,
            partner=link.partner,
            offer=link.offer,
            landing=landing if n % 3 == 0 and link is links[0] else None,
            country=countries[n % 4],
            device_type=devices[n % 3],
            sub1=subs[n % 7 % 3],
            ip=f"10.0.{n % 5}.{n % 11}" if n % 13 else "",
            user_agent=f"agent {n % 4}",
            verdict=verdicts[n % 4],
            created_at=NOW - timedelta(days=n % 40, hours=n % 24, seconds=n),
        )
        for n in range(count)
        for link in [links[n % 2]]
    ]
    Click.objects.bulk_create(clicks)
    return organization.pk, [link.partner_id for link in links]


@pytest.mark.parametrize("partner", [0, 1])
def test_exported_clicks_by_country_device_and_day_match_the_database(clickhouse, partner):
    organization_id, partners = _traffic()
    export_clicks(clickhouse, settle_seconds=0)
    scope = {
        "organization_id": organization_id,
        "partner_id": partners[partner],
        "since": SINCE,
        "until": UNTIL,
    }

    columnar = selectors.clicks_by_country_device_day(clickhouse, **scope)

    assert columnar == selectors.clicks_by_country_device_day_from_database(**scope)
    assert (
        sum(row[3] for row in columnar)
        == Click.objects.filter(partner_id=partners[partner], created_at__gte=SINCE).count()
    )


def test_exported_clicks_by_sub1_match_the_database(clickhouse):
    organization_id, partners = _traffic()
    export_clicks(clickhouse, settle_seconds=0)
    scope = {"organization_id": organization_id, "partner_id": partners[0], "since": SINCE, "until": UNTIL}

    columnar = selectors.clicks_by_sub1(clickhouse, **scope)

    assert sorted(columnar) == sorted(selectors.clicks_by_sub1_from_database(**scope))
    assert {row[0] for row in columnar} == {"site-a", "site-b", ""}
    assert [row[1] for row in columnar] == sorted((row[1] for row in columnar), reverse=True)


def test_exported_clicks_by_ip_match_the_database(clickhouse):
    organization_id, _ = _traffic()
    export_clicks(clickhouse, settle_seconds=0)
    scope = {
        "organization_id": organization_id,
        "since": SINCE,
        "until": UNTIL,
        "min_clicks": 2,
        "limit": 500,
    }

    columnar = selectors.clicks_by_ip(clickhouse, **scope)

    assert sorted(columnar) == sorted(selectors.clicks_by_ip_from_database(**scope))
    assert columnar and all(row[0] and row[1] >= 2 for row in columnar)


def test_the_export_sends_every_click_once_in_batches_and_later_clicks_next_time(clickhouse):
    _traffic(50)

    assert export_clicks(clickhouse, batch=7, settle_seconds=0) == 50
    assert export_clicks(clickhouse, batch=7, settle_seconds=0) == 0
    _traffic(10)
    assert export_clicks(clickhouse, batch=7, settle_seconds=0) == 10

    assert _count(clickhouse) == 60
    assert ExportMark.objects.get(name=CLICKS).exported_id == Click.objects.latest("id").id


def test_the_export_waits_until_the_newest_click_has_settled(clickhouse):
    _traffic(20)

    assert export_clicks(clickhouse, settle_seconds=60) == 0
    ExportMark.objects.filter(name=CLICKS).update(pending_at=NOW - timedelta(minutes=2))
    assert export_clicks(clickhouse, settle_seconds=60) == 20
    assert _count(clickhouse) == 20


class _Down:
    """ClickHouse unreachable: every insert fails as clickhouse-connect fails on a refused connection."""

    def insert(self, *args, **kwargs):
        raise OperationalError("Error HTTPConnectionPool: connection refused")


class _AnswerLost:
    """The insert reaches ClickHouse, but its answer never comes back (a timeout after the write)."""

    def __init__(self, client):
        self.client = client

    def insert(self, *args, **kwargs):
        self.client.insert(*args, **kwargs)
        raise OperationalError("Error HTTPConnectionPool: read timed out")


def test_a_failed_insert_leaves_the_mark_and_the_next_run_sends_the_same_clicks(clickhouse):
    _traffic(30)

    with pytest.raises(OperationalError):
        export_clicks(_Down(), batch=10, settle_seconds=0)

    mark = ExportMark.objects.get(name=CLICKS)
    assert mark.exported_id == 0
    assert export_clicks(clickhouse, batch=10, settle_seconds=0) == 30
    assert _count(clickhouse) == 30


def test_a_batch_sent_again_after_a_lost_answer_is_not_counted_twice(clickhouse):
    organization_id, partners = _traffic(30)

    with pytest.raises(OperationalError):
        export_clicks(_AnswerLost(clickhouse), batch=10, settle_seconds=0)
    assert _count(clickhouse) == 10
    export_clicks(clickhouse, batch=10, settle_seconds=0)

    assert _count(clickhouse) == 30
    scope = {"organization_id": organization_id, "partner_id": partners[0], "since": SINCE, "until": UNTIL}
    assert selectors.clicks_by_country_device_day(
        clickhouse, **scope
    ) == selectors.clicks_by_country_device_day_from_database(**scope)


@override_settings(RAW_RETENTION_DAYS=365, RETENTION_IP_DAYS=90, RETENTION_USER_AGENT_DAYS=180)
def test_clickhouse_forgets_ips_user_agents_and_whole_clicks_after_the_retention_settings(tmp_path):
    client = connect(f"chdb://{tmp_path / 'chdb'}")
    try:
        _traffic(3)
        Click.objects.update(ip="192.0.2.1")
        for click, age in zip(Click.objects.order_by("id"), (100, 400, 0), strict=True):
            Click.objects.filter(pk=click.pk).update(created_at=NOW - timedelta(days=age))
        export_clicks(client, settle_seconds=0)

        client.command(f"OPTIMIZE TABLE {TABLE} FINAL")
        rows = client.query(f"SELECT ip != '', user_agent != '' FROM {TABLE} ORDER BY created_at").result_rows
    finally:
        client.close()

    assert "TTL created_at + INTERVAL 365 DAY" in create_table_sql()
    # Kept: the 100-day-old click without its IP (its agent is younger than 180 days), today's whole.
    assert rows == [(False, True), (True, True)]


def test_the_export_command_needs_clickhouse_url():
    with override_settings(CLICKHOUSE_URL=""), pytest.raises(CommandError, match="CLICKHOUSE_URL"):
        call_command("clickhouse_export")


def test_the_export_command_exports_to_clickhouse_url(tmp_path, capsys):
    _traffic(12)
    url = f"chdb://{tmp_path / 'chdb'}"

    with override_settings(CLICKHOUSE_URL=url):
        call_command("clickhouse_export", "--now")

    assert "Exported 12 clicks to ClickHouse." in capsys.readouterr().out
    client = clickhouse_connect.get_client(dsn=url)
    try:
        assert _count(client) == 12
    finally:
        client.close()


def test_beat_exports_only_when_clickhouse_url_is_set_and_nothing_imports_the_client_before(settings):
    assert not settings.CLICKHOUSE_URL
    assert "columnar-clickhouse-export" not in settings.CELERY_BEAT_SCHEDULE
    code = (
        "import sys, django; django.setup(); import columnar.tasks, config.celery; "
        "from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE['columnar-clickhouse-export']['task']); "
        "print('clickhouse_connect' in sys.modules)"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CLICKHOUSE_URL": "https://ch.example:8443/analytics",
    }
    answer = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    assert answer.stdout.split() == ["columnar.clickhouse_export", "False"]
