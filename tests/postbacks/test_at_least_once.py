"""At least once, honestly (SPEC 5): attempts written before dialling, in-doubt attempts, one
idempotency key per delivery, leases from the policy, and Standard Webhooks signatures.

Every call goes to a real HTTP receiver on 127.0.0.1 that records the request target and the
headers it was sent, as a partner's server would see them.
"""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from config import crypto
from postbacks import services, tasks
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.outbound import POLICIES, new_signing_secret
from postbacks.services import (
    BROKER_LEASE,
    IN_DOUBT_EXPLANATION,
    LEASE_MARGIN,
    deliveries_dispatch_due,
    deliveries_due,
    deliveries_hand_to_broker,
    delivery_resend,
    lease_for,
)
from tests.ingest.test_postback_support import make_world

State = Delivery.State
Outcome = DeliveryAttempt.Outcome


@dataclass
class Call:
    target: str
    headers: dict[str, str]


@dataclass
class Receiver:
    """What the receiver was sent, and what it answers next (200 once the list is empty)."""

    base: str
    calls: list[Call] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def url(self, target: str) -> str:
        return self.base + target


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 (ephemeral port) that records every request."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.calls.append(Call(self.path, dict(self.headers.items())))
            status = seen.statuses.pop(0) if seen.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _embedded(settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001


@pytest.fixture
def world(organization):
    return make_world(organization)


def partner_delivery(world, url: str, *, secret: str = "") -> Delivery:
    template, _ = world.integration.postback_templates.get_or_create(goal=None, defaults={"url": url})
    if secret:
        template.signing_secret = secret
        template.save()
    return Delivery.objects.create(
        organization=world.app.organization,
        kind=Delivery.Kind.PARTNER,
        event="conversion",
        integration=world.integration,
        partner=world.integration.partner,
        template=template,
        url=url,
    )


@pytest.fixture
def worker_killed_after_the_call(monkeypatch):
    """The first call goes out and is answered, then the worker dies before recording it."""
    real_send, calls = services._send, []

    def send_then_die(started):
        sent = real_send(started)
        calls.append(sent)
        if len(calls) == 1:
            raise SystemExit("worker killed")
        return sent

    monkeypatch.setattr(services, "_send", send_then_die)


def lease_runs_out(delivery: Delivery) -> None:
    """Move the clock past the lease: the claim now ends a moment ago."""
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))


def pick_up_by_sweep_and_worker(delivery: Delivery) -> None:
    assert deliveries_hand_to_broker() == [delivery.pk]
    tasks.deliver([delivery.pk])


def pick_up_by_dispatcher(delivery: Delivery) -> None:
    assert deliveries_dispatch_due() == 1


def pick_up_by_manual_resend(delivery: Delivery) -> None:
    delivery_resend(delivery=Delivery.objects.get(pk=delivery.pk), actor=None)


# --- A worker killed between dial and record ------------------------------------------------------


@pytest.mark.parametrize(
    "pick_up", [pick_up_by_dispatcher, pick_up_by_sweep_and_worker, pick_up_by_manual_resend]
)
def test_a_worker_killed_mid_call_leaves_an_in_doubt_attempt_and_the_retry_carries_the_same_key(
    world, receiver, worker_killed_after_the_call, pick_up
):
    delivery = partner_delivery(world, receiver.url("/pb?cid=1"))
    with pytest.raises(SystemExit):
        deliveries_dispatch_due()
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.outcome == Outcome.SENDING

    lease_runs_out(delivery)
    pick_up(delivery)

    delivery.refresh_from_db()
    first, second = delivery.attempts.order_by("number")
    assert (first.number, first.outcome, first.error) == (1, Outcome.IN_DOUBT, IN_DOUBT_EXPLANATION)
    assert (second.number, second.outcome, second.status_code) == (2, Outcome.DONE, 200)
    assert (delivery.state, delivery.attempt_count) == (State.DONE, 2)
    assert [call.target for call in receiver.calls] == ["/pb?cid=1", "/pb?cid=1"]
    keys = {(call.headers["Idempotency-Key"], call.headers["webhook-id"]) for call in receiver.calls}
    assert keys == {(delivery.idempotency_key, delivery.idempotency_key)}


def test_an_attempt_whose_worker_still_holds_the_lease_is_not_taken_over(
    world, receiver, worker_killed_after_the_call
):
    delivery = partner_delivery(world, receiver.url("/pb"))
    with pytest.raises(SystemExit):
        deliveries_dispatch_due()

    assert deliveries_dispatch_due() == 0
    assert deliveries_hand_to_broker() == []
    assert DeliveryAttempt.objects.get(delivery=delivery).outcome == Outcome.SENDING
    assert len(receiver.calls) == 1


