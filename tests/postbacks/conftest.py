"""Fixtures of the postbacks tests: one real HTTP receiver on 127.0.0.1 for the whole session."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def local_receiver():
    """A real HTTP receiver on 127.0.0.1, the only address these tests ever send to."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def httpserver(local_receiver):
    """The receiver, emptied of expectations and of the log of earlier tests."""
    local_receiver.clear()
    yield local_receiver
    local_receiver.clear()
