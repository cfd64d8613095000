"""Load test: public visitors and business users against gunicorn on 127.0.0.1, with a snapshot swap in
the middle; checked against the access log.

    python bench/load_test.py --data-dir /work/national                 # 50 public + 10 business, 5 min
    python bench/load_test.py --data-dir /tmp/d --minutes 1 --public 10 --business 2

Targets (issue "scale"): p95 ≤ 300 ms over every request, 0 errors, audit rows equal to what the
data-serving responses said they logged, and a snapshot swap during the load with no error and no
request served from a half-swapped state.

How:
1. gunicorn serves the real app (`app:server`, demo mode, as `nser run` starts it: N workers × 4
   threads) on the data directory, with a throw-away SQLite governance store so the access log holds
   only this run, and empty shared caches (`NSER_CACHE_DIR` in the scratch folder) filled first with
   the public district dashboards' answers, as `nser cubes build` does before it serves a snapshot
   (`nser cubes precompute`; its time is reported).
2. Chromium opens a district dashboard, each published report and, as the demo planner, the explorer;
   the callback bodies it posts are recorded (as `bench/app_bench.py` does).
3. Locust (`bench/locustfile.py`, headless, one process) runs the users: public visitors open district
   dashboards (any of the country's districts) and reports with 3–10 s between pages; business users
   log in and change the explorer's state every 2–6 s over a mix of states across the districts.
4. Halfway, a new snapshot is published the way a build and a cube build publish one (CURRENT, then
   the public dashboards precomputed for it while the load goes on, then SERVING). Its files are hard links of the current snapshot's under a new
   id: the swap is real (a new id and files; every worker reconnects), without spending 25 minutes of
   the machine on rebuilding the same registry.
5. Afterwards: locust's percentiles and failures; every response's `X-NSER-Snapshot` and
   `X-NSER-Answers` headers (the snapshot that answered the request and the answers it logged) are
   summed per snapshot and compared with the access log's query and record-search rows per snapshot.
   A request that mixed two snapshots would make these differ.
Results are appended to BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_bench import EXPLORER_MIX, PASSWORD, RECORD_DISTRICT, explorer_body  # noqa: E402

REPORT_READY = "#rp-panels > *"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "4"]
    args += ["--bind", f"127.0.0.1:{port}", "--timeout", "120", "app:server"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    import urllib.request

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: see {log}")
    raise SystemExit("gunicorn did not become healthy in 10 minutes")


def record(base: str, reports: list[str]) -> dict:
    """The callback bodies Chromium posts for a district dashboard, each report, the login page and the
    explorer (as the demo planner)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
    got: dict[str, list[str]] = {}
    current = ["district"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=args)
        context = browser.new_context()

        def keep(request) -> None:
            if "/_dash-update-component" in request.url and request.method == "POST":
                got.setdefault(current[0], []).append(request.post_data)

        context.on("request", keep)
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(f"{base}/district/{RECORD_DISTRICT}")
        page.wait_for_selector(".headline-value")
        page.wait_for_load_state("networkidle")
        for slug in reports:
            current[0] = f"report:{slug}"
            page.goto(f"{base}/reports/{slug}")
            page.wait_for_selector(REPORT_READY)
            page.wait_for_load_state("networkidle")
        current[0] = "login"
        page.goto(f"{base}/login?next=/explore")
        page.wait_for_selector("#login-username")
        page.wait_for_load_state("networkidle")
        current[0] = "explore"
        page.fill("#login-username", "planner")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#ex-table .ag-row")
        page.wait_for_load_state("networkidle")
        browser.close()
    return got


def precompute(env: dict, snapshot_id: str | None = None) -> float:
    """`nser cubes precompute` as `nser cubes build` runs it before serving; returns its seconds."""
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "dashboard.cli", "cubes", "precompute", "--quiet"]
    if snapshot_id:
        cmd += ["--snapshot", snapshot_id]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"nser cubes precompute failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    print(done.stdout.strip())
    return time.perf_counter() - started


