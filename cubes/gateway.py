"""The one door: every number that leaves the server is answered here.

``Gateway.run_query(actor, query)`` runs, in this order:

1. validate the query's shape (cube, measures, dimensions, members);
2. authorize it for the actor (tier, cube, measures, lowest geography, shape limits, forbidden
   combinations, the actor's geographic scope) — before any data is scanned;
3. plan: the smallest rollup that answers it; raw rows only for the MIS tier where no rollup can;
4. execute in DuckDB;
5. protect for the actor's tier (cell-key perturbation, suppression, sparsity, magnitudes, shares);
6. stamp the snapshot id and date;
7. emit an audit event and a metering event.

The result carries only category columns, protected values and flags. True counts, key sums and every
internal column stay inside this module for tiers below MIS. A cache sits after protection and is keyed
by snapshot, tier and scope as well as the query, so an MIS answer is never served to anyone else.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cubes import sdc
from cubes.builder import aggregate_sql, cubes_path
from cubes.events import DataMetered, EventSink, JsonlSink, QueryAudited
from cubes.model import Cube, Model, load_model
from cubes.parquet import ParquetError, open_parquet, serve_format
from cubes.query import Actor, Query, QueryError, parse_query
from cubes.rollups import NATIONAL_CODE, RollupSpec, choose_rollup, reaggregate_sql
from data.snapshots import SnapshotStore

TOTAL = "_total"
CACHE_SIZE = 4096
SHARED_CACHE_EXPIRE_S = 14 * 24 * 3600  # answers of a snapshot retired a fortnight ago are not kept
log = logging.getLogger(__name__)
NOTE_PERTURBED = (
    "Counts are perturbed slightly and small counts are suppressed to protect households; "
    "cells are protected independently, so rows and columns need not add up to the totals."
)


class Refused(Exception):
    """The gateway will not answer; the reason never contains a number from the data."""


@dataclass
class Result:
    """What leaves the gateway: category columns, protected values, flags, provenance."""

    ok: bool
    tier: str
    cube: str | None
    snapshot_id: str | None
    as_of: str | None
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    query: dict | None = None
    code: str | None = None  # why not ok, for machines: quota_exceeded (else see reason)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "tier": self.tier,
            "cube": self.cube,
            "snapshot_id": self.snapshot_id,
            "as_of": self.as_of,
            "columns": self.columns,
            "rows": self.rows,
            "flags": self.flags,
            "reason": self.reason,
            "notes": self.notes,
            "query": self.query,
        }


@dataclass
class _Served:
    """One snapshot as the gateway answers from it: its connection and what was read once from its cubes
    file. A request pins one for its whole duration (``Gateway.pinned``), so every answer of a page comes
    from the same snapshot even when a new one is swapped in meanwhile."""

    con: duckdb.DuckDBPyConnection
    stamp: tuple[str | None, str]
    snapshot_id: str
    as_of: str
    specs: dict[str, list[RollupSpec]]
    sizes: dict[str, int]
    data_members: dict[str, dict[str, list[str]]]
    max_size: int
    areas: pd.DataFrame
    parents: dict[str, str]
    names: dict[str, str]
    by_level: dict[str, list[str]]
    levels: dict[str, str]
    cnic_lookup: bool
    answers_key: str  # names this cubes build in cache keys (its build id): rebuilt cubes never share answers
    ancestor_cache: dict[str, frozenset] = field(default_factory=dict)
    sparsity: dict[tuple, bool] = field(default_factory=dict)
    users: int = 0  # threads pinned to it; a retired snapshot is closed when none is


def _pinned(method):
    """Run a public gateway method inside ``pinned()``: one snapshot for the whole call."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.pinned():
            return method(self, *args, **kwargs)

    return wrapper