def test_an_in_doubt_attempt_counts_toward_the_policys_attempts(world, receiver, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(POLICIES, "partner", replace(POLICIES["partner"], max_attempts=2))
    receiver.statuses = [503]
    delivery = partner_delivery(world, receiver.url("/pb"))
    deliveries_dispatch_due()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    real_send = services.send

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "send", send_then_die)
    with pytest.raises(SystemExit):
        deliveries_dispatch_due()
    lease_runs_out(delivery)

    assert deliveries_dispatch_due() == 1

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (State.FAILED, 2)
    assert "in doubt" in delivery.last_error
    assert list(delivery.attempts.values_list("outcome", flat=True)) == [Outcome.RETRY, Outcome.IN_DOUBT]
    assert len(receiver.calls) == 2


# --- Leases from the policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "lease_seconds", "resumed_within"),
    [("partner", 25, 60), ("publisher", 25, 60), ("status_sync", 25, 60), ("clevertap", 75, 90)],
)
def test_a_claims_lease_is_the_policys_timeout_plus_a_margin(settings, kind, lease_seconds, resumed_within):
    sweep_every = settings.CELERY_BEAT_SCHEDULE["postbacks-deliveries-sweep"]["schedule"]
    lease = lease_for(POLICIES[kind])

    assert (
        lease == timedelta(seconds=POLICIES[kind].timeout) + LEASE_MARGIN == timedelta(seconds=lease_seconds)
    )
    assert lease.total_seconds() + sweep_every <= resumed_within
    assert BROKER_LEASE.total_seconds() + sweep_every <= 60


@pytest.mark.parametrize("kind", ["partner", "clevertap"])
def test_a_dead_workers_delivery_is_due_again_once_its_policys_lease_ran_out(
    world, receiver, worker_killed_after_the_call, monkeypatch, kind
):
    delivery = partner_delivery(world, receiver.url("/attribution?account_passcode=%2A%2A%2A"))
    if kind == "clevertap":
        destination = CleverTapDestination(
            organization=world.app.organization, app=world.app, account_id="A", account_token="T"
        )
        destination.passcode = "secret"
        destination.save()
        Delivery.objects.filter(pk=delivery.pk).update(kind=kind, destination=destination, template=None)
    claimed_at = timezone.now()
    monkeypatch.setattr(services.timezone, "now", lambda: claimed_at)
    with pytest.raises(SystemExit):
        deliveries_dispatch_due()
    lease = lease_for(POLICIES[kind])

    monkeypatch.setattr(services.timezone, "now", lambda: claimed_at + lease - timedelta(seconds=1))
    assert deliveries_due() == []
    monkeypatch.setattr(services.timezone, "now", lambda: claimed_at + lease + timedelta(seconds=1))
    assert deliveries_due() == [delivery.pk]
    assert deliveries_dispatch_due() == 1

    assert list(delivery.attempts.values_list("outcome", flat=True)) == [Outcome.IN_DOUBT, Outcome.DONE]


def test_a_row_whose_claim_another_worker_took_during_the_round_is_not_dialled(world, receiver, monkeypatch):
    first = partner_delivery(world, receiver.url("/pb?n=1"))
    second = partner_delivery(world, receiver.url("/pb?n=2"))
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now() + timedelta(microseconds=1))
    monkeypatch.setattr(services, "RENEW_EVERY", 0.0)
    real_send = services.send

    def send_while_the_other_is_taken(*args, **kwargs):
        # The dispatcher stalled past the lease: another worker took the second row meanwhile.
        Delivery.objects.filter(pk=second.pk).update(claimed_by="another-worker")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "send", send_while_the_other_is_taken)
    monkeypatch.setattr(services.timezone, "now", lambda: first.next_attempt_at + timedelta(seconds=1))

    assert deliveries_dispatch_due() == 2

    assert [call.target for call in receiver.calls] == ["/pb?n=1"]
    assert Delivery.objects.get(pk=first.pk).state == State.DONE
    assert Delivery.objects.get(pk=second.pk).claimed_by == "another-worker"


# --- Idempotency and signature headers ------------------------------------------------------------


