"""Benchmark: server time of a district dashboard (all its callbacks) and of an explorer update.

    python bench/app_bench.py --data-dir bench/results/data      # current snapshot there (35M households)

Targets (issue "app"): a district dashboard ≤ 300 ms and an explorer update ≤ 150 ms, p95, at national
scale.

How: the real app (``app.create_app()``, demo mode, a throw-away SQLite governance store so the bench
does not write into the data directory's access log) is served once in a thread; Debian's Chromium opens
``/district/PK601`` anonymously and ``/explore`` as the demo planner, and every body the pages POST to
``/_dash-update-component`` is recorded. Those bodies are then replayed through Flask's test client
(in process: routing, login, authorization, gateway, audit, metering, figure building and JSON encoding;
no network; empty shared caches, and the public dashboards not precomputed: a first visit computes
its answers, the worst case), for every district of the country in turn (district code substituted) and for an explorer
mix (one URL state per run, varied over districts so that the gateway's answer cache is cold). The
server time of a district dashboard is the sum of its callbacks, which the browser sends in sequence
(page content first, then the dashboard). Second visits (cache warm) are reported separately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "nser-demo-2026"
RECORD_DISTRICT = "PK601"
# Explorer states a planner would ask for, each with {district} and {province} filled in per run.
EXPLORER_MIX = [
    "?cube=beneficiaries&m=beneficiaries&level=tehsil&area={district}&chart=bar",
    "?cube=persons&m=persons&d=gender,age_group&level=tehsil&area={district}&chart=bar",
    "?cube=households&m=households,share_at_or_below_cutoff&d=pmt_band&level=district&area={province}"
    "&chart=bar",
    "?cube=households&m=households&d=urban_rural&level=tehsil&area={district}&chart=stacked",
    "?cube=persons&m=persons&d=gender&level=district&area={province}&chart=bar",
    "?cube=education_cct&m=enrolments&d=cct_level&level=tehsil&area={district}&chart=bar",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def record_bodies(base: str) -> tuple[list[bytes], list[bytes]]:
    """POST bodies of the district page (anonymous) and the explorer (planner), as the browser sends them."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("Debian's chromium is needed to record the callbacks (apt-get install -y chromium)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=args)
        recorded: dict[str, list[bytes]] = {"district": [], "explore": []}
        current = ["district"]

        def keep(request) -> None:
            if "/_dash-update-component" in request.url and request.method == "POST":
                recorded[current[0]].append(request.post_data_buffer)

        context = browser.new_context()
        context.on("request", keep)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/district/{RECORD_DISTRICT}")
        page.wait_for_selector(".headline-value")
        page.wait_for_load_state("networkidle")
        current[0] = "explore"
        page.goto(f"{base}/login?next=/explore")
        page.fill("#login-username", "planner")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#ex-table .ag-row")
        page.wait_for_load_state("networkidle")
        browser.close()
    return recorded["district"], recorded["explore"]


def serve(flask_app) -> tuple[str, object]:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def post(client, body: bytes, answers: list | None = None) -> float:
    """Server time of one callback in ms; the response text is appended to ``answers`` when given."""
    started = time.perf_counter()
    response = client.post("/_dash-update-component", data=body, headers={"Content-Type": "application/json"})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 204):
        raise SystemExit(f"callback failed ({response.status_code}): {response.get_data(as_text=True)[:300]}")
    if answers is not None:
        answers.append(response.get_data(as_text=True))
    return elapsed


def log_in(client, user: str) -> None:
    with client.session_transaction() as session:
        session["csrf_token"] = "bench"
    response = client.post(
        "/auth/login",
        data={"username": user, "password": PASSWORD, "csrf_token": "bench", "next": "/explore"},
    )
    if response.status_code != 303 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"login as {user} failed")