class Gateway:
    """Answers cube queries for actors. One per process; safe to share between threads."""

    def __init__(
        self,
        store: SnapshotStore | None = None,
        model: Model | None = None,
        events: EventSink | None = None,
        cache: bool = True,
        quota=None,
        shared_cache=None,
    ):
        self.store = store or SnapshotStore()
        self.model = model or load_model()
        self.events = events or JsonlSink(self.store.root / "events")
        # Optional daily quotas: an object with check(actor, cells) and the exception class it raises.
        self.quota = quota
        self._lock = threading.Lock()
        self._served: _Served | None = None  # the newest serving snapshot, opened
        self._retired: list[_Served] = []  # earlier ones some request is still pinned to
        self._local = threading.local()  # this thread's pinned snapshot and pin depth
        self._cache: OrderedDict[tuple, Result] | None = OrderedDict() if cache else None
        # Optional second level every process shares (diskcache or Redis: get/set): protected answers
        # computed by one gunicorn worker or node, or precomputed when a snapshot is served, are not
        # computed again by the others. Each use is still logged here, as a "cache" answer.
        self.shared_cache = shared_cache if cache else None
        self._policy_digest = _policy_digest(self.model)
        policy = self.model.policy
        self._ptable = sdc.load_ptable(str(self.model.ptable_path), policy["ptable"]["cap"])

    # -- connection to the current snapshot --------------------------------------------------------

    def _open(self, stamp: tuple[str | None, str]) -> _Served:
        """Open a snapshot: ``stamp`` is (snapshot id or None for the serving one, the build SERVING
        names; "" for the newest build of a snapshot pinned by id)."""
        snap = self.store.get(stamp[0]) if stamp[0] else self.store.serving()
        cpath = cubes_path(snap)
        if serve_format() == "parquet":  # app nodes reading the snapshot's Parquet copy (shared storage)
            try:
                con = open_parquet(snap, stamp[1] or None)
            except ParquetError as exc:
                raise Refused(str(exc)) from exc
            fallback_key = None
        else:
            if not cpath.exists():
                raise Refused(
                    "the statistics for the current snapshot are not built yet; run `nser cubes build`"
                )
            built = cpath.stat()  # before opening: a rebuild meanwhile gets the next key, never this one
            fallback_key = f"{snap.snapshot_id}:{built.st_ino}:{built.st_mtime_ns}"
            con = duckdb.connect(str(cpath), read_only=True)
            con.execute(f"ATTACH IF NOT EXISTS '{snap.path}' AS wh (READ_ONLY)")
        specs: dict[str, list[RollupSpec]] = {}
        sizes: dict[str, int] = {}
        for cube, name, tbl, level, dims, n in con.execute(
            "SELECT cube, rollup, tbl, geo_level, dims, rows FROM rollups"
        ).fetchall():
            specs.setdefault(cube, []).append(RollupSpec(name, cube, level, tuple(dims)))
            sizes[tbl] = n
        info = json.loads(con.execute("SELECT summary FROM build_info").fetchone()[0])
        # the whole country is one more area, above the provinces
        areas = con.execute(
            f"SELECT 'national' AS level, '{NATIONAL_CODE}' AS code, 'Pakistan' AS name, NULL AS parent_code "
            f"UNION ALL SELECT level, code, name, CASE WHEN level = 'province' THEN '{NATIONAL_CODE}' "
            "ELSE parent_code END FROM wh.geo_units"
        ).df()
        # what names this cubes build in shared cache keys, read from the build itself (the same on every
        # node, whatever its copy); cubes built before build ids: the file's identity
        build_id = info.get("build_id")
        return _Served(
            con=con,
            stamp=stamp,
            answers_key=f"{snap.snapshot_id}:{build_id}" if build_id else fallback_key or snap.snapshot_id,
            snapshot_id=snap.snapshot_id,
            as_of=snap.as_of,
            specs=specs,
            sizes=sizes,
            data_members={c: v.get("members", {}) for c, v in info["cubes"].items()},
            max_size=int(info.get("max_household_size", 1)),
            areas=areas,
            parents={c: p for c, p in zip(areas.code, areas.parent_code, strict=True) if isinstance(p, str)},
            names=dict(zip(areas.code, areas.name, strict=True)),
            by_level={lv: sorted(g.code) for lv, g in areas.groupby("level")},
            levels=dict(zip(areas.code, areas.level, strict=True)),
            # the CNIC lookup of record search (cube files built before it have none)
            cnic_lookup=bool(
                con.execute(
                    "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'cnic_lookup' "
                    "AND column_name = 'm_last' AND database_name = current_database()"
                ).fetchone()[0]
            ),
        )

    def _acquire(self) -> _Served:
        """The snapshot this thread answers from: the one it is pinned to, else the newest serving one —
        opened anew when SERVING changed (a new snapshot's cubes are in place, or cubes were rebuilt), so
        readers follow atomic swaps; a newer warehouse whose cubes are still being built is not answered
        from yet. Inside ``pinned()`` the snapshot is pinned until the block ends."""
        local = self._local
        served = getattr(local, "served", None)
        if served is not None:
            return served
        stamp = self.store.serving_stamp()
        with self._lock:
            if self._served is None or stamp != self._served.stamp:
                opened = self._open(stamp)
                if self._served is not None:
                    self._retired.append(self._served)
                self._served = opened
                if self._cache is not None:
                    self._cache.clear()
            served = self._served
            if getattr(local, "depth", 0) > 0:
                served.users += 1
                local.served = served
            self._close_retired()
        return served

    def _connection(self) -> duckdb.DuckDBPyConnection:
        served = self._acquire()
        with self._lock:
            return served.con.cursor()

    @contextlib.contextmanager
    def pinned(self, snapshot_id: str | None = None):
        """Answer everything inside the block from one snapshot (re-entrant, per thread): the app pins a
        whole request, so a page never mixes two snapshots and a swap never closes a connection in use.
        ``snapshot_id`` pins a named snapshot that need not be serving yet: answers are precomputed
        for a new snapshot before SERVING names it."""
        local = self._local
        depth = getattr(local, "depth", 0)
        private = None
        if depth == 0:
            local.answers = 0
            if snapshot_id is not None:
                private = local.served = self._open((snapshot_id, ""))
        elif snapshot_id is not None:
            held = getattr(local, "served", None)
            if held is None or held.snapshot_id != snapshot_id:
                raise ValueError(
                    f"already pinned to {'snapshot ' + held.snapshot_id if held else 'the serving snapshot'}, "
                    f"not {snapshot_id}"
                )
        local.depth = depth + 1
        try:
            yield self
        finally:
            local.depth = depth
            if depth == 0:
                served, local.served = getattr(local, "served", None), None
                if private is not None:
                    private.con.close()
                elif served is not None:
                    with self._lock:
                        served.users -= 1
                        self._close_retired()

    def pinned_answers(self) -> tuple[str | None, int]:
        """(the snapshot this thread's pin answers from, the answers and refusals it logged so far): the
        app puts them on each response, so a load test can check the access log against what it got."""
        served = getattr(self._local, "served", None)
        return (served.snapshot_id if served else None), getattr(self._local, "answers", 0)

    def _close_retired(self) -> None:
        """Close earlier snapshots no request is pinned to any more (the lock is held)."""
        still = []
        for served in self._retired:
            if served.users > 0:
                still.append(served)
                continue
            try:
                served.con.close()
            except duckdb.Error:  # a cursor still running: closed at the next chance
                still.append(served)
        self._retired = still

    def _now(self) -> _Served | None:
        return getattr(self._local, "served", None) or self._served

    # what the per-snapshot code reads: the snapshot this thread answers from
    _specs = property(lambda self: self._now().specs)
    _sizes = property(lambda self: self._now().sizes)
    _data_members = property(lambda self: self._now().data_members)
    _max_size = property(lambda self: self._now().max_size)
    _areas = property(lambda self: self._now().areas)
    _parents = property(lambda self: self._now().parents)
    _names = property(lambda self: self._now().names)
    _by_level = property(lambda self: self._now().by_level)
    _levels = property(lambda self: self._now().levels)
    _cnic_lookup = property(lambda self: self._now().cnic_lookup)
    _ancestor_cache = property(lambda self: self._now().ancestor_cache)
    _sparsity = property(lambda self: self._now().sparsity)
    _snapshot_id = property(lambda self: (n := self._now()) and n.snapshot_id)
    _as_of = property(lambda self: (n := self._now()) and n.as_of)
    _stamp = property(lambda self: (n := self._now()) and n.stamp)

    # -- public entry point ------------------------------------------------------------------------

    @_pinned
    def run_query(self, actor: Actor, query: dict | str | Query) -> Result:
        """Answer one query for one actor; every answer, refusal and error is logged before it returns."""
        return self.run_queries(actor, {"_": query})["_"]

    @_pinned
    def run_queries(self, actor: Actor, queries: dict[str, dict | str | Query]) -> dict[str, Result]:
        """Answer several queries (one page's) for one actor, from one snapshot. Each answer and refusal
        is its own row in the access log, and all are written before any is returned: in one write
        when no quota counts this actor's answers (the public), else one by one, so that each
        answer's quota check sees the ones before it."""
        batch = self.quota is None or not self.quota.applies(actor)
        if not batch:
            return {key: self._run_logged(actor, query) for key, query in queries.items()}
        local = self._local
        outer = getattr(local, "pending", None)  # a batch around this one flushes its own events
        local.pending = pending = []
        try:
            results = {key: self._run_logged(actor, query) for key, query in queries.items()}
        finally:
            local.pending = outer
        try:
            self.events.emit_many(pending)
        except Exception:
            log.exception("the access log could not be written")
            # No data leaves without its row in the access log.
            return {key: self._unrecorded(actor, r.cube) for key, r in results.items()}
        # this request's logged answers, for its headers: counted once their rows are written
        local.answers = getattr(local, "answers", 0) + sum(isinstance(e, QueryAudited) for e in pending)
        return results

    def _run_logged(self, actor: Actor, query: dict | str | Query) -> Result:
        started = time.perf_counter()
        text = (
            query
            if isinstance(query, str)
            else (query.canonical() if isinstance(query, Query) else str(query))
        )
        result: Result
        source = None
        try:
            q = query if isinstance(query, Query) else parse_query(query, self.model)
            text = q.canonical()
            if self.quota is not None:
                self.quota.check(actor, cells=0)
            con = self._connection()
            key = self._cache_key(actor, text)
            cached = self._cache_get(key)
            if cached is not None:
                result, source = cached, "cache"
            else:
                result, source = self._answer(con, actor, q)
                self._cache_put(key, result)
            if self.quota is not None:
                self.quota.check(actor, cells=_count_cells(result))
            outcome = "answered"
        except QueryError as exc:
            result = self._refusal(actor, None, f"invalid query: {exc}")
            outcome = "invalid"
        except Refused as exc:
            cube = query.cube if isinstance(query, Query) else None
            result = self._refusal(actor, cube, str(exc))
            outcome = "refused"
        except Exception as exc:
            if self.quota is None or not isinstance(exc, self.quota.refusal):
                raise
            result = self._refusal(actor, None, str(exc))
            result.code = "quota_exceeded"
            outcome = "refused"
        duration = (time.perf_counter() - started) * 1000
        try:
            self._emit(actor, result, text, outcome, source, duration)
        except Exception:
            log.exception("the access log could not be written")
            return self._unrecorded(actor, result.cube)
        return result

    def _unrecorded(self, actor: Actor, cube: str | None) -> Result:
        """What is returned instead of an answer whose access-log row could not be written."""
        return self._refusal(
            actor,
            cube,
            "the request could not be recorded in the access log, so no "
            "data was returned; try again or tell the MIS team",
        )

    @_pinned
    def precompute(self, actor: Actor, queries: list[dict]) -> dict[str, int]:
        """Compute and cache the answers to ``queries`` for ``actor`` without returning any: the public
        district dashboards are precomputed when a snapshot is served, so no visitor waits for them
        and no worker computes what another did. Nothing leaves, so nothing is logged per answer; each
        later use of a cached answer is logged like any other. Returns counts (answered, refused, already
        cached), never numbers from the data."""
        counts = {"answered": 0, "refused": 0, "cached": 0}
        for query in queries:
            try:
                q = parse_query(query, self.model)
                con = self._connection()
                key = self._cache_key(actor, q.canonical())
                if self._cache_get(key) is not None:
                    counts["cached"] += 1
                    continue
                result, _source = self._answer(con, actor, q)
                self._cache_put(key, result)
                counts["answered"] += 1
            except (QueryError, Refused):
                counts["refused"] += 1
        return counts

    @_pinned
    def search_records(self, actor: Actor, search: dict, service: str = "portal_rows"):
        """Record search (plan §8.2.2) for the actor's record-access role: validated, limited to the actor's
        area, masked by cubes/records.py's policy, logged (IP, user, type, parameters, rows returned) and
        metered per row before anything is returned."""
        from cubes import records

        started = time.perf_counter()
        role = actor.attributes.get("record_role")
        text = json.dumps(search, sort_keys=True, default=str) if isinstance(search, dict) else str(search)
        kind = search.get("type") if isinstance(search, dict) else None
        try:
            if actor.tier == "public" or role not in records.ROLES:
                raise Refused("your account has no record-access role (Power, Standard or Basic)")
            parsed = records.parse_search(search)
            text, kind = parsed.parameters(), parsed.kind
            if self.quota is not None:
                self.quota.check(actor, cells=0)
            con = self._connection()
            area_level = None
            if parsed.area is not None:
                area_level = self._levels.get(parsed.area)
                if area_level not in records.AREA_LEVELS[parsed.kind]:
                    allowed = ", ".join(lvl.replace("_", " ") for lvl in records.AREA_LEVELS[parsed.kind])
                    raise records.RecordInputError(f"area: {parsed.area} is not a known {allowed}")
                if actor.scope and actor.scope not in self._ancestors(parsed.area):
                    raise Refused("that area is outside your account's geographic scope")
            scope_column = self.model.geo_level(self._level_of(actor.scope)).column if actor.scope else None
            result = records.run_search(
                con,
                parsed,
                role,
                scope_column,
                actor.scope,
                area_level,
                records.sample_salt(),
                cnic_lookup=self._cnic_lookup,
            )
            result.snapshot_id = self._snapshot_id
            if self.quota is not None and result.rows:
                self.quota.check(actor, rows=result.rows)
            outcome = "answered"
        except records.RecordInputError as exc:
            result, outcome = records.RecordResult(False, kind, role, reason=str(exc)), "invalid"
        except Refused as exc:
            result, outcome = records.RecordResult(False, kind, role, reason=str(exc)), "refused"
        except Exception as exc:
            if self.quota is None or not isinstance(exc, self.quota.refusal):
                raise
            result = records.RecordResult(False, kind, role, reason=str(exc), code="quota_exceeded")
            outcome = "refused"
        try:
            self._log_and_meter(
                actor,
                f"records:{kind or 'invalid'}",
                text,
                outcome,
                result.reason,
                0,
                result.rows,
                self._snapshot_id,
                "warehouse",
                (time.perf_counter() - started) * 1000,
                service if result.ok and result.rows else None,
                result.rows,
            )
        except Exception:
            return records.RecordResult(
                False,
                kind,
                role,
                reason="the search could not be recorded in the access log, so nothing was returned",
            )
        return result

    @property
    def snapshot_id(self) -> str | None:
        """The snapshot the gateway answered its last query from (None before its first)."""
        return self._snapshot_id

    @_pinned
    def locate_cnics(self, cnics: list[str]) -> dict[str, tuple[int, int]]:
        """(member_id, household_id) of each registered CNIC among these (13 digits each), for linking
        what partners post back. Internal: nothing about the person leaves through this; the caller logs."""
        from cubes import records

        con = self._connection()
        found = {}
        for cnic in cnics:
            hit = records._find_cnic(con, cnic, self._cnic_lookup)
            if hit is not None:
                found[cnic] = (hit[0], hit[1])
        return found

    @_pinned
    def match_members(self, cnics: list[str]) -> pd.DataFrame:
        """The registry's view of each registered CNIC among these (13 digits each), one row per match:
        the member and household columns integration rules compare with a feed. Set-based (one join,
        not a lookup per CNIC), so a feed of 100,000 records matches in one pass. Internal: for the
        integration loader, which keeps the evidence and logs the batch; nothing here leaves the server."""
        con = self._connection()
        con.register("feed_cnics", pd.DataFrame({"cnic": pd.Series(sorted(set(cnics)), dtype="string")}))
        try:
            return con.execute(
                """
SELECT m.cnic, m.member_id, m.household_id, m.id_type, m.relation, m.gender, m.age, m.marital_status,
       m.employment_status, m.employment_sector, m.is_beneficiary,
       h.province_code, h.district_code, h.tehsil_code, h.has_car,
       h.is_beneficiary_household, h.pmt_score,
       coalesce(b.relations, '') AS beneficiary_relations
FROM feed_cnics f
JOIN wh.members m ON m.cnic = f.cnic
JOIN wh.households h ON h.household_id = m.household_id
LEFT JOIN (  -- how the household's beneficiaries relate to the head: whose spouse counts for her
  SELECT household_id, string_agg(DISTINCT relation, ',' ORDER BY relation) AS relations FROM wh.members
  WHERE is_beneficiary AND household_id IN (
    SELECT mm.household_id FROM wh.members mm JOIN feed_cnics ff ON mm.cnic = ff.cnic)
  GROUP BY household_id
) b ON b.household_id = m.household_id
"""
            ).df()
        finally:
            con.unregister("feed_cnics")

    @_pinned
    def outliers(self, actor: Actor, area: str | None = None, limit: int = 100) -> list[dict]:
        """Households whose PMT score is far from what their indicators imply (plan §9.1; built by
        cubes/outliers.py), most extreme first, inside ``area`` (a province, division, district or
        tehsil code) and the actor's scope. MIS tier only: the rows identify households, so they are
        record-level confidential data. Logged and metered per row like a record search; a refusal or
        an invalid request is logged, then raised (Refused, QueryError). A cube file built before
        outliers existed answers [] (the access log and the ``cubes.gateway`` logger say why)."""
        import logging

        started = time.perf_counter()
        text = json.dumps({"area": area, "limit": limit}, sort_keys=True, default=str)
        rows: list[dict] = []
        reason, outcome = None, "answered"
        try:
            if actor.tier != "mis":
                raise Refused("outlier households are record-level data: only the MIS tier may list them")
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
                raise QueryError("limit: a whole number from 1 to 10,000")
            if self.quota is not None:
                self.quota.check(actor, cells=0)
            con = self._connection()
            where, params = [], []
            for code in (area, actor.scope):
                if code is None:
                    continue
                level = self._levels.get(code)
                if level == "national":
                    continue
                if level not in ("province", "division", "district", "tehsil"):
                    if code == area:
                        raise QueryError(
                            f"area: {area} is not a known province, division, district or tehsil"
                        )
                    raise Refused("your account's scope is not a province, division, district or tehsil")
                where.append(f"{self.model.geo_level(level).column} = ?")
                params.append(code)
            if (
                area is not None
                and actor.scope is not None
                and actor.scope not in self._ancestors(area)
                and area not in self._ancestors(actor.scope)
            ):
                raise Refused("that area is outside your account's geographic scope")
            has_table = con.execute(  # a table in the cubes file, a view over its Parquet copy
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'outliers' "
                "AND table_catalog = current_database()"
            ).fetchone()[0]
            if not has_table:
                info = json.loads(con.execute("SELECT summary FROM build_info").fetchone()[0])
                reason = (info.get("outliers") or {}).get("skipped") or (
                    "the statistics of this snapshot were built before outlier detection; "
                    "run `nser cubes build` to list outliers"
                )
                logging.getLogger(__name__).warning("outliers: %s", reason)
            else:
                cur = con.execute(
                    "SELECT household_id, province_code, division_code, district_code, tehsil_code, pmt_score, "
                    "implied_score, gap, z, rank_in_district, compared_with, reasons FROM outliers "
                    f"{'WHERE ' + ' AND '.join(where) if where else ''} "
                    "ORDER BY abs(z) DESC, household_id LIMIT ?",
                    [*params, limit],
                )
                names = [d[0] for d in cur.description]
                rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            if self.quota is not None and rows:
                self.quota.check(actor, rows=len(rows))
        except QueryError as exc:
            rows, reason, outcome = [], str(exc), "invalid"
        except Refused as exc:
            rows, reason, outcome = [], str(exc), "refused"
        except Exception as exc:
            if self.quota is None or not isinstance(exc, self.quota.refusal):
                raise
            rows, reason, outcome = [], str(exc), "refused"
        try:
            self._log_and_meter(
                actor,
                "outliers",
                text,
                outcome,
                reason,
                0,
                len(rows),
                self._snapshot_id,
                "outliers",
                (time.perf_counter() - started) * 1000,
                "portal_rows" if rows else None,
                len(rows),
            )
        except Exception as exc:
            raise Refused(
                "the request could not be recorded in the access log, so nothing was returned"
            ) from exc
        if outcome == "invalid":
            raise QueryError(reason)
        if outcome != "answered":
            raise Refused(reason)
        return rows

    def _cache_key(self, actor: Actor, text: str) -> tuple:
        """Answers are shared only within one cubes build of one snapshot, one policy, one tier and
        scope; an approved report may reach finer areas than the same tier otherwise, so it has its own."""
        return (
            self._now().answers_key,
            self._policy_digest,
            actor.tier,
            actor.scope,
            actor.attributes.get("approved_report"),
            text,
        )

    def _cache_get(self, key: tuple) -> Result | None:
        if self._cache is None:
            return None
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        if self.shared_cache is None:
            return None
        try:
            hit = self.shared_cache.get(("answer", *key))
        except Exception:  # the shared cache is a speed-up: when it is down, answers are computed
            log.warning("the shared answer cache could not be read", exc_info=True)
            return None
        if isinstance(hit, Result) and hit.ok:
            self._remember(key, hit)
            return hit
        return None

    def _cache_put(self, key: tuple, result: Result) -> None:
        """Only protected answers are cached, keyed by snapshot, tier, scope and query."""
        if self._cache is None or not result.ok:
            return
        self._remember(key, result)
        if self.shared_cache is not None:
            try:
                self.shared_cache.set(("answer", *key), result, expire=SHARED_CACHE_EXPIRE_S)
            except Exception:
                log.warning("the shared answer cache could not be written", exc_info=True)

    def _remember(self, key: tuple, result: Result) -> None:
        with self._lock:
            self._cache[key] = result
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _refusal(self, actor: Actor, cube: str | None, reason: str) -> Result:
        return Result(False, actor.tier, cube, self._snapshot_id, self._as_of, reason=reason)

    def _emit(
        self, actor: Actor, result: Result, text: str, outcome: str, source: str | None, ms: float
    ) -> None:
        cells = _count_cells(result)
        self._log_and_meter(
            actor,
            result.cube,
            text,
            outcome,
            result.reason,
            cells,
            len(result.rows),
            result.snapshot_id,
            source,
            ms,
            "aggregate_cells" if result.ok else None,
            cells,
        )

    def _log_and_meter(
        self,
        actor: Actor,
        subject: str | None,
        text: str,
        outcome: str,
        reason: str | None,
        cells: int,
        rows: int,
        snapshot_id: str | None,
        source: str | None,
        ms: float,
        service: str | None,
        units: int,
    ) -> None:
        """The access-log event of every answer or refusal, then, when something left, its metering event
        (``units`` of ``service``). Raises if either cannot be recorded: the caller then returns nothing."""
        a = actor.attributes
        pending = getattr(self._local, "pending", None)
        emit = pending.append if pending is not None else self.events.emit  # run_queries writes them at once
        emit(
            QueryAudited(
                actor.user,
                actor.organisation,
                actor.tier,
                actor.scope,
                subject,
                text,
                outcome,
                reason,
                cells,
                rows,
                snapshot_id,
                source,
                round(ms, 2),
                a.get("user_id"),
                a.get("ip"),
            )
        )
        if pending is None:  # this request's logged answers, for its headers (a batch counts its own)
            self._local.answers = getattr(self._local, "answers", 0) + 1
        if service is not None:
            emit(
                DataMetered(
                    actor.user,
                    actor.organisation,
                    actor.tier,
                    service,
                    units,
                    rows,
                    snapshot_id,
                    a.get("user_id"),
                    a.get("organisation_id"),
                    a.get("client_type"),
                    a.get("gratis"),
                )
            )

    # -- authorization -----------------------------------------------------------------------------

    def _authorize(self, actor: Actor, q: Query) -> tuple[Cube, str, list[str]]:
        model = self.model
        if actor.tier not in model.policy["tiers"]:
            raise Refused("unknown access tier")
        cube = model.cubes[q.cube]
        tier = model.tier(actor.tier)
        if actor.tier not in cube.tiers:
            raise Refused(f"the {cube.name} statistics are not available at your access level")
        for m in q.measures:
            measure = cube.measures[m]
            if actor.tier not in measure.tiers:
                raise Refused(f"the measure {m} is not available at your access level")
            if measure.is_magnitude and measure.type not in tier["magnitudes"]:
                raise Refused(f"the measure {m} is not available at your access level")
        level = q.geo_level or self._default_level(actor)
        lowest = self._lowest_geography(cube, actor, q.dimensions)
        if model.geo_rank(level) > model.geo_rank(lowest):
            raise Refused(
                f"{level.replace('_', ' ')} is too detailed for your access level; "
                f"choose {lowest.replace('_', ' ')} or a larger area"
            )
        if len(q.dimensions) > tier["max_variables"]:
            raise Refused("too many variables for one table; choose fewer variables")
        for f in cube.forbidden:
            if actor.tier in f.tiers and level in f.geography and set(f.dimensions) <= set(q.dimensions):
                raise Refused(
                    "this combination of variables is not published at this level of geography; "
                    "choose other variables or a larger area"
                )
        areas = self._select_areas(actor, level, q.geo_codes, q.geo_within)
        cells = len(areas) * self._cells_per_area(q)
        if cells > tier["max_cells"]:
            raise Refused("the table would be too large; choose fewer areas or categories")
        return cube, level, areas

    def _lowest_geography(self, cube: Cube, actor: Actor, dims: tuple[str, ...]) -> str:
        """The cube's lowest geography for the tier, finer for plain counts where the tier allows it (the
        public sees tehsil totals; in a report the DG NSER approved, union-council totals), each area then
        only when it holds enough households. Only the server's report publisher sets
        ``approved_report`` on an actor, after checking the report's approval in the store."""
        lowest = cube.tiers[actor.tier].lowest_geography
        if dims:
            return lowest
        rules = self.model.tier(actor.tier)
        finer = rules.get("univariate_lowest_geography")
        if actor.attributes.get("approved_report") and rules.get("approved_report_lowest_geography"):
            finer = rules["approved_report_lowest_geography"]
        if finer and self.model.geo_rank(finer) > self.model.geo_rank(lowest):
            return finer
        return lowest

    def _default_level(self, actor: Actor) -> str:
        if actor.scope is None:
            return "province"
        return self._level_of(actor.scope)

    def _level_of(self, code: str) -> str:
        level = self._levels.get(code)
        if level is None:
            raise Refused("your account's geographic scope is not a known area")
        return level

    def _ancestors(self, code: str) -> set[str]:
        """The area and every area containing it (cached per snapshot)."""
        hit = self._ancestor_cache.get(code)
        if hit is None:
            out, c = {code}, code
            while self._parents.get(c):
                c = self._parents[c]
                out.add(c)
            hit = self._ancestor_cache[code] = frozenset(out)
        return hit

    def _select_areas(
        self, actor: Actor, level: str, codes: tuple[str, ...] | None, within: str | None = None
    ) -> list[str]:
        """Areas at ``level`` shown to the actor.

        A scoped actor (say, one province) sees every area at the scope's own level and above — the
        national and provincial comparison figures a planner needs — and finer areas only inside the scope.
        """
        at_level = self._by_level.get(level, [])
        if actor.scope is not None:
            scope_level = self._level_of(actor.scope)
            if self.model.geo_rank(level) > self.model.geo_rank(scope_level):
                at_level = [c for c in at_level if actor.scope in self._ancestors(c)]
        if within is not None:
            within_level = self._levels.get(within)
            if within_level is None:
                raise Refused("the area to look within is not a known area")
            if self.model.geo_rank(level) < self.model.geo_rank(within_level):
                raise Refused("the level of geography is larger than the area chosen; choose a finer level")
            at_level = [c for c in at_level if within in self._ancestors(c)]
        if codes is None:
            return sorted(at_level)
        allowed = set(at_level)
        unknown = [c for c in codes if c not in allowed]
        if unknown:
            raise Refused("a geography code is unknown at that level or outside the area you may see")
        return sorted(codes)

    def _members(self, cube: str, dim: str) -> list[str]:
        codes = self.model.dimensions[dim].member_codes()
        if codes is None:
            codes = self._data_members.get(cube, {}).get(dim, [])
        return codes

    def _cells_per_area(self, q: Query) -> int:
        filters = q.filter_map()
        size = 1
        for d in q.dimensions:
            n = len(filters[d]) if d in filters else len(self._members(q.cube, d))
            size *= n + (1 if q.totals else 0)
        return size

    # -- planning and execution --------------------------------------------------------------------

    def _answer(self, con: duckdb.DuckDBPyConnection, actor: Actor, q: Query) -> tuple[Result, str]:
        cube, level, areas = self._authorize(actor, q)
        if cube.name not in self._specs:
            raise Refused(
                f"the {cube.title.lower()} statistics are not built for the current snapshot (it predates "
                "them); they come with the next warehouse build or ingest"
            )
        tier = self.model.tier(actor.tier)
        protected = tier.get("protected", True)
        if protected and not self._sparsity_ok(con, cube, level, q.dimensions):
            raise Refused("too detailed for this area: try fewer categories or a larger area")
        dim_sets = [q.dimensions]
        if q.totals:
            dim_sets = [
                tuple(d for d in q.dimensions if d in keep)
                for r in range(len(q.dimensions), -1, -1)
                for keep in itertools.combinations(q.dimensions, r)
            ]
        frames, sources = [], []
        for dims in dim_sets:
            frame, source = self._cells(con, actor, cube, level, dims, areas, self._measures_used(cube, q))
            for d in q.dimensions:
                if d not in dims:
                    frame[d] = TOTAL
            frames.append(frame)
            sources.append(source)
        cells = pd.concat(frames, ignore_index=True)
        for d, members in q.filter_map().items():
            cells = cells[cells[d].isin(members) | (cells[d] == TOTAL)]
        result = self._protect(actor, cube, q, level, cells)
        return result, ",".join(sorted(set(sources)))

    @staticmethod
    def _measures_used(cube: Cube, q: Query) -> set[str]:
        """The measures whose columns protection reads: those asked for, the parts of shares, and the
        cube's base count (household rule, area floor, record keys of magnitudes)."""
        used = {*q.measures, cube.count_measures()[0].name}
        for m in q.measures:
            meas = cube.measures[m]
            if meas.type == "share":
                used |= {meas.numerator, meas.denominator}
        return used

    def _cells(
        self,
        con,
        actor: Actor,
        cube: Cube,
        level: str,
        dims: tuple[str, ...],
        areas: list[str],
        measures: set[str] | None = None,
    ) -> tuple[pd.DataFrame, str]:
        """True aggregates for every (area, member…) cell, zero cells included (internal only)."""
        geo_col = self.model.geo_level(level).column
        spec = choose_rollup(self.model, self._specs.get(cube.name, []), self._sizes, dims)
        if spec is None or self.model.geo_rank(level) > self.model.geo_rank("tehsil"):
            if actor.tier != "mis" and not (
                actor.attributes.get("approved_report") and not dims  # plain counts in approved reports
            ):
                raise Refused(
                    "this table cannot be produced at your access level; choose fewer variables or a larger area"
                )
            df = self._raw(con, cube, level, dims, areas, measures)
            source = "raw"
        else:
            df = self._from_rollup(con, cube, spec, level, dims, areas, measures)
            source = spec.table
        # the full grid: every selected area × every member, so empty cells are shown (as suppressed) too
        grid = pd.DataFrame({geo_col: areas})
        for d in dims:
            grid = grid.merge(pd.DataFrame({d: self._members(cube.name, d)}), how="cross")
        df = grid.merge(df, on=[geo_col, *dims], how="left")
        num = [c for c in df.columns if c.startswith(("n__", "k__", "h__", "c__"))]
        df[num] = df[num].fillna(0)
        return df, source

    def _from_rollup(
        self,
        con,
        cube: Cube,
        spec: RollupSpec,
        level: str,
        dims: tuple[str, ...],
        areas: list[str] | None,
        measures: set[str] | None = None,
    ) -> pd.DataFrame:
        geo_col = self.model.geo_level(level).column
        where, params = "", []
        if areas is not None:
            where = f"WHERE {geo_col} IN ({', '.join('?' for _ in areas)})"
            params = areas
        sql = reaggregate_sql(self.model, cube, spec.table, spec.dims, geo_col, dims, where, measures)
        return con.execute(sql, params).df()

    def _raw(
        self,
        con,
        cube: Cube,
        level: str,
        dims: tuple[str, ...],
        areas: list[str],
        measures: set[str] | None = None,
    ) -> pd.DataFrame:
        """MIS only: aggregate the warehouse rows directly (the SELECT the finest rollup is built with,
        for the measures the query uses: a cube has dozens, each with a distinct-household count)."""
        geo_col = self.model.geo_level(level).column
        in_list = ", ".join("'" + a.replace("'", "''") + "'" for a in areas)
        members = {d: self._members(cube.name, d) for d in dims}
        sql = aggregate_sql(
            self.model,
            cube,
            level,
            dims,
            members,
            extra_where=f"{geo_col} IN ({in_list})",
            source_prefix="wh.",
            measures=measures,
        )
        return con.execute(sql).df()

    def _sparsity_ok(self, con, cube: Cube, level: str, dims: tuple[str, ...]) -> bool:
        """ABS sparsity rule on the whole unfiltered table (every area at this level), cached per snapshot."""
        key = (cube.name, level, dims)
        if key in self._sparsity:
            return self._sparsity[key]
        ok = True
        spec = choose_rollup(self.model, self._specs.get(cube.name, []), self._sizes, dims)
        if dims and spec is not None and self.model.geo_rank(level) <= self.model.geo_rank("tehsil"):
            base = cube.count_measures()[0].name
            df = self._from_rollup(con, cube, spec, level, dims, None, {base})
            rules = self.model.policy["sparsity"]
            ok = not sdc.sparsity_refused(
                self._households(df, base), rules["max_share_ones"], rules["max_share_ones_and_twos"]
            )
        self._sparsity[key] = ok
        return ok

    # -- protection --------------------------------------------------------------------------------

    def _households(self, cells: pd.DataFrame, measure: str) -> np.ndarray:
        """Households in each cell for the household rule: the rollup's count (exact or a lower bound),
        raised to ceil(records / largest household) — a household adds at most its size to any cell."""
        h = cells[f"h__{measure}"].to_numpy(dtype=np.int64)
        n = cells[f"n__{measure}"].to_numpy(dtype=np.int64)
        return np.maximum(h, -(-n // max(1, self._max_size)))

    def _protect(self, actor: Actor, cube: Cube, q: Query, level: str, cells: pd.DataFrame) -> Result:
        tier = self.model.tier(actor.tier)
        protected = tier.get("protected", True)
        policy = self.model.policy
        geo_col = self.model.geo_level(level).column
        names = self._names
        cells = cells.sort_values([geo_col, *q.dimensions], kind="stable").reset_index(drop=True)
        base = cube.count_measures()[0].name
        rules = sdc.CountRules(
            tier.get("threshold", 0),
            tier.get("household_threshold", 0),
            tier.get("rounding_base", 1),
            policy["ptable"]["cap"],
        )
        values: dict[str, np.ndarray] = {}
        suppressed: dict[str, np.ndarray] = {}
        needed = set(q.measures)
        for m in q.measures:
            meas = cube.measures[m]
            if meas.type == "share":
                needed |= {meas.numerator, meas.denominator}
        for m in needed:
            meas = cube.measures[m]
            if meas.type != "count":
                continue
            n = cells[f"n__{m}"].to_numpy()
            if protected:
                values[m], suppressed[m] = sdc.protect_counts(
                    n, cells[f"k__{m}"].to_numpy(), self._households(cells, m), self._ptable, rules
                )
            else:
                values[m], suppressed[m] = n.astype(np.int64), np.zeros(len(n), dtype=bool)
        hh = self._households(cells, base)
        small_area = np.zeros(len(cells), dtype=bool)
        if protected and self.model.geo_rank(level) > self.model.geo_rank(
            cube.tiers[actor.tier].lowest_geography
        ):
            # reached only through the plain-count allowance: whole areas below the size floor are hidden
            small_area = cells[f"h__{base}"].to_numpy() < tier.get("min_area_households", 0)
        mag = policy["magnitude"]
        for m in q.measures:
            meas = cube.measures[m]
            if meas.type == "share":
                share, sup = sdc.protect_shares(
                    values[meas.numerator],
                    suppressed[meas.numerator],
                    values[meas.denominator],
                    suppressed[meas.denominator],
                    hh if protected else np.full(len(hh), 10**9),
                    policy["shares"]["min_households_for_extremes"],
                )
                values[m], suppressed[m] = np.round(share, 1), sup
            elif meas.type in ("sum", "mean"):
                s = cells[f"s__{m}"].to_numpy(dtype=float)
                tops = cells[f"t__{m}"].tolist()
                t1 = np.array(
                    [t[0] if isinstance(t, (list, np.ndarray)) and len(t) > 0 else 0 for t in tops], float
                )
                t2 = np.array(
                    [t[1] if isinstance(t, (list, np.ndarray)) and len(t) > 1 else 0 for t in tops], float
                )
                if protected:
                    total, sup = sdc.protect_sums(
                        np.nan_to_num(s),
                        hh,
                        t1,
                        t2,
                        cells[f"k__{base}"].to_numpy(),
                        m,
                        mag["min_households"],
                        mag["p_percent"],
                        mag["dominance_n"],
                        mag["dominance_k"],
                        mag["noise"],
                    )
                else:
                    total, sup = np.nan_to_num(s), cells[f"c__{m}"].to_numpy() == 0
                if meas.type == "sum":
                    values[m], suppressed[m] = np.round(total, 2), sup
                else:
                    if protected:
                        cnt, cnt_sup = sdc.protect_counts(
                            cells[f"c__{m}"].to_numpy(),
                            cells[f"k__{base}"].to_numpy(),
                            hh,
                            self._ptable,
                            sdc.CountRules(rules.threshold, rules.household_threshold, 1, rules.cap),
                        )
                    else:
                        cnt, cnt_sup = cells[f"c__{m}"].to_numpy(), cells[f"c__{m}"].to_numpy() == 0
                    with np.errstate(divide="ignore", invalid="ignore"):
                        mean = np.where(cnt > 0, total / np.where(cnt > 0, cnt, 1), np.nan)
                    values[m], suppressed[m] = np.round(mean, 2), sup | cnt_sup | np.isnan(mean)
            elif meas.type in ("min", "max"):  # MIS only (checked in authorization)
                col = f"lo__{m}" if meas.type == "min" else f"hi__{m}"
                v = cells[col].to_numpy(dtype=float)
                values[m], suppressed[m] = np.round(v, 2), np.isnan(v)
        name_col = geo_col.replace("_code", "_name")
        columns = [geo_col, name_col, *q.dimensions, *q.measures]
        for m in q.measures:
            suppressed[m] = suppressed[m] | small_area
        # Build rows column-wise (per-cell DataFrame access costs ~0.03 ms a cell).
        geo_vals = cells[geo_col].tolist()
        dim_vals = {d: cells[d].tolist() for d in q.dimensions}
        out_vals = {}
        for m in q.measures:
            cast = int if cube.measures[m].type == "count" else float
            out_vals[m] = [
                None if sup else cast(v)
                for v, sup in zip(values[m].tolist(), suppressed[m].tolist(), strict=True)
            ]
        rows, flags = [], []
        for i, code in enumerate(geo_vals):
            row = {geo_col: code, name_col: names.get(code)}
            for d in q.dimensions:
                row[d] = dim_vals[d][i]
            flag = {}
            for m in q.measures:
                v = out_vals[m][i]
                row[m] = v
                if v is None:
                    flag[m] = sdc.SUPPRESSED
            rows.append(row)
            flags.append(flag)
        notes = (
            [NOTE_PERTURBED]
            if protected
            else [
                "MIS view: true values. Anything published for others must "
                "go through the public or business rules."
            ]
        )
        if protected and tier.get("rounding_base", 1) > 1:
            notes.append(f"Counts are rounded to the nearest {tier['rounding_base']}.")
        return Result(
            True,
            actor.tier,
            cube.name,
            self._snapshot_id,
            self._as_of,
            columns,
            rows,
            flags,
            notes=notes,
            query=q.to_json(),
        )


def _policy_digest(model: Model) -> str:
    """A digest of what decides an answer besides the data: the cube, dimension and tier files, the
    perturbation table and the code of cubes/ (the gateway, planning, protection). A shared cache outlives processes and deployments, so a
    changed rule must never meet answers computed under the old one."""
    digest = hashlib.sha256(json.dumps(model.policy, sort_keys=True, default=str).encode())
    folder = model.ptable_path.parent
    files = {*model.files, model.ptable_path, folder / "dimensions.yaml", folder / "tiers.yaml"}
    code = sorted(Path(__file__).parent.glob("*.py"))  # planning, query parsing, protection …
    for path in [*sorted(files), *code]:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _count_cells(result: Result) -> int:
    if not result.ok or not result.query:
        return 0
    return len(result.rows) * len(result.query["measures"])


__all__ = ["Gateway", "Result", "Refused"]
