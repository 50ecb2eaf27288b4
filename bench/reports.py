"""The reports part of `make bench`: dashboard and report latency on the rollups versus the raw tables.

`run(database_url)` fills a dedicated organization with realistic traffic — tens of partners,
offers and landings, geo-targeted offers over ~26 skewed countries, 3 device types and 6 OS
values, a few hundred sub1 sources — as clicks (PostgreSQL COPY) and leads (INSERT … SELECT
from those clicks), rebuilds the rollups, then times the portal's own dashboard and report
(`reports.selectors`, as `portal.views` calls them) for the largest publisher over the last
30 days, and the same questions asked of the raw tables. The rebuild runs in a thread of its
own while the same portal questions are asked over and over (`report_p95_during_rebuild_ms`):
a rebuild must not make the reports wait. A dataset of the requested size left by an earlier
run is reused, so reruns skip the fill.

The raw side leaves unique clicks out (the raw tables cannot answer them cheaply) and sums its
totals from its grouped rows instead of querying them, so the ratio it reports is a lower
bound. Django must already be set up against `database_url`; the last two lines answered are
`report_p95_ms` and `report_raw_vs_rollup`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import environ
import psycopg
from django.db import connection, connections

from accounts.models import Organization
from bench.raw_reports import raw_report_rows
from leads.models import CLICK_FACTS, Click, Lead
from leads.partitions import partitions_ensure
from leads.rollups import rollup_rebuild
from partners.models import App, Goal, Integration, Landing, Offer, Partner, TrackingLink
from reports.models import DailyStat
from reports.selectors import report_rows, report_totals, rollups_as_of

SLUG = "bench-reports"
DAYS = 60
PERIOD_DAYS = 30
PARTNERS = 30
OFFERS = 24
COPY_CHUNK = 100_000
# Weighted draws read a table of this many entries with a slice of one random number.
TABLE_BITS = 10
# Country shares of the traffic (%), skewed as mobile-app traffic is.
COUNTRIES = {
    "US": 18, "IN": 10, "BR": 8, "DE": 7, "GB": 6, "FR": 5, "ID": 5, "MX": 4, "RU": 4,
    "TR": 3.5, "ES": 3, "IT": 3, "PH": 3, "VN": 2.5, "TH": 2.5, "PL": 2, "CA": 2, "JP": 2,
    "KR": 1.5, "NL": 1.5, "AR": 1.5, "AU": 1.5, "CO": 1.2, "EG": 1.2, "NG": 1, "ZA": 1,
}  # fmt: skip
# Device type and OS (tab-separated as COPY wants them) by the platform an offer runs on: an
# Android app's clicks come from Android phones and tablets, a web offer's mostly from desktops.
PLATFORM_DEVICES = {
    "android": {"mobile\tAndroid": 88, "tablet\tAndroid": 9, "desktop\tWindows": 2, "mobile\tiOS": 1},
    "ios": {"mobile\tiOS": 85, "tablet\tiPadOS": 12, "desktop\tmacOS": 2, "mobile\tAndroid": 1},
    "web": {
        "desktop\tWindows": 55,
        "mobile\tAndroid": 20,
        "desktop\tmacOS": 12,
        "mobile\tiOS": 10,
        "desktop\tLinux": 3,
    },
}
PLATFORMS = ("android", "android", "ios", "ios", "web")
# Traffic that ignores an offer's geo targeting.
OFF_TARGET_SHARE = 0.01
SUB2 = ("banner", "video", "native", "push", "popunder", "interstitial", "rewarded", "story")
SUB3 = ("feed", "sidebar", "header", "fullscreen", "footer")
SUB4 = ("a", "b", "control")
SUB5 = ("", "", "", "", "", "", "", "retarget", "lookalike", "broad")
# Of every 16 clicks, this many come again from an IP seen lately on the same link.
REPEAT_IN_16 = 2
IP_POOL = 1 << 20
# Goals of every offer: code, name, payout, revenue, share of its leads (%).
GOALS = (
    ("install", "Install", Decimal("1.50"), Decimal("2.00"), 80),
    ("registration", "Registration", Decimal("3.00"), Decimal("4.50"), 15),
    ("purchase", "First purchase", Decimal("12.00"), Decimal("20.00"), 5),
)
# Lead statuses by share (%): a lead's status is its slot in 0–99.
STATUS_SHARES = (
    ("approved", 55),
    ("new", 7),
    ("processing", 5),
    ("hold", 8),
    ("cancelled", 15),
    ("trash", 10),
)


@dataclass
class LinkProfile:
    """How one tracking link's clicks are drawn: fixed ids, then weighted tables of the dimensions."""

    prefix: str
    weight: float
    landings: list[str]
    countries: list[str]
    devices: list[str]
    sources: list[str]
    recent_ips: list[str] = field(default_factory=lambda: [""] * 64)


