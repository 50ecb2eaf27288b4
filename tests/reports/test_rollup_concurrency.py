"""The fold runs while leads change, against real PostgreSQL: every change counts once, nothing deadlocks.

SQLite runs one writer at a time, so nothing here can race there.
"""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, Q, Sum
from django.test import Client

from leads.models import Lead, LeadEvent, LeadStatus
from leads.rollups import rollup_rebuild, rollup_refresh
from leads.services import lead_create, lead_set_status
from reports.models import DailyStat, SubStat
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_support import make_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time, so nothing races",
    ),
]

THREADS = 4
POSTBACKS = 25


def _snapshot() -> tuple[list, list]:
    def rows(model: type) -> list:
        fields = [f.name for f in model._meta.fields if f.name != "id"]
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*fields))

    return rows(DailyStat), rows(SubStat)


def _rollup_totals() -> dict:
    names = ("leads_total", "leads_approved", "leads_pending", "leads_rejected", "payout_approved")
    totals = DailyStat.objects.aggregate(**{name: Sum(name) for name in names})
    return {name: value or 0 for name, value in totals.items()}


def _raw_totals() -> dict:
    approved = Q(status=LeadStatus.APPROVED)
    totals = Lead.objects.aggregate(
        leads_total=Count("id"),
        leads_approved=Count("id", filter=approved),
        leads_pending=Count("id", filter=Q(status__in=["new", "processing", "hold"])),
        leads_rejected=Count("id", filter=Q(status__in=["cancelled", "trash"])),
        payout_approved=Sum("payout", filter=approved, default=Decimal("0")),
    )
    return totals


def _postbacks(world, clicks, seed: int) -> list[str]:
    """Creations, status, goal and money changes on clicks the other threads touch too."""
    rng = random.Random(seed)
    urls = []
    for _ in range(POSTBACKS):
        click = rng.choice(clicks).click_id
        urls.append(
            rng.choice(
                [
                    world.url("/postback/lead", click=click),
                    world.url(
                        "/postback/status", click=click, status=rng.choice(["approved", "hold"]), auto=1
                    ),
                    world.url("/postback/status", click=click, status="cancelled", auto=1),
                    world.url("/postback/status", click=click, status="approved", goal="reg", auto=1),
                    world.url("/postback/status", click=click, status="hold", pay="7.25", auto=1),
                    world.url("/postback/status", click=click, status="approved", wm="3.10", auto=1),
                ]
            )
        )
    return urls


def test_rollups_equal_the_raw_counts_after_concurrent_lead_changes_and_folds():
    world = make_world(OrganizationFactory())
    clicks = [
        world.click(country=country, sub1=f"source-{n % 3}", device_type="mobile", os="Android")
        for n, country in enumerate(["DE", "US", "FR", "", "DE", "US", "BR", "DE", "FR", "US"])
    ]
    rollup_refresh(settle_seconds=0)
    answers: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()
    folds = []

    def send(urls: list[str]) -> None:
        try:
            client = Client()
            answers.extend(client.get(url).status_code for url in urls)
        finally:
            connections.close_all()

    def fold() -> None:
        try:
            while not done.is_set():
                folds.append(rollup_refresh(settle_seconds=0))
        except Exception as error:  # noqa: BLE001 - a deadlock or anything else fails the test below
            errors.append(error)
        finally:
            connections.close_all()

    folder = threading.Thread(target=fold)
    senders = [
        threading.Thread(target=send, args=(_postbacks(world, clicks, seed),)) for seed in range(THREADS)
    ]
    folder.start()
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    done.set()
    folder.join()
    rollup_refresh(settle_seconds=0)

    assert errors == []
    assert answers == [200] * (THREADS * POSTBACKS)
    assert len(folds) > 1 and sum(folds) > 0
    assert not LeadEvent.objects.filter(folded_at__isnull=True).exists()
    assert _rollup_totals() == _raw_totals()
    folded = _snapshot()
    rollup_rebuild()
    assert _snapshot() == folded


def test_an_event_committed_after_a_higher_one_was_folded_is_folded_exactly_once():
    world = make_world(OrganizationFactory())
    first, second = (lead_create(app=world.app, link=world.link, click=world.click())[0] for _ in range(2))
    rollup_refresh(settle_seconds=0)
    written, release = threading.Event(), threading.Event()

    def slow_change() -> None:
        try:
            with transaction.atomic():
                lead_set_status(lead=first, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
                written.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    slow = threading.Thread(target=slow_change)
    slow.start()
    assert written.wait(timeout=30)
    lead_set_status(lead=second, status=LeadStatus.APPROVED, source=LeadEvent.Source.ADMIN)
    folded_before_commit = rollup_refresh(settle_seconds=0)
    approved_before_commit = _rollup_totals()["leads_approved"]
    release.set()
    slow.join()
    folded_after_commit = rollup_refresh(settle_seconds=0)

    late, early = (LeadEvent.objects.get(lead=lead, kind="status") for lead in (first, second))
    assert late.id < early.id  # the late event took the lower id
    assert (folded_before_commit, approved_before_commit) == (1, 1)
    assert folded_after_commit == 1
    assert rollup_refresh(settle_seconds=0) == 0
    assert _rollup_totals() == _raw_totals()
    assert _rollup_totals()["leads_approved"] == 2
