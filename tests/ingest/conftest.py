"""Redis for the ingest tests that take it away: refused, or a `redis-server` of the test's own.

A module picks the ports its own server may use by overriding `redis_ports`, so that modules
run side by side never start two servers on one port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from config.celery import app as celery_app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def point_redis_at(settings, monkeypatch) -> Callable[[str], None]:
    """Cache, counters and broker all at a URL, as a deployment with REDIS_URL=url has them."""

    def point(url: str) -> None:
        settings.REDIS_URL = url
        settings.CELERY_BROKER_URL = url
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.PooledRedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "pd-test",
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
            }
        }
        # Celery reads the Django settings live; its connection pools are rebuilt for the new URL
        # and the old ones put back afterwards.
        monkeypatch.setattr(celery_app, "_pool", None)
        monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)

    return point


@pytest.fixture
def redis_down(point_redis_at) -> str:
    """Redis at a port nothing listens on: every connection is refused."""
    url = f"redis://127.0.0.1:{_free_port()}/0"
    point_redis_at(url)
    return url


class RedisServer:
    """A `redis-server` of this test's own on a given port, stopped and started by pid."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.probe: redis.Redis | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.probe = self.client()
        for _ in range(100):
            try:
                self.probe.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)

    def connections_received(self) -> int:
        """Connections the server has accepted (the probe's one connection is reused)."""
        assert self.probe is not None
        return int(self.probe.info("stats")["total_connections_received"])


@pytest.fixture
def redis_ports() -> range:
    """The ports a module's own redis-server may take (a module overrides this with its own)."""
    return range(6391, 6396)


@pytest.fixture
def redis_server(point_redis_at, redis_ports: range) -> Iterator[RedisServer]:
    """A redis-server of this test's own on the first free port of `redis_ports`, killed at the end."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    port = next((port for port in redis_ports if _is_free(port)), None)
    if port is None:
        pytest.skip(f"no free port in {redis_ports.start}-{redis_ports.stop - 1}")
    server = RedisServer(port)
    server.start()
    point_redis_at(f"redis://127.0.0.1:{port}/0")
    yield server
    if server.process is not None:
        server.kill()
