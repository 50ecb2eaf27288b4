"""Reading the parameters of an ingestion request: query string, form or JSON body.

Partners' servers send everything: GET or POST, form or JSON, sometimes broken bytes.
This turns any of it into one flat `dict[str, str]`, or raises `BadParameters` with a
sentence the partner can act on (answered as 400, or 413 for a body over
`INGEST_MAX_BODY_BYTES`; never a 500). Bodies are read through `config.jsonbody`, so a
hostile one is refused before it is parsed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from config import jsonbody

MAX_PARAMETERS = 100
MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 2000


class BadParameters(ValueError):
    """The request's parameters cannot be read; the message is for the partner.

    `status` is the HTTP status to answer: 413 when the body is too large, else 400.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _decode(raw: bytes, where: str) -> str:
    try:
        return jsonbody.decode_utf8(raw, where=where)
    except jsonbody.BodyRefused as refused:
        raise BadParameters(str(refused)) from None


def _pairs_from_query(raw: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMETERS,
        )
    except UnicodeDecodeError:
        raise BadParameters(f"The {where} is not valid UTF-8: encode parameters as UTF-8.") from None
    except ValueError:
        raise BadParameters(f"Too many parameters: send at most {MAX_PARAMETERS}.") from None


def _pairs_from_json(body: str) -> list[tuple[str, str]]:
    try:
        data = jsonbody.loads(body) if body.strip() else {}
    except jsonbody.BodyRefused as refused:
        raise BadParameters(str(refused)) from None
    if not isinstance(data, dict):
        raise BadParameters("The JSON body must be an object of parameter names to values.")
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise BadParameters(f"Parameter “{key}” must be a plain value, not a list or object.")
        pairs.append(
            (str(key), "" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
        )
    return pairs


def _pairs_from_multipart(request: HttpRequest) -> list[tuple[str, str]]:
    """Form fields of a multipart body (uploaded files are not parameters and are ignored)."""
    try:
        return [(key, value) for key, values in request.POST.lists() for value in values]
    except (MultiPartParserError, UnicodeDecodeError):
        raise BadParameters("The multipart body is malformed: send form fields as UTF-8.") from None


def request_params(request: HttpRequest) -> dict[str, str]:
    """All parameters of the request; body values win over query values of the same name."""
    query = request.META.get("QUERY_STRING", "")
    pairs = _pairs_from_query(_decode(query.encode("latin-1", "replace"), "query string"), "query string")
    if request.method == "POST":
        try:
            raw = jsonbody.request_body(request, limit=settings.INGEST_MAX_BODY_BYTES)
        except jsonbody.BodyRefused as refused:
            raise BadParameters(str(refused), status=refused.status) from None
        content_type = request.content_type or ""
        if content_type == "multipart/form-data":
            pairs += _pairs_from_multipart(request)
        else:
            body = _decode(raw, "body")
            if content_type == "application/json":
                pairs += _pairs_from_json(body)
            elif body:
                pairs += _pairs_from_query(body, "body")
    if len(pairs) > MAX_PARAMETERS:
        raise BadParameters(f"Too many parameters: send at most {MAX_PARAMETERS}.")
    params: dict[str, str] = {}
    for key, value in pairs:
        key = key.strip()
        if not key:
            continue
        if len(key) > MAX_KEY_LENGTH:
            raise BadParameters(f"A parameter name is longer than {MAX_KEY_LENGTH} characters.")
        if len(value) > MAX_VALUE_LENGTH:
            raise BadParameters(f"Parameter “{key}” is longer than {MAX_VALUE_LENGTH} characters.")
        if "\x00" in key or "\x00" in value:
            raise BadParameters(f"Parameter “{key}” contains a NUL character.")
        params[key] = value.strip()
    return params
