"""Benchmark: record search through the gateway at national scale (target: CNIC search ≤ 20 ms).

    python bench/records_bench.py --data-dir bench/results/data     # needs `nser cubes build` (CNIC lookup)

Picks CNICs at random from the warehouse, then times ``Gateway.search_records`` for each role (CNIC
lookup in the sorted lookup table, the household row, its members, masking, audit into memory), and the
address and PMT-range searches for a sample of union councils and tehsils.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    return f"{name}: n={len(values)} p50 {statistics.median(values):.1f} ms, p95 {pct(values, 0.95):.1f} ms, max {max(values):.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "data")
    ap.add_argument("--cnics", type=int, default=200)
    args = ap.parse_args()

    import os

    os.environ.setdefault("NSER_SAMPLE_SALT", "00" * 32)
    from cubes.events import MemorySink
    from cubes.gateway import Gateway
    from cubes.query import Actor
    from data.snapshots import SnapshotStore

    store = SnapshotStore(args.data_dir)
    snap = store.require_current()
    with duckdb.connect(str(snap.path), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM members").fetchone()[0]
        cnics = [
            r[0]
            for r in con.execute(
                f"SELECT cnic FROM (SELECT cnic FROM members WHERE cnic IS NOT NULL) "
                f"USING SAMPLE {args.cnics} ROWS (reservoir, 7)"
            ).fetchall()
        ]
        ucs = [
            r[0]
            for r in con.execute(
                "SELECT code FROM (SELECT code FROM geo_units WHERE level = 'union_council') "
                "USING SAMPLE 40 ROWS (reservoir, 7)"
            ).fetchall()
        ]
        tehsils = [
            r[0]
            for r in con.execute(
                "SELECT code FROM (SELECT code FROM geo_units WHERE level = 'tehsil') USING SAMPLE 40 ROWS (reservoir, 7)"
            ).fetchall()
        ]
    gateway = Gateway(store, events=MemorySink())
    gateway.search_records(
        Actor("mis", user="warm", attributes={"record_role": "power"}), {"type": "cnic", "cnic": cnics[0]}
    )

    def actor(role: str) -> Actor:
        return Actor("business", user=f"bench-{role}", organisation="bench", attributes={"record_role": role})

    print(
        f"snapshot {snap.snapshot_id}: {n:,} members; {len(cnics)} CNICs, {len(ucs)} union councils, {len(tehsils)} tehsils"
    )
    for role in ("power", "standard", "basic"):
        times = []
        for c in cnics:
            t = time.perf_counter()
            r = gateway.search_records(actor(role), {"type": "cnic", "cnic": c})
            times.append((time.perf_counter() - t) * 1000)
            assert r.ok and r.households, r.reason
        print(line(f"CNIC search, {role}", times))
    for role in ("power", "standard", "basic"):
        times = []
        for u in ucs:
            t = time.perf_counter()
            r = gateway.search_records(
                actor(role), {"type": "address", "area": u, "filters": {"disability": ["walking"]}}
            )
            times.append((time.perf_counter() - t) * 1000)
            assert r.ok, r.reason
        print(line(f"address + disability, union council, {role}", times))
    times = []
    for tehsil in tehsils:
        t = time.perf_counter()
        r = gateway.search_records(
            actor("standard"), {"type": "pmt_range", "area": tehsil, "pmt_min": 0, "pmt_max": 16.17}
        )
        times.append((time.perf_counter() - t) * 1000)
        assert r.ok, r.reason
    print(line("PMT range 0–16.17, tehsil, standard (first page of 50)", times))
    print(f"date {dt.date.today()}")


if __name__ == "__main__":
    main()
