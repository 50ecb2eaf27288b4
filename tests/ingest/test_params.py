"""Reading ingestion parameters from every shape of request."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from ingest.params import BadParameters, request_params

factory = RequestFactory()


def test_query_form_and_json_parameters_are_read_alike():
    assert request_params(factory.get("/x", {"click": "a", "exto": "1"})) == {"click": "a", "exto": "1"}
    assert request_params(
        factory.post("/x", "click=a&exto=1", content_type="application/x-www-form-urlencoded")
    ) == {
        "click": "a",
        "exto": "1",
    }
    assert request_params(
        factory.post("/x", {"click": "a", "n": 2, "ok": True}, content_type="application/json")
    ) == {
        "click": "a",
        "n": "2",
        "ok": "true",
    }


def test_multipart_form_fields_are_read_too():
    request = factory.post("/x?token=t", {"click": "a", "exto": "9"})  # multipart by default

    assert request_params(request) == {"token": "t", "click": "a", "exto": "9"}


def test_body_values_win_over_query_values_of_the_same_name():
    request = factory.post(
        "/x?status=hold", "status=approved", content_type="application/x-www-form-urlencoded"
    )

    assert request_params(request)["status"] == "approved"


@pytest.mark.parametrize(
    ("request_", "sentence"),
    [
        (factory.get("/x?click=%FF"), "not valid UTF-8"),
        (factory.post("/x", "{not json", content_type="application/json"), "JSON body is malformed"),
        (factory.post("/x", "[1, 2]", content_type="application/json"), "must be an object"),
        (factory.post("/x", '{"a": {"b": 1}}', content_type="application/json"), "plain value"),
        (factory.post("/x", "[" * 5000 + "]" * 5000, content_type="application/json"), "nests deeper"),
        (factory.get("/x", {"click": "x" * 2001}), "longer than 2000 characters"),
        (factory.get("/x?" + "&".join(f"p{i}=1" for i in range(101))), "Too many parameters"),
        (factory.get("/x?click=a%00b"), "NUL character"),
    ],
)
def test_unreadable_parameters_are_refused_with_a_sentence(request_, sentence):
    with pytest.raises(BadParameters, match=sentence):
        request_params(request_)


def test_unreadable_parameters_are_a_400_and_a_body_too_large_a_413(settings):
    settings.INGEST_MAX_BODY_BYTES = 1024
    form = "application/x-www-form-urlencoded"

    with pytest.raises(BadParameters) as unreadable:
        request_params(factory.post("/x", b"click=\xff", content_type=form))
    with pytest.raises(BadParameters, match="at most 1 kB") as too_large:
        request_params(factory.post("/x", "click=" + "x" * 2000, content_type=form))

    assert (unreadable.value.status, too_large.value.status) == (400, 413)
