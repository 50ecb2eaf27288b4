"""The body checks of config.jsonbody: size, strict UTF-8 and nesting, all before json.loads."""

from __future__ import annotations

import io

import pytest
from django.test import AsyncRequestFactory, RequestFactory, override_settings

from config.jsonbody import BodyRefused, decode_utf8, loads, nesting_depth, request_body, stream_body


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"token": "t", "click": "c"}', 1),
        ('[{"a": [1, {"b": {}}]}]', 5),
        ('{"a": "[[[{{{"}', 1),
        ('{"a": "\\"[[[", "b": ["\\\\", [2]]}', 3),
        ("12", 0),
    ],
)
def test_nesting_is_counted_outside_strings_only(text, depth):
    assert nesting_depth(text) == depth


def test_thirty_kilobytes_of_nesting_is_refused_before_parsing():
    with pytest.raises(BodyRefused, match="nests deeper than 32 levels") as refused:
        loads(nested(6000))

    assert refused.value.status == 400


def test_json_at_the_depth_limit_is_parsed():
    assert loads(nested(32))["a"]["a"]


def test_malformed_json_is_refused_with_its_position():
    with pytest.raises(BodyRefused, match="malformed"):
        loads('{"a": ')


def test_nan_is_not_json():
    with pytest.raises(BodyRefused, match="NaN is not a JSON number"):
        loads('{"pay": NaN}')


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(BodyRefused, match="body is not valid UTF-8"):
        decode_utf8("café".encode("latin-1"))


def test_a_body_declared_larger_than_the_limit_is_refused_with_413():
    request = RequestFactory().post("/x", "a" * 2048, content_type="text/plain")

    with pytest.raises(BodyRefused, match="at most 1 kB") as refused:
        request_body(request, limit=1024)

    assert refused.value.status == 413


def test_a_body_larger_than_its_content_length_claims_is_measured_after_reading():
    request = AsyncRequestFactory().post("/x", "a" * 2048, content_type="text/plain")
    del request.META["CONTENT_LENGTH"]

    with pytest.raises(BodyRefused) as refused:
        request_body(request, limit=1024)

    assert refused.value.status == 413


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_djangos_own_request_size_limit_is_a_413_too():
    request = RequestFactory().post("/x", "a" * 2048, content_type="text/plain")

    with pytest.raises(BodyRefused, match="at most 1 kB") as refused:
        request_body(request, limit=4096)

    assert refused.value.status == 413


def test_a_stream_is_read_no_further_than_the_limit():
    stream = io.BytesIO(b"a" * 5000)

    with pytest.raises(BodyRefused):
        stream_body(stream, limit=1024)

    assert stream.tell() == 1025
