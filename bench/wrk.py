"""Running wrk and reading its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# A phone browser: what real clicks carry (and a fixture click is made with).
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


# Each section is measured in this many rounds, interleaved with the other sections' rounds,
# and its median is reported: a machine whose speed drifts then drifts for every section alike.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = 2
CONNECTIONS = 32
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: requests per second, p99 latency in ms, requests and failed responses."""

    requests_per_second: float
    p99_ms: float
    requests: int
    errors: int


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it with `sudo apt-get install -y wrk`.")
    print("installing wrk (apt-get install -y wrk)")
    apt = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=True)
        subprocess.run(apt, capture_output=True, check=True)
    return shutil.which("wrk") or "wrk"


def parse(output: str) -> WrkResult:
    """The figures of wrk's `--latency` report."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rate and p99 and total):
        raise ValueError(f"Could not read wrk's report:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        p99_ms=float(p99.group(1)) * UNITS[p99.group(2)],
        requests=int(total.group(1)),
        errors=errors,
    )


def run(
    wrk: str, url: str, seconds: int, script: Path | None = None, args: tuple[str, ...] = ()
) -> WrkResult:
    # Every request says it comes from a phone's browser, as real clicks and most partner
    # servers do: wrk's default of no User-Agent at all is what the bot filter flags.
    command = [
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"User-Agent: {USER_AGENT}",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if args:
        command += ["--", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse(completed.stdout)
