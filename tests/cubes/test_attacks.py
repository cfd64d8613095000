"""Attacks that try to get a protected number out of the gateway, and must fail.

Truth comes from the warehouse directly; the attacker only sees business-tier answers.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from cubes import sdc
from cubes.events import MemorySink
from cubes.gateway import Gateway
from cubes.model import load_model
from tests.conftest import make_actor, make_query

ATTACKER = make_actor("business", user="attacker")


@pytest.fixture()
def wh_con(small_snapshot):
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    yield con
    con.close()


def truth(gateway, q) -> dict:
    """True values, as the MIS tier sees them, keyed by the row's categories."""
    r = gateway.run_query(make_actor("mis"), q)
    measures = q["measures"]
    return {
        tuple(v for k, v in row.items() if k not in measures and not k.endswith("_name")): row
        for row in r.rows
    }


def key(row, measures):
    return tuple(v for k, v in row.items() if k not in measures and not k.endswith("_name"))


def test_suppressed_cell_cannot_be_recomputed_from_margins(gateway):
    q = make_query("households", ["households"], ["pmt_band"], level="district", totals=True)
    published = gateway.run_query(ATTACKER, q)
    true = truth(gateway, q)
    rows = {key(r, ["households"]): r for r in published.rows}
    attempts, exact = 0, 0
    for (district, band), row in rows.items():
        if band == "_total" or row["households"] is not None:
            continue
        total = rows[(district, "_total")]["households"]
        others = [
            rows[(district, b)]["households"]
            for b in load_model().dimensions["pmt_band"].member_codes()
            if b != band
        ]
        if total is None or any(o is None for o in others):
            continue
        attempts += 1
        guess = total - sum(others)
        exact += guess == true[(district, band)]["households"]
    assert attempts >= 5
    assert exact / attempts < 0.5  # independent noise on every cell: the difference is not the value


def test_differencing_overlapping_areas_does_not_reveal_a_small_area(gateway):
    """District total minus its published tehsils leaves noise, not the suppressed tehsils' value."""
    measure = "beneficiaries"
    qt = make_query("persons", [measure], level="tehsil")
    qd = make_query("persons", [measure], level="district")
    tehsils = gateway.run_query(ATTACKER, qt)
    districts = {r["district_code"]: r[measure] for r in gateway.run_query(ATTACKER, qd).rows}
    true = {r["tehsil_code"]: r[measure] for r in gateway.run_query(make_actor("mis"), qt).rows}
    by_district: dict[str, list] = {}
    for r in tehsils.rows:
        by_district.setdefault(r["tehsil_code"].rsplit("T", 1)[0], []).append(r)
    attempts, exact = 0, 0
    for district, rows in by_district.items():
        hidden = [r for r in rows if r[measure] is None]
        if not hidden or len(hidden) == len(rows) or districts.get(district) is None:
            continue
        attempts += 1
        guess = districts[district] - sum(r[measure] for r in rows if r[measure] is not None)
        exact += guess == sum(true[r["tehsil_code"]] for r in hidden)
    assert attempts >= 3
    assert exact / attempts < 0.5


def test_repeating_a_query_gives_nothing_new(cubes_store):
    """No fresh noise per request: averaging many answers converges on the published value, not the truth."""
    q = make_query("persons", ["persons", "beneficiaries"], ["gender"], level="division")
    answers = []
    for _ in range(20):
        g = Gateway(cubes_store, events=MemorySink(), cache=False)
        answers.append(g.run_query(ATTACKER, q).rows)
    assert all(a == answers[0] for a in answers)


def test_union_council_drill_down_is_refused_below_mis(gateway):
    q = make_query("households", level="union_council", codes=["PK601T01U001"])
    assert not gateway.run_query(ATTACKER, q).ok
    assert not gateway.run_query(make_actor("public"), q).ok


