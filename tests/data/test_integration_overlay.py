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
    assert report["applied"] == 3 and report["skipped_count"] == 2
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


def test_deaths_recount_the_household_and_never_change_its_status_silently(small_snapshot, tmp_path):
    """On the shared 20,000-household registry: a head, a member with a disability whose household
    qualified only through her (PMT between 32 and 37), a Taleemi Wazaif child and a paid beneficiary die."""
    from tests.conftest import SMALL_HOUSEHOLDS, SMALL_SEED

    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    head, head_hh = con.execute(
        "SELECT m.cnic, m.household_id FROM members m JOIN members s ON s.household_id = m.household_id "
        "AND s.relation = 'spouse' WHERE m.relation = 'head' AND m.cnic IS NOT NULL ORDER BY m.member_id LIMIT 1"
    ).fetchone()
    disabled, disabled_hh = con.execute(
        "SELECT m.cnic, m.household_id FROM members m JOIN households h USING (household_id) "
        "WHERE h.is_beneficiary_household AND h.pmt_score > 32 AND h.n_disabled = 1 AND m.disability_severity IN "
        "('a_lot', 'cannot') AND NOT m.is_beneficiary AND m.relation <> 'head' AND m.cnic IS NOT NULL "
        "ORDER BY m.member_id LIMIT 1"
    ).fetchone()
    child, child_hh, quarters = con.execute(
        "SELECT m.cnic, m.household_id, count(*) FROM members m JOIN cct_enrolments e USING (member_id) "
        "WHERE m.cnic IS NOT NULL GROUP BY ALL HAVING count(*) >= 4 ORDER BY m.cnic LIMIT 1"
    ).fetchone()
    payee, paid = con.execute(
        "SELECT m.cnic, count(*) FROM members m JOIN payments p USING (member_id) WHERE m.is_beneficiary "
        "AND m.household_id NOT IN (?, ?, ?) GROUP BY ALL HAVING count(*) >= 4 ORDER BY m.cnic LIMIT 1",
        [head_hh, disabled_hh, child_hh],
    ).fetchone()
    first_quarter = con.execute(
        "SELECT min(quarter) FROM cct_enrolments e JOIN members m USING (member_id) WHERE m.cnic = ?", [child]
    ).fetchone()[0]
    before = {
        hh: con.execute(
            "SELECT household_size, cct_children FROM households WHERE household_id = ?", [hh]
        ).fetchone()
        for hh in (head_hh, disabled_hh, child_hh)
    }
    con.close()
    died = dt.date(int(first_quarter[:4]), 3 * int(first_quarter[-1]) - 2, 15)  # inside the first quarter
    effects = [
        _effect(1, "deceased", cnic=head),
        _effect(2, "deceased", cnic=disabled),
        _effect(3, "deceased", cnic=child, since=died),
        _effect(4, "deceased", cnic=payee, since=dt.date(2000, 1, 1)),
        _effect(5, "flag", "high_spending", cnic=payee, feed="usc_purchases"),
    ]
    snap = build_synthetic(SMALL_HOUSEHOLDS, SMALL_SEED, store=SnapshotStore(tmp_path), integration=effects)
    con = duckdb.connect(str(snap.path), read_only=True)
    # the head: the spouse stands as head, the household is marked for re-survey
    new_head = con.execute(
        "SELECT m.relation, h.head_cnic = m.cnic FROM households h JOIN members m ON m.member_id = h.head_member_id "
        "WHERE h.household_id = ?",
        [head_hh],
    ).fetchone()
    assert new_head == ("spouse", True)
    assert con.execute(
        "SELECT resurvey FROM integration_households WHERE household_id = ?", [head_hh]
    ).fetchone()[0]
    assert (
        con.execute("SELECT household_size FROM households WHERE household_id = ?", [head_hh]).fetchone()[0]
        == before[head_hh][0] - 1
    )
    # the member with a disability: the household no longer meets the rule, but is held, not dropped
    row = con.execute(
        "SELECT h.n_disabled, h.kafaalat_eligible, h.is_beneficiary_household, i.held, i.hold_reason "
        "FROM households h JOIN integration_households i USING (household_id) WHERE household_id = ?",
        [disabled_hh],
    ).fetchone()
    assert row == (0, False, True, True, "eligibility_changed")
    # the child: no enrolment after the quarter of the death, one Taleemi Wazaif child fewer
    left = con.execute(
        "SELECT count(*) FROM cct_enrolments e WHERE member_id = (SELECT member_id FROM deceased_members WHERE cnic = ?)",
        [child],
    ).fetchone()[0]
    assert left == 1 < quarters
    assert (
        con.execute("SELECT cct_children FROM households WHERE household_id = ?", [child_hh]).fetchone()[0]
        == before[child_hh][1] - 1
    )
    # the beneficiary who died long ago: none of her payments after the death stay
    gone = con.execute(
        "SELECT count(*) FROM payments WHERE member_id = (SELECT member_id FROM deceased_members WHERE cnic = ?)",
        [payee],
    ).fetchone()[0]
    assert paid >= 4 and gone == 0
    # a flag without a column of its own is kept too
    assert (
        con.execute(
            "SELECT count(*) FROM integration_households WHERE other_flags = 'high_spending'"
        ).fetchone()[0]
        == 1
    )
    con.close()


def test_the_cubes_of_a_snapshot_built_before_integration_still_build(tmp_path):
    """A snapshot from before the integration tables: every other cube builds; the integration cube is
    skipped and the gateway says why."""
    from cubes.builder import build_cubes
    from cubes.events import MemorySink
    from cubes.gateway import Gateway
    from cubes.query import Actor

    store = SnapshotStore(tmp_path)
    snap = build_synthetic(1500, 3, store=store)
    con = duckdb.connect(str(snap.path))
    for table in TABLES:
        con.execute(f"DROP TABLE {table}")
    con.close()
    summary = build_cubes(store)
    assert "integration" in summary["skipped_cubes"] and "households" in summary["cubes"]
    gateway = Gateway(store, events=MemorySink())
    mis = Actor(tier="mis", user="t", organisation="o")
    assert gateway.run_query(
        mis, {"cube": "households", "measures": ["households"], "geography": {"level": "province"}}
    ).ok
    refused = gateway.run_query(
        mis, {"cube": "integration", "measures": ["households"], "geography": {"level": "province"}}
    )
    assert not refused.ok and "not built for the current snapshot" in refused.reason
