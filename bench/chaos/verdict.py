"""What the chaos run concludes from the answers and the database: pure functions, no I/O.

SPEC 4 promises that nothing that arrives is lost: a 2xx answer means the lead exists, any
other answer means the request is in the inbound log, refused or failed on our side, and can
be replayed into its lead. Each key (exto) is sent once, so each key ends with exactly one lead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The inbound log's outcomes that mean "no lead came of it, replay me".
REPLAYABLE_OUTCOMES = frozenset({"rejected", "failed"})
# How many keys a problem line names before "…".
EXAMPLES = 5


@dataclass(frozen=True)
class Answer:
    """One lead postback and what came back: `status` is None when no HTTP answer came at all."""

    exto: str
    status: int | None
    sent_at: float = 0.0
    html: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Verdict:
    """The answers counted, and the keys that break a promise, one list per promise."""

    by_status: Counter[str]
    html_answers: int
    unanswered: list[str] = field(default_factory=list)
    ok_without_one_lead: list[str] = field(default_factory=list)
    refused_without_log: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """One sentence per broken promise, with a few of the keys that break it."""
        checks = (
            (self.unanswered, "requests got no HTTP answer"),
            (self.ok_without_one_lead, "2xx answers do not have exactly one lead"),
            (self.refused_without_log, "non-2xx answers are not in the inbound log as rejected or failed"),
            (self.duplicated, "keys have more than one lead"),
            (self.html, "answers were HTML, not JSON"),
        )
        return [f"{len(keys)} {sentence}: {_examples(keys)}" for keys, sentence in checks if keys]


def judge(answers: Iterable[Answer], *, leads: Mapping[str, int], logged: Mapping[str, str]) -> Verdict:
    """Hold every answer against the leads per key and the inbound log's outcome per key."""
    answers = list(answers)
    by_status = Counter("none" if a.status is None else str(a.status) for a in answers)
    return Verdict(
        by_status=by_status,
        html_answers=sum(a.html for a in answers),
        unanswered=[a.exto for a in answers if a.status is None],
        ok_without_one_lead=[a.exto for a in answers if a.ok and leads.get(a.exto, 0) != 1],
        refused_without_log=[
            a.exto
            for a in answers
            if a.status is not None and not a.ok and logged.get(a.exto) not in REPLAYABLE_OUTCOMES
        ],
        duplicated=sorted(exto for exto, count in leads.items() if count > 1),
        html=[a.exto for a in answers if a.html],
    )


def judge_replays(
    refused: Iterable[str], *, replayed: Mapping[str, str], leads: Mapping[str, int]
) -> list[str]:
    """The problems left after replaying the refused keys: `replayed` says what each replay answered.

    A replay is good when it answered a lead ("" in `replayed`) and the key now has exactly one.
    """
    refused = list(refused)
    reasons = {exto: replayed.get(exto, "not in the log") for exto in refused}
    not_replayed = [f"{exto} ({reason})" for exto, reason in reasons.items() if reason]
    without_lead = [exto for exto in refused if leads.get(exto, 0) != 1]
    problems = []
    if not_replayed:
        problems.append(
            f"{len(not_replayed)} non-2xx answers could not be replayed: {_examples(not_replayed)}"
        )
    if without_lead:
        problems.append(
            f"{len(without_lead)} keys have no single lead after replay: {_examples(without_lead)}"
        )
    return problems


def _examples(keys: list[str]) -> str:
    shown = ", ".join(keys[:EXAMPLES])
    return shown + (", …" if len(keys) > EXAMPLES else "")


# --- Deliveries: at least once, resumed within a minute of a worker's death -----------------------

RESUME_SECONDS = 60


@dataclass(frozen=True)
class Arrival:
    """One delivery call as the receiver saw it: its idempotency key, when (monotonic s), its answer."""

    key: str
    at: float
    status: int


@dataclass(frozen=True)
class DeliveryVerdict:
    """The partner's view of the run's deliveries, held against their rows."""

    deliveries: int
    calls: int
    failed_calls: int
    repeats_after_success: int
    in_doubt_attempts: int
    outstanding_at_kill: int
    resumed_after: float | None
    arrived_after: float | None
    not_arrived: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)
    not_resumed: list[str] = field(default_factory=list)

    def figures(self) -> list[str]:
        resumed = "-" if self.resumed_after is None else f"{self.resumed_after:.1f} s"
        arrived = "-" if self.arrived_after is None else f"{self.arrived_after:.1f} s"
        return [
            f"{self.deliveries} deliveries, {self.calls} calls ({self.failed_calls} answered 503), "
            f"{self.repeats_after_success} repeats of a call already answered 200 (dropped by key), "
            f"{self.in_doubt_attempts} attempts in doubt",
            f"{self.outstanding_at_kill} deliveries outstanding when the worker was killed: the last was "
            f"called again {resumed} after its restart and answered 200 {arrived} after it",
        ]

    def problems(self) -> list[str]:
        checks = (
            (self.not_arrived, "deliveries never got a 200 from the receiver"),
            (self.not_done, "deliveries are not done"),
            (self.unknown_keys, "calls carried a key that is no delivery's (no receiver could dedupe them)"),
            (self.not_resumed, f"outstanding deliveries were not called again within {RESUME_SECONDS} s"),
        )
        return [f"{len(keys)} {sentence}: {_examples(keys)}" for keys, sentence in checks if keys]


def judge_deliveries(
    arrivals: Iterable[Arrival],
    *,
    states: Mapping[str, str],
    outstanding: Iterable[str],
    restarted_at: float,
    in_doubt_attempts: int,
) -> DeliveryVerdict:
    """Every delivery (`states`: key → state) got a 200, every call carried a delivery's key, and
    each delivery outstanding when the worker was killed was called again within RESUME_SECONDS
    of the worker's restart."""
    arrivals = sorted(arrivals, key=lambda a: a.at)
    answered: set[str] = set()
    repeats = 0
    for arrival in arrivals:
        repeats += arrival.key in answered
        if arrival.status == 200:
            answered.add(arrival.key)
    outstanding = list(outstanding)
    resumed = {k: _first(arrivals, k, restarted_at, any_status=True) for k in outstanding}
    arrived = {k: _first(arrivals, k, restarted_at, any_status=False) for k in outstanding}
    resumed_after = [at - restarted_at for at in resumed.values() if at is not None]
    arrived_after = [at - restarted_at for at in arrived.values() if at is not None]
    return DeliveryVerdict(
        deliveries=len(states),
        calls=len(arrivals),
        failed_calls=sum(a.status != 200 for a in arrivals),
        repeats_after_success=repeats,
        in_doubt_attempts=in_doubt_attempts,
        outstanding_at_kill=len(outstanding),
        resumed_after=max(resumed_after, default=None),
        arrived_after=max(arrived_after, default=None),
        not_arrived=sorted(set(states) - answered),
        not_done=sorted(key for key, state in states.items() if state != "done"),
        unknown_keys=sorted({a.key or "(none)" for a in arrivals if a.key not in states}),
        not_resumed=sorted(
            key for key, at in resumed.items() if at is None or at - restarted_at > RESUME_SECONDS
        ),
    )


def _first(arrivals: list[Arrival], key: str, after: float, *, any_status: bool) -> float | None:
    """When the first call of `key` (answered 200, unless `any_status`) came after `after`."""
    return next(
        (a.at for a in arrivals if a.key == key and a.at >= after and (any_status or a.status == 200)), None
    )
