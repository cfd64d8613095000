"""Every benchmark, one after the other, on one data directory: the one command of the "scale" issue.

    python bench/run_all.py --data-dir /work/national                      # 35M households, ~1 hour
    python bench/run_all.py --data-dir /tmp/d --households 1000000 --load-minutes 1
    python bench/run_all.py --data-dir /work/national --skip-build         # on the existing snapshot

In order: the warehouse build (`warehouse_build.py`), the cube build and the gateway against raw DuckDB
(`gateway_bench.py`), record search (`records_bench.py`), page server time (`app_bench.py`) and the load
test with a snapshot swap (`load_test.py`). Benchmarks that append their own row to BENCHMARKS.md do so;
the summaries of those that print (record search, pages) are appended under "Runs of bench/run_all.py"
with the machine, the date and the size. A benchmark that fails stops the run (its output is shown).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load_test import machine  # noqa: E402


def step(name: str, args: list[str]) -> str:
    print(f"== {name}: {' '.join(args)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    print(done.stdout[-6000:], done.stderr[-3000:] if done.returncode else "", flush=True)
    if done.returncode:
        raise SystemExit(f"{name} failed (exit {done.returncode})")
    print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--households", type=int, default=35_000_000)
    ap.add_argument("--skip-build", action="store_true", help="use the data directory's current snapshot")
    ap.add_argument("--load-minutes", type=float, default=5)
    ap.add_argument("--no-record", action="store_true", help="a trial: print, append nothing")
    args = ap.parse_args()
    data = ["--data-dir", str(args.data_dir)]
    quiet = ["--no-record"] if args.no_record else []
    printed = {}
    if not args.skip_build:
        step("warehouse", ["bench/warehouse_build.py", "--households", str(args.households), *data, *quiet])
    step("gateway", ["bench/gateway_bench.py", *data, *(["--skip-build"] if args.skip_build else []), *quiet])
    printed["record search"] = step("records", ["bench/records_bench.py", *data])
    printed["pages"] = step("pages", ["bench/app_bench.py", *data])
    step("load", ["bench/load_test.py", *data, "--minutes", str(args.load_minutes), *quiet])
    if args.no_record:
        return
    head = "## Runs of bench/run_all.py"
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    if head not in text:
        text = (
            text.rstrip("\n") + f"\n\n{head}\n\nThe summaries the benchmarks print, as they printed them.\n"
        )
    block = f"\n### {dt.date.today()} — {machine()} — `{args.data_dir}`\n"
    for name, out in printed.items():
        lines = [x for x in out.splitlines() if x.strip()][-8:]
        block += f"\n{name}:\n\n```\n" + "\n".join(lines) + "\n```\n"
    (ROOT / "BENCHMARKS.md").write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")


if __name__ == "__main__":
    main()
