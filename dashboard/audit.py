"""The access log (seed 8.2.3): append-only, tamper-evident, written before any data is returned.

Each row carries ``hash = HMAC-SHA256(key, prev_hash ‖ canonical row)``; the ``audit_head`` row holds the
sequence number and hash of the last row, and appending locks it, so writers in many threads and
processes form one chain. ``verify()`` walks the chain and names the first row that was edited, deleted,
inserted or reordered. The HMAC key lives outside the database (``NSER_AUDIT_KEY`` or a file under
``$NSER_DATA_DIR/secrets``), so someone who can write to the database cannot recompute a valid chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, text

from dashboard import store
from dashboard.models import AuditEntry
from data.secrets import kept_secret

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "at",
    "kind",
    "outcome",
    "ip",
    "user_id",
    "username",
    "organisation",
    "tier",
    "action",
    "parameters",
    "rows",
    "cells",
    "reason",
    "snapshot_id",
)


class AuditWriteError(RuntimeError):
    """The access log could not be written; the request that needed it must fail."""


def audit_key() -> bytes:
    """The chain's HMAC key: NSER_AUDIT_KEY (hex) or a 32-byte file created once with mode 0600."""
    return kept_secret("audit.key", env="NSER_AUDIT_KEY")


def _stamp(at: dt.datetime) -> str:
    """UTC timestamp text used in the hash; the same whether the database kept the time zone or not."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(key: bytes, prev_hash: str, row: dict) -> str:
    body = {f: (_stamp(row[f]) if f == "at" else row.get(f)) for f in FIELDS}
    message = (
        prev_hash.encode() + json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass
class Entry:
    """What a caller logs; the chain fields are added when appended."""

    kind: str
    outcome: str
    ip: str | None = None
    user_id: int | None = None
    username: str | None = None
    organisation: str | None = None
    tier: str | None = None
    action: str | None = None
    parameters: str | None = None
    rows: int = 0
    cells: int = 0
    reason: str | None = None
    snapshot_id: str | None = None


class AccessLog:
    """Appends to and checks the chained access log in the store."""

    def __init__(self, engine: Engine | None = None, key: bytes | None = None):
        self.engine = engine or store.engine()
        self.key = key or audit_key()

    def append(self, entry: Entry) -> int:
        """Add one row and return its sequence number; raises AuditWriteError if that is impossible."""
        return self.append_many([entry])[0]

    def append_many(self, entries: list[Entry]) -> list[int]:
        """Add rows in order in one transaction (all or none) and return their sequence numbers; raises
        AuditWriteError if that is impossible. A page's answers are logged in one write: each write
        waits for the chain head, so one per answer made the log the busiest lock under load."""
        try:
            with self.engine.begin() as conn:
                lock = "" if store.is_sqlite(self.engine) else " FOR UPDATE"
                seq, prev = conn.execute(text(f"SELECT seq, hash FROM audit_head WHERE id = 1{lock}")).one()
                at = dt.datetime.now(dt.UTC)
                rows, seqs = [], []
                for entry in entries:
                    seq += 1
                    row = {**entry.__dict__, "seq": seq, "at": at}
                    digest = row_hash(self.key, prev, row)
                    rows.append({**row, "prev_hash": prev, "hash": digest})
                    seqs.append(seq)
                    prev = digest
                if rows:
                    conn.execute(AuditEntry.__table__.insert(), rows)
                    conn.execute(
                        text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": prev}
                    )
                return seqs
        except Exception as exc:  # any failure to log is a failure of the request
            raise AuditWriteError(f"the access log could not be written: {exc.__class__.__name__}") from exc

    def rows(self, batch: int = 5000) -> Iterator[AuditEntry]:
        """Every row in sequence order (streamed)."""
        last = 0
        sessions = store.sessions(self.engine)
        while True:
            with sessions() as s:
                chunk = s.scalars(
                    select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
                ).all()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].seq

    def verify(self) -> tuple[bool, str]:
        """Walk the chain: (True, summary) when intact, else (False, what is wrong with which row)."""
        expected_seq, prev = 1, GENESIS
        count = 0
        for row in self.rows():
            data = {f: getattr(row, f) for f in FIELDS}
            if row.seq != expected_seq:
                what = "is missing (deleted)" if row.seq > expected_seq else "appears twice or out of order"
                return False, f"row {expected_seq} {what}: found row {row.seq} after row {expected_seq - 1}"
            if row.prev_hash != prev:
                return (
                    False,
                    f"row {row.seq} does not follow row {row.seq - 1} (reordered or a row was replaced)",
                )
            if row_hash(self.key, prev, data) != row.hash:
                return False, f"row {row.seq} was edited after it was written"
            prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
        with self.engine.connect() as conn:
            head_seq, head_hash = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
        if head_seq != count or head_hash != prev:
            if head_seq > count:
                return False, f"rows {count + 1} to {head_seq} are missing (deleted from the end)"
            return False, f"the chain head does not match row {count} (the log was rewritten)"
        return True, f"{count} rows, chain intact"

    def export(self, path: Path, since: dt.datetime | None = None) -> int:
        """Write the log (with its hashes) as CSV for auditors; returns the number of rows."""
        import csv

        n = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([*FIELDS, "prev_hash", "hash"])
            for row in self.rows():
                if since and _stamp(row.at) < _stamp(since):
                    continue
                w.writerow(
                    [_stamp(row.at) if f == "at" else getattr(row, f) for f in FIELDS]
                    + [row.prev_hash, row.hash]
                )
                n += 1
        return n
