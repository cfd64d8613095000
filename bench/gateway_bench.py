"""Benchmark: cube build time, and gateway latency against DuckDB on raw rows, in the same run.

    python bench/gateway_bench.py --data-dir bench/results/data     # current snapshot there (35M households)
    python bench/gateway_bench.py --data-dir … --skip-build           # reuse the cubes already built

A fixed mix of queries — business tier (district tables, tehsil slices inside one district or province,
three-way pivots, shares, magnitudes), what a public district dashboard asks, and MIS union-council
drills — runs through ``Gateway.run_query`` with protection and without the
answer cache; the same tables are then computed by DuckDB directly from the warehouse rows. Targets
(issue "gateway"): p95 ≤ 100 ms through the gateway, ≥ 30× faster than raw, cube build ≤ 10 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIX = [
    {
        "cube": "households",
        "measures": ["households", "share_at_or_below_cutoff"],
        "dimensions": ["pmt_band"],
        "geography": {"level": "district"},
    },
    {
        "cube": "persons",
        "measures": ["persons"],
        "dimensions": ["gender", "age_group"],
        "geography": {"level": "tehsil", "codes": None, "within": "PK617"},
    },
    {
        "cube": "households",
        "measures": ["beneficiary_households", "households"],
        "dimensions": ["urban_rural"],
        "geography": {"level": "tehsil", "within": "PK2"},
    },
    {
        "cube": "persons",
        "measures": ["persons", "widows"],
        "dimensions": ["gender", "marital_status"],
        "geography": {"level": "district", "within": "PK7"},
    },
    {
        "cube": "beneficiaries",
        "measures": ["beneficiaries"],
        "dimensions": ["age_group"],
        "geography": {"level": "tehsil", "within": "PK605"},
    },
    {
        "cube": "education_cct",
        "measures": ["enrolments", "attendance_compliance"],
        "dimensions": ["quarter", "cct_level"],
        "geography": {"level": "district", "within": "PK5"},
    },
    {
        "cube": "kafaalat_payments",
        "measures": ["amount_paid", "payments_paid"],
        "dimensions": ["quarter"],
        "geography": {"level": "district", "within": "PK6"},
    },
    {
        "cube": "disability",
        "measures": ["persons_with_disability", "children_with_disability"],
        "dimensions": ["disability_type", "gender"],
        "geography": {"level": "district", "within": "PK2"},
    },
    {
        "cube": "households",
        "measures": ["households"],
        "dimensions": ["dwelling_structure", "toilet", "urban_rural"],
        "geography": {"level": "district", "within": "PK7"},
    },
    {
        "cube": "persons",
        "measures": ["literacy_rate"],
        "dimensions": ["gender"],
        "geography": {"level": "district"},
    },
    {
        "cube": "households",
        "measures": ["mean_pmt_score", "total_land_acres"],
        "dimensions": ["land"],
        "geography": {"level": "tehsil", "within": "PK632"},
    },
    {
        "cube": "persons",
        "measures": ["enrolment_rate"],
        "dimensions": ["gender", "urban_rural"],
        "geography": {"level": "division"},
    },
    # what a public district dashboard asks (one district, district level), and MIS union-council drills
    {
        "tier": "public",
        "cube": "households",
        "measures": ["households"],
        "dimensions": ["pmt_band"],
        "geography": {"level": "district", "codes": ["PK601"]},
    },
    {
        "tier": "public",
        "cube": "persons",
        "measures": ["persons"],
        "dimensions": ["gender", "age_group"],
        "geography": {"level": "district", "codes": ["PK601"]},
    },
    {
        "tier": "mis",
        "cube": "households",
        "measures": ["households", "beneficiary_households"],
        "dimensions": ["pmt_band"],
        "geography": {"level": "union_council", "within": "PK601T01"},
    },
    {
        "tier": "mis",
        "cube": "persons",
        "measures": ["persons"],
        "dimensions": ["gender", "disability"],
        "geography": {"level": "union_council", "within": "PK601T01"},
    },
]


def resolve(gateway, spec: dict) -> dict:
    """Turn ``within`` (an ancestor) into explicit geography codes, as the app's pickers do."""
    q = {k: v for k, v in spec.items() if k not in ("geography", "tier")}
    geo = dict(spec["geography"])
    within = geo.pop("within", None)
    if within or not geo.get("codes"):
        geo.pop("codes", None)
    if within:
        areas = gateway._areas
        level = geo["level"]
        codes = [c for c in areas[areas.level == level].code if within in gateway._ancestors(c)]
        geo["codes"] = sorted(codes)
    q["geography"] = geo
    return q


