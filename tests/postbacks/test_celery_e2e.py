"""End to end with a real Celery worker and real Redis: a lead postback in, the partner's postback out.

Skipped unless REDIS_URL is set and the database is PostgreSQL: the worker is another process,
so it must reach the test database and the broker as the web side does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from partners.models import PostbackTemplate
from postbacks.models import Delivery
from postbacks.wakeups import QUEUE
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_support import make_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or connection.vendor != "postgresql",
        reason="needs REDIS_URL and PostgreSQL (DATABASE_URL): a real worker shares both",
    ),
]

CELERY = Path(sys.executable).with_name("celery")
WAIT_SECONDS = 30


def worker_database_url() -> str:
    """The URL of the database this test runs in (pytest's test database), for the worker."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "OUTBOUND_ALLOW_PRIVATE": "true",
    }
    command = [str(CELERY), "-A", "config", "worker", "--pool=solo", "-Q", QUEUE, "-l", "warning"]
    process = subprocess.Popen(
        command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_lead_postback_reaches_the_partner_through_a_real_worker(worker, httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    world = make_world(OrganizationFactory())
    PostbackTemplate.objects.create(
        integration=world.integration,
        url=httpserver.url_for("/pb") + "?cid={partner_click_id}&goal={goal}&p={payout}",
    )
    click = world.click(partner_click_id="their-7")

    response = Client().get("/postback/lead", {"token": world.token, "click": click.click_id})
    assert response.status_code == 200

    deadline = time.monotonic() + WAIT_SECONDS
    while not Delivery.objects.filter(state=Delivery.State.DONE).exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "the worker did not deliver in time"
        time.sleep(0.2)
    (request, _), *_ = httpserver.log
    assert parse_qs(request.query_string.decode()) == {"cid": ["their-7"], "goal": ["install"], "p": ["1.50"]}
    assert Delivery.objects.get().attempt_count == 1