@dataclass(frozen=True)
class Scene:
    """The benchmark organization, its link profiles (empty when reused) and the partner timed."""

    organization: Organization
    links: list[LinkProfile]
    partner_id: int


def _table(weights: dict[str, float], bits: int = TABLE_BITS) -> list[str]:
    """A list of 2**bits values, each repeated by its weight (at least once), to index at random."""
    size, total = 1 << bits, sum(weights.values())
    table: list[str] = []
    for value, weight in weights.items():
        table += [value] * max(1, round(size * weight / total))
    return (table * 2)[:size] if len(table) < size else table[:size]


def _zipf(values: Sequence[str], exponent: float = 1.0) -> dict[str, float]:
    return {value: 1 / (rank + 1) ** exponent for rank, value in enumerate(values)}


def _percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _time(call: Callable[[], Any], runs: int) -> float:
    """The p95 of `runs` calls, in milliseconds (after one warm-up call)."""
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return _percentile(samples, 0.95)


def _say(message: str) -> None:
    print(f"bench: reports: {message}", flush=True)


def _check_database(database_url: str) -> dict[str, Any]:
    config = environ.Env.db_url_config(database_url)
    if connection.vendor != "postgresql":
        raise RuntimeError("The reports benchmark needs PostgreSQL (COPY).")
    if config["NAME"] != connection.settings_dict["NAME"]:
        raise RuntimeError(
            f"Django is set up against {connection.settings_dict['NAME']}, not {config['NAME']}."
        )
    return config


def _connect(config: dict[str, Any]) -> psycopg.Connection:
    options = {
        "dbname": config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    return psycopg.connect(**{k: v for k, v in options.items() if v}, autocommit=True)


# --- The configuration ------------------------------------------------------------------------


def _offers(organization: Organization, rng: random.Random) -> list[tuple[Offer, list[int], list[str], str]]:
    """Offers of a few apps, each with 1–3 landings, the three goals, 1–6 target countries, a platform."""
    apps = [
        App.objects.create(
            organization=organization, name=f"Bench app {n}", default_url="https://example.com/"
        )
        for n in range(6)
    ]
    offers = []
    for n in range(OFFERS):
        offer = Offer.objects.create(
            organization=organization, app=apps[n % len(apps)], name=f"Offer {n:02}", rate=Decimal("2")
        )
        landings = [
            Landing.objects.create(
                offer=offer, name=f"Landing {n}.{k}", url="https://example.com/?c={click_id}"
            )
            for k in range(1 + n % 3)
        ]
        for position, (code, name, payout, revenue, _) in enumerate(GOALS):
            Goal.objects.create(
                offer=offer,
                code=code,
                name=name,
                payout=payout,
                revenue=revenue,
                is_default=position == 0,
                position=position,
            )
        geos = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()), k=rng.randint(1, 6))
        platform = PLATFORMS[n % len(PLATFORMS)]
        offers.append((offer, [landing.pk for landing in landings], sorted(set(geos)), platform))
    return offers


def _countries(geos: list[str]) -> list[str]:
    """Mostly the offer's target countries (by their shares), a little of everywhere else."""
    targeted = sum(COUNTRIES[c] for c in geos)
    everywhere = sum(COUNTRIES.values())
    return _table(
        {
            c: share / everywhere * OFF_TARGET_SHARE
            + (share / targeted * (1 - OFF_TARGET_SHARE) if c in geos else 0)
            for c, share in COUNTRIES.items()
        }
    )


