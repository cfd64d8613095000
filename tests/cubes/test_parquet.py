"""App nodes answering from the snapshot's Parquet copy (NSER_SERVE_FORMAT=parquet) give exactly the
answers and records the DuckDB files give, and refuse clearly when the copy is missing."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from cubes.builder import build_cubes, cubes_path
from cubes.events import MemorySink
from cubes.gateway import Gateway
from cubes.parquet import builds, parquet_path, serve_format
from dashboard.cli import main
from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic
from tests.conftest import make_actor, make_query


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One small registry whose cubes were built with a Parquet copy (as app nodes would read it)."""
    store = SnapshotStore(tmp_path_factory.mktemp("parquet") / "d")
    snap = build_synthetic(4000, 11, store=store)
    con = duckdb.connect(str(snap.path))  # deaths, as the integration overlay applies them: rowid gaps
    con.execute("DELETE FROM members WHERE line_no > 1 AND member_id % 7 = 0")
    con.execute(
        "DELETE FROM members WHERE household_id IN (SELECT household_id FROM households WHERE household_id % 9 = 0)"
    )
    con.execute("DELETE FROM households WHERE household_id % 9 = 0")
    con.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NSER_SERVE_FORMAT", "parquet")
        summary = build_cubes(store)
    return store, summary


def gateways(store, monkeypatch):
    monkeypatch.setenv("NSER_SAMPLE_SALT", "cd" * 32)
    monkeypatch.setenv("NSER_SERVE_FORMAT", "duckdb")
    files = Gateway(store, events=MemorySink(), cache=False)
    files.run_query(make_actor("mis"), make_query("households"))  # opened from the DuckDB files
    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    parquet = Gateway(store, events=MemorySink(), cache=False)
    return files, parquet


QUERIES = [
    ("public", make_query("households", dimensions=["pmt_band"], level="province")),
    (
        "business",
        make_query("persons", dimensions=["gender", "age_group"], level="district", codes=["PK601"]),
    ),
    ("business", make_query("households", ["households", "share_at_or_below_cutoff"], level="tehsil")),
    ("mis", make_query("households", dimensions=["dwelling_structure", "toilet"], level="union_council")),
    ("mis", make_query("beneficiaries", level="district")),
]


def test_the_copy_is_written_before_the_snapshot_is_served(both):
    store, summary = both
    snap = store.require_current()
    build = summary["parquet"]["build_id"]
    assert (parquet_path(snap) / build / "manifest.json").exists()
    assert store.serving_stamp() == (snap.snapshot_id, build)  # SERVING names the build copied
    tables = summary["parquet"]["tables"]
    assert {"wh/households", "wh/members", "cubes/rollups", "cubes/cnic_lookup"} <= set(tables)
    con = duckdb.connect(str(snap.path), read_only=True)
    assert tables["wh/members"]["rows"] == con.execute("SELECT count(*) FROM members").fetchone()[0]
    gaps = con.execute("SELECT max(rowid) + 1 - count(*) FROM households").fetchone()[0]
    con.close()
    assert gaps > 0  # the records below are read past deleted rows


@pytest.mark.parametrize(("tier", "query"), QUERIES)
def test_answers_from_parquet_equal_answers_from_the_duckdb_files(both, monkeypatch, tier, query):
    files, parquet = gateways(both[0], monkeypatch)
    a = files.run_query(make_actor(tier), query)
    b = parquet.run_query(make_actor(tier), query)
    assert a.ok, a.reason
    assert (b.ok, b.columns, b.rows, b.flags) == (a.ok, a.columns, a.rows, a.flags)


