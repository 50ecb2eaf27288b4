"""Ingestion paths answer JSON for 404, 405, 414 and a crash; other pages keep Django's HTML."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from config import views
from ingest.middleware import IngestionErrorsMiddleware
from ingest.models import InboundPostback
from tests.factories import TrackingLinkFactory

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["ok"] is False and body["error"]
    return body


@pytest.mark.parametrize(
    "path",
    ["/postback/leads", "/postback/lead/", "/api/site/other.json", "/c/", "/i/", "/c/code/extra"],
)
def test_an_unknown_ingestion_path_is_a_404_json_naming_the_endpoints(client, path):
    body = assert_json_error(client.post(path, {"token": "t"}), 404)

    assert "/postback/lead" in body["error"]


@override_settings(DEBUG=True)
def test_an_unknown_ingestion_path_is_json_even_with_debug_on(client):
    assert_json_error(client.get("/postback/nope"), 404)


def test_a_trailing_slash_is_not_redirected_on_ingestion_paths(client):
    assert_json_error(client.get("/postback/status/?token=t"), 404)


def test_other_paths_keep_the_slash_redirect_and_html_404(client):
    assert client.get("/api/v1/partners").status_code == 301
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/clicks", "GET, POST"),
        ("delete", "/api/v1/impressions", "GET, POST"),
        ("post", "/c/some-code", "GET, HEAD"),
        ("post", "/i/some-code", "GET, HEAD"),
    ],
)
def test_a_wrong_method_is_a_405_json_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)

    body = assert_json_error(response, 405)
    assert response["Allow"] == allowed
    assert method.upper() in body["error"] and allowed in body["error"]


def test_a_url_over_the_limit_is_a_414_json(client, settings):
    response = client.get("/postback/lead?token=t&click=" + "x" * settings.INGEST_MAX_URL_LENGTH)

    assert "too long" in assert_json_error(response, 414)["error"]


def test_a_long_url_under_the_limit_reaches_the_endpoint(client):
    query = "&".join(f"sub{i}={'s' * 150}" for i in range(45))  # 7,000 characters, no token

    body = assert_json_error(client.get(f"/postback/lead?{query}"), 401)

    assert "Missing token" in body["error"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_djangos_request_size_limit_raised_in_a_view_is_a_413_json():
    middleware = IngestionErrorsMiddleware(lambda request: HttpResponse())

    response = middleware.process_exception(RequestFactory().post("/api/v1/clicks"), RequestDataTooBig())

    assert "at most 1 kB" in assert_json_error(response, 413)["error"]


@pytest.mark.django_db
def test_a_crash_outside_a_view_on_an_ingestion_path_is_a_503_json_and_kept():
    response = views.server_error(RequestFactory().get("/postback/lead?exto=X-1"))

    assert "try again" in assert_json_error(response, 503)["error"]
    assert response["Retry-After"] == "30"
    kept = InboundPostback.objects.get()
    assert (kept.outcome, kept.endpoint, kept.params["exto"]) == ("failed", "lead", "X-1")


@pytest.mark.django_db
def test_a_request_django_finds_suspicious_is_a_400_logged_as_rejected(client):
    link = TrackingLinkFactory()
    many = "&".join(["a=1"] * 1100)  # over DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)

    response = client.get(f"/c/{link.code}?{many}")

    assert "malformed" in assert_json_error(response, 400)["error"]
    assert InboundPostback.objects.get().outcome == "rejected"


@pytest.mark.django_db
def test_a_token_in_a_body_we_cannot_parse_is_masked_in_the_log(client):
    body = '{"token": "SECRET-TOKEN-123", "a": ' + '{"a": ' * 100 + "1" + "}" * 101

    client.post("/postback/lead?exto=Y-1", body, content_type="application/json")

    kept = InboundPostback.objects.get()
    assert "SECRET-TOKEN-123" not in kept.body
    assert kept.params == {"exto": "Y-1"}


def test_a_crash_elsewhere_is_djangos_500_page():
    response = views.server_error(RequestFactory().get("/portal/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
