"""Auto-pause (SPEC 5): a destination that fails for good N times in a row waits until resumed.

Failures are made two ways: rows written as they end up (fast, for the counting rules) and real
calls through the sending core to the local receiver on 127.0.0.1 answering 400 or 500, which
pause the destination by themselves (the core checks after recording final failures).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Role
from leads.models import Lead, LeadEvent, LeadStatus
from leads.services import lead_set_status
from partners.models import Integration, Partner, PostbackTemplate
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.pausing import (
    ResumeRefused,
    destination_load,
    destination_resume,
    destinations_check_failures,
    integration_destinations,
)
from postbacks.services import (
    CleverTapSettings,
    clevertap_destination_save,
    deliveries_dispatch_due,
    deliveries_due,
    delivery_attempt,
    delivery_resend,
)
from tests.factories import MembershipFactory, OrganizationFactory
from tests.ingest.test_postback_support import make_world

State = Delivery.State
ERROR = "The receiver answered 500 Internal Server Error."


@pytest.fixture(autouse=True)
def _embedded(settings):
    """No broker (the embedded dispatcher sends), local receivers allowed, retries compressed."""
    settings.CELERY_BROKER_URL = "memory://"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.OUTBOUND_TIME_SCALE = 0.0001
    settings.POSTBACK_PAUSE_AFTER_FAILURES = 10
    settings.POSTBACK_PAUSE_WINDOW_HOURS = 72
    settings.PUBLIC_BASE_URL = "https://desk.example"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def template(world, httpserver):
    return PostbackTemplate.objects.create(
        integration=world.integration, url=httpserver.url_for("/pb") + "?cid={click_id}"
    )


def key_of(template: PostbackTemplate) -> str:
    return f"template:{template.pk}"


def finished(
    template: PostbackTemplate, count: int, *, state=State.FAILED, hours_ago: float = 0
) -> list[int]:
    """`count` deliveries to the template that ended `hours_ago` in `state`, as sending leaves them."""
    rows = Delivery.objects.bulk_create(
        Delivery(
            organization_id=template.integration.organization_id,
            kind=Delivery.Kind.PARTNER,
            event="conversion",
            integration=template.integration,
            partner_id=template.integration.partner_id,
            template=template,
            url=f"{template.url}&n={n}",
            destination_key=key_of(template),
            state=state,
            attempt_count=1,
            last_status_code=500 if state == State.FAILED else 200,
            last_error=ERROR if state == State.FAILED else "",
            next_attempt_at=None,
        )
        for n in range(count)
    )
    ids = [row.pk for row in rows]
    Delivery.objects.filter(pk__in=ids).update(updated_at=timezone.now() - timedelta(hours=hours_ago))
    return ids


def resume(template: PostbackTemplate) -> int:
    organization_id = template.integration.organization_id
    return destination_resume(destination=destination_load(key_of(template), organization_id=organization_id))


def create_lead(client, world, **params) -> Lead:
    query = {"token": world.token, "click": world.click(gaid="38400000-8cf0-11bd-b23e-10b96e40000d").click_id}
    response = client.get("/postback/lead", {**query, **params})
    assert response.status_code == 200, response.content
    return Lead.objects.get(pk=response.json()["lead"]["id"])


def settle(seconds: float = 20) -> None:
    """Run the dispatcher until nothing is pending (retry delays are compressed by the time scale)."""
    deadline = time.monotonic() + seconds
    while Delivery.objects.filter(state__in=[State.PENDING, State.SENDING]).exists():
        assert time.monotonic() < deadline, "deliveries still pending"
        deliveries_dispatch_due()
        time.sleep(0.01)


# --- When a destination is paused ---------------------------------------------------------------


def test_ten_failures_in_a_row_pause_the_template_with_the_last_error(template):
    ids = finished(template, 10)

    assert destinations_check_failures(ids) == [key_of(template)]

    template.refresh_from_db()
    assert template.paused_at is not None
    assert template.pause_reason == ERROR


def test_nine_failures_do_not_pause(template):
    assert destinations_check_failures(finished(template, 9)) == []

    template.refresh_from_db()
    assert template.paused_at is None


def test_a_success_in_between_does_not_pause(template):
    finished(template, 5, hours_ago=3)
    finished(template, 1, state=State.DONE, hours_ago=2)
    ids = finished(template, 9, hours_ago=1)

    assert destinations_check_failures(ids) == []


def test_failures_older_than_the_window_do_not_pause(template):
    finished(template, 9, hours_ago=73)
    ids = finished(template, 1)

    assert destinations_check_failures(ids) == []


def test_failures_all_within_the_window_pause(template):
    finished(template, 9, hours_ago=71)
    ids = finished(template, 1)

    assert destinations_check_failures(ids) == [key_of(template)]


def test_zero_turns_pausing_off(settings, template):
    settings.POSTBACK_PAUSE_AFTER_FAILURES = 0

    assert destinations_check_failures(finished(template, 50)) == []


def test_test_sends_never_count(template):
    ids = finished(template, 10)
    Delivery.objects.filter(pk__in=ids[:1]).update(kind=Delivery.Kind.TEST, event="partner")

    assert destinations_check_failures(ids) == []


def test_pausing_holds_back_the_destinations_pending_deliveries(template):
    waiting = finished(template, 2, state=State.PENDING)
    Delivery.objects.filter(pk__in=waiting).update(next_attempt_at=timezone.now())

    destinations_check_failures(finished(template, 10))

    assert set(Delivery.objects.filter(pk__in=waiting).values_list("state", flat=True)) == {State.PAUSED}
    assert deliveries_due() == []


# --- The email ---------------------------------------------------------------------------------


def test_the_organizations_admins_and_managers_are_emailed_once(
    organization, admin_user, manager, analyst, world, template, django_capture_on_commit_callbacks
):
    ids = finished(template, 10)

    with django_capture_on_commit_callbacks(execute=True):
        destinations_check_failures(ids)
        destinations_check_failures(ids)

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == sorted([admin_user.email, manager.email])
    partner = world.integration.partner.name
    assert email.subject == f"Paused: Partner postback to {partner} (install, conversion)"
    assert ERROR in email.body and "after 10 deliveries in a row failed for good" in email.body
    assert "Resume and re-send" in email.body
    assert f"https://desk.example/admin/partners/integration/{world.integration.pk}/change/" in email.body


def test_no_email_goes_to_another_organization(world, template, manager, django_capture_on_commit_callbacks):
    MembershipFactory(organization=OrganizationFactory(), role=Role.MANAGER, user__username="elsewhere")

    with django_capture_on_commit_callbacks(execute=True):
        destinations_check_failures(finished(template, 10))

    assert [email.to for email in mail.outbox] == [[manager.email]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time, so nothing races",
)
def test_two_workers_checking_at_once_pause_once_and_send_one_email(httpserver):
    organization = OrganizationFactory()
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="manager")
    world = make_world(organization)
    template = PostbackTemplate.objects.create(integration=world.integration, url=httpserver.url_for("/pb"))
    ids = finished(template, 10)
    barrier = threading.Barrier(4)
    paused: list[list[str]] = []

    def worker() -> None:
        try:
            barrier.wait()
            paused.append(destinations_check_failures(ids))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(paused) == [[], [], [], [key_of(template)]]
    assert len(mail.outbox) == 1


# --- New deliveries wait ------------------------------------------------------------------------


def test_a_lead_for_a_paused_template_waits_as_paused_and_is_not_sent(client, world, template, httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    create_lead(client, world)  # the outbound configuration is cached now, unpaused
    settle()
    destinations_check_failures(finished(template, 10))
    httpserver.clear_log()

    lead = create_lead(client, world)
    settle()

    delivery = Delivery.objects.get(lead=lead)
    assert (delivery.state, delivery.destination_key, delivery.claimed_by) == (
        State.PAUSED,
        key_of(template),
        "",
    )
    assert httpserver.log == []


def test_every_kind_of_destination_is_named_and_waits_while_paused(client, world, httpserver, settings):
    settings.CLEVERTAP_BASE_URL = httpserver.url_for("/")
    clevertap = clevertap_destination_save(
        app=world.app,
        values=CleverTapSettings(account_id="A1", account_token="t1", passcode="p1", partner_name="pd"),
    )
    partner, integration = world.integration.partner, world.integration
    partner.publisher_postback_url = httpserver.url_for("/pub") + "?c={ref_id}"
    partner.save()
    integration.status_sync_url = httpserver.url_for("/sync") + "?s={status}"
    integration.save()
    now = timezone.now()
    Partner.objects.filter(pk=partner.pk).update(publisher_postback_paused_at=now)
    Integration.objects.filter(pk=integration.pk).update(status_sync_paused_at=now)
    CleverTapDestination.objects.filter(pk=clevertap.pk).update(paused_at=now)

    lead = create_lead(client, world, ct_id="__g1")
    lead_set_status(lead=lead, status=LeadStatus.APPROVED, source=LeadEvent.Source.API)

    assert sorted(Delivery.objects.filter(lead=lead).values_list("kind", "destination_key", "state")) == [
        ("clevertap", f"clevertap:{clevertap.pk}", State.PAUSED),
        ("publisher", f"publisher:{partner.pk}", State.PAUSED),
        ("publisher", f"publisher:{partner.pk}", State.PAUSED),
        ("status_sync", f"status_sync:{integration.pk}", State.PAUSED),
    ]
    assert deliveries_due() == []


# --- Through the sending core -------------------------------------------------------------------


def fail_through_the_sending_core(client, world, template, httpserver, status: int) -> list[int]:
    """Three leads whose postbacks the receiver refuses with `status` until they fail for good."""
    httpserver.expect_request("/pb").respond_with_data("down", status=status)
    for _ in range(3):
        create_lead(client, world)
    ids = list(Delivery.objects.values_list("pk", flat=True))
    if status < 500:
        for delivery_id in ids:
            delivery_attempt(delivery_id=delivery_id)
    else:
        settle()
    return ids


@pytest.mark.parametrize("status", [400, 500])
def test_final_failures_of_real_calls_pause_the_template(
    client, world, template, httpserver, settings, status
):
    settings.POSTBACK_PAUSE_AFTER_FAILURES = 3
    ids = fail_through_the_sending_core(client, world, template, httpserver, status)

    assert set(Delivery.objects.values_list("state", flat=True)) == {State.FAILED}
    # The sending core paused it as the third failure was recorded: nothing left to pause.
    template.refresh_from_db()
    assert template.paused_at is not None
    assert template.pause_reason.startswith(f"The receiver answered {status}")
    assert destinations_check_failures(ids) == []


def test_resume_sends_what_waited_and_re_sends_what_failed(client, world, template, httpserver, settings):
    settings.POSTBACK_PAUSE_AFTER_FAILURES = 3
    ids = fail_through_the_sending_core(client, world, template, httpserver, 400)
    waiting = create_lead(client, world)
    httpserver.clear()
    httpserver.expect_request("/pb").respond_with_data("ok")

    count = destination_resume(
        destination=destination_load(key_of(template), organization_id=world.app.organization_id)
    )
    settle()

    assert count == 4
    template.refresh_from_db()
    assert (template.paused_at, template.pause_reason) == (None, "")
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.DONE}
    assert len(httpserver.log) == 4
    assert Delivery.objects.get(lead=waiting).attempt_count == 1
    # The re-sent ones keep their failed attempt: the new one is attempt 2.
    assert sorted(DeliveryAttempt.objects.filter(delivery_id__in=ids).values_list("number", "outcome")) == [
        (1, "failed"),
        (1, "failed"),
        (1, "failed"),
        (2, "done"),
        (2, "done"),
        (2, "done"),
    ]


def test_resume_leaves_failures_from_before_the_streak_alone(template):
    older = finished(template, 2, hours_ago=5)
    finished(template, 1, state=State.DONE, hours_ago=4)
    destinations_check_failures(finished(template, 10, hours_ago=1))

    count = destination_resume(
        destination=destination_load(key_of(template), organization_id=template.integration.organization_id)
    )

    assert count == 10
    assert set(Delivery.objects.filter(pk__in=older).values_list("state", flat=True)) == {State.FAILED}


def test_a_destination_that_is_not_paused_cannot_be_resumed(template):
    destination = destination_load(key_of(template), organization_id=template.integration.organization_id)

    with pytest.raises(ResumeRefused, match="is not paused"):
        destination_resume(destination=destination)


def test_another_organizations_destination_is_not_found(template, other_organization):
    assert destination_load(key_of(template), organization_id=other_organization.pk) is None


def test_the_integration_lists_its_destinations(world, template):
    partner = world.integration.partner
    partner.publisher_postback_url = "https://pub.example/pb"
    partner.save()

    keys = [d.key for d in integration_destinations(world.integration)]

    assert keys == [key_of(template), f"publisher:{partner.pk}"]


# --- The integration page, the admin and the API ------------------------------------------------


@pytest.fixture
def paused(template):
    destinations_check_failures(finished(template, 10))
    template.refresh_from_db()
    return template


def integration_page(client, user, integration) -> str:
    client.force_login(user)
    response = client.get(f"/admin/partners/integration/{integration.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_manager_sees_the_banner_with_the_reason_and_the_resume_button(client, manager, world, paused):
    page = integration_page(client, manager, world.integration)

    assert f"Paused: Partner postback to {world.integration.partner.name} (install, conversion)" in page
    assert ERROR in page
    assert "Resume and re-send" in page
    assert f'value="{key_of(paused)}"' in page


def test_an_analyst_sees_the_banner_without_the_button(client, analyst, world, paused):
    page = integration_page(client, analyst, world.integration)

    assert "Paused: Partner postback" in page and ERROR in page
    assert "Resume and re-send" not in page
    assert "An admin or a manager can resume it." in page


def test_no_banner_while_nothing_is_paused(client, manager, world, template):
    assert "Paused:" not in integration_page(client, manager, world.integration)


def test_the_banner_shows_the_partners_paused_publisher_postback(client, manager, world):
    partner = world.integration.partner
    Partner.objects.filter(pk=partner.pk).update(
        publisher_postback_url="https://pub.example/pb",
        publisher_postback_paused_at=timezone.now(),
        publisher_postback_pause_reason="Could not connect to the receiver: Connection refused.",
    )

    page = integration_page(client, manager, world.integration)

    assert f"Paused: Publisher postback of {partner.name}" in page
    assert "Could not connect to the receiver: Connection refused." in page


def test_the_banners_button_resumes_and_says_how_many_go_out_again(client, manager, world, paused):
    client.force_login(manager)
    url = f"/admin/partners/integration/{world.integration.pk}/resume/"

    response = client.post(url, {"destination": key_of(paused)}, follow=True)

    assert "Resumed: 10 deliveries will be sent again." in response.content.decode()
    paused.refresh_from_db()
    assert paused.paused_at is None
    assert Delivery.objects.filter(state=State.PENDING).count() == 10
    assert "Paused:" not in response.content.decode()


def test_an_analyst_cannot_resume(client, analyst, world, paused):
    client.force_login(analyst)

    response = client.post(
        f"/admin/partners/integration/{world.integration.pk}/resume/", {"destination": key_of(paused)}
    )

    assert response.status_code == 403
    paused.refresh_from_db()
    assert paused.paused_at is not None


def test_a_destination_of_another_integration_is_not_resumed_from_this_page(client, manager, world, paused):
    other = make_world(world.app.organization)
    client.force_login(manager)

    response = client.post(
        f"/admin/partners/integration/{other.integration.pk}/resume/",
        {"destination": key_of(paused)},
        follow=True,
    )

    assert "That is not a destination of this integration" in response.content.decode()
    paused.refresh_from_db()
    assert paused.paused_at is not None


def test_the_delivery_list_filters_by_the_paused_state(client, manager, world, paused):
    create_lead(client, world)
    client.force_login(manager)

    listing = client.get("/admin/postbacks/delivery/")
    filtered = client.get("/admin/postbacks/delivery/", {"state__exact": "paused"})

    assert "?state__exact=paused" in listing.content.decode()
    assert "Paused (destination paused)" in listing.content.decode()
    assert filtered.context["cl"].result_count == 1


def resume_url(integration) -> str:
    return f"/api/v1/integrations/{integration.pk}/resume/"


def test_the_api_resumes_a_paused_destination(api_client_for, manager, world, paused):
    response = api_client_for(manager).post(
        resume_url(world.integration), {"destination": key_of(paused)}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "destination": key_of(paused),
        "resent": 10,
        "detail": "Resumed: 10 deliveries will be sent again.",
    }
    paused.refresh_from_db()
    assert paused.paused_at is None


def test_the_api_refuses_an_analyst(api_client_for, analyst, world, paused):
    response = api_client_for(analyst).post(
        resume_url(world.integration), {"destination": key_of(paused)}, format="json"
    )

    assert response.status_code == 403


def test_the_api_names_the_integrations_destinations_for_an_unknown_key(
    api_client_for, manager, world, paused
):
    response = api_client_for(manager).post(
        resume_url(world.integration), {"destination": "template:999999"}, format="json"
    )

    assert response.status_code == 400
    assert key_of(paused) in response.json()["destination"][0]


def test_the_api_answers_409_when_the_destination_is_not_paused(api_client_for, manager, world, template):
    response = api_client_for(manager).post(
        resume_url(world.integration), {"destination": key_of(template)}, format="json"
    )

    assert response.status_code == 409
    assert "is not paused" in response.json()["detail"]


def test_the_api_does_not_find_another_organizations_integration(
    api_client_for, world, paused, other_organization
):
    stranger = MembershipFactory(
        organization=other_organization, role=Role.MANAGER, user__username="stranger"
    ).user

    response = api_client_for(stranger).post(
        resume_url(world.integration), {"destination": key_of(paused)}, format="json"
    )

    assert response.status_code == 404


# --- A pause made in another process ------------------------------------------------------------


def test_a_pause_the_cached_configuration_does_not_know_yet_parks_the_delivery_unsent(
    client, world, template, httpserver
):
    """A worker pauses; a web process's cached configuration still shows the template running
    (no signal reaches it). The lead's delivery is written pending, and the sending core parks it."""
    httpserver.expect_request("/pb").respond_with_data("ok")
    create_lead(client, world)
    settle()  # the configuration is cached now, the template running
    PostbackTemplate.objects.filter(pk=template.pk).update(paused_at=timezone.now(), pause_reason="Down.")

    lead = create_lead(client, world)
    assert Delivery.objects.get(lead=lead).state == State.PENDING  # planned from the stale cache
    deliveries_dispatch_due()

    delivery = Delivery.objects.get(lead=lead)
    assert (delivery.state, delivery.attempt_count, delivery.attempts.count()) == (State.PAUSED, 0, 0)
    assert len(httpserver.log) == 1  # only the first lead's call
    assert resume(template) == 1
    settle()
    assert Delivery.objects.get(lead=lead).state == State.DONE
    assert len(httpserver.log) == 2