def swap(data_dir: Path, env: dict) -> tuple[str, str, float]:
    """Publish a new snapshot as a build and a cube build do, its files hard links of the serving one's."""
    from cubes.builder import cubes_path
    from data.snapshots import SnapshotStore, new_snapshot_id

    store = SnapshotStore(data_dir)
    old = store.serving()
    new_id = new_snapshot_id("swap")
    for src, dst in (
        (old.path, store.root / f"{new_id}.duckdb"),
        (cubes_path(old), store.root / f"{new_id}.cubes.duckdb"),
    ):
        os.link(src, dst)
    manifest = {**old.manifest, "snapshot_id": new_id, "path": str(store.root / f"{new_id}.duckdb")}
    (store.root / f".{new_id}.json.tmp").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(store.root / f".{new_id}.json.tmp", store.root / f"{new_id}.json")
    tmp = store.root / ".CURRENT.tmp"
    tmp.write_text(new_id + "\n", encoding="utf-8")
    os.replace(tmp, store.pointer)  # the new warehouse is current …
    time.sleep(2)  # … while its cubes "build": the app must keep answering from the old one
    seconds = precompute(env, new_id)  # … its public dashboards are precomputed …
    store.serve(new_id)  # … and now serving
    return old.snapshot_id, new_id, seconds


