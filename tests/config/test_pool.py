"""PostgreSQL connections are pooled: a burst of concurrent postbacks never sees "too many clients"."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from leads.models import Lead
from tests.ingest.test_postback_support import make_world

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"
)

CONCURRENCY = 50
REQUESTS = 100


def pool_options() -> dict:
    return settings.DATABASES["default"]["OPTIONS"]["pool"]


def test_the_pool_is_on_and_django_keeps_no_connection_of_its_own():
    assert pool_options()["max_size"] >= 1
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


class BackendCounter(threading.Thread):
    """Polls pg_stat_activity from the maintenance database (outside the pool being measured)."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.most = 0
        self.done = threading.Event()
        params = connection.get_connection_params()
        names = ("host", "port", "user", "password")
        self.conninfo = {name: params[name] for name in names if name in params}

    def run(self) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **self.conninfo) as monitor:
            while not self.done.is_set():
                row = monitor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]
                ).fetchone()
                self.most = max(self.most, row[0])
                self.done.wait(0.005)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_fifty_concurrent_postbacks_stays_within_the_pool(live_server, organization):
    world = make_world(organization)
    urls = [
        live_server.url + world.url("/postback/lead", click=world.click().click_id) for _ in range(REQUESTS)
    ]
    counter = BackendCounter(connection.settings_dict["NAME"])
    counter.start()

    try:
        with ThreadPoolExecutor(CONCURRENCY) as burst:
            statuses = list(burst.map(status_of, urls))
    finally:
        counter.done.set()
        counter.join()

    assert statuses == [200] * REQUESTS
    assert Lead.objects.count() == REQUESTS
    # Without the pool this burst holds about 50 backends at once (one per server thread).
    assert 1 <= counter.most <= pool_options()["max_size"]
