"""A real HTTP receiver for tests of outbound calls: a threading http.server on 127.0.0.1:0.

It keeps every request it got (path, query, headers, the request target as received) and
answers with the status and body the test sets. Use it as a context manager; tests that send to
it switch OUTBOUND_ALLOW_PRIVATE on, since 127.0.0.1 is refused otherwise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the receiver got it."""

    target: str  # path and query exactly as received
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case

    def single(self) -> dict[str, str]:
        """The query with one value per name."""
        return {name: values[0] for name, values in self.query.items()}


@dataclass
class Receiver:
    """What the running receiver saw, and what it answers."""

    port: int = 0
    status: int = 200
    body: bytes = b'{"ok": true}'
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, body: bytes | str) -> None:
        self.status, self.body = status, body.encode() if isinstance(body, str) else body


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.receiver.seen.append(
            Seen(
                target=self.path,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
            )
        )
        self.send_response(self.receiver.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.receiver.body)))
        self.end_headers()
        self.wfile.write(self.receiver.body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


class running_receiver:
    """`with running_receiver() as receiver:` serves on 127.0.0.1 on an ephemeral port."""

    def __enter__(self) -> Receiver:
        self.receiver = Receiver()
        handler = type("Handler", (_Handler,), {"receiver": self.receiver})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.receiver.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
