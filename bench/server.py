"""gunicorn serving config.wsgi on a free loopback port, for as long as the benchmark runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Two cores run gunicorn, PostgreSQL and wrk at once: more workers than this only queue on the CPU.
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
STARTUP_SECONDS = 30
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode} while starting.")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {base_url}/healthz within {STARTUP_SECONDS} s.")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # gunicorn runs in its own process group: the arbiter and its workers go together.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(workers: int = WORKERS) -> Iterator[str]:
    """Start gunicorn, yield its base URL, and stop it on the way out, errors and Ctrl-C included."""
    port = free_port()
    # The production config (gunicorn.conf.py) with the bench's own worker count, one thread each
    # (sync workers, as every earlier run measured) and no access log (it would fill stdout).
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        f"--config={PROJECT_ROOT / 'gunicorn.conf.py'}",
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--threads=1",
        "--log-level=warning",
    ]
    # Whitenoise warns once per worker that `collectstatic` never ran; the bench serves no static files.
    # One trusted proxy: the click sections name their visitors in X-Forwarded-For, as nginx or a CDN does.
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore:No directory at",
        "GUNICORN_ACCESS_LOG": "",
        "TRUSTED_PROXY_COUNT": "1",
    }
    process = subprocess.Popen(command, start_new_session=True, env=env)
    # SIGTERM to the benchmark must still stop gunicorn: turn it into an exit that unwinds.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url, process)
        yield base_url
    finally:
        _stop(process)
        signal.signal(signal.SIGTERM, previous)
