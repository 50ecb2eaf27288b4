"""Failures of ours lose nothing: 503 JSON, a replayable "failed" log row, the spool, retries."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import OperationalError

from ingest import log, protocol, spool
from ingest.log import spool_load
from ingest.models import InboundPostback
from ingest.services import inbound_replay
from leads import clicks
from leads.models import Click, Impression, Lead
from tests.ingest.test_postback_support import get_json, make_world


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.INGEST_SPOOL_DIR = tmp_path / "spool"


class _DeadlockDetected(Exception):
    """psycopg's DeadlockDetected, as far as the retry looks at it."""

    sqlstate = "40P01"


def _deadlock() -> OperationalError:
    """A deadlock as Django raises it: psycopg's error wrapped in OperationalError."""
    error = OperationalError("deadlock detected")
    error.__cause__ = _DeadlockDetected()
    return error


def _break(monkeypatch, target, name: str, error: Exception, times: int | None = None) -> list[int]:
    """Make `target.name` raise `error` (the first `times` calls, or always); answers the call count."""
    real, calls = getattr(target, name), []

    def broken(*args, **kwargs):
        calls.append(1)
        if times is None or len(calls) <= times:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, broken)
    return calls


def test_a_database_error_in_the_lead_service_answers_503_json_with_retry_after(client, world, monkeypatch):
    _break(monkeypatch, protocol, "lead_insert", OperationalError("server closed the connection"))

    response = client.get(world.url("/postback/lead", flow=world.link.pk, exto="A-1"))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert response.json()["ok"] is False and "try again" in response.json()["error"]
    assert not Lead.objects.exists()


def test_a_failed_postback_is_logged_as_failed_with_its_app_and_replays_to_the_lead(
    client, world, manager, monkeypatch
):
    _break(monkeypatch, protocol, "lead_insert", OperationalError("server closed the connection"))
    client.get(world.url("/postback/lead", flow=world.link.pk, exto="A-2"))
    monkeypatch.undo()

    failed = InboundPostback.objects.get()
    assert (failed.outcome, failed.http_status, failed.app, failed.organization) == (
        "failed",
        503,
        world.app,
        world.app.organization,
    )
    assert failed.params["exto"] == "A-2" and failed.params["token"].endswith("…")

    replay = inbound_replay(inbound=failed, actor=manager)

    assert (replay.outcome, replay.replay_of) == ("created", failed)
    assert Lead.objects.get().exto == "A-2"


def test_a_bug_anywhere_in_the_view_is_kept_and_answered_as_json(client, world, monkeypatch):
    _break(monkeypatch, protocol, "lead_apply", ZeroDivisionError("a bug"))
    lead = client.get(world.url("/postback/lead", flow=world.link.pk, exto="B-1")).json()["lead"]

    response = client.get(world.url("/postback/status", flow=world.link.pk, exto="B-1", status="approved"))

    assert response.status_code == 503 and response.json()["ok"] is False
    failed = InboundPostback.objects.get(outcome="failed")
    assert (failed.endpoint, failed.params["status"]) == ("status", "approved")
    assert Lead.objects.get(pk=lead["id"]).status == "new"


@pytest.mark.django_db(transaction=True)  # the retry runs only around a whole transaction
def test_a_deadlock_is_retried_inside_the_service_and_the_partner_never_sees_it(client, world, monkeypatch):
    calls = _break(monkeypatch, protocol, "lead_insert", _deadlock(), times=2)

    status, body = get_json(client, world.url("/postback/lead", flow=world.link.pk, exto="D-1"))

    assert (status, body["created"]) == (200, True)
    assert len(calls) == 3
    assert Lead.objects.filter(exto="D-1").count() == 1
    assert list(InboundPostback.objects.values_list("outcome", flat=True)) == ["created"]


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_that_persists_is_a_503_and_kept_for_replay(client, world, monkeypatch):
    calls = _break(monkeypatch, protocol, "lead_insert", _deadlock())

    status, _ = get_json(client, world.url("/postback/lead", flow=world.link.pk, exto="D-2"))

    assert status == 503
    assert len(calls) == 3  # tried three times, then kept
    assert InboundPostback.objects.get().outcome == "failed"


def test_when_the_log_fails_too_the_request_is_spooled_and_loaded_later(client, world, manager, monkeypatch):
    _break(monkeypatch, protocol, "lead_insert", OperationalError("the database is gone"))
    _break(monkeypatch, log, "inbound_log", OperationalError("the database is gone"))

    status, _ = get_json(client, world.url("/postback/lead", flow=world.link.pk, exto="S-1"))
    monkeypatch.undo()

    assert status == 503
    assert not InboundPostback.objects.exists()
    assert len(spool.spooled()) == 1

    assert spool_load() == 1
    assert spool.spooled() == []
    failed = InboundPostback.objects.get()
    assert (failed.outcome, failed.app, failed.params["exto"]) == ("failed", world.app, "S-1")
    assert failed.params["token"].endswith("…")

    inbound_replay(inbound=failed, actor=manager)
    assert Lead.objects.get().exto == "S-1"


def test_a_spooled_request_is_loaded_once_even_if_its_file_survives_the_load(client, world, monkeypatch):
    _break(monkeypatch, protocol, "lead_insert", OperationalError("gone"))
    _break(monkeypatch, log, "inbound_log", OperationalError("gone"))
    client.get(world.url("/postback/lead", flow=world.link.pk, exto="S-2"))
    monkeypatch.undo()
    path = spool.spooled()[0]
    kept = path.read_bytes()

    spool_load()
    path.write_bytes(kept)  # as if the load had stopped between the INSERT and the delete
    spool_load()

    assert InboundPostback.objects.count() == 1


def test_a_click_we_fail_to_record_still_redirects_and_is_recorded_on_replay_under_its_id(
    client, world, manager, monkeypatch
):
    _break(monkeypatch, clicks, "insert_click", OperationalError("the database is gone"))

    response = client.get(f"/c/{world.link.code}?sub1=news")
    monkeypatch.undo()

    assert response.status_code == 302
    assert not Click.objects.exists()
    failed = InboundPostback.objects.get()
    assert (failed.endpoint, failed.outcome, failed.integration) == (
        "click",
        "failed",
        world.link.integration,
    )
    click_id = failed.params["replayed_click_id"]
    assert response["Location"] == world.app.default_url

    inbound_replay(inbound=failed, actor=manager)

    click = Click.objects.get()
    assert (click.click_id, click.sub1) == (click_id, "news")


def test_an_impression_we_fail_to_record_still_answers_the_pixel_and_is_kept(
    client, world, manager, monkeypatch
):
    _break(monkeypatch, clicks, "insert_impression", OperationalError("the database is gone"))

    response = client.get(f"/i/{world.link.code}")
    monkeypatch.undo()

    assert (response.status_code, response["Content-Type"]) == (200, "image/gif")
    failed = InboundPostback.objects.get()
    assert (failed.endpoint, failed.outcome) == ("impression", "failed")

    inbound_replay(inbound=failed, actor=manager)
    assert Impression.objects.count() == 1


def test_the_spool_command_loads_what_the_disk_kept(client, world, monkeypatch):
    _break(monkeypatch, protocol, "lead_insert", OperationalError("gone"))
    _break(monkeypatch, log, "inbound_log", OperationalError("gone"))
    client.get(world.url("/postback/lead", flow=world.link.pk, exto="S-3"))
    monkeypatch.undo()
    out = io.StringIO()

    call_command("ingest_spool_replay", stdout=out)

    assert "1 spooled request(s) loaded" in out.getvalue()
    assert InboundPostback.objects.get().params["exto"] == "S-3"
