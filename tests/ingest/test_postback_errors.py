"""Postbacks refused before or during processing: token, scope, bad input; and the query budget."""

from __future__ import annotations

import pytest

from accounts.models import Organization
from ingest.models import InboundPostback
from leads.models import Click, Lead
from tests.ingest.test_postback_support import get_json, make_world

LEAD = "/api/site/click.json"
STATUS = "/api/site/status.json"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def click(world):
    return world.click()


def test_missing_token_is_401_and_nothing_is_written(client, world, click):
    status, body = get_json(client, f"{LEAD}?click={click.click_id}")

    assert status == 401
    assert body == {"ok": False, "error": "Missing token: send token=<your app's token>."}
    assert not Lead.objects.exists()


def test_wrong_token_is_401_and_nothing_is_written(client, world, click):
    click_count = Click.objects.count()

    status, body = get_json(client, f"{LEAD}?token=wrong&click={click.click_id}")

    assert status == 401 and body["ok"] is False
    assert not Lead.objects.exists()
    assert Click.objects.count() == click_count


def test_wrong_token_is_logged_as_rejected_without_an_organization(client, world, click):
    get_json(client, f"{LEAD}?token=wrong-token-value&click={click.click_id}")

    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.http_status, inbound.organization) == ("rejected", 401, None)
    assert inbound.params["token"] == "wron…"


def test_another_apps_token_gets_404_exactly_like_an_unknown_click(client, world, click):
    other = make_world(Organization.objects.create(name="Other", slug="other-org"))

    foreign = client.get(other.url(LEAD, click=click.click_id))
    unknown = client.get(other.url(LEAD, click=click.click_id.swapcase()))

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.content.replace(click.click_id.encode(), b"X") == unknown.content.replace(
        click.click_id.swapcase().encode(), b"X"
    )
    assert not Lead.objects.exists()


def test_another_apps_token_cannot_name_this_apps_flow(client, world):
    other = make_world(Organization.objects.create(name="Other", slug="other-org"))

    status, _ = get_json(client, other.url(LEAD, flow=world.link.pk))

    assert status == 404


def test_unknown_click_is_404_with_a_sentence(client, world):
    status, body = get_json(client, world.url(LEAD, click="nope"))

    assert status == 404
    assert body["error"] == "Click not found: “nope” is not a click of this token's app."


def test_empty_request_is_401_for_the_missing_token(client, world):
    status, body = get_json(client, LEAD)

    assert status == 401 and body["ok"] is False


def test_no_click_and_no_flow_is_400(client, world):
    status, body = get_json(client, world.url(LEAD))

    assert status == 400
    assert "send click" in body["error"]


def test_non_utf8_query_is_400_with_a_sentence(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, exto="%FF"))

    assert status == 400
    assert "UTF-8" in body["error"]
    assert InboundPostback.objects.get().outcome == "rejected"


def test_oversized_value_is_400(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, exto="x" * 3000))

    assert status == 400 and body["ok"] is False


def test_oversized_body_is_413(client, world):
    response = client.post(LEAD, data="a=" + "x" * 70000, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_malformed_json_is_400(client, world):
    response = client.post(LEAD, data='{"token": ', content_type="application/json")

    assert response.status_code == 400
    assert "malformed" in response.json()["error"]


def test_exto_longer_than_the_column_is_400(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, exto="e" * 300))

    assert status == 400 and "exto" in body["error"]


@pytest.mark.parametrize("value", ["abc", "1,5", "-3", "NaN", "Infinity", "1e20"])
def test_bad_money_is_400_naming_the_value(client, world, click, value):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, pay=value))

    assert status == 400
    assert body["ok"] is False and value in body["error"]
    assert not Lead.objects.exists()


def test_bad_currency_is_400(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, pay=1, cc="EURO"))

    assert status == 400 and "cc" in body["error"]


def test_non_numeric_flow_is_400(client, world):
    status, body = get_json(client, world.url(LEAD, flow="abc"))

    assert status == 400 and "flow" in body["error"]


def test_status_without_status_is_400(client, world, click):
    status, body = get_json(client, world.url("/api/site/status.json", click=click.click_id))

    assert status == 400 and "Missing status" in body["error"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_405_json(client, world, method):
    response = getattr(client, method)(LEAD)

    assert response.status_code == 405
    assert response.json()["ok"] is False
    assert response["Allow"] == "GET, POST"


def test_rejected_postback_keeps_the_reason_it_was_given(client, world, click):
    _, body = get_json(client, world.url(LEAD, click=click.click_id, goal="nope"))

    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.http_status, inbound.reason) == ("rejected", 422, body["error"])


def test_lead_creation_costs_four_statements(client, world, click, django_assert_num_queries):
    client.get(world.url(LEAD, click=click.click_id, exto="warm"))  # warms the token, goal, screening caches
    url = world.url(LEAD, click=click.click_id, exto="q1")

    # Budget 4: the click, the lead's INSERT (ON CONFLICT DO NOTHING: no savepoint), the inbound
    # log row and the creation event. The token, the offer's goals, the integration's screening
    # and outbound configuration come from the cache; no rollup is written in the request (the
    # fold reads the events later). Inside the test's transaction the service's BEGIN and
    # COMMIT show up as a savepoint and its release.
    with django_assert_num_queries(4 + 2):
        response = client.get(url)

    assert response.json()["created"] is True


def test_a_status_change_costs_four_statements(client, world, click, django_assert_num_queries):
    client.get(world.url(LEAD, click=click.click_id, exto="q1"))
    client.get(world.url(STATUS, click=click.click_id, exto="q1", status="hold"))  # warms the caches

    # Budget 4: the lead with its click and goal (one query finds them, locked), the lead's
    # UPDATE, the inbound log row and the status event. Plus the savepoint and release of the
    # service's transaction inside the test's.
    with django_assert_num_queries(4 + 2):
        response = client.get(world.url(STATUS, click=click.click_id, exto="q1", status="approved"))

    assert response.json()["lead"]["status"] == "approved"
