"""A dry run's recorder: what the postback debugger (`ingest.debugger`) learns from the real code.

The debugger runs an ingestion endpoint's own code inside a transaction it rolls back. What
the rows inside that transaction do not say (which status word or goal alias matched, the
target a postback named) the code says with `note(step, **facts)`, a no-op costing one
`ContextVar.get` when no trace is recording.

While a trace records, nothing may be written outside the database transaction, since only
that is rolled back: the hot cache keeps nothing it loaded (`config.hotcache`), screening
counters are read, not moved (`leads.screening`), and a failure is not kept for replay
(`ingest.log.failure_keep`). Those places ask `active()`.

It lives here, beside the hot cache, because `leads` and `ingest` both call it and the
imports between apps flow one way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trace:
    """The notes of one dry run, by step; a later note of a step adds to (and wins over) an earlier one."""

    notes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, step: str) -> dict[str, Any]:
        return self.notes.get(step, {})


_current: ContextVar[Trace | None] = ContextVar("partnerdesk_trace", default=None)


def active() -> bool:
    """Whether a dry run is recording: then nothing may be written outside the transaction."""
    return _current.get() is not None


def note(step: str, **facts: Any) -> None:
    """Tell the recording dry run, if any, what this step found."""
    trace = _current.get()
    if trace is not None:
        trace.notes[step] = {**trace.notes.get(step, {}), **facts}


@contextmanager
def recording() -> Iterator[Trace]:
    """Record the notes of the code run inside; the dry run's guards hold until it ends."""
    trace = Trace()
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)
