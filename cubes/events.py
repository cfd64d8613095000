"""Audit and metering events the gateway emits for every answer, refusal and error.

Events are plain dataclasses; sinks receive them. The durable stores (relational audit log, metering
and quotas) arrive with the governance work and implement the same ``EventSink`` protocol. Until then
the default sink appends JSON lines under ``$NSER_DATA_DIR/events/`` so nothing goes unrecorded.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class QueryAudited:
    """One query through the gateway: who, what, the outcome, and what was returned."""

    user: str
    organisation: str | None
    tier: str
    scope: str | None
    cube: str | None
    query: str
    outcome: str  # answered | refused | invalid | error
    reason: str | None
    cells: int
    rows: int
    snapshot_id: str | None
    source: str | None  # rollup table, raw, or cache
    duration_ms: float
    user_id: int | None = None
    ip: str | None = None
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))
    kind: str = "query_audited"


@dataclass(frozen=True)
class DataMetered:
    """What the actor received, for data metering and quotas (seed §8.4)."""

    user: str
    organisation: str | None
    tier: str
    service: str  # aggregate | record | api …
    cells: int
    rows: int
    snapshot_id: str | None
    user_id: int | None = None
    organisation_id: int | None = None
    client_type: str | None = None
    gratis: str | None = None
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))
    kind: str = "data_metered"


class EventSink(Protocol):
    def emit(self, event: QueryAudited | DataMetered) -> None:
        """Record the event; raise if it cannot be recorded (the gateway then returns no data)."""

    def emit_many(self, events: list) -> None:
        """Record the events in order, all or none as far as the store allows; raise if they cannot be."""


class MemorySink:
    """Keeps events in a list (tests, and callers that forward them elsewhere)."""

    def __init__(self) -> None:
        self.events: list = []
        self._lock = threading.Lock()

    def emit(self, event) -> None:
        with self._lock:
            self.events.append(event)

    def emit_many(self, events: list) -> None:
        with self._lock:
            self.events.extend(events)


class JsonlSink:
    """Appends one JSON object per event to ``<dir>/<date>.jsonl``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def emit(self, event) -> None:
        self.emit_many([event])

    def emit_many(self, events: list) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for event in events:
                line = json.dumps(asdict(event), sort_keys=True)
                with open(self.directory / f"{event.at[:10]}.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
