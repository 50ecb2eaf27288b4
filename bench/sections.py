"""The benchmark's sections: what each one drives, and how it checks the endpoint first.

Add a section (dispatch, reports…) by writing its `prepare` and appending it to SECTIONS:
`prepare` returns the wrk target, or raises Unavailable with a reason printed in the report.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.wrk import ROUNDS, THREADS

if TYPE_CHECKING:
    from bench.fixture import Fixture

LUA = Path(__file__).resolve().parent / "lua"
# Status changes cycle over this many leads per wrk thread: enough that no two requests in
# flight touch one lead, few enough to create before the run.
LEADS_PER_THREAD = 300


class Unavailable(Exception):
    """The section's endpoint does not answer as the contract says; the message says how."""


@dataclass(frozen=True)
class Target:
    """What wrk drives: a path, optionally a Lua script with its arguments (warm-up and each round)."""

    path: str
    script: Path | None = None
    warmup_args: tuple[str, ...] = ()
    round_args: tuple[tuple[str, ...], ...] = ()

    def args(self, round_number: int) -> tuple[str, ...]:
        return self.round_args[round_number] if self.round_args else ()


@dataclass(frozen=True)
class Section:
    """One measured endpoint; `ratio_name` names its line in the report (None: the baseline)."""

    key: str
    title: str
    ratio_name: str | None
    prepare: Callable[[str, Fixture], Target]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url: str) -> tuple[int, str]:
    """Status and body of a GET, redirects not followed."""
    try:
        with _opener.open(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _expect(url: str, status: int, what: str) -> None:
    got, body = fetch(url)
    if got != status:
        raise Unavailable(f"{what} answered HTTP {got} instead of {status}: {body[:160].strip()!r}")
    if status == 200 and not json.loads(body).get("ok"):
        raise Unavailable(f"{what} answered ok=false: {body[:160].strip()!r}")


def baseline(base_url: str, fixture: Fixture) -> Target:
    path = f"/bench/baseline?{fixture.baseline_query}"
    _expect(base_url + path, 302, "/bench/baseline")
    return Target(path)


def _visits(base_url: str, path: str, what: str) -> Target:
    """Clicks from many public addresses (GeoIP looked up, targeting checked), as a CDN forwards them."""
    status, _ = fetch(base_url + path)
    if status != 302:
        raise Unavailable(f"{what} answered HTTP {status} instead of 302")
    script = LUA / "click_geo.lua"
    return Target(path, script, warmup_args=(path,), round_args=tuple((path,) for _ in range(ROUNDS)))


def click(base_url: str, fixture: Fixture) -> Target:
    return _visits(base_url, f"/c/{fixture.link_code}?partner_click_id=x&sub1=y", "/c/<code>")


def smart_link(base_url: str, fixture: Fixture) -> Target:
    return _visits(base_url, f"/s/{fixture.smart_link_code}?partner_click_id=x&sub1=y", "/s/<code>")


def lead_create(base_url: str, fixture: Fixture) -> Target:
    path = f"/postback/lead?token={fixture.app_token}&click={fixture.click_id}"
    _expect(f"{base_url}{path}&exto=probe-{fixture.run_id}", 200, "/postback/lead")
    return Target(
        path,
        LUA / "lead_create.lua",
        warmup_args=(path, f"lw{fixture.run_id}"),
        round_args=tuple((path, f"lc{fixture.run_id}r{n}") for n in range(ROUNDS)),
    )


def _create_leads(base_url: str, fixture: Fixture, prefixes: tuple[str, ...]) -> None:
    lead_path = f"{base_url}/postback/lead?token={fixture.app_token}&click={fixture.click_id}"
    urls = [
        f"{lead_path}&exto={prefix}{thread}-{n}"
        for prefix in prefixes
        for thread in range(THREADS)
        for n in range(LEADS_PER_THREAD)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for status, _ in pool.map(fetch, urls)]
    failed = len(statuses) - statuses.count(200)
    if failed:
        raise Unavailable(f"/postback/lead failed {failed} of {len(urls)} lead creations for the status run")


def status_change(base_url: str, fixture: Fixture) -> Target:
    path = f"/postback/status?token={fixture.app_token}&click={fixture.click_id}"
    # Fresh leads for every round: each round's first pass is then a real change too.
    rounds = tuple(f"s{fixture.run_id}r{n}-" for n in range(ROUNDS))
    warm = f"sw{fixture.run_id}-"
    _expect(f"{base_url}{path}&exto=probe-{fixture.run_id}&status=hold", 200, "/postback/status")
    _create_leads(base_url, fixture, (*rounds, warm))
    leads = str(LEADS_PER_THREAD)
    return Target(
        path,
        LUA / "status_change.lua",
        warmup_args=(path, warm, leads),
        round_args=tuple((path, prefix, leads) for prefix in rounds),
    )


SECTIONS: list[Section] = [
    Section("baseline", "baseline: 1 INSERT + 302", None, baseline),
    Section("click", "click redirect /c/<code>", "click_vs_baseline", click),
    Section("smartlink", "smart link /s/<code>", "smartlink_vs_baseline", smart_link),
    Section("lead_create", "lead creation /postback/lead", "lead_create_vs_baseline", lead_create),
    Section("status_change", "status change /postback/status", "status_change_vs_baseline", status_change),
]
