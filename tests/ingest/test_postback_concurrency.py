"""Postbacks arriving at the same moment, against real PostgreSQL (SQLite serializes writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.test import Client

from ingest.models import InboundPostback
from leads.models import Lead
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_support import make_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time, so nothing races",
    ),
]


def _at_once(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls in threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[int] = [0] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _get(url: str) -> Callable[[], int]:
    return lambda: Client().get(url).status_code


def test_same_creation_from_eight_threads_makes_exactly_one_lead():
    world = make_world(OrganizationFactory())
    click = world.click()
    url = world.url("/postback/lead", click=click.click_id, exto="race")

    statuses = _at_once([_get(url)] * 8)

    assert statuses == [200] * 8
    assert Lead.objects.count() == 1
    outcomes = sorted(InboundPostback.objects.values_list("outcome", flat=True))
    assert outcomes == ["created"] + ["duplicate"] * 7


def test_status_racing_its_creation_loses_nothing():
    world = make_world(OrganizationFactory())
    clicks = [world.click() for _ in range(5)]
    calls = []
    for click in clicks:
        calls.append(_get(world.url("/postback/lead", click=click.click_id)))
        calls.append(_get(world.url("/postback/status", click=click.click_id, status="approved", auto=1)))

    statuses = _at_once(calls)

    assert statuses == [200] * 10
    assert Lead.objects.count() == 5
    assert set(Lead.objects.values_list("status", flat=True)) == {"approved"}
    assert InboundPostback.objects.count() == 10
    for lead in Lead.objects.all():
        assert [e.to_status for e in lead.events.order_by("id")][-1] == "approved"
