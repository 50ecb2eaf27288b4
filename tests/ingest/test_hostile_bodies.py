"""Hostile bodies on every ingestion endpoint and on the management API: refused in JSON, and logged.

Nested JSON used to end in a RecursionError (an HTML 500, nothing logged); a large body was
read whole. Each is now a 400 or 413 answer a partner can act on, and the inbound log keeps it.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from ingest.models import InboundPostback

ENDPOINTS = [
    "/postback/lead",
    "/postback/status",
    "/api/v1/conversions",
    "/api/v1/clicks",
    "/api/v1/impressions",
]
NESTED = '{"a":' * 6000 + "1" + "}" * 6000  # 30 kB


def post(client, path: str, body: bytes | str, content_type: str):
    return client.post(f"{path}?token=t", data=body, content_type=content_type)


def assert_refused_and_logged(response, status: int, sentence: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["ok"] is False and sentence in body["error"]
    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.http_status) == ("rejected", status)
    assert sentence in inbound.reason


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_deeply_nested_json_is_400_and_logged(client, path):
    response = post(client, path, NESTED, "application/json")

    assert_refused_and_logged(response, 400, "nests deeper than 32 levels")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_two_megabyte_body_is_413_and_logged(client, path):
    response = post(client, path, "a=" + "x" * 2_000_000, "application/x-www-form-urlencoded")

    assert_refused_and_logged(response, 413, "The body is too large")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_that_is_not_utf8_is_400_and_logged(client, path):
    response = post(client, path, "click=café".encode("latin-1"), "application/x-www-form-urlencoded")

    assert_refused_and_logged(response, 400, "not valid UTF-8")


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_djangos_request_size_limit_on_an_ingestion_path_is_a_413_json(client):
    response = post(client, "/postback/lead", "a=" + "x" * 4000, "application/x-www-form-urlencoded")

    assert_refused_and_logged(response, 413, "at most 1 kB")


def test_deeply_nested_json_on_a_management_api_write_is_400_json(manager, api_client_for):
    response = api_client_for(manager).post("/api/v1/partners/", NESTED, content_type="application/json")

    assert response.status_code == 400
    assert "nests deeper than 32 levels" in response.json()["detail"]


def test_a_management_api_body_that_is_not_utf8_is_400_json(manager, api_client_for):
    body = '{"name": "café"}'.encode("latin-1")

    response = api_client_for(manager).post("/api/v1/partners/", body, content_type="application/json")

    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["detail"]


def test_a_management_api_form_that_is_not_utf8_is_400_json(manager, api_client_for):
    body = "name=caf\u00e9".encode("latin-1")

    response = api_client_for(manager).post(
        "/api/v1/partners/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_management_api_body_over_djangos_limit_is_413_json(manager, api_client_for):
    body = '{"name": "%s"}' % ("x" * 4000)

    response = api_client_for(manager).post("/api/v1/partners/", body, content_type="application/json")

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
