"""The outbox: nothing lost when the broker is down or a worker dies, never sent by two workers at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from leads.models import LeadEvent, LeadStatus
from leads.services import lead_create, lead_set_status
from partners.models import PostbackTemplate
from postbacks import tasks
from postbacks.models import Delivery, DeliveryAttempt
from postbacks.services import BROKER, deliveries_dispatch_due, deliveries_due, deliveries_hand_to_broker
from tests.factories import OrganizationFactory
from tests.ingest.test_postback_support import make_world

State = Delivery.State
CLOSED_BROKER = "redis://127.0.0.1:9/0"


@pytest.fixture(autouse=True)
def _outbound(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001


@pytest.fixture
def sent_tasks(monkeypatch):
    """What the web process handed to the broker (the broker itself is not reached)."""
    sent: list[list[int]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args, **options: sent.append(args[0]))
    return sent


def status_change_with_delivery(organization, url: str):
    world = make_world(organization)
    PostbackTemplate.objects.create(
        integration=world.integration, url=url, event=PostbackTemplate.Event.STATUS
    )
    lead, _ = lead_create(app=world.app, link=world.link, click=world.click())
    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.API)
    return Delivery.objects.get()


def test_the_broker_is_told_only_after_commit(
    organization, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = CLOSED_BROKER
    with django_capture_on_commit_callbacks(execute=True):
        delivery = status_change_with_delivery(organization, "http://127.0.0.1:9/pb")
        assert sent_tasks == []

    assert sent_tasks == [[delivery.pk]]
    assert (delivery.claimed_by, delivery.state) == (BROKER, State.PENDING)


def test_a_delivery_made_while_the_broker_is_down_is_sent_by_the_sweep(
    organization, settings, monkeypatch, httpserver, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = CLOSED_BROKER

    def broker_down(name, args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:9. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    httpserver.expect_request("/pb").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = status_change_with_delivery(organization, httpserver.url_for("/pb"))

    assert deliveries_due() == [delivery.pk]
    deliveries_dispatch_due()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (State.DONE, 1)
    assert len(httpserver.log) == 1


def test_the_sweep_hands_due_deliveries_to_the_broker_once(
    organization, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = "memory://"
    delivery = status_change_with_delivery(organization, "http://127.0.0.1:9/pb")
    settings.CELERY_BROKER_URL = CLOSED_BROKER

    with django_capture_on_commit_callbacks(execute=True):
        first = deliveries_hand_to_broker()
    with django_capture_on_commit_callbacks(execute=True):
        second = deliveries_hand_to_broker()

    assert (first, second) == ([delivery.pk], [])
    assert sent_tasks == [[delivery.pk]]


def test_a_delivery_held_by_a_worker_that_died_is_sent_again(organization, settings, httpserver):
    settings.CELERY_BROKER_URL = "memory://"
    httpserver.expect_request("/pb").respond_with_data("ok")
    delivery = status_change_with_delivery(organization, httpserver.url_for("/pb"))
    Delivery.objects.filter(pk=delivery.pk).update(
        state=State.SENDING, claimed_by="dead-worker", claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert deliveries_dispatch_due() == 0

    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    deliveries_dispatch_due()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.claimed_by) == (State.DONE, "")
    assert len(httpserver.log) == 1


def test_the_task_is_safe_to_run_twice(organization, settings, httpserver):
    settings.CELERY_BROKER_URL = "memory://"
    httpserver.expect_request("/pb").respond_with_data("ok")
    delivery = status_change_with_delivery(organization, httpserver.url_for("/pb"))

    tasks.deliver([delivery.pk])
    tasks.deliver([delivery.pk])

    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
    assert len(httpserver.log) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time, so nothing races",
)
@pytest.mark.parametrize("path", ["dispatcher", "celery task"])
def test_workers_claiming_at_once_never_send_a_delivery_twice(settings, httpserver, path):
    settings.CELERY_BROKER_URL = "memory://"
    httpserver.expect_request("/pb").respond_with_data("ok")
    world = make_world(OrganizationFactory())
    template = PostbackTemplate.objects.create(integration=world.integration, url=httpserver.url_for("/pb"))
    rows = Delivery.objects.bulk_create(
        Delivery(
            organization=world.app.organization,
            kind="partner",
            event="conversion",
            template=template,
            url=httpserver.url_for("/pb") + f"?n={n}",
        )
        for n in range(40)
    )
    ids = [row.pk for row in rows]
    barrier = threading.Barrier(6)

    def worker() -> None:
        try:
            barrier.wait()
            if path == "dispatcher":
                deliveries_dispatch_due()
            else:
                tasks.deliver(ids)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert DeliveryAttempt.objects.count() == 40
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.DONE}
    assert len(httpserver.log) == 40
    assert len({request.query_string for request, _ in httpserver.log}) == 40