def raw_sql(model, q: dict) -> str:
    """The same table straight from warehouse rows (counts and sums, no pre-aggregation)."""
    cube = model.cubes[q["cube"]]
    geo_col = model.geo_level(q["geography"]["level"]).column
    dims = [f"({model.dimensions[d].expression}) AS {d}" for d in q["dimensions"]]
    aggs = []
    for name in q["measures"]:
        m = cube.measures[name]
        parts = [m] if m.type != "share" else [cube.measures[m.numerator], cube.measures[m.denominator]]
        for p in parts:
            if p.type == "count":
                aggs.append(f"count(*) FILTER (WHERE {p.filter or 'TRUE'}) AS {p.name}")
            else:
                aggs.append(f"sum(({p.column})::DOUBLE) AS {p.name}_sum, count({p.column}) AS {p.name}_n")
    where = [cube.where] if cube.where else []
    codes = q["geography"].get("codes")
    if codes:
        where.append(f"{geo_col} IN ({', '.join(repr(c) for c in codes)})")
    w = f"WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {geo_col}, {', '.join([*dims, *aggs])} FROM {cube.source} {w} GROUP BY ALL"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "data")
    ap.add_argument("--repeat", type=int, default=15, help="runs of the mix through the gateway")
    ap.add_argument("--raw-repeat", type=int, default=3, help="runs of the mix on raw rows")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    os.environ["NSER_DATA_DIR"] = str(args.data_dir)

    from cubes.builder import build_cubes
    from cubes.events import MemorySink
    from cubes.gateway import Gateway
    from cubes.model import load_model
    from cubes.query import Actor
    from data.snapshots import SnapshotStore

    store = SnapshotStore(args.data_dir)
    snap = store.require_current()
    build_s = None
    if not args.skip_build:
        t0 = time.perf_counter()
        build_cubes(store, progress=lambda m: print(m, flush=True))
        build_s = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    model = load_model()
    gateway = Gateway(store, events=MemorySink(), cache=False)
    tiers = [spec.get("tier", "business") for spec in MIX]
    actors = {t: Actor(t, user="bench") for t in set(tiers)}
    with gateway.pinned():
        gateway._acquire()  # the snapshot's areas, for resolving "within"
        mix = [resolve(gateway, spec) for spec in MIX]
    for q, tier in zip(mix, tiers, strict=True):  # warm-up, and check every query is answered
        r = gateway.run_query(actors[tier], q)
        if not r.ok:
            print(f"refused ({tier}): {q} → {r.reason}", flush=True)
    gw, per_query = [], {i: [] for i in range(len(mix))}
    for _ in range(args.repeat):
        for i, q in enumerate(mix):
            t = time.perf_counter()
            gateway.run_query(actors[tiers[i]], q)
            ms = (time.perf_counter() - t) * 1000
            gw.append(ms)
            per_query[i].append(ms)
    cached = Gateway(store, events=MemorySink(), cache=True)
    for q, tier in zip(mix, tiers, strict=True):
        cached.run_query(actors[tier], q)
    hits = []
    for q, tier in zip(mix, tiers, strict=True):
        t = time.perf_counter()
        cached.run_query(actors[tier], q)
        hits.append((time.perf_counter() - t) * 1000)

    con = duckdb.connect(str(snap.path), read_only=True)
    raw, raw_per_query = [], {i: [] for i in range(len(mix))}
    for _ in range(args.raw_repeat):
        for i, q in enumerate(mix):
            t = time.perf_counter()
            con.execute(raw_sql(model, q)).fetchall()
            ms = (time.perf_counter() - t) * 1000
            raw.append(ms)
            raw_per_query[i].append(ms)
    for i, q in enumerate(mix):
        g, r = statistics.median(per_query[i]), statistics.median(raw_per_query[i])
        geo = q["geography"]
        print(
            f"  {tiers[i]:<8} {q['cube']:<18} {'×'.join(q['dimensions']) or '-':<45} {geo['level']:<9} "
            f"{len(geo.get('codes') or []) or 'all':>4} areas  gateway {g:7.1f} ms  raw {r:8.1f} ms  {r / g:6.1f}×"
        )

    p50, p95 = statistics.median(gw), pct(gw, 95)
    r50, r95 = statistics.median(raw), pct(raw, 95)
    m = snap.manifest
    lines = (
        [
            f"| {dt.date.today()} | cube build | {m['households']:,} households, {m['members']:,} members | "
            f"{build_s / 60:.1f} min | {peak_gb:.1f} GB | target ≤ 10 min: {'met' if build_s <= 600 else 'MISSED'} |"
        ]
        if build_s is not None
        else []
    )  # --skip-build: no build row
    lines += [
        f"| {dt.date.today()} | gateway, {len(mix)} queries (public, business, MIS) × {args.repeat}, no answer cache | "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (cache hit p50 {statistics.median(hits):.2f} ms) | "
        f"raw DuckDB p50 {r50:.0f} ms, p95 {r95:.0f} ms | {r50 / p50:.0f}× faster at p50, {r95 / p95:.0f}× at p95 | "
        f"targets p95 ≤ 100 ms: {'met' if p95 <= 100 else 'MISSED'}; ≥ 30× at p95: {'met' if r95 / p95 >= 30 else 'MISSED'}"
        f" (at p50: {'met' if r50 / p50 >= 30 else 'not met'}) |",
    ]
    for line in lines:
        print(line)
    if not args.no_record:
        with open(ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