def explorer_body(template: bytes, search: str) -> bytes:
    """The recorded explorer callback with the URL's query string replaced (the state it loads)."""
    body = json.loads(template)
    for item in body["inputs"]:
        if isinstance(item, list):  # a pattern-matching input (the quick starts): left as recorded
            continue
        if item.get("id") == "ex-url" and item.get("property") == "search":
            item["value"] = search
    body["changedPropIds"] = ["ex-url.search"]
    return json.dumps(body).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "data")
    ap.add_argument("--districts", type=int, default=0, help="limit the districts visited (0: all)")
    ap.add_argument("--explorer-runs", type=int, default=120)
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="nser-app-bench-"))
    os.environ.update(
        NSER_DATA_DIR=str(args.data_dir.resolve()),
        NSER_DEMO="1",
        NSER_DATABASE_URL=f"sqlite:///{scratch / 'governance.sqlite'}",
        NSER_CACHE_DIR=str(scratch / "caches"),  # first visits are first: no answers from earlier runs
    )
    import app as app_module
    from data.snapshots import SnapshotStore

    snapshot = SnapshotStore(args.data_dir).require_current()
    dash_app = app_module.create_app()
    flask_app = dash_app.server
    base, server = serve(flask_app)
    started = time.perf_counter()
    district_bodies, explore_bodies = record_bodies(base)
    server.shutdown()
    print(
        f"recorded {len(district_bodies)} district and {len(explore_bodies)} explorer callbacks "
        f"({time.perf_counter() - started:.1f} s, first visits included)"
    )
    explore_main = next(b for b in explore_bodies if b"ex-url.search" in b and b'"ex-graph' in b)

    districts = model_geography_codes(args.data_dir, "district")
    if args.districts:
        districts = districts[: args.districts]
    provinces = sorted({d[:3] for d in districts})

    anonymous = flask_app.test_client()
    cold, warm = [], []
    for code in districts:
        bodies = [b.replace(RECORD_DISTRICT.encode(), code.encode()) for b in district_bodies]
        cold.append(sum(post(anonymous, b) for b in bodies))
    for code in districts[: min(40, len(districts))]:
        bodies = [b.replace(RECORD_DISTRICT.encode(), code.encode()) for b in district_bodies]
        warm.append(sum(post(anonymous, b) for b in bodies))

    planner = flask_app.test_client()
    log_in(planner, "planner")
    updates, warm_updates, texts = [], [], []
    pairs = []
    for i in range(args.explorer_runs):
        district = districts[(i * 7) % len(districts)]
        search = EXPLORER_MIX[i % len(EXPLORER_MIX)].format(district=district, province=district[:3])
        pairs.append(search)
        updates.append(post(planner, explorer_body(explore_main, search), texts))
    for search in pairs[:40]:
        warm_updates.append(post(planner, explorer_body(explore_main, search)))

    def line(name, values):
        return (
            f"{name}: n={len(values)} p50 {statistics.median(values):.1f} ms, "
            f"p95 {percentile(values, 0.95):.1f} ms, max {max(values):.1f} ms"
        )

    empty = sum('"rowData":[]' in t.replace(" ", "") for t in texts)
    print(f"explorer answers with an empty table (refused or nothing to show): {empty} of {len(texts)}")
    print(f"snapshot {snapshot.snapshot_id}; {len(provinces)} provinces, {len(districts)} districts")
    print(line("district dashboard, first visit (all callbacks)", cold))
    print(line("district dashboard, second visit", warm))
    print(line("explorer update, first time", updates))
    print(line("explorer update, repeated", warm_updates))
    print(f"date {dt.date.today()}; {len(district_bodies)} callbacks per district page")
    shutil.rmtree(scratch, ignore_errors=True)


def model_geography_codes(data_dir: Path, level: str) -> list[str]:
    """Every area code of a level in the current snapshot, asked of the gateway as the MIS team would
    (the bench never opens DuckDB itself)."""
    from cubes.events import MemorySink
    from cubes.gateway import Gateway
    from cubes.query import Actor
    from data.snapshots import SnapshotStore

    gateway = Gateway(SnapshotStore(data_dir), events=MemorySink())
    query = {"cube": "households", "measures": ["households"], "geography": {"level": level}}
    result = gateway.run_query(Actor(tier="mis", user="bench", organisation="BISP"), query)
    if not result.ok:
        raise SystemExit(f"cannot list the {level} codes: {result.reason}")
    return sorted(r[f"{level}_code"] for r in result.rows)


if __name__ == "__main__":
    main()