def _partner_links(
    organization: Organization, app: App, n: int, offers: list, rng: random.Random
) -> list[LinkProfile]:
    """Publisher `n` (traffic share by Zipf's law) runs 2–6 offers with its own sub1 sources."""
    partner = Partner.objects.create(organization=organization, name=f"Publisher {n:02}")
    integration = Integration.objects.create(organization=organization, app=app, partner=partner)
    sources = _table(_zipf([f"p{n}-site{k}" for k in range(5 + 60 // (n + 1) + rng.randrange(10))]))
    links = []
    for rank, (offer, landing_ids, geos, platform) in enumerate(rng.sample(offers, rng.randint(2, 6))):
        link = TrackingLink.objects.create(
            organization=organization,
            integration=integration,
            partner=partner,
            offer=offer,
            landing_id=landing_ids[0],
        )
        ids = (organization.pk, integration.pk, link.pk, partner.pk, offer.pk)
        # The link's own landing mostly; the offer's other landings when a publisher switches.
        landings = _table({str(landing_ids[0]): 92, **{str(i): 8 for i in landing_ids[1:]}}, bits=6)
        links.append(
            LinkProfile(
                prefix="\t".join(map(str, ids)),
                weight=1 / (n + 1) ** 0.9 / (rank + 1),
                landings=landings,
                countries=_countries(geos),
                devices=_table(PLATFORM_DEVICES[platform]),
                sources=sources,
            )
        )
    return links


def _configure(rng: random.Random) -> Scene:
    """A fresh organization: apps, offers with landings and goals, publishers with links."""
    organization = Organization.objects.create(name="Reports benchmark", slug=SLUG)
    offers = _offers(organization, rng)
    app = offers[0][0].app
    links = [link for n in range(PARTNERS) for link in _partner_links(organization, app, n, offers, rng)]
    return Scene(organization=organization, links=links, partner_id=_largest_partner(organization))


def _largest_partner(organization: Organization) -> int:
    """Publisher 00 has the largest share of the traffic: the portal's heaviest dashboard."""
    return Partner.objects.get(organization=organization, name="Publisher 00").pk


# --- The clicks -------------------------------------------------------------------------------

# The columns the generator writes, in this order, before the constant ones.
_VARIABLE = (
    "organization_id",
    "integration_id",
    "link_id",
    "partner_id",
    "offer_id",
    "landing_id",
    "country",
    "device_type",
    "os",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "ip",
    "created_at",
    "click_id",
)


def _constant(model: type, variable: Sequence[str]) -> tuple[list[str], str]:
    """The other NOT NULL columns and their defaults as a COPY line's tab-separated tail."""
    columns, values = [], []
    for column in model._meta.concrete_fields:
        if column.primary_key or column.attname in variable or column.null:
            continue
        default = column.get_default()
        columns.append(column.column)
        if isinstance(default, bool):
            values.append("t" if default else "f")
        else:
            values.append("{}" if isinstance(default, dict) else str(default))
    return columns, "".join(f"\t{v}" for v in values)


def _ip_pool(rng: random.Random) -> list[str]:
    return [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{n & 255}" for n in range(IP_POOL)
    ]


def _click_chunks(scene: Scene, count: int, rng: random.Random) -> Iterator[str]:
    """`count` clicks as COPY text, oldest first (ids grow with time, as they do live)."""
    _, tail = _constant(Click, _VARIABLE)
    pick_link = _table({str(n): link.weight for n, link in enumerate(scene.links)}, bits=12)
    links = [scene.links[int(n)] for n in pick_link]
    ips = _ip_pool(rng)
    subs = (_table(_zipf(SUB2)), _table(_zipf(SUB3)), _table(_zipf(SUB4)), SUB5 * 103)
    start = int((datetime.now(UTC) - timedelta(days=DAYS)).timestamp())
    span, stamp_of, stamp = DAYS * 86400 - 60, -1, ""
    lines: list[str] = []
    for n in range(count):
        second = start + n * span // count
        if second != stamp_of:
            stamp_of, stamp = second, time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(second))
        r, s = rng.getrandbits(64), rng.getrandbits(64)
        link = links[r & 4095]
        recent = link.recent_ips
        if (r >> 12) & 15 < REPEAT_IN_16:
            ip = recent[(r >> 16) & 63]
        else:
            ip = recent[(r >> 16) & 63] = ips[(s >> 40) & (IP_POOL - 1)]
        lines.append(
            f"{link.prefix}\t{link.landings[(r >> 22) & 63]}\t{link.countries[(r >> 28) & 1023]}"
            f"\t{link.devices[(r >> 38) & 1023]}\t{link.sources[(r >> 48) & 1023]}\t{subs[0][s & 1023]}"
            f"\t{subs[1][(s >> 10) & 1023]}\t{subs[2][(s >> 20) & 1023]}\t{subs[3][(s >> 30) & 1023]}"
            f"\t{ip or ips[s & 4095]}\t{stamp}\tb{scene.organization.pk}x{n:09}{tail}\n"
        )
        if len(lines) >= COPY_CHUNK:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def _copy_clicks(raw: psycopg.Connection, scene: Scene, count: int, rng: random.Random) -> None:
    columns, _ = _constant(Click, _VARIABLE)
    sql = f"COPY leads_click ({', '.join([*_VARIABLE, *columns])}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for chunk in _click_chunks(scene, count, rng):
            copy.write(chunk)


# --- The leads --------------------------------------------------------------------------------


def _shares_case(expression: str, shares: Sequence[tuple[str, float]]) -> str:
    """`CASE` mapping a slot 0–99 to a value by cumulative shares (%)."""
    arms, upper = [], 0.0
    for value, share in shares[:-1]:
        upper += share
        arms.append(f"WHEN {expression} < {upper:g} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{shares[-1][0]}' END"


_LEAD_VARIABLE = {
    "organization_id": "c.organization_id",
    "app_id": "o.app_id",
    "integration_id": "c.integration_id",
    "partner_id": "c.partner_id",
    "offer_id": "c.offer_id",
    "link_id": "c.link_id",
    "click_id": "c.id",
    "goal_id": "g.id",
    "status": "s.status",
    # A rejected lead pays nothing (Lead's docstring).
    "payout": "CASE WHEN s.status IN ('cancelled', 'trash') THEN 0 ELSE g.payout END",
    "revenue": "g.revenue",
    # The benchmark's organization and offers are all in USD: base amounts are the amounts.
    "payout_base": "CASE WHEN s.status IN ('cancelled', 'trash') THEN 0 ELSE g.payout END",
    "revenue_base": "g.revenue",
    "source": "c.sub1",
    # Conversions come minutes to two days after the click, never in the future.
    "created_at": "LEAST(c.created_at + s.lag, now())",
    "updated_at": "LEAST(c.created_at + s.lag, now())",
    # What the lead services copy of the click (leads.models.click_facts), nulls left out alike.
    "click_facts": "jsonb_strip_nulls(jsonb_build_object({}))".format(
        ", ".join(f"'{name}', c.{name}" for name in CLICK_FACTS)
    ),
}


def _insert_leads(raw: psycopg.Connection, organization_id: int, every: int) -> None:
    """One lead on every `every`-th click, its goal, status and delay drawn from a hash of the click id."""
    constant = [
        f
        for f in Lead._meta.concrete_fields
        if not f.primary_key and not f.null and f.attname not in _LEAD_VARIABLE
    ]
    values = [f.get_default() for f in constant]
    columns = [*_LEAD_VARIABLE, *(f.column for f in constant)]
    expressions = [*_LEAD_VARIABLE.values(), *(["%s"] * len(constant))]
    goal = _shares_case("s.h / 100", [(code, share) for code, _, _, _, share in GOALS])
    status = _shares_case("hashed.h %% 100", STATUS_SHARES)
    sql = (
        f"INSERT INTO leads_lead ({', '.join(columns)}) SELECT {', '.join(expressions)} "
        "FROM leads_click c "
        "CROSS JOIN LATERAL (SELECT (c.id * 2654435761) %% 10000 AS h) hashed "
        f"CROSS JOIN LATERAL (SELECT hashed.h, {status} AS status, "
        "interval '1 minute' * (3 + hashed.h %% 2880) AS lag) s "
        "JOIN partners_offer o ON o.id = c.offer_id "
        f"JOIN partners_goal g ON g.offer_id = c.offer_id AND g.code = {goal} "
        "WHERE c.organization_id = %s AND c.id %% %s = 0"
    )
    params = [v if not isinstance(v, dict) else psycopg.types.json.Jsonb(v) for v in values]
    raw.execute(sql, [*params, organization_id, every])


# --- The fill ---------------------------------------------------------------------------------


def _secondary_indexes(raw: psycopg.Connection, tables: Sequence[str]) -> list[tuple[str, str]]:
    """Name and definition of the tables' indexes that back no constraint (the primary key stays)."""
    rows = raw.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [list(tables)],
    )
    # A partitioned table's index prints as ON ONLY (the parent alone): built again, it must
    # cover its partitions too.
    return [(name, definition.replace(" ON ONLY ", " ON ", 1)) for name, definition in rows]


def _load(raw: psycopg.Connection, scene: Scene, clicks: int, leads: int, rng: random.Random) -> None:
    """COPY the clicks and insert the leads with the secondary indexes dropped, then build them again.

    One transaction: if anything fails, the indexes are back as they were. Foreign-key
    triggers are skipped for the load (the generator only writes ids it just created), as
    `pg_restore --disable-triggers` does; that needs a superuser. The clicks' partitions for
    the whole range exist first, so no row waits in the default partition.
    """
    partitions_ensure(since=datetime.now(UTC) - timedelta(days=DAYS + 1))
    with raw.transaction():
        raw.execute("SET LOCAL maintenance_work_mem = '1GB'")
        if raw.execute("SELECT current_setting('is_superuser')").fetchone()[0] == "on":
            raw.execute("SET LOCAL session_replication_role = replica")
        indexes = _secondary_indexes(raw, ["leads_click", "leads_lead"])
        for name, _ in indexes:
            raw.execute(f"DROP INDEX {name}")
        started = time.perf_counter()
        _copy_clicks(raw, scene, clicks, rng)
        _say(f"{clicks} clicks copied in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        _insert_leads(raw, scene.organization.pk, max(1, clicks // max(leads, 1)))
        _say(f"leads inserted in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for _, definition in indexes:
            raw.execute(definition)
        _say(f"{len(indexes)} indexes built in {time.perf_counter() - started:.1f} s")
    raw.execute("ANALYZE leads_click")
    raw.execute("ANALYZE leads_lead")


def _drop(raw: psycopg.Connection, organization_id: int) -> None:
    """Remove an earlier benchmark organization of another size, raw rows first."""
    for table in ("reports_dailystat", "reports_substat", "leads_leadevent", "leads_lead"):
        column = "lead_id IN (SELECT id FROM leads_lead WHERE organization_id = %s)"
        where = column if table == "leads_leadevent" else "organization_id = %s"
        raw.execute(f"DELETE FROM {table} WHERE {where}", [organization_id])
    raw.execute("DELETE FROM leads_click WHERE organization_id = %s", [organization_id])
    raw.execute("DELETE FROM leads_impression WHERE organization_id = %s", [organization_id])
    # Publishers are protected from a cascade: their links and integrations go first, then they.
    for model in (TrackingLink, Integration, Partner, Organization):
        key = "pk" if model is Organization else "organization_id"
        model.objects.filter(**{key: organization_id}).delete()


def _fill(raw: psycopg.Connection, clicks: int, leads: int, seed: int) -> Scene:
    """The filled organization: reused when an earlier run left exactly this many clicks and leads."""
    existing = Organization.objects.filter(slug=SLUG).first()
    if existing is not None:
        counts = (
            Click.objects.filter(organization=existing).count(),
            Lead.objects.filter(organization=existing).count(),
        )
        if counts == (clicks, leads):
            _say(f"reusing the dataset of an earlier run ({clicks} clicks, {leads} leads)")
            return Scene(organization=existing, links=[], partner_id=_largest_partner(existing))
        _say(f"dropping an earlier dataset of {counts[0]} clicks, {counts[1]} leads")
        _drop(raw, existing.pk)
    rng = random.Random(seed)
    scene = _configure(rng)
    _load(raw, scene, clicks, leads, rng)
    return scene


# --- The timings ------------------------------------------------------------------------------


def _summed(rows: Sequence[Any]) -> dict[str, Any]:
    """The totals line a raw report would show: its grouped rows added up."""
    totals: dict[str, Any] = {}
    for row in rows:
        for name, value in row.counters.items():
            totals[name] = totals.get(name, 0) + (value or 0)
    return totals


def _queries(partner_id: int) -> dict[str, Callable[[], Any]]:
    """What the portal's dashboard and report pages ask (portal.views), and the same of the raw tables."""
    end = datetime.now(UTC).date()
    scope: dict[str, Any] = {
        "partner_id": partner_id,
        "start": end - timedelta(days=PERIOD_DAYS - 1),
        "end": end,
    }

    def dashboard() -> None:
        rollups_as_of()
        report_rows(grouping="date", **scope)
        report_rows(grouping="campaign", **scope)
        report_totals(**scope)

    def dashboard_raw() -> None:
        days = raw_report_rows(grouping="date", unique=False, **scope)
        raw_report_rows(grouping="campaign", unique=False, **scope)
        _summed(days)

    def report() -> None:
        rollups_as_of()
        report_rows(grouping="geo", **scope)
        report_totals(**scope)

    def report_raw() -> None:
        _summed(raw_report_rows(grouping="geo", unique=False, **scope))

    return {
        "dashboard": dashboard,
        "dashboard_raw": dashboard_raw,
        "report": report,
        "report_raw": report_raw,
    }


def _rollup_sizes() -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_dailystat")
        cursor.execute("ANALYZE reports_substat")
        cursor.execute(
            "SELECT (SELECT count(*) FROM reports_dailystat), (SELECT count(*) FROM reports_substat)"
        )
        daily, sub = cursor.fetchone()
    return f"{daily} daily, {sub} sub-id rows"


def _rebuild_while_reading(partner_id: int) -> tuple[float, float]:
    """Rebuild in a thread while the portal's dashboard and report are asked again and again.

    The seconds the rebuild took and the larger p95 of the two pages meanwhile, in milliseconds.
    A short pause between questions leaves the rebuild most of a core.
    """
    queries = _queries(partner_id)
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            rollup_rebuild()
        except BaseException as error:  # noqa: BLE001 - raised below, in the bench's own thread
            errors.append(error)
        finally:
            connections.close_all()

    samples: dict[str, list[float]] = {"dashboard": [], "report": []}
    started = time.perf_counter()
    thread = threading.Thread(target=rebuild)
    thread.start()
    while thread.is_alive():
        for name, timed in samples.items():
            began = time.perf_counter()
            queries[name]()
            timed.append((time.perf_counter() - began) * 1000)
        time.sleep(0.05)
    thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, max(_percentile(timed, 0.95) for timed in samples.values())


def _timings(partner_id: int, runs: int) -> dict[str, float]:
    raw_runs = max(3, runs // 5)
    queries = _queries(partner_id)
    return {name: _time(call, raw_runs if name.endswith("_raw") else runs) for name, call in queries.items()}


def run(
    database_url: str, *, clicks: int = 10_000_000, leads: int | None = None, runs: int = 30, seed: int = 7
) -> list[str]:
    """Fill (or reuse), rebuild the rollups, time; the lines to print (report_p95_ms and the ratio last)."""
    config = _check_database(database_url)
    leads = clicks // 10 if leads is None else leads
    with _connect(config) as raw:
        started = time.perf_counter()
        scene = _fill(raw, clicks, leads, seed)
        filled = time.perf_counter() - started
    if not DailyStat.objects.filter(partner_id=scene.partner_id).exists():
        # A fresh dataset: a first rebuild, so that the reports read during the timed one have rows.
        _say(f"dataset ready in {filled:.1f} s; building the rollups a first time")
        rollup_rebuild()
    _say(f"dataset ready in {filled:.1f} s; rebuilding the rollups while reading the reports")
    rebuilt, p95_during = _rebuild_while_reading(scene.partner_id)
    sizes = _rollup_sizes()
    _say(f"rollups rebuilt in {rebuilt:.1f} s ({sizes}); timing")
    p95 = _timings(scene.partner_id, runs)
    dashboard_ratio = p95["dashboard_raw"] / max(p95["dashboard"], 0.001)
    report_ratio = p95["report_raw"] / max(p95["report"], 0.001)
    return [
        f"reports_clicks: {Click.objects.filter(organization=scene.organization).count()}",
        f"reports_leads: {Lead.objects.filter(organization=scene.organization).count()}",
        f"reports_rollups: {sizes}",
        f"reports_fill_s: {filled:.1f}{' (reused)' if not scene.links else ''}",
        f"rollup_rebuild_s: {rebuilt:.1f}",
        f"report_p95_during_rebuild_ms: {p95_during:.1f}",
        f"dashboard_p95_ms: {p95['dashboard']:.1f}",
        f"dashboard_raw_p95_ms: {p95['dashboard_raw']:.1f}",
        f"dashboard_raw_vs_rollup: {dashboard_ratio:.1f}",
        f"report_geo_p95_ms: {p95['report']:.1f}",
        f"report_geo_raw_p95_ms: {p95['report_raw']:.1f}",
        f"report_geo_raw_vs_rollup: {report_ratio:.1f}",
        f"report_p95_ms: {max(p95['dashboard'], p95['report']):.1f}",
        f"report_raw_vs_rollup: {min(dashboard_ratio, report_ratio):.1f}",
    ]
