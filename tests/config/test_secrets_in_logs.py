"""The process logs never carry a token, a passcode or a `sig` value in clear (SPEC 7b)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from config.masking import SecretsFilter


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler (root's, which django.server shares) writes."""
    handler = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, SecretsFilter) for f in h.filters)
    )
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)


def test_runservers_request_line_is_logged_without_the_token_and_signature(console):
    # What Django's development server logs for a lead postback (WSGIRequestHandler.log_message).
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /postback/lead?token=tok-live-8f2c91&exto=A1&sig=9a8b7c6d5e HTTP/1.1", "200", "17"
    )

    line = console.getvalue()
    assert "/postback/lead?token=***&exto=A1&sig=***" in line
    assert "tok-live-8f2c91" not in line and "9a8b7c6d5e" not in line


def test_a_traceback_quoting_a_passcode_is_logged_masked(console):
    try:
        raise RuntimeError('CleverTap refused {"account_id": "W-1", "passcode": "PASS-CODE-77"}')
    except RuntimeError:
        logging.getLogger("postbacks.services").exception("Sending failed")

    text = console.getvalue()
    assert "Sending failed" in text and "RuntimeError" in text
    assert "PASS-CODE-77" not in text and '"passcode": "***"' in text


def test_a_not_found_warning_names_the_path_but_not_the_token(client, console):
    client.get("/no-such-page?token=tok-live-8f2c91")

    text = console.getvalue()
    assert "Not Found: /no-such-page" in text and "tok-live-8f2c91" not in text


def test_a_line_without_secrets_is_written_as_it_was_logged(console):
    logging.getLogger("leads").warning("Click %s went to the fallback (%s)", 42, "country=DE")

    assert "Click 42 went to the fallback (country=DE)" in console.getvalue()
