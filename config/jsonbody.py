"""Reading request bodies that anyone on the internet may send: bounded, strict UTF-8, shallow JSON.

`json.loads` recurses once per level of nesting, so 30 kB of `{"a":{"a":…}}` ends in a
`RecursionError` (a 500) long before any of our checks sees the data. Everything here runs
before that: the size (refused unread when the `Content-Length` says so, and measured again
after reading, because a header is only a claim), a strict UTF-8 decode, and a linear scan
that measures the nesting outside strings. Ingestion (`ingest.params`) and the management API
(`JSONParser`, `FormParser` and `exception_handler` below, for DRF) both go through it.
"""

from __future__ import annotations

import io
import json
import re
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from rest_framework import parsers, status, views
from rest_framework.exceptions import APIException, ParseError
from rest_framework.response import Response

MAX_DEPTH = 32

# A JSON string, escapes included; an unterminated one runs to the end (json.loads refuses it later).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BodyRefused(ValueError):
    """A body we will not read; the message is for the sender, `status` is 400 or 413."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(f"The body is too large: send at most {limit // 1024} kB.", status=413)


def request_body(request: HttpRequest, *, limit: int) -> bytes:
    """The body of a Django request, refused with 413 past `limit` bytes or Django's own limit."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise _too_large(limit)
    try:
        raw = request.body
    except RequestDataTooBig:
        raise _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) from None
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def stream_body(stream: IO[bytes], *, limit: int) -> bytes:
    """At most `limit` bytes of a stream, whatever its `Content-Length` said; 413 past that."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def decode_utf8(raw: bytes, *, where: str = "body") -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(f"The {where} is not valid UTF-8: encode parameters as UTF-8.") from None


def nesting_depth(text: str, *, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in `text`, counting stops as soon as `limit` is passed."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match[0] in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise BodyRefused(f"The JSON body is malformed ({name} is not a JSON number).")


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, after refusing what nests deeper than `max_depth`; malformed JSON is refused too.

    NaN and Infinity are refused as DRF's strict JSON does: they are not JSON.
    """
    if nesting_depth(text, limit=max_depth) > max_depth:
        raise BodyRefused(f"The JSON body nests deeper than {max_depth} levels: send flatter JSON.")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BodyRefused(f"The JSON body is malformed ({exc.msg} at character {exc.pos}).") from None


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "body_too_large"


def _api_limit() -> int:
    """Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`; when it is None (no limit), still a bounded read."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2**31


def _api_too_large() -> BodyTooLarge:
    return BodyTooLarge(str(_too_large(_api_limit())))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser for the management API, with the checks above before `json.loads`.

    DRF hands it the body Django read (`DATA_UPLOAD_MAX_MEMORY_SIZE` applies to its
    `Content-Length`); what arrives is measured again, since that header is only a claim.
    """

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return loads(decode_utf8(stream_body(stream, limit=_api_limit())))
        except BodyRefused as refused:
            if refused.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                raise _api_too_large() from None
            raise ParseError(str(refused)) from None


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing what is not UTF-8 instead of reading replacement characters."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream_body(stream, limit=_api_limit()) if stream is not None else b""
        try:
            decode_utf8(raw)
        except BodyRefused as refused:
            raise ParseError(str(refused)) from None
        return super().parse(io.BytesIO(raw), media_type, parser_context)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's `RequestDataTooBig` as a 413 (it would be an HTML 400 page).

    A rate limit's 429 reads like the public endpoints' (`{"ok": false, "error": …}`, with
    DRF's `Retry-After`).
    """
    if isinstance(exc, RequestDataTooBig):
        exc = _api_too_large()
    response = views.exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        response.data = {"ok": False, "error": str(response.data.get("detail", ""))}
    return response
