"""The partner's server of the chaos run: answers a share of calls 503, records every call.

It runs in the chaos process (a threaded HTTP server on loopback), so what it records is what a
partner would see: each call's idempotency key, when it came and what it was answered.
"""

from __future__ import annotations

import http.server
import random
import threading
import time

from bench.chaos.verdict import Arrival

FAILURE_SHARE = 0.3


class FlakyReceiver:
    """A loopback receiver that answers FAILURE_SHARE of the calls 503 (seeded, so runs compare)."""

    def __init__(self, port: int, *, seed: int = 11) -> None:
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._rng = random.Random(seed)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="chaos-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def _answer(self, key: str) -> int:
        with self._lock:
            status = 503 if self._rng.random() < FAILURE_SHARE else 200
            self._arrivals.append(Arrival(key=key, at=time.monotonic(), status=status))
        return status

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = receiver._answer(self.headers.get("Idempotency-Key", ""))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args: object) -> None:
                pass

        return Handler
