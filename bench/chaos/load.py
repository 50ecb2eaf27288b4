"""The chaos run's traffic: lead postbacks by (flow, exto), a fresh exto per request.

A fresh key per request makes every answer checkable on its own: a 2xx means exactly one lead
with that exto, anything else means a log row with that exto. Threads each keep one
`requests.Session`, as a partner's sender would; every request has a timeout, so stopping
the load is bounded.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

import requests

from bench.chaos.verdict import Answer

# Connect, read: longer than gunicorn's 30 s worker timeout, so a stuck worker shows as its 500.
REQUEST_TIMEOUT = (3, 35)


@dataclass(frozen=True)
class Target:
    """Where the postbacks go and what they carry: the app's token, the link's id, a key prefix."""

    base_url: str
    token: str
    flow: int
    prefix: str


def send(session: requests.Session, target: Target, exto: str) -> Answer:
    """One lead creation postback; a transport error is an answer without a status."""
    sent_at = time.monotonic()
    params = {"token": target.token, "flow": target.flow, "exto": exto}
    try:
        response = session.get(f"{target.base_url}/postback/lead", params=params, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        return Answer(exto=exto, status=None, sent_at=sent_at, error=type(exc).__name__)
    html = response.headers.get("Content-Type", "").startswith("text/html")
    return Answer(exto=exto, status=response.status_code, sent_at=sent_at, html=html)


class Load:
    """`threads` senders that take fresh keys until stopped or `max_requests` keys are used."""

    def __init__(self, target: Target, *, threads: int, max_requests: int) -> None:
        self.target = target
        self.max_requests = max_requests
        self.answers: list[Answer] = []
        self._keys = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._send_until_stopped, daemon=True) for _ in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def answered(self) -> int:
        return len(self.answers)

    def stop(self) -> list[Answer]:
        """Stop taking keys, wait for the requests in flight, and return every answer."""
        self._stopping.set()
        deadline = time.monotonic() + sum(REQUEST_TIMEOUT) + 5
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise SystemExit("chaos: a sender did not finish within its request timeout.")
        return list(self.answers)

    def _next_key(self) -> str | None:
        with self._lock:
            number = next(self._keys)
        if self._stopping.is_set() or number > self.max_requests:
            return None
        return f"{self.target.prefix}-{number}"

    def _send_until_stopped(self) -> None:
        with requests.Session() as session:
            while (exto := self._next_key()) is not None:
                # list.append is atomic: the main thread may count the answers meanwhile.
                self.answers.append(send(session, self.target, exto))
