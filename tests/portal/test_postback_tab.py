"""The portal's Postback tab: a publisher tests its own postback and signs its calls (issue 11)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads.linkcache import outbound_config
from partners.models import Partner
from portal.services import publisher_postback_set
from postbacks.models import Delivery
from tests.receiver import running_receiver


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with running_receiver() as receiver:
        yield receiver


def set_postback(partner: Partner, url: str) -> None:
    Partner.objects.filter(pk=partner.pk).update(publisher_postback_url=url)


def postback_page(client) -> str:
    return client.get(reverse("portal:postback")).content.decode()


def test_a_publisher_tests_its_postback_and_sees_what_was_sent_and_answered(world, client_a, receiver):
    receiver.answer(200, "tracker says thanks")
    set_postback(world.a.partner, receiver.url("/pub") + "?clickid={ref_id}&payout={aff_payout}&key=k3y")

    response = client_a.post(reverse("portal:postback_test"), follow=True)

    (seen,) = receiver.seen
    assert seen.single() == {"clickid": "pub-777", "payout": "1.50", "key": "k3y"}
    text = response.content.decode()
    result = text[text.index('id="pd-last-test-result"') :]
    result = result[: result.index("</dl>")]
    assert receiver.url("/pub?clickid=pub-777&amp;payout=1.50&amp;key=***") in result
    recent = text[text.index("Recent deliveries") :]
    assert "k3y" not in result and "k3y" not in recent and "key=***" in recent
    assert re.search(r"<dt>Status</dt><dd>200</dd>", result)
    assert re.search(r"<dt>Time</dt><dd>\d+ ms</dd>", result)
    assert "tracker says thanks" in result
    assert "your server answered 200" in text
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.event, delivery.partner_id, delivery.destination_key) == (
        "test",
        "publisher",
        world.a.partner.pk,
        "",
    )
    assert delivery.attempts.get().actor == world.a.user


def test_a_failed_test_is_shown_with_its_error_and_not_retried(world, client_a, receiver):
    receiver.answer(503, "down for maintenance")
    set_postback(world.a.partner, receiver.url("/pub"))

    response = client_a.post(reverse("portal:postback_test"), follow=True)

    text = response.content.decode()
    assert "Test postback failed: The receiver answered 503" in text
    assert "down for maintenance" in text
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 1, None)


def test_a_publisher_cannot_test_another_publishers_postback(world, client_a, receiver):
    set_postback(world.a.partner, receiver.url("/alpha"))
    set_postback(world.b.partner, receiver.url("/beta"))

    client_a.post(reverse("portal:postback_test"), {"partner": world.b.partner.pk})
    staff_side = client_a.post(reverse("admin:postbacks_test_publisher", args=[world.b.partner.pk]))

    assert [seen.path for seen in receiver.seen] == ["/alpha"]
    assert staff_side.status_code == 302 and "/admin/login/" in staff_side["Location"]
    assert list(Delivery.objects.values_list("partner_id", flat=True)) == [world.a.partner.pk]


def test_the_postback_tab_lists_only_the_publishers_own_tests(world, client_a, client_b, receiver):
    set_postback(world.b.partner, receiver.url("/beta") + "?secret_marker=beta-only")
    client_b.post(reverse("portal:postback_test"))

    assert "beta-only" in postback_page(client_b)
    assert "beta-only" not in postback_page(client_a)


def test_without_a_postback_url_the_test_says_what_to_do(world, client_a, receiver):
    set_postback(world.a.partner, "")

    response = client_a.post(reverse("portal:postback_test"), follow=True)

    assert "Set the postback URL first" in response.content.decode()
    assert receiver.seen == [] and not Delivery.objects.exists()


# --- Signing secret -------------------------------------------------------------------------------


def secret_shown(text: str) -> str:
    match = re.search(r'id="pd-signing-secret">(whsec_[A-Za-z0-9+/=]+)<', text)
    return match.group(1) if match else ""


def test_a_publisher_generates_reveals_rotates_and_removes_its_signing_secret(world, client_a):
    url = reverse("portal:postback_secret")
    assert "Not signed" in postback_page(client_a)

    generated = client_a.post(url, {"signing": "generate"}, follow=True).content.decode()
    first = secret_shown(generated)
    world.a.partner.refresh_from_db()
    assert first and world.a.partner.publisher_postback_secret == first
    assert first not in world.a.partner.publisher_postback_secret_encrypted
    assert "Signing is on" in generated and "Reveal the secret" in generated

    rotated = client_a.post(url, {"signing": "rotate"}, follow=True).content.decode()
    second = secret_shown(rotated)
    assert second and second != first and first not in rotated

    removed = client_a.post(url, {"signing": "remove"}, follow=True).content.decode()
    world.a.partner.refresh_from_db()
    assert world.a.partner.publisher_postback_secret == "" and "Not signed" in removed
    assert second not in removed


def test_a_publishers_secret_is_never_shown_to_another_publisher(world, client_a, client_b):
    client_b.post(reverse("portal:postback_secret"), {"signing": "generate"})
    world.b.partner.refresh_from_db()

    assert world.b.partner.publisher_postback_secret not in postback_page(client_a)
    assert secret_shown(postback_page(client_a)) == ""


def test_the_postback_tab_shows_how_to_verify_and_deduplicate(world, client_a):
    text = postback_page(client_a)

    assert "Webhook(SECRET).verify(request.get_full_path(), request.headers, json_parse=False)" in text
    assert "Idempotency-Key" in text and "webhook-id" in text


def test_a_new_postback_url_is_used_by_the_next_lead_at_once(world, settings):
    """Saving the URL drops the integrations' cached outbound configuration (read on every lead)."""
    settings.OUTBOUND_ALLOW_PRIVATE = False
    partner = world.a.partner
    integration = partner.integrations.first()
    assert outbound_config(integration.pk).publisher_url == partner.publisher_postback_url  # now cached

    publisher_postback_set(partner=partner, url="https://pub.example/pb?clickid={ref_id}")

    assert outbound_config(integration.pk).publisher_url == "https://pub.example/pb?clickid={ref_id}"


def test_the_postback_tab_shows_one_preview_of_the_saved_url(world, client_a):
    set_postback(world.a.partner, "https://93.184.216.34/pb?clickid={ref_id}")
    page = postback_page(client_a)
    assert page.count('id="pd-postback-preview"') == 1
    assert "Preview with sample values" in page and page.count("Preview with sample values") == 1
    assert "https://93.184.216.34/pb?clickid=pub-777" in page


def test_a_refused_url_is_previewed_as_typed_not_as_saved(world, client_a):
    set_postback(world.a.partner, "https://93.184.216.34/pb?old={ref_id}")
    response = client_a.post(
        reverse("portal:postback"), {"url": "https://93.184.216.34/pb?new={ref_id}&x={nope}"}
    )
    page = response.content.decode()
    assert "Unknown macro {nope}" in page
    assert "https://93.184.216.34/pb?new=pub-777" in page
    assert "old=pub-777" not in page
