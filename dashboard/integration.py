"""Integration (BISP plan 9): feeds from other registries become reviewed events that the next snapshot
applies.

1. A batch (a CSV or Parquet file, or the partner feedback staged through the API) is checked against its
   feed's declaration in ``data/feeds.yaml``: every problem is named by line and column and one problem
   rejects the whole batch — nothing is stored. The same file twice is refused.
2. Records are matched exactly on CNIC through the gateway (one set-based join), then linked to the
   member's household; unmatched, ambiguous and duplicate records are kept with their reasons, matched
   ones with the registry values the rules compared (the evidence).
3. The feed's rules raise events — a death, a hold pending verification, a flag — each once per fact.
   MIS confirms, dismisses or sends for re-survey; the household may appeal within a window; a reversal
   (a death recorded in error) takes the effect away. Every step has its row in the history and the
   access log.
4. Nothing here touches a snapshot: ``effects_for_build`` gives the next ``nser warehouse build/ingest``
   the events in force, and ``record_build`` notes which snapshot applied them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashboard import store
from dashboard.audit import AccessLog, Entry
from dashboard.models import (
    IntegrationBatch,
    IntegrationEvent,
    IntegrationEventStep,
    IntegrationRecord,
    PartnerObservation,
)
from data.feeds import Feed, contradiction, counts_for_household, holds, load_feeds, normal_cnic, parse_value

APPLIED_STATES = ("confirmed", "resurvey", "appealed")
REVIEW = {  # action: (from states, to state, a comment is required)
    "confirm": (("pending",), "confirmed", False),
    "resurvey": (("pending",), "resurvey", False),
    "dismiss": (("pending",), "dismissed", True),
}
REVERSIBLE = ("pending", "confirmed", "resurvey", "appealed")
MAX_PROBLEMS_SHOWN = 50
CHUNK = 1000  # ids per IN (...) list: SQLite and PostgreSQL cap the parameters of one statement


class IntegrationError(ValueError):
    """A batch or an action that cannot be taken; the message says what is wrong."""


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}{', ' + self.column if self.column else ''}: {self.message}"


class BatchRejected(IntegrationError):
    """The batch was rejected whole; ``problems`` lists the first ones, ``total`` counts them all."""

    def __init__(self, feed: str, origin: str, problems: list[Problem], total: int):
        self.feed, self.origin, self.problems, self.total = feed, origin, problems, total
        super().__init__(f"{origin}: {total} problem(s), nothing was loaded; first: {problems[0]}")

    def report(self) -> str:
        lines = [f"{self.origin} ({self.feed}) rejected: {self.total} problem(s); nothing was loaded"]
        lines += [f"  {p}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append(f"  … and {self.total - len(self.problems)} more")
        return "\n".join(lines)


@dataclass
class BatchReport:
    batch_id: int
    feed: str
    rows: int
    matched: int
    unmatched: int
    ambiguous: int
    duplicates: int
    not_counted: int
    events: int
    already_raised: int
    reasons: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        why = "; ".join(f"{n} {r}" for r, n in self.reasons.most_common(5))
        return (
            f"batch {self.batch_id} ({self.feed}): {self.rows} record(s) — {self.matched} matched, "
            f"{self.unmatched} unmatched, {self.ambiguous} ambiguous, {self.duplicates} duplicate(s); "
            f"{self.events} event(s) raised, {self.already_raised} already raised, "
            f"{self.not_counted} matched record(s) that do not count for the household"
            + (f" [{why}]" if why else "")
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_rows(feed: Feed, path: Path) -> tuple[list[tuple[int, dict]], list[Problem], bytes]:
    """The file's records as (line, raw values), the problems of its shape, and its bytes (for the
    batch's SHA-256). CSV (UTF-8, a header row) or Parquet, told by the file's first bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [Problem(None, None, f"cannot read {path}: {exc.strerror or exc}")], b""
    if data.startswith(b"PAR1"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            return [], [Problem(None, None, f"not a readable Parquet file: {exc}")], data
        header = table.column_names
        rows = [(i + 1, r) for i, r in enumerate(table.to_pylist())]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return (
                [],
                [Problem(None, None, f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8")],
                data,
            )
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return [], [Problem(None, None, "the file is empty")], data
        except csv.Error as exc:
            return [], [Problem(1, None, f"not CSV: {exc}")], data
        rows, problems = [], []
        try:
            for values in reader:
                line = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    problems.append(Problem(line, None, f"{len(values)} values for {len(header)} columns"))
                    continue
                rows.append((line, dict(zip(header, values, strict=True))))
        except csv.Error as exc:
            problems.append(Problem(reader.line_num, None, f"not CSV: {exc}"))
        if problems:
            return rows, problems, data
    shape = []
    unknown = [h for h in header if h not in feed.fields]
    if unknown:
        shape.append(
            Problem(1, ", ".join(unknown), f"unknown column(s); {feed.name} has {', '.join(feed.fields)}")
        )
    missing = [f for f, spec in feed.fields.items() if spec.get("required") and f not in header]
    if missing:
        shape.append(Problem(1, ", ".join(missing), "required column(s) missing"))
    if len(set(header)) != len(header):
        shape.append(Problem(1, None, "a column appears twice"))
    return rows, shape, data


class Integration:
    def __init__(self, gateway=None, engine=None, log: AccessLog | None = None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)
        self._gateway = gateway
        self.feeds = load_feeds()

    @property
    def gateway(self):
        if self._gateway is None:
            from dashboard.oversight import governed_gateway

            self._gateway = governed_gateway()
        return self._gateway

    # -- loading ----------------------------------------------------------------------------------------

    def _feed(self, name) -> Feed:
        if not isinstance(name, str) or name not in self.feeds.feeds:
            raise IntegrationError(f"feed: one of {', '.join(sorted(self.feeds.feeds))}")
        return self.feeds.feeds[name]

    def loaded_any(self) -> bool:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(IntegrationBatch)) > 0

    def load_file(self, feed_name: str, path: Path | str, actor: str) -> BatchReport:
        """Check, match and store a file of a feed; BatchRejected (nothing stored) on any problem."""
        feed = self._feed(feed_name)
        path = Path(path)
        rows, problems, data = read_rows(feed, path)
        if problems:
            self._reject(feed, path.name, problems, actor)
        return self.load_records(feed_name, rows, path.name, actor, _sha256(data))

    def load_upload(self, principal, feed_name: str, filename: str, content: bytes) -> BatchReport:
        """A file uploaded on the integration page (MIS only), loaded like one from the command line."""
        import tempfile

        self._require_mis(principal)
        if not content:
            raise IntegrationError("choose the file to load")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (Path(filename or "upload.csv").name or "upload.csv")
            path.write_bytes(content)
            return self.load_file(feed_name, path, principal.username)

    def load_feedback(self, feed_name: str, actor: str) -> BatchReport:
        """The partner observations staged through the API for this feed (e.g. Utility Stores
        purchases), oldest first, as one batch; each is taken once. The API accepted each observation on
        its own, so one that does not fit the feed is set aside as unusable (and logged with why) rather
        than blocking every later batch; the others are marked integrated in the batch's transaction."""
        feed = self._feed(feed_name)
        if not feed.from_feedback:
            raise IntegrationError(f"{feed_name} does not come from partner feedback")
        with self.sessions() as s:
            staged = list(
                s.scalars(
                    select(PartnerObservation)
                    .where(
                        PartnerObservation.type == feed.from_feedback, PartnerObservation.status == "staged"
                    )
                    .order_by(PartnerObservation.id)
                    .limit(self.feeds.batch_max_rows)
                )
            )
        if not staged:
            raise IntegrationError(f"no staged {feed.from_feedback} feedback is waiting")
        usable, unusable = [], []
        for o in staged:
            raw = {"cnic": o.cnic, **(o.payload or {})}
            problems = [
                f"{name}: {why}"
                for name, spec in feed.fields.items()
                if (why := parse_value(spec, raw.get(name))[1])
            ] + [f"{name}: not a field of {feed.name}" for name in set(raw) - set(feed.fields)]
            (unusable if problems else usable).append((o, problems))
        if unusable:
            with self.sessions.begin() as s:
                s.execute(
                    update(PartnerObservation)
                    .where(PartnerObservation.id.in_([o.id for o, _ in unusable]))
                    .values(status="unusable")
                )
            self.log.append(
                Entry(
                    kind="integration",
                    outcome="unusable",
                    username=actor,
                    action=f"feedback {feed.from_feedback}",
                    parameters=json.dumps([{"observation": o.id, "problems": p} for o, p in unusable[:20]]),
                    rows=len(unusable),
                )
            )
        if not usable:
            raise IntegrationError(
                f"none of the {len(staged)} staged {feed.from_feedback} observation(s) fits {feed.name}; "
                "they were set aside as unusable (see the access log)"
            )
        ids = [o.id for o, _ in usable]

        def mark_integrated(s) -> None:
            s.execute(
                update(PartnerObservation).where(PartnerObservation.id.in_(ids)).values(status="integrated")
            )

        rows = [(o.id, {"cnic": o.cnic, **(o.payload or {})}) for o, _ in usable]
        digest = _sha256(",".join(str(i) for i in ids).encode())
        return self.load_records(
            feed_name, rows, f"feedback:{feed.from_feedback}", actor, digest, then=mark_integrated
        )

    def load_records(
        self, feed_name: str, rows: list[tuple[int, dict]], origin: str, actor: str, sha256: str, then=None
    ) -> BatchReport:
        feed = self._feed(feed_name)
        with self.sessions() as s:
            earlier = s.scalar(
                select(IntegrationBatch).where(
                    IntegrationBatch.feed == feed.name, IntegrationBatch.sha256 == sha256
                )
            )
        if earlier is not None:
            raise IntegrationError(
                f"{origin}: the same content was loaded as batch {earlier.id} on "
                f"{earlier.loaded_at:%d %B %Y}; nothing was loaded again"
            )
        if not rows:
            self._reject(feed, origin, [Problem(None, None, "no records")], actor)
        if len(rows) > self.feeds.batch_max_rows:
            self._reject(
                feed,
                origin,
                [
                    Problem(
                        None, None, f"{len(rows):,} records; at most {self.feeds.batch_max_rows:,} per batch"
                    )
                ],
                actor,
            )
        records, problems = [], []
        for line, raw in rows:
            record = {}
            for name, spec in feed.fields.items():
                value, problem = parse_value(spec, raw.get(name))
                if problem:
                    problems.append(Problem(line, name, problem))
                record[name] = value
            unknown = set(raw) - set(feed.fields)
            if unknown:
                problems.append(Problem(line, ", ".join(sorted(unknown)), "unknown field(s)"))
            if feed.key == "cnic" and record.get("cnic"):
                record["cnic"] = normal_cnic(record["cnic"])
            records.append((line, record))
        if problems:
            self._reject(feed, origin, problems, actor)
        return self._match_and_store(feed, records, origin, actor, sha256, then=then)

    def _reject(self, feed: Feed, origin: str, problems: list[Problem], actor: str):
        self.log.append(
            Entry(
                kind="integration",
                outcome="rejected",
                username=actor,
                action=f"load {feed.name}",
                parameters=json.dumps({"origin": origin, "problems": len(problems)}),
                reason=str(problems[0]),
            )
        )
        raise BatchRejected(feed.name, origin, problems[:MAX_PROBLEMS_SHOWN], len(problems))

    def _match_and_store(
        self, feed: Feed, records, origin: str, actor: str, sha256: str, then=None
    ) -> BatchReport:
        """Sort records into duplicate, ambiguous, unmatched and matched; raise events; store it all in
        one transaction."""
        key = feed.key
        first_of: dict[str, int] = {}
        facts: dict[tuple, list[tuple[int, str]]] = {}
        status: dict[int, tuple[str, str | None]] = {}
        for line, rec in records:
            canon = json.dumps(rec, sort_keys=True, default=str)
            if canon in first_of:
                status[line] = ("duplicate", f"the same as line {first_of[canon]}")
                continue
            first_of[canon] = line
            facts.setdefault((rec[key], *(rec.get(f) for f in feed.identity)), []).append((line, canon))
        for group in facts.values():
            if len(group) > 1:
                lines = ", ".join(str(ln) for ln, _ in group)
                for ln, _ in group:
                    status[ln] = (
                        "ambiguous",
                        f"lines {lines} give different facts for the same {', '.join([key, *feed.identity])}",
                    )
        registry = {}
        if key == "cnic":
            candidates = sorted({r["cnic"] for ln, r in records if ln not in status})
            found = self.gateway.match_members(candidates) if candidates else None
            if found is not None:
                for row in found.to_dict("records"):
                    registry[row["cnic"]] = row
        snapshot_id = self.gateway.snapshot_id if key == "cnic" else None
        report = BatchReport(0, feed.name, len(records), 0, 0, 0, 0, 0, 0, 0)
        known_facts: set[str] = set()  # filled below with the facts of this batch raised before
        stored_records, raised = [], []
        for line, rec in records:
            state, reason = status.get(line, (None, None))
            match = registry.get(rec.get("cnic")) if key == "cnic" else None
            evidence = _evidence(match) if match else None
            if state is None:
                if key == "cnic" and match is None:
                    state, reason = "unmatched", "no registered person has this CNIC"
                else:
                    state = "matched"
            counter = {
                "matched": "matched",
                "unmatched": "unmatched",
                "ambiguous": "ambiguous",
                "duplicate": "duplicates",
            }
            setattr(report, counter[state], getattr(report, counter[state]) + 1)
            if state != "matched":
                report.reasons[{"unmatched": reason, "ambiguous": "ambiguous facts"}.get(state, state)] += 1
            row = {
                "line": line,
                "cnic": rec.get("cnic"),
                "area_code": rec.get("area_code"),
                "payload": json.loads(json.dumps(rec, default=str)),
                "status": state,
                "reason": reason,
                "member_id": int(match["member_id"]) if match else None,
                "household_id": int(match["household_id"]) if match else None,
                "evidence": evidence,
            }
            stored_records.append(row)
            if state != "matched":
                continue
            view = _registry_view(match) if match else {}
            for rule in feed.rules:
                if not holds(rule, rec, view):
                    continue
                if match is not None and not counts_for_household(rule, view):
                    report.not_counted += 1
                    row["reason"] = (
                        f"{rule.name}: the rule counts only the {rule.applies_to.replace('_', ' ')}"
                    )
                    continue
                fact = _sha256(
                    "|".join(
                        [feed.name, rule.name, str(rec[key]), *(str(rec.get(f)) for f in feed.identity)]
                    ).encode()
                )
                if fact in known_facts:  # twice in this batch (another rule's record of the same fact)
                    continue
                known_facts.add(fact)
                raised.append((row, rule, rec, match, view, fact))
        earlier = self._facts_raised_before([fact for *_, fact in raised])
        report.already_raised = sum(1 for *_, fact in raised if fact in earlier)
        raised = [r for r in raised if r[-1] not in earlier]
        now = dt.datetime.now(dt.UTC)
        try:
            with self.sessions.begin() as s:
                batch = IntegrationBatch(
                    feed=feed.name,
                    origin=origin[:300],
                    sha256=sha256,
                    rows=report.rows,
                    matched=report.matched,
                    unmatched=report.unmatched,
                    ambiguous=report.ambiguous,
                    duplicates=report.duplicates,
                    events=len(raised),
                    snapshot_id=snapshot_id,
                    loaded_by=actor,
                    loaded_at=now,
                )
                s.add(batch)
                s.flush()
                # one multi-row INSERT per table (the ids come back in order), not one per record: a
                # batch of 500,000 records holds the store's write lock for seconds, not minutes
                record_ids = list(
                    s.scalars(
                        insert(IntegrationRecord).returning(
                            IntegrationRecord.id, sort_by_parameter_order=True
                        ),
                        [{**r, "batch_id": batch.id} for r in stored_records],
                    )
                )
                index_of = {id(r): i for i, r in enumerate(stored_records)}
                event_rows = [
                    {
                        "record_id": record_ids[index_of[id(row)]],
                        "batch_id": batch.id,
                        "feed": feed.name,
                        "rule": rule.name,
                        "effect": rule.effect,
                        "code": rule.code,
                        "fact_key": fact,
                        "cnic": rec.get("cnic"),
                        "area_code": rec.get("area_code"),
                        "member_id": int(match["member_id"]) if match else None,
                        "household_id": int(match["household_id"]) if match else None,
                        "district_code": match["district_code"]
                        if match
                        else _district_of(rec.get("area_code")),
                        "since": _fact_date(feed, rec) or now.date(),
                        "explanation": _explain(feed, rule, rec, view),
                        "contradicts_survey": bool(view) and contradiction(rule, view) is not None,
                        "state": "pending",
                        "raised_at": now,
                    }
                    for row, rule, rec, match, view, fact in raised
                ]
                event_ids = (
                    list(
                        s.scalars(
                            insert(IntegrationEvent).returning(
                                IntegrationEvent.id, sort_by_parameter_order=True
                            ),
                            event_rows,
                        )
                    )
                    if event_rows
                    else []
                )
                if event_ids:
                    s.execute(
                        insert(IntegrationEventStep),
                        [
                            {
                                "event_id": i,
                                "at": now,
                                "actor": actor,
                                "action": "raised",
                                "to_state": "pending",
                            }
                            for i in event_ids
                        ],
                    )
                if then is not None:
                    then(s)  # e.g. mark the partner feedback integrated, in the same transaction
                report.batch_id = batch.id
                report.events = len(raised)
        except IntegrityError as exc:  # another load of the same content or facts committed first
            raise IntegrationError(
                f"{origin}: another load of the same content or facts finished a moment ago; nothing was "
                "loaded — load again to see what is new"
            ) from exc
        self.log.append(
            Entry(
                kind="integration",
                outcome="loaded",
                username=actor,
                action=f"batch {report.batch_id} {feed.name}",
                parameters=json.dumps(
                    {
                        "origin": origin,
                        "rows": report.rows,
                        "matched": report.matched,
                        "unmatched": report.unmatched,
                        "ambiguous": report.ambiguous,
                        "events": report.events,
                    }
                ),
                rows=report.rows,
                snapshot_id=snapshot_id,
            )
        )
        return report

    def _facts_raised_before(self, facts: list[str]) -> set[str]:
        """Which of these facts an earlier batch raised already (looked up in chunks, never all events)."""
        found: set[str] = set()
        with self.sessions() as s:
            for i in range(0, len(facts), CHUNK):
                found.update(
                    s.scalars(
                        select(IntegrationEvent.fact_key).where(
                            IntegrationEvent.fact_key.in_(facts[i : i + CHUNK])
                        )
                    )
                )
        return found

    # -- review, appeal, reversal (MIS) -----------------------------------------------------------------

    @staticmethod
    def _require_mis(principal) -> None:
        if principal is None or principal.tier != "mis":
            raise IntegrationError("only the BISP MIS team reviews integration events")

    @staticmethod
    def _districts(principal) -> list[str] | None:
        """The districts an MIS user with a geographic scope may work on (None: the whole country)."""
        return (
            None if getattr(principal, "scope", None) is None else sorted(_districts_within(principal.scope))
        )

    def _visible(self, principal, event: IntegrationEvent | None) -> bool:
        districts = self._districts(principal)
        return event is not None and (districts is None or event.district_code in districts)

    def events(
        self,
        principal,
        state: str | None = "pending",
        feed: str | None = None,
        district: str | None = None,
        limit: int = 200,
    ) -> list[IntegrationEvent]:
        self._require_mis(principal)
        q = select(IntegrationEvent).order_by(IntegrationEvent.raised_at, IntegrationEvent.id).limit(limit)
        if state:
            q = q.where(IntegrationEvent.state == state)
        if feed:
            q = q.where(IntegrationEvent.feed == feed)
        if district:
            q = q.where(IntegrationEvent.district_code == district)
        districts = self._districts(principal)
        if districts is not None:
            q = q.where(IntegrationEvent.district_code.in_(districts))
        with self.sessions() as s:
            return list(s.scalars(q))

    def event(
        self, principal, event_id: int
    ) -> tuple[IntegrationEvent, IntegrationRecord, list[IntegrationEventStep]]:
        """An event with its record (the evidence) and its history."""
        self._require_mis(principal)
        with self.sessions() as s:
            event = s.get(IntegrationEvent, event_id)
            if not self._visible(principal, event):
                raise IntegrationError(f"no integration event {event_id}")
            record = s.get(IntegrationRecord, event.record_id)
            steps = list(
                s.scalars(
                    select(IntegrationEventStep)
                    .where(IntegrationEventStep.event_id == event_id)
                    .order_by(IntegrationEventStep.id)
                )
            )
            s.expunge(record)
        if record.payload and record.payload.get("cnic") and principal.record_role != "power":
            # a CNIC is secret data (plan 6.2): in full for Power users only
            record.payload = {**record.payload, "cnic": "•••••••••" + str(record.payload["cnic"])[-4:]}
        self.log.append(
            Entry(
                kind="integration",
                outcome="viewed",
                user_id=principal.user_id,
                username=principal.username,
                organisation=principal.organisation,
                action=f"event {event_id} {event.feed}/{event.rule}",
                parameters=json.dumps({"household_id": event.household_id}),
                rows=1,
            )
        )
        return event, record, steps

    def _move(
        self,
        principal,
        event_id: int,
        allowed: tuple[str, ...],
        to_state: str,
        action: str,
        comment: str | None,
        **values,
    ) -> IntegrationEvent:
        """One state change, compare-and-set (two reviewers pressing at once make one change)."""
        self._require_mis(principal)
        if comment is not None and not isinstance(comment, str):
            raise IntegrationError("the comment must be text")
        with self.sessions() as s:
            event = s.get(IntegrationEvent, event_id)
        if not self._visible(principal, event):
            raise IntegrationError(f"no integration event {event_id}")
        if event.state not in allowed:
            raise IntegrationError(
                f"event {event_id} is {event.state}; {action.replace('_', ' ')} needs it {' or '.join(allowed)}"
            )
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as s:
            changed = s.execute(
                update(IntegrationEvent)
                .where(IntegrationEvent.id == event_id, IntegrationEvent.state == event.state)
                .values(state=to_state, decided_by=principal.username, decided_at=now, **values)
            ).rowcount
            if not changed:
                raise IntegrationError(f"event {event_id} was changed by someone else just now; reload it")
            s.add(
                IntegrationEventStep(
                    event_id=event_id,
                    at=now,
                    actor=principal.username,
                    action=action,
                    from_state=event.state,
                    to_state=to_state,
                    comment=comment,
                )
            )
        self.log.append(
            Entry(
                kind="integration",
                outcome=action,
                user_id=principal.user_id,
                username=principal.username,
                organisation=principal.organisation,
                action=f"event {event_id} {event.feed}/{event.rule}",
                parameters=json.dumps(
                    {"from": event.state, "to": to_state, "household_id": event.household_id}
                ),
                reason=comment,
            )
        )
        with self.sessions() as s:
            return s.get(IntegrationEvent, event_id)

    def review(
        self, principal, event_id: int, action: str, comment: str | None = None, today: dt.date | None = None
    ) -> IntegrationEvent:
        """confirm (the effect applies from the next snapshot), resurvey (applies, and the household is
        sent for re-survey) or dismiss (no effect; say why)."""
        if action not in REVIEW:
            raise IntegrationError(f"action: one of {', '.join(REVIEW)}")
        allowed, to_state, needs_comment = REVIEW[action]
        if needs_comment and not (comment or "").strip():
            raise IntegrationError(f"{action} needs a comment saying why")
        values = {}
        if to_state in ("confirmed", "resurvey"):
            values["appeal_until"] = (today or dt.date.today()) + dt.timedelta(days=self.feeds.appeal_days)
        return self._move(principal, event_id, allowed, to_state, action, comment, **values)

    def appeal(
        self, principal, event_id: int, grounds: str, today: dt.date | None = None
    ) -> IntegrationEvent:
        """The household's appeal (recorded by BISP staff, e.g. at a grievance counter) within the window;
        the effect stays until the appeal is decided."""
        self._require_mis(principal)
        if not isinstance(grounds, str) or not grounds.strip():
            raise IntegrationError("an appeal needs its grounds")
        with self.sessions() as s:
            event = s.get(IntegrationEvent, event_id)
        if not self._visible(principal, event):
            raise IntegrationError(f"no integration event {event_id}")
        if event.appeal_until and (today or dt.date.today()) > event.appeal_until:
            raise IntegrationError(
                f"the appeal window of event {event_id} closed on {event.appeal_until:%d %B %Y}"
            )
        return self._move(
            principal,
            event_id,
            ("confirmed", "resurvey"),
            "appealed",
            "appeal",
            grounds,
            appeal_grounds=grounds,
            state_before_appeal=event.state if event is not None else None,
        )

    def decide_appeal(self, principal, event_id: int, uphold: bool, comment: str) -> IntegrationEvent:
        """Uphold the appeal (the event is reversed) or reject it (the event stands as before)."""
        self._require_mis(principal)
        if not isinstance(comment, str) or not comment.strip():
            raise IntegrationError("deciding an appeal needs a comment for the household")
        with self.sessions() as s:
            event = s.get(IntegrationEvent, event_id)
        back = (event.state_before_appeal if event is not None else None) or "confirmed"
        return self._move(
            principal,
            event_id,
            ("appealed",),
            "reversed" if uphold else back,
            "appeal_upheld" if uphold else "appeal_rejected",
            comment,
        )

    def reverse(self, principal, event_id: int, reason: str) -> IntegrationEvent:
        """Take an event back (e.g. a death recorded in error): the next snapshot no longer applies it."""
        if not isinstance(reason, str) or not reason.strip():
            raise IntegrationError("a reversal needs its reason")
        return self._move(principal, event_id, REVERSIBLE, "reversed", "reverse", reason)

    # -- the next build ---------------------------------------------------------------------------------

    def effects_for_build(self) -> list[dict]:
        """The events in force (confirmed, sent for re-survey, or under appeal), for the next build."""
        with self.sessions() as s:
            rows = list(
                s.scalars(
                    select(IntegrationEvent)
                    .where(IntegrationEvent.state.in_(APPLIED_STATES))
                    .order_by(IntegrationEvent.id)
                )
            )
        return [
            {
                "event_id": e.id,
                "feed": e.feed,
                "rule": e.rule,
                "effect": e.effect,
                "code": e.code,
                "cnic": e.cnic,
                "area_code": e.area_code,
                "since": e.since,
                "state": e.state,
            }
            for e in rows
        ]

    def record_build(self, snapshot_id: str, effects: list[dict], report: dict, actor: str = "build") -> None:
        """Note which of the events given to a build (``effects``) the new snapshot applied — all but the
        ones its report lists as skipped — and log the build's integration report (counts, the first
        skipped events)."""
        skipped_ids = {s["event_id"] for s in report.get("skipped") or []}
        applied = [e["event_id"] for e in effects if e["event_id"] not in skipped_ids]
        with self.sessions.begin() as s:
            for i in range(0, len(applied), CHUNK):
                ids = applied[i : i + CHUNK]
                s.execute(
                    update(IntegrationEvent)
                    .where(IntegrationEvent.id.in_(ids))
                    .values(last_applied_in=snapshot_id)
                )
                s.execute(
                    update(IntegrationEvent)
                    .where(IntegrationEvent.id.in_(ids), IntegrationEvent.first_applied_in.is_(None))
                    .values(first_applied_in=snapshot_id)
                )
        skipped = report.get("skipped") or []
        self.log.append(
            Entry(
                kind="integration",
                outcome="applied",
                username=actor,
                action=f"snapshot {snapshot_id}",
                parameters=json.dumps(
                    {
                        "applied": len(applied),
                        "skipped": report.get("skipped_count", len(skipped)),
                        "first_skipped": skipped[:20],
                    },
                    default=str,
                ),
                snapshot_id=snapshot_id,
            )
        )

    # -- dashboards (MIS) -------------------------------------------------------------------------------

    def counts(self, principal, by: tuple[str, ...] = ("feed", "effect", "state")) -> list[dict]:
        """Events counted by feed, effect, code, state, district or month (MIS: the store's own figures;
        protected figures for business users come from the integration cube through the gateway)."""
        self._require_mis(principal)
        columns = {
            "feed": IntegrationEvent.feed,
            "effect": IntegrationEvent.effect,
            "code": IntegrationEvent.code,
            "state": IntegrationEvent.state,
            "district": IntegrationEvent.district_code,
        }
        unknown = set(by) - set(columns) - {"month"}
        if unknown:
            raise IntegrationError(f"count by: {', '.join(sorted([*columns, 'month']))}")
        with self.sessions() as s:
            rows = s.execute(
                select(
                    *[columns[b] for b in by if b != "month"], IntegrationEvent.raised_at, func.count()
                ).group_by(*[columns[b] for b in by if b != "month"], IntegrationEvent.raised_at)
            ).all()
        out: Counter = Counter()
        for row in rows:
            *keys, raised_at, n = row
            values = iter(keys)
            label = tuple(f"{raised_at:%Y-%m}" if b == "month" else next(values) for b in by)
            out[label] += n
        return [
            dict(zip(by, k, strict=True), events=n)
            for k, n in sorted(out.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
        ]

    def contradictions(self, principal, limit: int = 50) -> list[dict]:
        """Households whose feeds contradict the survey (plan 9.1 outliers), most contradictions first,
        then the lowest PMT score (a car in a household scored among the poorest stands out most)."""
        self._require_mis(principal)
        q = (
            select(
                IntegrationEvent.household_id,
                IntegrationEvent.district_code,
                func.count().label("n"),
                func.min(IntegrationEvent.explanation).label("example"),
            )
            .where(
                IntegrationEvent.contradicts_survey.is_(True),
                IntegrationEvent.state.notin_(("dismissed", "reversed")),
            )
            .group_by(IntegrationEvent.household_id, IntegrationEvent.district_code)
        )
        districts = self._districts(principal)
        if districts is not None:
            q = q.where(IntegrationEvent.district_code.in_(districts))
        with self.sessions() as s:
            rows = s.execute(q).all()
            ids = [r.household_id for r in rows]
            pmt = {}
            for i in range(0, len(ids), CHUNK):
                for household_id, evidence in s.execute(
                    select(IntegrationRecord.household_id, IntegrationRecord.evidence).where(
                        IntegrationRecord.household_id.in_(ids[i : i + CHUNK])
                    )
                ):
                    pmt.setdefault(household_id, (evidence or {}).get("pmt_score"))
        ranked = sorted(rows, key=lambda r: (-r.n, pmt.get(r.household_id) or 100.0))[:limit]
        return [
            {
                "household_id": r.household_id,
                "district_code": r.district_code,
                "contradictions": r.n,
                "pmt_score": pmt.get(r.household_id),
                "example": r.example,
            }
            for r in ranked
        ]

    def batches(self, principal, limit: int = 50) -> list[IntegrationBatch]:
        self._require_mis(principal)
        with self.sessions() as s:
            return list(s.scalars(select(IntegrationBatch).order_by(IntegrationBatch.id.desc()).limit(limit)))

    def records(
        self, principal, batch_id: int, status: str | None = None, limit: int = 500
    ) -> list[IntegrationRecord]:
        """A batch's records (e.g. the unmatched ones with their reasons); MIS users without a
        geographic scope only (a batch spans the country), and every look is logged."""
        self._require_mis(principal)
        if self._districts(principal) is not None:
            raise IntegrationError("a batch's records are for MIS users without a geographic scope")
        self.log.append(
            Entry(
                kind="integration",
                outcome="viewed",
                user_id=principal.user_id,
                username=principal.username,
                organisation=principal.organisation,
                action=f"batch {batch_id} records",
                parameters=json.dumps({"status": status}),
            )
        )
        q = (
            select(IntegrationRecord)
            .where(IntegrationRecord.batch_id == batch_id)
            .order_by(IntegrationRecord.line)
        )
        if status:
            q = q.where(IntegrationRecord.status == status)
        with self.sessions() as s:
            return list(s.scalars(q.limit(limit)))


def _evidence(match: dict) -> dict:
    keep = (  # confidential registry values only: the evidence is shown to reviewers
        "member_id",
        "household_id",
        "relation",
        "gender",
        "age",
        "marital_status",
        "is_beneficiary",
        "district_code",
        "tehsil_code",
        "is_beneficiary_household",
        "has_car",
        "pmt_score",
    )
    return json.loads(json.dumps({k: match.get(k) for k in keep}, default=_plain))


def _plain(value):
    """A JSON-able Python value for a numpy/pandas one (NA and NaN become None)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return value if isinstance(value, str | int | float | bool) else str(value)


def _registry_view(match: dict) -> dict:
    """The registry's values for a match as the rules name them (member.x, household.x)."""
    member = (
        "relation",
        "gender",
        "age",
        "marital_status",
        "employment_status",
        "employment_sector",
        "is_beneficiary",
    )
    household = (
        "district_code",
        "tehsil_code",
        "province_code",
        "has_car",
        "is_beneficiary_household",
        "beneficiary_relations",
    )
    view = {f"member.{k}": match[k] for k in member}
    view.update({f"household.{k}": match[k] for k in household})
    return {k: v if isinstance(v, str) or v is None else _plain(v) for k, v in view.items()}


def _district_of(area_code: str | None) -> str | None:
    """The district of a district or tehsil code (PK601T02 → PK601)."""
    return re.sub(r"T\d{2}$", "", area_code) if area_code else None


def _fact_date(feed: Feed, record: dict) -> dt.date | None:
    for name, spec in feed.fields.items():
        if spec["type"] == "date" and record.get(name):
            return record[name]
    return None


def _explain(feed: Feed, rule, record: dict, view: dict) -> str:
    """One plain sentence: what the feed says, why the rule fired, whose record it is."""
    shown = [*feed.identity, *(c["field"] for c in rule.when if c["field"] not in feed.identity)]
    facts = ", ".join(
        f"{f.replace('_', ' ')} {record.get(f)}" for f in dict.fromkeys(shown) if record.get(f) is not None
    )
    parts = [f"{feed.label}: {facts or 'a record'}"]
    for c in rule.when:
        if "differs_from" in c:
            parts.append(
                f"the registry has {c['differs_from'].split('.', 1)[1].replace('_', ' ')} {view.get(c['differs_from'])}"
            )
    if view:
        household = (
            "a beneficiary household" if view.get("household.is_beneficiary_household") else "a household"
        )
        who = "the beneficiary" if view.get("member.is_beneficiary") else f"the {view.get('member.relation')}"
        parts.append(f"record of {who} of {household}")
    said = contradiction(rule, view) if view else None
    if said:
        parts.append(f"it contradicts the survey: {said}")
    effect = {
        "deceased": "the member is recorded as deceased",
        "hold": f"hold ({rule.code})",
        "flag": f"flag ({rule.code})",
    }
    return "; ".join(parts) + f" → {effect[rule.effect]}."


def _districts_within(scope: str) -> set[str]:
    """The districts of a province, division, district or tehsil code (census geography)."""
    from data import geography

    d = geography.districts()
    inside = d[(d.province_code == scope) | (d.division_code == scope) | (d.district_code == scope)]
    found = set(inside.district_code)
    t = geography.tehsils()
    found |= set(t.loc[t.tehsil_code == scope, "district_code"])
    return found