def test_no_published_cell_holds_fewer_than_ten_households(gateway, wh_con):
    """A household with many members cannot make a person cell publishable on its own."""
    model = load_model()
    expr = {d: model.dimensions[d].expression for d in ("gender", "age_group", "marital_status")}
    for dims in (["gender", "age_group"], ["marital_status"], ["gender", "marital_status"]):
        q = make_query("persons", ["persons", "widows"], dims, level="district")
        published = gateway.run_query(ATTACKER, q)
        assert published.ok
        sel = ", ".join(f"({expr[d]}) AS {d}" for d in dims)
        exact = {}
        for measure, flt in (
            ("persons", "TRUE"),
            ("widows", "gender = 'female' AND marital_status = 'widowed'"),
        ):
            rows = wh_con.execute(
                f"SELECT district_code, {sel}, count(DISTINCT household_id) FROM members "
                f"WHERE {flt} GROUP BY ALL"
            ).fetchall()
            exact[measure] = {tuple(r[:-1]): r[-1] for r in rows}
        checked = 0
        for row in published.rows:
            cell = (row["district_code"], *(row[d] for d in dims))
            for measure in ("persons", "widows"):
                if row[measure] is not None:
                    checked += 1
                    assert exact[measure].get(cell, 0) >= 10, (measure, cell)
        assert checked > 0


def test_a_sum_dominated_by_one_household_is_suppressed(gateway, wh_con):
    q = make_query("households", ["total_land_acres", "mean_pmt_score"], level="district")
    published = {r["district_code"]: r for r in gateway.run_query(ATTACKER, q).rows}
    rows = wh_con.execute("""SELECT district_code, sum(land_acres), max(land_acres, 2), count(*)
                             FROM households GROUP BY 1""").fetchall()
    policy = load_model().policy["magnitude"]
    for district, total, tops, n in rows:
        t1 = tops[0] if tops else 0
        t2 = tops[1] if len(tops) > 1 else 0
        unsafe = (
            n < policy["min_households"]
            or (total - t1 - t2) < policy["p_percent"] / 100 * t1
            or t1 + t2 > policy["dominance_k"] / 100 * total
        )
        if unsafe:
            assert published[district]["total_land_acres"] is None, district
    assert any(r["total_land_acres"] is None for r in published.values())
    assert any(r["total_land_acres"] is not None for r in published.values())


def test_dominance_rules_in_isolation():
    sums = np.array([1000.0, 1000.0, 1000.0])
    top1 = np.array([950.0, 400.0, 100.0])
    top2 = np.array([10.0, 350.0, 90.0])
    value, sup = sdc.protect_sums(
        sums, np.array([50, 50, 50]), top1, top2, np.array([1, 2, 3]), "m", 10, 10, 2, 90, 0.05
    )
    assert list(sup) == [True, False, False]
    assert np.all(np.abs(value - sums) <= 0.05 * top1 + 1e-9)
    _, few = sdc.protect_sums(
        sums, np.array([5, 50, 50]), top1 * 0, top2 * 0, np.array([1, 2, 3]), "m", 10, 10, 2, 90, 0.05
    )
    assert few[0]


def test_filtering_cannot_dodge_the_sparsity_rule(gateway):
    dims = ["gender", "age_group", "marital_status"]
    sparse = make_query("persons", ["persons"], dims, level="tehsil", codes=["PK601T01"])
    refused = gateway.run_query(ATTACKER, sparse)
    assert not refused.ok and refused.reason.startswith("too detailed for this area")
    narrowed = make_query(
        "persons",
        ["persons"],
        dims,
        level="tehsil",
        codes=["PK601T01"],
        filters={"gender": ["female"], "marital_status": ["married"]},
    )
    assert not gateway.run_query(ATTACKER, narrowed).ok


def test_shares_and_means_come_from_protected_parts(gateway):
    q = make_query(
        "households",
        ["households", "households_at_or_below_cutoff", "share_at_or_below_cutoff"],
        level="province",
    )
    for row in gateway.run_query(ATTACKER, q).rows:
        if row["share_at_or_below_cutoff"] is None:
            continue
        expected = round(100 * row["households_at_or_below_cutoff"] / row["households"], 1)
        assert row["share_at_or_below_cutoff"] == expected
