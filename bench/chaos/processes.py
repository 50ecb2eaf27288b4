"""The chaos run's own services: redis-server, gunicorn, a Celery worker and beat.

Each process starts in a session of its own, so its id is also its process group's: killing
the group by that id takes gunicorn's or Celery's children with it and nothing else. Every
process is stopped on the way out (the caller's `finally`, and `atexit` as a second net).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis

STOP_SECONDS = 10
START_SECONDS = 60
# Below the kernel's ephemeral range (32768+): a client socket of this very run could take a
# port from that range while Redis is down, and Redis could not come back on its own port.
DEFAULT_PORTS = "8300-8399"


def free_ports(count: int, ports: str = DEFAULT_PORTS) -> list[int]:
    """`count` loopback ports of the range ("first-last") that nothing listens on now."""
    first, last = (int(part) for part in ports.split("-"))
    found: list[int] = []
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise SystemExit(f"chaos: fewer than {count} free ports in {ports} (set CHAOS_PORTS).")


class Supervisor:
    """Starts, kills and restarts the run's processes by name; stops all of them at exit."""

    def __init__(self, *, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}
        atexit.register(self.stop_all)

    def start(self, name: str, command: list[str]) -> None:
        """Start `command` as `name`, appending its output to `<log_dir>/<name>.log`."""
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.commands[name] = command

    def kill(self, name: str) -> None:
        """SIGKILL the process and its group, as a crash or the OOM killer would."""
        process = self.processes[name]
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)

    def restart(self, name: str) -> None:
        """Start `name` again with the command it was first started with."""
        self.start(name, self.commands[name])

    def exited(self) -> list[str]:
        """The names of the processes that are no longer running, with their exit status."""
        return [f"{name} ({p.returncode})" for name, p in self.processes.items() if p.poll() is not None]

    def stop_all(self) -> None:
        """SIGTERM every process still running, then SIGKILL those that did not stop in time."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The end of a process's log, for a message about why it did not start."""
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)


def redis_command(port: int) -> list[str]:
    """A throwaway redis-server: loopback only, nothing saved, so a restart starts empty."""
    return ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]


def gunicorn_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
    ]


def celery_commands(log_dir: Path) -> dict[str, list[str]]:
    """The worker (both queues, as in production) and beat, with its schedule file in the run's dir."""
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    return {
        "worker": [*celery, "worker", "-Q", "deliveries,celery", "-l", "warning", "--concurrency=2"],
        "beat": [*celery, "beat", "-l", "warning", "-s", str(log_dir / "celerybeat-schedule")],
    }


def wait_for_redis(port: int, supervisor: Supervisor, name: str = "redis") -> None:
    """Return once the Redis on `port` answers PING; fail with its log if it never does."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    _wait(lambda: bool(client.ping()), supervisor, name)


def wait_for_http(url: str, supervisor: Supervisor, name: str) -> None:
    """Return once `url` answers 200 (gunicorn's /healthz: database and broker reachable)."""

    def answers() -> bool:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200

    _wait(answers, supervisor, name)


def _wait(ready, supervisor: Supervisor, name: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if supervisor.processes[name].poll() is not None:
            raise SystemExit(f"chaos: {name} exited while starting:\n{supervisor.log_tail(name)}")
        try:
            if ready():
                return
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"chaos: {name} was not ready within {START_SECONDS} s:\n{supervisor.log_tail(name)}")
