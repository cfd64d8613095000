"""The integration stage of a build, on a small synthetic registry: deaths, holds, flags, areas; the
tables exactly as the catalogue declares them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from data.catalogue import load_catalogue
from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic

TABLES = ("integration_households", "deceased_members", "closed_households", "integration_applied")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    store = SnapshotStore(tmp_path_factory.mktemp("overlay"))
    return store, build_synthetic(2000, 11, store=store)


def _effect(
    event_id,
    effect,
    code=None,
    cnic=None,
    area=None,
    since=dt.date(2026, 5, 1),
    state="confirmed",
    feed="crms_vital_events",
):
    return {
        "event_id": event_id,
        "feed": feed,
        "rule": "r",
        "effect": effect,
        "code": code,
        "cnic": cnic,
        "area_code": area,
        "since": since,
        "state": state,
    }


def test_a_build_without_events_has_every_household_and_empty_tables(base):
    _, snap = base
    con = duckdb.connect(str(snap.path), read_only=True)
    assert (
        con.execute("SELECT count(*) FROM integration_households").fetchone()[0]
        == snap.manifest["households"]
    )
    assert (
        con.execute(
            "SELECT count(*) FROM integration_households WHERE held OR relief_priority OR resurvey"
        ).fetchone()[0]
        == 0
    )
    for table in TABLES[1:]:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    for table in TABLES:
        described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
        assert described == [(c.name, c.type) for c in load_catalogue().tables[table].columns.values()]
    con.close()


def test_a_household_everyone_of_whom_died_is_closed_and_an_area_flag_reaches_every_household(base):
    store, snap = base
    con = duckdb.connect(str(snap.path), read_only=True)
    small = con.execute(
        "SELECT household_id FROM households WHERE household_size = 2 ORDER BY household_id LIMIT 1"
    ).fetchone()[0]
    pair = [
        r[0]
        for r in con.execute(
            "SELECT cnic FROM members WHERE household_id = ? ORDER BY line_no", [small]
        ).fetchall()
    ]
    tehsil, n_tehsil = con.execute(
        "SELECT tehsil_code, count(*) FROM households GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    con.close()
    effects = [
        _effect(1, "deceased", cnic=pair[0], since=dt.date(2026, 3, 1)),
        _effect(2, "deceased", cnic=pair[1], since=dt.date(2026, 4, 9)),
        _effect(3, "flag", "relief_priority", area=tehsil, feed="ndma_areas"),
        _effect(4, "flag", "relief_priority", area="PK999", feed="ndma_areas"),
        _effect(5, "hold", "vehicle", cnic="1234567890123", feed="excise_vehicles"),
    ]
    after = build_synthetic(2000, 11, store=store, integration=effects)
    report = after.manifest["integration"]
    assert report["applied"] == [1, 2, 3]
    assert sorted(s["event_id"] for s in report["skipped"]) == [4, 5] and report["closed_households"] == 1
    con = duckdb.connect(str(after.path), read_only=True)
    assert con.execute("SELECT household_id, closed_on FROM closed_households").fetchall() == [
        (small, dt.date(2026, 4, 9))
    ]
    assert con.execute("SELECT count(*) FROM households WHERE household_id = ?", [small]).fetchone()[0] == 0
    assert after.manifest["households"] == snap.manifest["households"] - 1
    flagged = con.execute("SELECT count(*) FROM integration_households WHERE relief_priority").fetchone()[0]
    in_tehsil = con.execute("SELECT count(*) FROM households WHERE tehsil_code = ?", [tehsil]).fetchone()[0]
    assert flagged == in_tehsil and in_tehsil >= n_tehsil - 1  # every household of the area, nobody else
    con.close()