def verified(secret: str, call: Call) -> bool:
    try:
        Webhook(secret).verify(call.target, call.headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_a_destination_with_a_secret_gets_calls_its_receiver_verifies(world, receiver):
    secret = new_signing_secret()
    delivery = partner_delivery(world, receiver.url("/pb?name=José&goal=a|b"), secret=secret)

    deliveries_dispatch_due()

    assert Delivery.objects.get(pk=delivery.pk).last_error == ""
    [call] = receiver.calls
    assert call.target == "/pb?name=Jos%C3%A9&goal=a%7Cb"
    assert verified(secret, call)
    assert not verified(new_signing_secret(), call)
    assert call.headers["webhook-id"] == delivery.idempotency_key
    assert Delivery.objects.get(pk=delivery.pk).state == State.DONE


def test_publisher_status_sync_and_test_deliveries_are_signed_with_their_own_secret(world, receiver):
    partner, integration = world.integration.partner, world.integration
    partner.publisher_postback_secret = publisher_secret = new_signing_secret()
    partner.save()
    integration.status_sync_secret = sync_secret = new_signing_secret()
    integration.save()
    template_secret = new_signing_secret()
    template = partner_delivery(world, receiver.url("/unused"), secret=template_secret).template
    Delivery.objects.all().delete()
    common = {"organization": world.app.organization, "integration": integration, "partner": partner}
    Delivery.objects.create(**common, kind="publisher", event="conversion", url=receiver.url("/pub"))
    Delivery.objects.create(**common, kind="status_sync", event="status", url=receiver.url("/sync"))
    Delivery.objects.create(
        **common, kind="test", event="partner", template=template, url=receiver.url("/test")
    )

    assert deliveries_dispatch_due() == 3

    secrets = {"/pub": publisher_secret, "/sync": sync_secret, "/test": template_secret}
    assert sorted(call.target for call in receiver.calls) == sorted(secrets)
    assert all(verified(secrets[call.target], call) for call in receiver.calls)


def test_an_unsigned_destination_gets_the_idempotency_headers_but_no_signature(world, receiver):
    delivery = partner_delivery(world, receiver.url("/pb"))

    deliveries_dispatch_due()

    [call] = receiver.calls
    assert (call.headers["Idempotency-Key"], call.headers["webhook-id"]) == (delivery.idempotency_key,) * 2
    assert "webhook-signature" not in call.headers and "webhook-timestamp" not in call.headers


def test_a_clevertap_call_carries_the_idempotency_headers_unsigned(world, receiver, settings):
    destination = CleverTapDestination(
        organization=world.app.organization, app=world.app, account_id="A", account_token="T"
    )
    destination.passcode = "pass1"
    destination.save()
    delivery = Delivery.objects.create(
        organization=world.app.organization,
        kind="clevertap",
        event="inorganic_install",
        destination=destination,
        url=receiver.url("/attribution?account_passcode=%2A%2A%2A"),
    )

    deliveries_dispatch_due()

    [call] = receiver.calls
    assert call.target == "/attribution?account_passcode=pass1"
    assert call.headers["Idempotency-Key"] == delivery.idempotency_key
    assert "webhook-signature" not in call.headers


def test_a_secret_that_no_longer_decrypts_fails_the_attempt_without_a_call(world, receiver, settings):
    delivery = partner_delivery(world, receiver.url("/pb"), secret=new_signing_secret())
    settings.SECRET_KEY = "another-secret-key-without-the-old-one-as-a-fallback-0123456789"

    deliveries_dispatch_due()

    delivery.refresh_from_db()
    with pytest.raises(crypto.UndecryptableSecret) as refusal:
        crypto.decrypt("not-a-stored-secret")
    assert (delivery.state, delivery.last_error) == (State.FAILED, str(refusal.value))
    assert delivery.attempts.get().outcome == Outcome.FAILED
    assert receiver.calls == []


# --- What people see --------------------------------------------------------------------------------


@pytest.fixture
def in_doubt_delivery(world, receiver, worker_killed_after_the_call):
    delivery = partner_delivery(world, receiver.url("/pb"))
    with pytest.raises(SystemExit):
        deliveries_dispatch_due()
    lease_runs_out(delivery)
    deliveries_dispatch_due()
    return delivery


def test_the_admin_shows_the_in_doubt_attempt_and_says_at_least_once(client, manager, in_doubt_delivery):
    client.force_login(manager)

    page = client.get(f"/admin/postbacks/delivery/{in_doubt_delivery.pk}/change/").content.decode()
    listing = client.get("/admin/postbacks/delivery/", {"in_doubt": "yes"}).content.decode()

    assert "In doubt" in page and "the receiver may or may not have got it" in page
    assert "at least once" in page and in_doubt_delivery.idempotency_key in page
    assert "(1 in doubt)" in listing


def test_the_api_shows_the_in_doubt_attempt_with_its_explanation(api_client_for, analyst, in_doubt_delivery):
    body = api_client_for(analyst).get(f"/api/v1/deliveries/{in_doubt_delivery.pk}/").json()

    assert body["idempotency_key"] == in_doubt_delivery.idempotency_key
    first, second = body["attempts"]
    assert (first["outcome"], first["explanation"]) == ("in_doubt", IN_DOUBT_EXPLANATION)
    assert first["outcome_label"].startswith("In doubt")
    assert (second["outcome"], second["explanation"]) == ("done", "")
