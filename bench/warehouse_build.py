"""Benchmark: build the synthetic warehouse at national scale and record time and peak memory.

    python bench/warehouse_build.py                      # 35,000,000 households into bench/results/data
    python bench/warehouse_build.py --households 3500000 --data-dir /tmp/x

Runs the real `build_synthetic` in this process (peak RSS includes DuckDB), prints per-stage times and
appends a row to BENCHMARKS.md with the machine and date. Targets (issue "warehouse"): ≤ 15 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=35_000_000)
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "data")
    ap.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = ap.parse_args()

    os.environ["NSER_DATA_DIR"] = str(args.data_dir)
    from data.snapshots import SnapshotStore
    from data.warehouse import build_synthetic

    start = time.perf_counter()
    snap = build_synthetic(
        args.households,
        args.seed,
        store=SnapshotStore(args.data_dir),
        progress=lambda m: print(m, flush=True),
    )
    wall = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    size_gb = snap.path.stat().st_size / 2**30
    m = snap.manifest
    summary = (
        f"| {dt.date.today()} | warehouse build | {args.households:,} households → {m['households']:,} households, "
        f"{m['members']:,} members | {wall / 60:.1f} min | {peak_gb:.1f} GB | {size_gb:.1f} GB file | "
        f"target ≤ 15 min: {'met' if wall <= 900 else 'MISSED'} |"
    )
    print(summary)
    for stage in m["stages"]:
        print(f"  {stage['seconds']:8.1f} s  {stage['stage']}")
    if not args.no_record:
        bench = ROOT / "BENCHMARKS.md"
        with open(bench, "a", encoding="utf-8") as fh:
            fh.write(f"\n<!-- {machine()} -->\n{summary}\n")


if __name__ == "__main__":
    main()