def audit_rows(database_url: str) -> Counter:
    """Query and record-search rows of the access log, per snapshot."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as con:
        rows = con.execute(
            text(
                "SELECT snapshot_id, count(*) FROM audit_log WHERE kind IN ('query', 'record_search') "
                "GROUP BY snapshot_id"
            )
        ).fetchall()
    engine.dispose()
    return Counter({sid: n for sid, n in rows})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--public", type=int, default=50)
    ap.add_argument("--business", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--port", type=int, default=8071)
    ap.add_argument("--no-swap", action="store_true")
    ap.add_argument("--no-record", action="store_true", help="print, do not append to BENCHMARKS.md")
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="nser-load-"))
    database_url = f"sqlite:///{scratch / 'governance.sqlite'}"
    env = {
        **os.environ,
        "NSER_DATA_DIR": str(args.data_dir.resolve()),
        "NSER_DEMO": "1",
        "NSER_DATABASE_URL": database_url,
        "NSER_CACHE_DIR": str(scratch / "caches"),
    }
    os.environ.update(env)
    precompute_s = precompute(env)
    server = start_gunicorn(env, args.port, args.workers, scratch / "gunicorn.log")
    base = f"http://127.0.0.1:{args.port}"
    try:
        from dashboard.reports import Reports

        reports = [r.slug for r in Reports().catalogue(("public",))]
        got = record(base, reports)
        from app_bench import model_geography_codes

        districts = model_geography_codes(args.data_dir, "district")
        explore_main = next(b for b in got["explore"] if "ex-url.search" in b and '"ex-graph' in b)
        explorer = [
            explorer_body(
                explore_main.encode(),
                EXPLORER_MIX[i % len(EXPLORER_MIX)].format(district=d, province=d[:3]),
            ).decode()
            for i, d in enumerate(districts * 2)
        ]
        login_page = next(b for b in got["login"] if "_pages_content" in b)
        bodies = {
            "district_code": RECORD_DISTRICT,
            "districts": districts,
            "district": got["district"],
            "reports": {s: got.get(f"report:{s}", []) for s in reports},
            "login_page": login_page,
            "explorer": explorer,
        }
        (scratch / "bodies.json").write_text(json.dumps(bodies), encoding="utf-8")
        before = audit_rows(database_url)  # the recording's own answers
        responses = scratch / "responses.jsonl"
        seconds = int(args.minutes * 60)
        locust_env = {
            **env,
            "NSER_LOAD_BODIES": str(scratch / "bodies.json"),
            "NSER_LOAD_RESPONSES": str(responses),
            "NSER_LOAD_PUBLIC": str(args.public),
            "NSER_LOAD_BUSINESS": str(args.business),
        }
        users = args.public + args.business
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
        cmd += ["-u", str(users), "-r", str(max(1, users // 10)), "-t", f"{seconds}s", "--host", base]
        cmd += ["--csv", str(scratch / "locust"), "--only-summary", "--loglevel", "WARNING"]
        cmd += ["--stop-timeout", "60"]  # users finish the page they are on: every answer is seen
        print(f"load: {args.public} public + {args.business} business users for {seconds} s against {base}")
        swapped: dict = {}
        if not args.no_swap:

            def later():
                time.sleep(seconds / 2)
                *swapped["ids"], swapped["precompute_s"] = swap(args.data_dir, env)
                swapped["at"] = time.time()

            threading.Thread(target=later, daemon=True).start()
        locust = subprocess.run(cmd, cwd=ROOT, env=locust_env, capture_output=True, text=True)
        print(locust.stdout[-4000:], locust.stderr[-2000:])
        time.sleep(2)  # the last audit rows are written before their responses leave; settle anyway
        after = audit_rows(database_url)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)

    lines = [json.loads(x) for x in responses.read_text(encoding="utf-8").splitlines() if x.strip()]
    stats = _locust_stats(scratch / "locust_stats.csv")
    said = Counter()
    for x in lines:
        if x["snapshot"]:
            said[x["snapshot"]] += x["answers"]
    logged = after - before
    errors = sum(1 for x in lines if x["status"] >= 400 or x["status"] == 0 or x["refused"])  # 0: no answer
    order_ok = True
    if swapped:
        old, new = swapped["ids"]
        # no response that began after the swap finished came from the old snapshot
        order_ok = not any(x["snapshot"] == old and x["t"] > swapped["at"] + 5 for x in lines)
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "users": f"{args.public} public + {args.business} business",
        "seconds": seconds,
        "workers": args.workers,
        "requests": stats["Aggregated"]["requests"],
        "failures": stats["Aggregated"]["failures"],
        "p50": stats["Aggregated"]["p50"],
        "p95": stats["Aggregated"]["p95"],
        "max": stats["Aggregated"]["max"],
        "per_name": {k: v for k, v in stats.items() if k != "Aggregated"},
        "errors_or_refusals": errors,
        "answers_said": dict(said),
        "audit_rows": dict(logged),
        "audit_equal": dict(said) == dict(logged),
        "swap": swapped.get("ids"),
        "precompute_s": round(precompute_s, 1),
        "swap_precompute_s": round(swapped.get("precompute_s", 0), 1) or None,
        "served_in_order": order_ok,
    }
    print(json.dumps(report, indent=1))
    if not args.no_record:
        _append(report, args.data_dir)
    if report["failures"] or errors or not report["audit_equal"]:
        print(f"kept for a look: {scratch} (gunicorn.log, responses.jsonl, locust_*.csv)")
    else:
        shutil.rmtree(scratch, ignore_errors=True)


def _locust_stats(path: Path) -> dict:
    import csv

    out = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["Name"] if row["Name"] != "Aggregated" else "Aggregated"] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "max": float(row["Max Response Time"]),
            }
    return out


def _append(r: dict, data_dir: Path) -> None:
    from data.snapshots import SnapshotStore

    snap = SnapshotStore(data_dir).serving()
    households = snap.manifest.get("households") or snap.manifest.get("counts", {}).get("households")
    row = (
        f"| {r['date']} | {households:,} households | {r['users']}, {r['seconds']} s, {r['workers']} workers × 4 "
        f"threads | {r['requests']:,} | {r['failures']} | {r['p50']:.0f} / {r['p95']:.0f} / {r['max']:.0f} ms | "
        f"{'equal' if r['audit_equal'] else 'DIFFER'} ({sum(r['audit_rows'].values()):,} rows) | "
        f"{'swap, no error, in order' if r['swap'] and r['served_in_order'] and not r['errors_or_refusals'] else 'see notes'} |"
    )
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    head = "## Load — `python bench/load_test.py`"
    if head not in text:
        text += (
            f"\n{head} (targets: p95 ≤ 300 ms, 0 errors, audit rows = answers served, a swap with no error)\n\n"
            f"Machine: {r['machine']}.\n\n"
            "| date | size | users | requests | failures | p50 / p95 / max | access log vs responses | snapshot swap |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
    lines = text.rstrip("\n").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = at + 1
    while end < len(lines) and (not lines[end].startswith("|") or end < at + 6):
        if lines[end].startswith("## ") and end > at:
            break
        end += 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines.insert(end, row)  # at the end of this section's table
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