def test_a_resume_the_cached_configuration_does_not_know_yet_still_sends(client, world, template, httpserver):
    """The cached configuration still shows the template paused after a resume made elsewhere:
    the pause is read again before a delivery is written as waiting."""
    httpserver.expect_request("/pb").respond_with_data("ok")
    PostbackTemplate.objects.filter(pk=template.pk).update(paused_at=timezone.now(), pause_reason="Down.")
    create_lead(client, world)  # cached: paused
    PostbackTemplate.objects.filter(pk=template.pk).update(paused_at=None, pause_reason="")

    lead = create_lead(client, world)
    assert Delivery.objects.get(lead=lead).state == State.PENDING
    settle()
    assert Delivery.objects.get(lead=lead).state == State.DONE


def test_a_manual_re_send_of_a_paused_destinations_delivery_is_sent(
    client, world, template, httpserver, manager
):
    """A manager's re-send is deliberate: it goes out even while the destination is paused."""
    httpserver.expect_request("/pb").respond_with_data("ok")
    [delivery_id] = finished(template, 1)
    PostbackTemplate.objects.filter(pk=template.pk).update(paused_at=timezone.now(), pause_reason="Down.")

    attempt = delivery_resend(delivery=Delivery.objects.get(pk=delivery_id), actor=manager)

    assert attempt.outcome == "done"
    assert len(httpserver.log) == 1