def test_record_search_from_parquet_reads_the_same_records(both, monkeypatch):
    store = both[0]
    con = duckdb.connect(str(store.require_current().path), read_only=True)
    cnics = [  # the last households, where rowids and positions differ most
        r[0]
        for r in con.execute(
            "SELECT cnic FROM members WHERE cnic IS NOT NULL ORDER BY household_id DESC, line_no LIMIT 6"
        ).fetchall()
    ]
    tehsil = con.execute(
        "SELECT tehsil_code FROM households GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    con.close()
    files, parquet = gateways(store, monkeypatch)
    searches = [{"type": "cnic", "cnic": c} for c in cnics]
    searches.append({"type": "pmt_range", "area": tehsil, "pmt_min": 0, "pmt_max": 40})
    for role in ("power", "standard", "basic"):
        for search in searches:
            actor = make_actor("business", user=f"{role}-user")
            actor.attributes.update(record_role=role, user_id=7, organisation_id=3)
            a = files.search_records(actor, search)
            b = parquet.search_records(actor, search)
            assert (b.ok, b.households, b.members, b.payments, b.total) == (
                a.ok,
                a.households,
                a.members,
                a.payments,
                a.total,
            ), (role, search)
    assert any(files.search_records(actor, s).households for s in searches)  # not all empty


def test_a_missing_copy_is_refused_with_what_to_run(tmp_path, monkeypatch):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(1000, 2, store=store)
    build_cubes(store)  # DuckDB only
    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    result = Gateway(store, events=MemorySink()).run_query(make_actor("mis"), make_query("households"))
    assert not result.ok and "nser cubes export-parquet" in result.reason

    monkeypatch.setenv("NSER_DATA_DIR", str(store.root))
    done = CliRunner().invoke(main, ["cubes", "export-parquet"])
    assert done.exit_code == 0, done.output
    assert Gateway(store, events=MemorySink()).run_query(make_actor("mis"), make_query("households")).ok
    assert cubes_path(store.require_current()).exists()


def test_an_unknown_serve_format_is_named(monkeypatch):
    monkeypatch.setenv("NSER_SERVE_FORMAT", "csv")
    with pytest.raises(ValueError, match="NSER_SERVE_FORMAT must be one of duckdb, parquet, not 'csv'"):
        serve_format()


def test_a_failed_export_leaves_no_half_copy(tmp_path, monkeypatch):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(1000, 3, store=store)
    build_cubes(store)
    snap = store.require_current()
    import cubes.parquet as parquet_module

    real = parquet_module.duckdb.connect

    class Failing:
        def __init__(self):
            self.con, self.copies = real(), 0

        def execute(self, sql, *args):
            if sql.startswith("COPY"):
                self.copies += 1
                if self.copies == 3:
                    raise duckdb.IOException("No space left on device")
            return self.con.execute(sql, *args)

        def close(self):
            self.con.close()

    monkeypatch.setattr(parquet_module.duckdb, "connect", lambda *a, **k: Failing())
    with pytest.raises(duckdb.IOException):
        parquet_module.export_parquet(snap, cubes_path(snap))
    assert parquet_module.builds(parquet_path(snap)) == []
    assert not list(parquet_path(snap).glob(".*.staging"))


def test_a_rebuild_writes_a_new_copy_beside_the_one_being_read(both, monkeypatch):
    store, first = both
    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    reader = Gateway(store, events=MemorySink(), cache=False)
    query = make_query("households", dimensions=["pmt_band"], level="province")
    with reader.pinned():  # a request on the first build while the cubes are rebuilt
        before = reader.run_query(make_actor("public"), query)
        second = build_cubes(store)
        during = reader.run_query(make_actor("public"), query)
    assert second["build_id"] != first["build_id"]
    assert (before.rows, during.rows) == (before.rows, before.rows)
    root = parquet_path(store.require_current())
    assert {d.name for d in builds(root)} == {
        first["build_id"],
        second["build_id"],
    }
    assert store.serving_stamp()[1] == second["build_id"]
    after = Gateway(store, events=MemorySink(), cache=False).run_query(make_actor("public"), query)
    assert after.ok and after.rows == before.rows  # the same registry, the same protected answer


def test_serving_a_build_without_its_copy_is_refused_not_answered_from_an_old_copy(tmp_path, monkeypatch):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(1000, 5, store=store)
    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    build_cubes(store)
    monkeypatch.setenv("NSER_SERVE_FORMAT", "duckdb")
    build_cubes(store)  # rebuilt on a node that does not write Parquet
    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    result = Gateway(store, events=MemorySink()).run_query(make_actor("mis"), make_query("households"))
    assert not result.ok and "has no Parquet copy" in result.reason
