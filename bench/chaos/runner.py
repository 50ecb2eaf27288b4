"""The chaos run, start to end: services up, load with faults, checks, replays, verdict.

Every wait is bounded and the whole run stays within `TOTAL_SECONDS`; whatever happens, every
process it started is stopped before it returns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import django
from django.core.management import call_command

from bench.chaos import processes
from bench.chaos.load import Load, Target
from bench.chaos.processes import Supervisor
from bench.chaos.receiver import FlakyReceiver
from bench.chaos.verdict import Answer, judge, judge_deliveries, judge_replays
from bench.database import recreate_database

if TYPE_CHECKING:
    # Models load only after django.setup(), which waits for the run's own Redis.
    from bench.chaos.records import Seed

TOTAL_SECONDS = 240
REQUESTS = int(os.environ.get("CHAOS_REQUESTS", "1500"))
THREADS = int(os.environ.get("CHAOS_THREADS", "24"))
WEB_WORKERS = int(os.environ.get("CHAOS_WEB_WORKERS", "3"))
# The fault schedule, in seconds: load alone, Redis gone, worker gone, load after both are back.
LEAD_IN_SECONDS = 3
REDIS_DOWN_SECONDS = 5
WORKER_DOWN_SECONDS = 2
RECOVERY_SECONDS = 5
# The load's hard limits: it never runs longer or sends more, whatever the rate.
LOAD_SECONDS = 120
MAX_REQUESTS = 20 * REQUESTS
# Kept free at the end of the run: checks and replays before the stop, then stopping every process.
RESERVE_SECONDS = 75
# Of which this much is left for the last deliveries (their retries come with the 10 s sweep).
DELIVERY_SECONDS = 40
STOP_SECONDS = 2 * processes.STOP_SECONDS


@dataclass(frozen=True)
class Faults:
    """When Redis was down (monotonic seconds), when the worker came back, and the keys of the
    deliveries outstanding when it was killed."""

    redis_down: tuple[float, float]
    worker_restarted_at: float
    outstanding: list[str]


def run() -> int:
    """Run everything in a temporary log directory; 0 when every check holds."""
    deadline = time.monotonic() + TOTAL_SECONDS
    ports = processes.free_ports(3, os.environ.get("CHAOS_PORTS", processes.DEFAULT_PORTS))
    redis_port, web_port, receiver_port = ports
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    log_dir = Path(tempfile.mkdtemp(prefix="partnerdesk-chaos-"))
    os.environ["INGEST_SPOOL_DIR"] = str(log_dir / "spool")
    supervisor = Supervisor(env=dict(os.environ), log_dir=log_dir)
    receiver = FlakyReceiver(receiver_port)
    receiver.start()
    problems = None
    try:
        problems = _run(supervisor, receiver, redis_port=redis_port, web_port=web_port, deadline=deadline)
    finally:
        supervisor.stop_all()
        receiver.stop()
        # The logs are what explains a failure; a clean run leaves nothing behind.
        if problems == []:
            shutil.rmtree(log_dir)
        else:
            print(f"chaos: every process stopped; their logs are in {log_dir}")
    if problems:
        print("chaos: FAILED")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("chaos: OK, nothing lost")
    return 0


def _run(
    supervisor: Supervisor, receiver: FlakyReceiver, *, redis_port: int, web_port: int, deadline: float
) -> list[str]:
    """Services up, load with faults, checks and replays; answers every broken promise found."""
    supervisor.start("redis", processes.redis_command(redis_port))
    processes.wait_for_redis(redis_port, supervisor)
    seed = _database(postback_url=receiver.url)
    base_url = f"http://127.0.0.1:{web_port}"
    supervisor.start("web", processes.gunicorn_command(web_port, WEB_WORKERS))
    for name, command in processes.celery_commands(supervisor.log_dir).items():
        supervisor.start(name, command)
    processes.wait_for_http(f"{base_url}/healthz", supervisor, "web")
    print(f"chaos: services up ({_seconds_left(deadline)} s left)", flush=True)
    target = Target(base_url=base_url, token=seed.app_token, flow=seed.link_id, prefix=f"chaos-{seed.run_id}")
    answers, faults = _load_with_faults(supervisor, target, redis_port, deadline - RESERVE_SECONDS)
    _load_spool()
    problems = _check(answers, target, faults.redis_down)
    problems += _replay_refused(answers, target, seed.admin_token, deadline - DELIVERY_SECONDS)
    problems += _check_deliveries(receiver, target, faults, deadline - STOP_SECONDS)
    problems += [f"{name} is not running at the end" for name in supervisor.exited()]
    return problems


def _load_spool() -> None:
    """What beat does every minute: requests spooled while the database refused them join the log."""
    from ingest.log import spool_load

    print(f"chaos: {spool_load()} spooled requests loaded into the inbound log", flush=True)


def _database(*, postback_url: str) -> Seed:
    """A fresh database, migrated and seeded; Django is set up here, once REDIS_URL is known."""
    started = time.monotonic()
    recreate_database(os.environ["DATABASE_URL"])
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from bench.chaos.records import seed

    result = seed(postback_url=postback_url)
    print(f"chaos: database recreated, migrated and seeded in {time.monotonic() - started:.0f} s", flush=True)
    return result


def _load_with_faults(
    supervisor: Supervisor, target: Target, redis_port: int, deadline: float
) -> tuple[list[Answer], Faults]:
    """Send postbacks while Redis and then the worker are killed and restarted.

    The load goes on until the faults are over, RECOVERY_SECONDS have passed after Redis came
    back and at least REQUESTS were answered, within LOAD_SECONDS and `deadline`. Returns the
    answers and the faults' times.
    """
    load = Load(target, threads=THREADS, max_requests=MAX_REQUESTS)
    started = time.monotonic()
    load.start()
    try:
        faults = _inject_faults(supervisor, redis_port, target)
        stop_at = min(started + LOAD_SECONDS, deadline)
        while time.monotonic() < stop_at and (
            load.answered() < REQUESTS or time.monotonic() < faults.redis_down[1] + RECOVERY_SECONDS
        ):
            time.sleep(0.2)
    finally:
        answers = load.stop()
    seconds = time.monotonic() - started
    print(f"chaos: {len(answers)} lead postbacks at concurrency {THREADS} in {seconds:.1f} s", flush=True)
    return answers, faults


def _inject_faults(supervisor: Supervisor, redis_port: int, target: Target) -> Faults:
    """SIGKILL Redis, restart it on its port after REDIS_DOWN_SECONDS; then the same for the worker."""
    from bench.chaos.records import outstanding_deliveries

    time.sleep(LEAD_IN_SECONDS)
    supervisor.kill("redis")
    down_at = time.monotonic()
    print("chaos: redis-server killed (SIGKILL)", flush=True)
    time.sleep(REDIS_DOWN_SECONDS)
    supervisor.restart("redis")
    processes.wait_for_redis(redis_port, supervisor)
    up_at = time.monotonic()
    print(f"chaos: redis-server back after {up_at - down_at:.1f} s", flush=True)
    supervisor.kill("worker")
    outstanding = outstanding_deliveries(link_id=target.flow, prefix=target.prefix)
    print(f"chaos: Celery worker killed (SIGKILL), {len(outstanding)} deliveries outstanding", flush=True)
    time.sleep(WORKER_DOWN_SECONDS)
    supervisor.restart("worker")
    print("chaos: Celery worker restarted", flush=True)
    return Faults(redis_down=(down_at, up_at), worker_restarted_at=time.monotonic(), outstanding=outstanding)


def _check(answers: list[Answer], target: Target, outage: tuple[float, float]) -> list[str]:
    """Print the answers by status and hold them against the leads and the inbound log."""
    from bench.chaos.records import leads_per_key, replayable_per_key

    in_outage = sum(outage[0] <= a.sent_at < outage[1] for a in answers)
    print(f"chaos: {in_outage} postbacks were sent while Redis was down")
    leads = leads_per_key(link_id=target.flow, prefix=target.prefix)
    logged = {exto: outcome for exto, (_, outcome) in replayable_per_key(prefix=target.prefix).items()}
    verdict = judge(answers, leads=leads, logged=logged)
    counts = ", ".join(f"{status}: {count}" for status, count in sorted(verdict.by_status.items()))
    print(f"chaos: answers by status: {counts}")
    print(f"chaos: HTML answers: {verdict.html_answers}")
    problems = verdict.problems()
    if len(answers) < REQUESTS:
        problems.append(f"only {len(answers)} postbacks were answered in {LOAD_SECONDS} s, not {REQUESTS}")
    if not in_outage:
        problems.append("no postback was sent while Redis was down: the run proves nothing")
    return problems


def _replay_refused(answers: list[Answer], target: Target, admin_token: str, deadline: float) -> list[str]:
    """Replay every non-2xx answer's log row through the API; then each key has its one lead."""
    from bench.chaos.records import leads_per_key, replay_all, replayable_per_key

    refused = [a.exto for a in answers if a.status is not None and not a.ok]
    rows = {exto: row_id for exto, (row_id, _) in replayable_per_key(prefix=target.prefix).items()}
    replayed = replay_all(target.base_url, admin_token, {e: rows[e] for e in refused if e in rows}, deadline)
    good = sum(not reason for reason in replayed.values())
    print(f"chaos: replayed {good} of {len(refused)} non-2xx answers into a lead")
    leads = leads_per_key(link_id=target.flow, prefix=target.prefix)
    return judge_replays(refused, replayed=replayed, leads=leads)


def _check_deliveries(receiver: FlakyReceiver, target: Target, faults: Faults, deadline: float) -> list[str]:
    """Wait (until `deadline`) for every delivery of the run to be done, then hold what the
    receiver saw against the rows: all arrived, every call carried its delivery's key, and the
    deliveries outstanding at the worker's kill were called again within a minute of its restart."""
    from bench.chaos.records import delivery_states, in_doubt_attempts

    states = delivery_states(link_id=target.flow, prefix=target.prefix)
    while time.monotonic() < deadline and any(state != "done" for state in states.values()):
        time.sleep(1)
        states = delivery_states(link_id=target.flow, prefix=target.prefix)
    verdict = judge_deliveries(
        receiver.arrivals(),
        states=states,
        outstanding=faults.outstanding,
        restarted_at=faults.worker_restarted_at,
        in_doubt_attempts=in_doubt_attempts(link_id=target.flow, prefix=target.prefix),
    )
    for line in verdict.figures():
        print(f"chaos: {line}")
    return verdict.problems()


def _seconds_left(deadline: float) -> int:
    return int(deadline - time.monotonic())
