"""Outlier households (cubes/outliers.py, Gateway.outliers): the implied score is the generator's
formula, a household whose score is forced far below its indicators is found and explained, and the
list is MIS-only and logged."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from cubes.builder import build_cubes, cubes_path
from cubes.events import DataMetered, MemorySink, QueryAudited
from cubes.gateway import Gateway, Refused
from cubes.outliers import THRESHOLD, MissingColumns, build_outliers, implied_pmt_sql
from cubes.query import QueryError
from data.snapshots import SnapshotStore
from data.synthetic import Random, load_config
from tests.conftest import make_actor


def test_implied_score_is_the_score_without_its_noise(wh, small_snapshot):
    """The generator's score is round(implied + noise_sd × its keyed normal, 2): recomputing that noise
    from the seed must give back every unclipped score exactly, and the residual spread must be noise_sd."""
    seed = small_snapshot.manifest["params"]["seed"]
    sd = load_config()["pmt"]["noise_sd"]
    noise = Random(seed).normal("pmt_noise", "household_id")
    n, unclipped, worst, spread, mean, corr = wh.execute(
        f"""
        SELECT count(*),
          count(*) FILTER (WHERE implied_score > 0 AND implied_score < 100),
          max(abs(pmt_score - greatest(0, least(100, round(implied_score + {sd} * {noise}, 2)))))
            FILTER (WHERE implied_score > 0 AND implied_score < 100),
          stddev_samp(pmt_score - implied_score) FILTER (WHERE pmt_score > 0 AND pmt_score < 100),
          avg(pmt_score - implied_score) FILTER (WHERE pmt_score > 0 AND pmt_score < 100),
          corr(pmt_score - implied_score, implied_score) FILTER (WHERE pmt_score > 0 AND pmt_score < 100)
        FROM ({implied_pmt_sql("households", "members")})
        """
    ).fetchone()
    assert n == small_snapshot.manifest["households"]
    assert unclipped > 0.95 * n
    assert worst < 1e-9
    assert spread == pytest.approx(sd, abs=0.15)
    assert abs(mean) < 0.15
    assert abs(corr) < 0.05  # a wrong weight would leave part of the implied score in the residual


def test_cube_build_keeps_only_the_extreme_few(cubes_store):
    con = duckdb.connect(str(cubes_path(cubes_store.require_current())), read_only=True)
    try:
        summary = json.loads(con.execute("SELECT summary FROM build_info").fetchone()[0])["outliers"]
        rows = con.execute(
            "SELECT household_id, district_code, z, rank_in_district, reasons FROM outliers"
        ).fetchall()
    finally:
        con.close()
    assert summary["outliers"] == len(rows)
    assert summary["households"] == summary["scored"] == cubes_store.require_current().manifest["households"]
    assert (
        0 < len(rows) < 0.002 * summary["households"]
    )  # ~0.05 % for normal noise; small districts add a few
    assert all(abs(z) >= THRESHOLD for _, _, z, _, _ in rows)
    assert all(reasons.startswith("PMT ") and " but its indicators imply " in reasons for *_, reasons in rows)
    by_district: dict[str, list] = {}
    for _, d, z, rank, _ in rows:
        by_district.setdefault(d, []).append((rank, abs(z)))
    for ranks in by_district.values():
        ranks.sort()
        assert [r for r, _ in ranks] == list(range(1, len(ranks) + 1))
        assert [z for _, z in ranks] == sorted((z for _, z in ranks), reverse=True)


@pytest.fixture(scope="module")
def forced(tmp_path_factory: pytest.TempPathFactory) -> tuple[SnapshotStore, dict]:
    """A 2,000-household registry where one plain household is given a car, an air conditioner and 20
    acres of land but keeps a score of 5: its indicators now imply some 30 points more than before."""
    from data.warehouse import build_synthetic

    store = SnapshotStore(tmp_path_factory.mktemp("outliers"))
    snap = build_synthetic(2000, 5, store=store)
    con = duckdb.connect(str(snap.path))
    try:
        # nothing else stands out: no car, AC or land yet, at most a room per person, a head with
        # matric or less, at most one salaried earner
        hid, district, province = con.execute(
            """
            SELECT h.household_id, h.district_code, h.province_code FROM households h
            WHERE NOT h.has_car AND NOT h.has_air_conditioner AND h.land_acres = 0
              AND h.rooms <= h.household_size
              AND h.head_education IN ('none', 'below_primary', 'primary', 'middle', 'matric')
              AND (SELECT count(*) FROM members m WHERE m.household_id = h.household_id
                   AND m.employment_type IN ('government', 'private_salaried')) <= 1
            ORDER BY h.household_id LIMIT 1
            """
        ).fetchone()
        con.execute(
            "UPDATE households SET has_car = true, has_air_conditioner = true, land_acres = 20, "
            "pmt_score = 5 WHERE household_id = ?",
            [hid],
        )
        con.execute("UPDATE members SET pmt_score = 5 WHERE household_id = ?", [hid])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    build_cubes(store)
    return store, {"household_id": hid, "district_code": district, "province_code": province}


def test_a_household_scored_far_below_its_indicators_is_found_and_explained(forced):
    store, target = forced
    rows = Gateway(store, events=MemorySink()).outliers(make_actor("mis"), limit=10_000)
    hit = [r for r in rows if r["household_id"] == target["household_id"]]
    assert len(hit) == 1
    row = hit[0]
    assert row["pmt_score"] == 5
    assert row["z"] <= -THRESHOLD and row["gap"] == pytest.approx(
        row["pmt_score"] - row["implied_score"], abs=0.01
    )
    assert row["rank_in_district"] == 1 and row["district_code"] == target["district_code"]
    assert row["reasons"].startswith(f"PMT 5.0 but its indicators imply {row['implied_score']:.1f}: ")
    for part in ("owns a car (+12.0)", "has an air conditioner (+8.0)", "20 acres of land (+10.7)"):
        assert part in row["reasons"]
    assert [abs(r["z"]) for r in rows] == sorted((abs(r["z"]) for r in rows), reverse=True)


def test_area_and_scope_limit_the_list(forced):
    store, target = forced
    gateway = Gateway(store, events=MemorySink())
    mis = make_actor("mis")
    district = gateway.outliers(mis, area=target["district_code"])
    assert target["household_id"] in {r["household_id"] for r in district}
    assert {r["district_code"] for r in district} == {target["district_code"]}
    province = gateway.outliers(mis, area=target["province_code"])
    assert {r["province_code"] for r in province} == {target["province_code"]}
    assert len(gateway.outliers(mis, limit=1)) == 1
    other = next(
        r["province_code"]
        for r in gateway.outliers(mis, limit=10_000)
        if r["province_code"] != target["province_code"]
    )
    scoped = make_actor("mis", scope=target["province_code"])
    assert {r["province_code"] for r in gateway.outliers(scoped)} == {target["province_code"]}
    with pytest.raises(Refused, match="outside your account's geographic scope"):
        gateway.outliers(scoped, area=other)
    with pytest.raises(QueryError, match="not a known province"):
        gateway.outliers(mis, area="PK999")
    with pytest.raises(QueryError, match="limit"):
        gateway.outliers(mis, limit=0)


@pytest.mark.parametrize("tier", ["business", "public"])
def test_other_tiers_are_refused_and_the_refusal_is_logged(gateway, tier):
    before = len(gateway.events.events)
    with pytest.raises(Refused, match="only the MIS tier"):
        gateway.outliers(make_actor(tier))
    events = gateway.events.events[before:]
    assert len(events) == 1 and isinstance(events[0], QueryAudited)
    assert (events[0].cube, events[0].outcome, events[0].rows, events[0].tier) == (
        "outliers",
        "refused",
        0,
        tier,
    )


def test_every_list_is_logged_and_metered_per_row(gateway):
    before = len(gateway.events.events)
    rows = gateway.outliers(make_actor("mis", user="mis-officer"), limit=5)
    audit, meter = gateway.events.events[before:]
    assert isinstance(audit, QueryAudited) and isinstance(meter, DataMetered)
    assert (audit.user, audit.cube, audit.outcome, audit.rows) == (
        "mis-officer",
        "outliers",
        "answered",
        len(rows),
    )
    assert json.loads(audit.query) == {"area": None, "limit": 5}
    assert (meter.service, meter.rows, meter.cells) == ("portal_rows", len(rows), len(rows))
    assert 0 < len(rows) <= 5


def test_a_snapshot_lacking_an_indicator_builds_without_outliers_and_says_which(forced, tmp_path):
    """An extract without has_computer: the cube build names the column, the statistics still build,
    and the gateway answers an empty list with the reason in the access log."""
    store, _ = forced
    copy = SnapshotStore(tmp_path / "copy")
    shutil.copytree(store.root, copy.root)
    snap = copy.require_current()
    cubes_path(snap).unlink()
    con = duckdb.connect(str(snap.path))
    con.execute("ALTER TABLE households DROP COLUMN has_computer")
    con.close()
    summary = build_cubes(copy)
    assert "households.has_computer (for the PMT term computer)" in summary["outliers"]["skipped"]
    gateway = Gateway(copy, events=MemorySink())
    assert gateway.outliers(make_actor("mis")) == []
    audit = gateway.events.events[-1]
    assert audit.outcome == "answered" and "has_computer" in audit.reason


def test_missing_columns_are_named_before_any_work(small_snapshot):
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{small_snapshot.path}' AS src (READ_ONLY)")
        con.execute("ATTACH ':memory:' AS wh")
        con.execute(
            "CREATE TABLE wh.households AS SELECT * EXCLUDE (head_education, rooms) FROM src.households"
        )
        con.execute("CREATE TABLE wh.members AS SELECT * EXCLUDE (is_literate) FROM src.members")
        con.execute("ATTACH ':memory:' AS out")
        with pytest.raises(MissingColumns) as err:
            build_outliers(con, "out")
        message = str(err.value)
        for col in ("households.head_education", "households.rooms", "members.is_literate"):
            assert col in message
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'out'").fetchone()[
            0
        ]
    finally:
        con.close()


def test_a_district_with_no_spread_still_scores_its_one_odd_household(small_snapshot):
    """Every score equal to its implied one but one: the MAD is 0, so the mean absolute deviation
    scales z, and only that household is kept."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{small_snapshot.path}' AS src (READ_ONLY)")
        con.execute("ATTACH ':memory:' AS wh")
        con.execute("CREATE TABLE wh.households AS SELECT * FROM src.households")
        con.execute("CREATE TABLE wh.members AS SELECT * FROM src.members")
        con.execute(
            f"UPDATE wh.households h SET pmt_score = i.implied_score "
            f"FROM ({implied_pmt_sql()}) i WHERE i.household_id = h.household_id"
        )
        hid = con.execute("SELECT min(household_id) FROM wh.households WHERE pmt_score < 70").fetchone()[0]
        con.execute("UPDATE wh.households SET pmt_score = pmt_score + 20 WHERE household_id = ?", [hid])
        con.execute("ATTACH ':memory:' AS out")
        summary = build_outliers(con, "out")
        rows = con.execute("SELECT household_id, gap, z, reasons FROM out.outliers").fetchall()
    finally:
        con.close()
    assert summary["outliers"] == 1
    ((found, gap, z, reasons),) = rows
    assert found == hid and gap == pytest.approx(20) and z > THRESHOLD
    assert " but its indicators imply only " in reasons
