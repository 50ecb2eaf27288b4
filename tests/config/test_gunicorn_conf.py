"""gunicorn.conf.py: loads in gunicorn, takes its sizes from the environment, keeps tokens out of the log."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "gunicorn.conf.py"
PORTS = range(8110, 8120)


def load() -> Config:
    config = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_workers_threads_and_bind_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8111")

    config = load()

    assert (config.workers, config.threads, config.bind) == (3, 8, ["127.0.0.1:8111"])


def test_the_access_log_has_no_query_string():
    log_format = load().access_log_format

    assert "%(U)s" in log_format
    assert not [atom for atom in ("%(q)s", "%(r)s", "%(f)s") if atom in log_format]


def test_djangos_url_limit_answers_before_gunicorns_request_line_limit():
    line_overhead = len("OPTIONS  HTTP/1.1")

    assert load().limit_request_line >= max(8000, settings.INGEST_MAX_URL_LENGTH + line_overhead)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip("no free port in 8110-8119")


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the project's config (one sync worker), and its access log."""
    port = free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(log),
        "PYTHONWARNINGS": "ignore",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi"], cwd=ROOT, env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/postback/ready", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        yield base, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def answer(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_long_postback_url_reaches_django_through_gunicorn_and_is_answered_in_json(gunicorn):
    base, _ = gunicorn

    status, body = answer(f"{base}/postback/lead?click=" + "x" * 8100)

    assert status == 414 and body["ok"] is False


def test_gunicorns_access_log_keeps_the_path_but_not_the_token(gunicorn):
    base, log = gunicorn

    status, _ = answer(f"{base}/postback/nowhere?token=secret-token-value")
    time.sleep(0.2)

    assert status == 404
    text = log.read_text()
    assert "/postback/nowhere" in text and "secret-token-value" not in text
