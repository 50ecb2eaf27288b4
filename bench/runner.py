"""The benchmark run: database, fixture, gunicorn, every section under wrk, then the report."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import django
from django.core.management import call_command

from bench import wrk
from bench.database import ensure_database
from bench.sections import SECTIONS, Section, Target, Unavailable
from bench.server import gunicorn
from bench.wrk import WrkResult

if TYPE_CHECKING:
    from bench.fixture import Fixture

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
# A section whose p99 exceeds this multiple of the baseline's is worth a look.
P99_WARNING_FACTOR = 3
# The in-process sections' lines that belong to the closing summary (in this order).
SUMMARY_NAMES = (
    "dispatch_vs_requests_loop",
    "report_p95_ms",
    "report_p95_during_rebuild_ms",
    "report_raw_vs_rollup",
    "raw_report_pg_vs_columnar",
)
# More failed responses than this share make a section's figures meaningless.
ERROR_WARNING_SHARE = 0.01


@dataclass(frozen=True)
class Outcome:
    """A section's result: its wrk figures, or why it was skipped."""

    title: str
    ratio_name: str | None
    result: WrkResult | None = None
    skipped: str = ""


def _prepare_section(section: Section, base_url: str, fixture: Fixture, wrk_path: str) -> Target | str:
    """The section's warmed-up target, or why it is skipped."""
    try:
        target = section.prepare(base_url, fixture)
    except Unavailable as reason:
        print(f"  {section.title}: SKIPPED — {reason}", flush=True)
        return str(reason)
    wrk.run(wrk_path, base_url + target.path, WARMUP_SECONDS, target.script, target.warmup_args)
    return target


def _median(results: list[WrkResult]) -> WrkResult:
    """The round with the median rate (its own p99 with it), requests and errors summed."""
    middle = sorted(results, key=lambda r: r.requests_per_second)[len(results) // 2]
    return replace(
        middle,
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


def _run_sections(base_url: str, fixture: Fixture, wrk_path: str) -> list[Outcome]:
    """Every section in interleaved rounds (baseline, click, …, baseline, click, …)."""
    targets = [_prepare_section(section, base_url, fixture, wrk_path) for section in SECTIONS]
    results: list[list[WrkResult]] = [[] for _ in SECTIONS]
    for round_number in range(wrk.ROUNDS):
        for index, target in enumerate(targets):
            if isinstance(target, Target):
                url = base_url + target.path
                args = target.args(round_number)
                results[index].append(wrk.run(wrk_path, url, SECONDS, target.script, args))
        print(f"  round {round_number + 1} of {wrk.ROUNDS} done", flush=True)
    outcomes = []
    for section, target, runs in zip(SECTIONS, targets, results, strict=True):
        if isinstance(target, str):
            outcomes.append(Outcome(section.title, section.ratio_name, skipped=target))
        else:
            outcomes.append(Outcome(section.title, section.ratio_name, _median(runs)))
    return outcomes


def _table(outcomes: list[Outcome]) -> None:
    print()
    print(f"{'section':<34} {'req/s':>9} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for outcome in outcomes:
        r = outcome.result
        if r is None:
            print(f"{outcome.title:<34} {'skipped':>9}")
        else:
            line = f"{r.requests_per_second:>9.1f} {r.p99_ms:>8.2f} {r.requests:>9} {r.errors:>7}"
            print(f"{outcome.title:<34} {line}")
    print()


def _warnings(outcomes: list[Outcome], baseline: WrkResult | None) -> None:
    for outcome in outcomes:
        r = outcome.result
        if outcome.skipped:
            print(f"note: {outcome.title} skipped ({outcome.skipped})")
        if r is None:
            continue
        if r.errors > r.requests * ERROR_WARNING_SHARE:
            print(f"warning: {outcome.title}: {r.errors} of {r.requests} responses failed")
        if baseline and r.p99_ms > P99_WARNING_FACTOR * baseline.p99_ms:
            print(
                f"warning: {outcome.title}: p99 {r.p99_ms:.2f} ms is more than "
                f"{P99_WARNING_FACTOR}× the baseline's {baseline.p99_ms:.2f} ms"
            )


def _ratios(outcomes: list[Outcome], baseline: WrkResult | None) -> list[str]:
    lines = []
    for outcome in outcomes:
        if outcome.ratio_name is None:
            continue
        if outcome.result is None or baseline is None:
            lines.append(f"{outcome.ratio_name}: n/a")
        else:
            ratio = outcome.result.requests_per_second / baseline.requests_per_second
            lines.append(f"{outcome.ratio_name}: {ratio:.2f}")
    return lines


def _prepare() -> Fixture:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    # Models load only after setup(); the cache is the benchmark's own Redis database.
    from django.core.cache import cache

    from bench.fixture import create_fixture

    cache.clear()
    return create_fixture()


def _measured_in_process() -> list[str]:
    """The sections measured without wrk: outbound dispatch, reports at scale, then the same raw
    clicks on ClickHouse (chdb)."""
    from bench import columnar, dispatch, reports

    lines: list[str] = []
    for name, measure in (("dispatch", dispatch.run), ("reports", reports.run), ("columnar", columnar.run)):
        print(f"bench: {name}…", flush=True)
        lines += measure() if name == "dispatch" else measure(os.environ["DATABASE_URL"])
    return lines


def run() -> int:
    """Run every section in one gunicorn; the last lines are the ratios to the baseline."""
    wrk_path = wrk.ensure_wrk()
    fixture = _prepare()
    print(
        f"bench: {len(SECTIONS)} sections, {wrk.ROUNDS} interleaved rounds of {SECONDS} s each"
        f" after {WARMUP_SECONDS} s warm-up (median per section)",
        flush=True,
    )
    load = os.getloadavg()[0]
    if load > 1:
        print(f"warning: load average {load:.1f} on {os.cpu_count()} cores before the run: figures are noisy")
    with gunicorn() as base_url:
        outcomes = _run_sections(base_url, fixture, wrk_path)
    baseline = next((o.result for o in outcomes if o.ratio_name is None), None)
    extra_lines = [] if os.environ.get("BENCH_ONLY_HTTP") else _measured_in_process()
    _table(outcomes)
    _warnings(outcomes, baseline)
    # The figures the targets are about come last, together: the HTTP ratios, then the
    # in-process sections' own summary lines.
    summary = [line for line in extra_lines if line.split(":")[0] in SUMMARY_NAMES]
    for line in [line for line in extra_lines if line not in summary]:
        print(line)
    print()
    for line in [*_ratios(outcomes, baseline), *summary]:
        print(line)
    return 0 if baseline is not None else 1
