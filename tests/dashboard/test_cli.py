"""The `nser` command: the contract tests and outside checks rely on."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dashboard.cli import main


def test_warehouse_build_then_info_json(data_dir):
    runner = CliRunner()
    built = runner.invoke(main, ["warehouse", "build", "--households", "2000", "--seed", "3", "--quiet"])
    assert built.exit_code == 0, built.output
    info = runner.invoke(main, ["warehouse", "info", "--json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert {"path", "snapshot_id", "as_of", "households", "members"} <= set(data)
    assert data["households"] == 2000 and data["members"] > 10_000
    assert data["path"].startswith(str(data_dir))
    text = runner.invoke(main, ["warehouse", "info"])
    assert data["snapshot_id"] in text.stdout and "2,000" in text.stdout


def test_info_without_a_snapshot_says_what_to_do(data_dir):
    result = CliRunner().invoke(main, ["warehouse", "info", "--json"])
    assert result.exit_code != 0
    assert "nser warehouse build" in result.output


def test_bad_arguments_are_named(data_dir):
    runner = CliRunner()
    small = runner.invoke(main, ["warehouse", "build", "--households", "10"])
    assert small.exit_code != 0 and "--households" in small.output
    date = runner.invoke(main, ["warehouse", "build", "--as-of", "31/12/2025"])
    assert date.exit_code != 0 and "YYYY-MM-DD" in date.output


def test_cubes_list_json_describes_cubes_dimensions_measures_and_tiers():
    result = CliRunner().invoke(main, ["cubes", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    cubes = {c["name"]: c for c in data["cubes"]}
    assert {"households", "persons", "beneficiaries", "education_cct", "disability"} <= set(cubes)
    persons = cubes["persons"]
    assert persons["tiers"]["business"]["lowest_geography"] == "tehsil"
    gender = next(d for d in persons["dimensions"] if d["name"] == "gender")
    assert {m["code"] for m in gender["members"]} == {"male", "female", "transgender"}
    assert all(m["description"] and m["unit"] for m in persons["measures"])


def test_query_through_the_gateway_single_and_batch(cubes_store, monkeypatch, tmp_path):
    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    runner = CliRunner()
    q = {
        "cube": "households",
        "measures": ["households"],
        "dimensions": ["urban_rural"],
        "geography": {"level": "province"},
    }
    one = runner.invoke(main, ["query", "--tier", "public", json.dumps(q)])
    assert one.exit_code == 0, one.output
    answer = json.loads(one.stdout)
    assert answer["ok"] and answer["snapshot_id"] == cubes_store.current_id()
    assert {r["urban_rural"] for r in answer["rows"]} == {"urban", "rural"}
    batch = tmp_path / "queries.jsonl"
    refused = dict(q, geography={"level": "union_council"})
    batch.write_text(json.dumps(q) + "\n" + json.dumps(refused) + "\n")
    many = runner.invoke(main, ["query", "--tier", "business", "--batch", str(batch)])
    assert many.exit_code == 0, many.output
    lines = [json.loads(x) for x in many.stdout.splitlines()]
    assert [x["ok"] for x in lines] == [True, False]
    assert "too detailed" in lines[1]["reason"]
    scoped = runner.invoke(
        main,
        [
            "query",
            "--tier",
            "business",
            "--scope",
            "PK601",
            json.dumps(dict(q, geography={"level": "tehsil", "codes": ["PK602T01"]})),
        ],
    )
    assert scoped.exit_code == 2 and not json.loads(scoped.stdout)["ok"]


def test_query_needs_exactly_one_source():
    result = CliRunner().invoke(main, ["query", "--tier", "public"])
    assert result.exit_code != 0 and "QUERY_JSON" in result.output


def test_ptable_check_passes_on_the_shipped_table():
    result = CliRunner().invoke(main, ["cubes", "ptable", "--check"])
    assert result.exit_code == 0, result.output


def test_orgs_users_and_audit_verify_from_the_command_line(data_dir):
    runner = CliRunner()
    r = runner.invoke(main, ["orgs", "add", "--name", "Punjab P&D", "--type", "provincial_government"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["orgs", "add", "--name", "Some NGO", "--type", "local_ngo"])
    assert r.exit_code != 0 and "registration" in r.output
    r = runner.invoke(
        main,
        [
            "users",
            "add",
            "--username",
            "amina",
            "--name",
            "Amina Khan",
            "--org",
            "Punjab P&D",
            "--role",
            "standard",
            "--duty",
            "dg_nser",
            "--scope",
            "PK6",
            "--password-stdin",
        ],
        input="correct horse battery\n",
    )
    assert r.exit_code == 0, r.output
    listed = json.loads(runner.invoke(main, ["users", "list", "--json"]).stdout)
    assert (
        listed[0]["username"] == "amina"
        and listed[0]["duties"] == ["dg_nser"]
        and listed[0]["scope"] == "PK6"
    )
    assert runner.invoke(main, ["users", "disable", "amina"]).exit_code == 0
    assert json.loads(runner.invoke(main, ["users", "list", "--json"]).stdout)[0]["status"] == "disabled"
    r = runner.invoke(
        main, ["users", "reset-password", "amina", "--password-stdin"], input="another long secret\n"
    )
    assert r.exit_code == 0, r.output
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0 and "chain intact" in ok.stdout
    from sqlalchemy import text

    from dashboard.store import engine

    with engine().begin() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'mallory' WHERE seq = 2"))
    broken = runner.invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1 and "row 2 was edited" in broken.stdout
    out = data_dir / "audit.csv"
    assert runner.invoke(main, ["audit", "export", str(out)]).exit_code == 0
    assert out.read_text().count("\n") == 5  # header + org, user, disable, reset


def test_rates_and_statement_from_the_command_line(data_dir, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["rates", "set", "aggregate_cells", "private", "0.3"]).exit_code == 0
    assert "0.30 PKR per cell" in runner.invoke(main, ["rates", "list"]).stdout
    runner.invoke(
        main, ["orgs", "add", "--name", "Acme", "--type", "private_business", "--registration-number", "X1"]
    )
    r = runner.invoke(
        main,
        [
            "metering",
            "statement",
            "--org",
            "Acme",
            "--month",
            "2026-11",
            "--xlsx",
            str(tmp_path / "s.xlsx"),
            "--csv",
            str(tmp_path / "s.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.xlsx").exists() and (tmp_path / "s.csv").exists()
    bad = runner.invoke(main, ["metering", "statement", "--org", "Acme", "--month", "November"])
    assert bad.exit_code != 0 and "2026-11" in bad.output


def test_run_generates_the_demo_registry_and_serves_it_under_gunicorn(data_dir, tmp_path):
    """The README's first command, end to end on an empty data directory."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v for k, v in os.environ.items() if k not in ("NSER_SECRET_KEY", "NSER_DATABASE_URL", "NSER_DEMO")
    }
    nser = Path(sys.executable).with_name("nser")
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(nser), "run", "--port", str(port), "--demo-households", "2000", "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            body = None
            for _ in range(240):
                if proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                        body = r.read().decode()
                        break
                except OSError:
                    time.sleep(0.5)
            assert body is not None, log.read_text()[-3000:]
            assert "<title>NSER Insight</title>" in body
            text = log.read_text()
            assert "generating the demo registry (2,000 households)" in text and "demo users" in text
            assert "gunicorn" in text.lower()
            assert (data_dir / "CURRENT").exists() and list(data_dir.glob("*.cubes.duckdb"))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_run_without_demo_needs_a_secret_key(data_dir, monkeypatch):
    monkeypatch.delenv("NSER_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["run", "--no-demo"])
    assert result.exit_code != 0 and "NSER_SECRET_KEY" in result.output


def test_requests_list_and_overdue_reminders_from_the_command_line(data_dir, monkeypatch):
    import datetime as dt

    from dashboard.data_requests import DataRequests
    from dashboard.notifications import Outbox

    monkeypatch.delenv("NSER_SMTP_URL", raising=False)
    form = {
        "organisation_name": "Khyber Pakhtunkhwa Planning and Development",
        "organisation_type": "provincial_government",
        "address": "Peshawar",
        "focal_person": "Zainab Khan",
        "email": "zainab@kp.gov.pk",
        "phone": "+92 91 1234567",
        "purpose": "Provincial planning",
        "intended_use": "District development plans",
        "data_type": "statistical",
        "granularity": "Households by tehsil",
        "frequency": "continuous",
    }
    late, *_ = DataRequests().submit(form, today=dt.date(2026, 11, 2))
    runner = CliRunner()
    listed = runner.invoke(main, ["requests", "list"])
    assert listed.exit_code == 0 and late in listed.output and "OVERDUE" in listed.output, listed.output
    overdue = runner.invoke(main, ["requests", "list", "--overdue"])
    assert late in overdue.output
    reminded = runner.invoke(main, ["requests", "remind"])
    assert reminded.exit_code == 0 and "dg_nser: reminded of 1 overdue request(s)" in reminded.output
    assert any(n.to_address == "dg-nser@bisp.gov.pk" and late in n.body for n in Outbox().recent(5))


def test_integration_from_the_command_line(cubes_store, tmp_path, monkeypatch):
    """Load a feed's file, list its unmatched records, review its event, appeal and reverse it."""
    import duckdb

    from dashboard import oversight
    from dashboard.accounts import Accounts

    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    accounts = Accounts()
    accounts.add_organisation("BISP NSER MIS Wing", "bisp")
    accounts.add_user(
        "sana", "Sana", "BISP NSER MIS Wing", "correct horse battery", tier="mis", record_role="power"
    )
    accounts.add_user("usman", "Usman", "BISP NSER MIS Wing", "correct horse battery", tier="business")
    with duckdb.connect(str(cubes_store.require_current().path), read_only=True) as con:
        cnic = con.execute(
            "SELECT cnic FROM members WHERE is_beneficiary_household AND relation = 'head' ORDER BY member_id LIMIT 1"
        ).fetchone()[0]
    feed = tmp_path / "vehicles.csv"
    feed.write_text(
        f"cnic,registration_no,vehicle_class,registered_on\n{cnic},CLI-1,car,2026-01-05\n3520212345671,CLI-2,car,2026-01-06\n"
    )
    runner = CliRunner()
    loaded = runner.invoke(main, ["integrate", "load", "excise_vehicles", str(feed)])
    assert (
        loaded.exit_code == 0
        and "1 matched, 1 unmatched" in loaded.output
        and "1 event(s) raised" in loaded.output
    )
    records = runner.invoke(main, ["integrate", "records", "1", "--status", "unmatched", "--as", "sana"])
    assert "no registered person has this CNIC" in records.output
    refused = runner.invoke(main, ["integrate", "events", "--as", "usman"])
    assert refused.exit_code != 0 and "not in the MIS team" in refused.output
    events = runner.invoke(main, ["integrate", "events", "--as", "sana"])
    assert "CLI-1" in events.output
    event_id = events.output.split()[0]
    confirmed = runner.invoke(main, ["integrate", "review", event_id, "confirm", "--as", "sana"])
    assert confirmed.exit_code == 0 and "confirmed, appeal until" in confirmed.output
    appealed = runner.invoke(
        main, ["integrate", "appeal", event_id, "--grounds", "sold in 2025", "--as", "sana"]
    )
    assert "appealed" in appealed.output
    kept = runner.invoke(
        main, ["integrate", "decide-appeal", event_id, "reject", "--comment", "no proof", "--as", "sana"]
    )
    assert "confirmed" in kept.output
    undone = runner.invoke(main, ["integrate", "reverse", event_id, "--reason", "wrong CNIC", "--as", "sana"])
    assert "reversed" in undone.output
    again = runner.invoke(main, ["integrate", "load", "excise_vehicles", str(feed)])
    assert again.exit_code != 0 and "the same content was loaded" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("cnic,registration_no,vehicle_class,registered_on\n123,X,car,2026-01-01\n")
    rejected = runner.invoke(main, ["integrate", "load", "excise_vehicles", str(bad)])
    assert rejected.exit_code != 0 and "line 2, cnic" in rejected.output
    listed = runner.invoke(main, ["integrate", "feeds"])
    assert "crms_vital_events" in listed.output and "death → deceased" in listed.output


def test_cubes_build_precomputes_every_public_district_dashboard(data_dir, tmp_path, monkeypatch):
    from cubes.events import MemorySink, QueryAudited
    from cubes.gateway import Gateway
    from dashboard import oversight
    from dashboard.district_questions import dashboard_queries
    from dashboard.store import shared_cache
    from data import geography
    from tests.conftest import make_actor

    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'nser.sqlite'}")
    monkeypatch.setenv("NSER_AUDIT_KEY", "c" * 64)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    runner = CliRunner()
    built = runner.invoke(main, ["warehouse", "build", "--households", "3000", "--seed", "4", "--quiet"])
    assert built.exit_code == 0, built.output
    cubes = runner.invoke(main, ["cubes", "build", "--no-reports"])
    assert cubes.exit_code == 0, cubes.output
    districts = len(geography.districts())
    assert "public district dashboards of snapshot " in cubes.output
    assert f"{districts} districts" in cubes.output
    assert "page cache warmed for snapshot " in cubes.output  # before the precompute, before SERVING
    assert cubes.output.index("page cache warmed") < cubes.output.index("public district dashboards")

    sink = MemorySink()  # another worker, started after the build
    worker = Gateway(events=sink, shared_cache=shared_cache("answer-cache"))
    worker.run_queries(make_actor("public"), dashboard_queries("PK601"))
    sources = {e.source for e in sink.events if isinstance(e, QueryAudited) and e.outcome == "answered"}
    assert sources == {"cache"}

    again = runner.invoke(main, ["cubes", "precompute", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "0 answers computed" in again.output

    unknown = runner.invoke(main, ["cubes", "precompute", "--snapshot", "20990101T000000Z-nothing"])
    assert unknown.exit_code != 0 and "20990101T000000Z-nothing" in unknown.output


def test_cubes_warm_reads_the_serving_snapshot_or_says_why_not(cubes_store, monkeypatch):
    from cubes.builder import cubes_path

    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    runner = CliRunner()
    snap = cubes_store.serving()
    size = (snap.path.stat().st_size + cubes_path(snap).stat().st_size) / 2**20
    warmed = runner.invoke(main, ["cubes", "warm", "--quiet"])
    assert warmed.exit_code == 0, warmed.output
    assert f"page cache warmed for snapshot {snap.snapshot_id}: {size:,.0f} MiB in 2 file(s)" in warmed.output

    monkeypatch.setenv("NSER_WARM_PAGE_CACHE", "off")
    off = runner.invoke(main, ["cubes", "warm"])
    assert off.exit_code == 0 and "not warmed: NSER_WARM_PAGE_CACHE=off" in off.output

    monkeypatch.setenv("NSER_WARM_PAGE_CACHE", "sometimes")
    bad = runner.invoke(main, ["cubes", "warm"])
    assert (
        bad.exit_code != 0 and "NSER_WARM_PAGE_CACHE must be one of auto, off, not 'sometimes'" in bad.output
    )

    monkeypatch.delenv("NSER_WARM_PAGE_CACHE")
    unknown = runner.invoke(main, ["cubes", "warm", "--snapshot", "20990101T000000Z-nothing"])
    assert unknown.exit_code != 0 and "20990101T000000Z-nothing" in unknown.output
