"""The Postback tab while the publisher's postback is paused (SPEC 5, 6): a notice, and its own Resume."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_httpserver import HTTPServer

from partners.models import Partner
from postbacks.models import Delivery
from postbacks.services import deliveries_dispatch_due
from tests.reports.builders import make_world

State = Delivery.State
REASON = "The receiver answered 503 Service Unavailable."


@pytest.fixture(autouse=True)
def _embedded(settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.POSTBACK_PAUSE_AFTER_FAILURES = 10


@pytest.fixture
def receiver():
    """A real HTTP receiver on 127.0.0.1: the publisher's endpoint."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publishers(db):
    return make_world()


def pause(partner: Partner) -> None:
    Partner.objects.filter(pk=partner.pk).update(
        publisher_postback_url="https://pub.example/pb?c={ref_id}",
        publisher_postback_paused_at=timezone.now(),
        publisher_postback_pause_reason=REASON,
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def waiting(partner: Partner, url: str, count: int, *, state: str = State.PAUSED) -> list[int]:
    """Postbacks to the publisher that wait (paused) or failed for good, as pausing leaves them."""
    rows = Delivery.objects.bulk_create(
        Delivery(
            organization_id=partner.organization_id,
            kind=Delivery.Kind.PUBLISHER,
            event="conversion",
            partner=partner,
            url=f"{url}?n={n}",
            destination_key=f"publisher:{partner.pk}",
            state=state,
            next_attempt_at=None,
        )
        for n in range(count)
    )
    return [row.pk for row in rows]


def test_the_postback_tab_says_the_postback_is_paused_why_and_since_when(publishers):
    pause(publishers.a.partner)

    page = logged_in(publishers.a.membership.user).get(reverse("portal:postback")).content.decode()

    assert "Your postback is paused since" in page
    assert f"after 10 failures in a row: <strong>{REASON}</strong>" in page
    assert "Fix your endpoint, then press Resume" in page
    assert "Resume and re-send" in page


def test_no_notice_while_the_postback_runs(publishers):
    page = logged_in(publishers.a.membership.user).get(reverse("portal:postback")).content.decode()

    assert "Your postback is paused" not in page


def test_the_publisher_resumes_its_own_postback_and_what_waited_is_sent(publishers, receiver):
    partner = publishers.a.partner
    pause(partner)
    receiver.expect_request("/pb").respond_with_data("ok")
    ids = waiting(partner, receiver.url_for("/pb"), 2)

    response = logged_in(publishers.a.membership.user).post(reverse("portal:postback_resume"), follow=True)
    deliveries_dispatch_due()

    assert "Resumed: 2 deliveries will be sent again." in response.content.decode()
    assert "Your postback is paused" not in response.content.decode()
    partner.refresh_from_db()
    assert partner.publisher_postback_paused_at is None
    assert set(Delivery.objects.filter(pk__in=ids).values_list("state", flat=True)) == {State.DONE}
    assert len(receiver.log) == 2


def test_a_publisher_resumes_only_its_own_postback(publishers):
    pause(publishers.b.partner)

    response = logged_in(publishers.a.membership.user).post(reverse("portal:postback_resume"), follow=True)

    assert "is not paused: there is nothing to resume" in response.content.decode()
    assert Partner.objects.get(pk=publishers.b.partner.pk).publisher_postback_paused_at is not None


def test_resuming_is_a_post(publishers):
    pause(publishers.a.partner)

    response = logged_in(publishers.a.membership.user).get(reverse("portal:postback_resume"))

    assert response.status_code == 405
    assert Partner.objects.get(pk=publishers.a.partner.pk).publisher_postback_paused_at is not None
