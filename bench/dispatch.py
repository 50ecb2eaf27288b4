"""Outbound dispatch throughput: deliveries/s sent by the project's dispatcher vs a bare requests loop.

Both send the same N GETs to the same loopback receiver (a threaded HTTP server in a process of
its own, so it shares no interpreter lock with either). The dispatcher goes the whole way a
delivery goes in production: due rows found by the sweep, each claimed by a conditional UPDATE,
sent through the SSRF-checked sender, its attempt and new state recorded. Called with Django set
up against the bench database; the last line is the ratio.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.test import override_settings

from accounts.models import Organization
from postbacks.management.commands.deliveries_dispatch import DEFAULT_THREADS
from postbacks.models import Delivery
from postbacks.services import deliveries_dispatch_due

N = 500
RECEIVER = """
import http.server, sys

class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = process.stdout.readline().strip()  # type: ignore[union-attr]
    return process, f"http://127.0.0.1:{port}/pb"


def _pending(organization: Organization, url: str) -> None:
    Delivery.objects.bulk_create(
        Delivery(organization=organization, kind=Delivery.Kind.PARTNER, event="bench", url=f"{url}?n={n}")
        for n in range(N)
    )


def _dispatch_seconds(organization: Organization) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(DEFAULT_THREADS, thread_name_prefix="delivery") as pool:
        while deliveries_dispatch_due(limit=N, pool=pool):
            pass
    seconds = time.perf_counter() - started
    done = Delivery.objects.filter(organization=organization, state=Delivery.State.DONE).count()
    if done != N:
        raise RuntimeError(f"dispatch bench: {done} of {N} deliveries done")
    return seconds


def _requests_loop_seconds(url: str) -> float:
    started = time.perf_counter()
    for n in range(N):
        requests.get(f"{url}?n={n}", timeout=10).raise_for_status()
    return time.perf_counter() - started


def run() -> list[str]:
    """Measure both; lines for the report, the last one `dispatch_vs_requests_loop: <ratio>`."""
    run_id = secrets.token_hex(4)
    organization = Organization.objects.create(
        name=f"Bench dispatch {run_id}", slug=f"bench-dispatch-{run_id}"
    )
    process, url = _receiver()
    try:
        _pending(organization, url)
        with override_settings(OUTBOUND_ALLOW_PRIVATE=True, CELERY_BROKER_URL="memory://"):
            dispatch = _dispatch_seconds(organization)
        loop = _requests_loop_seconds(url)
    finally:
        process.terminate()
        process.wait()
        organization.delete()
    return [
        f"dispatch: {N} deliveries in {dispatch:.2f} s ({N / dispatch:.0f}/s, {DEFAULT_THREADS} threads)",
        f"requests loop: {N} GETs in {loop:.2f} s ({N / loop:.0f}/s)",
        f"dispatch_vs_requests_loop: {loop / dispatch:.2f}",
    ]
