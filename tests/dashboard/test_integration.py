"""Integration feeds end to end on the shared small warehouse: a batch is checked whole, matched on CNIC
through the gateway, raises events by the rules of data/feeds.yaml; MIS reviews them, the household
appeals, mistakes are reversed; the next snapshot applies exactly the events in force (SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading

import duckdb
import pytest

from dashboard.accounts import Principal
from dashboard.audit import AccessLog
from dashboard.integration import BatchRejected, Integration, IntegrationError
from tests.dashboard.conftest import AUDIT_KEY

MIS = Principal(
    1, "sana", "Sana Mirza", 1, "BISP NSER MIS Wing", "bisp", "government", None, "mis", "power", (), None
)
MIS_STANDARD = Principal(
    3, "ali", "Ali", 1, "BISP NSER MIS Wing", "bisp", "government", None, "mis", "standard", (), None
)
PLANNER = Principal(
    2, "usman", "Usman", 2, "P&D", "provincial_government", "government", None, "business", "none", (), None
)
HEADER = "cnic,registration_no,vehicle_class,registered_on\n"


@pytest.fixture(scope="module")
def people(cubes_store):
    """CNICs of the small warehouse by role: heads of beneficiary households, their sons, heads of
    households without a beneficiary, female beneficiaries who are the only one in their household."""
    con = duckdb.connect(str(cubes_store.require_current().path), read_only=True)

    def cnics(sql: str) -> list[str]:
        return [r[0] for r in con.execute(sql).fetchall()]

    out = {
        "beneficiary_heads": cnics(
            "SELECT cnic FROM members WHERE is_beneficiary_household AND relation = 'head' AND cnic IS NOT NULL "
            "ORDER BY member_id LIMIT 6"
        ),
        "sons": cnics(
            "SELECT cnic FROM members WHERE is_beneficiary_household AND relation = 'son' AND id_type = 'cnic' "
            "ORDER BY member_id LIMIT 2"
        ),
        "other_heads": cnics(
            "SELECT cnic FROM members WHERE NOT is_beneficiary_household AND relation = 'head' AND cnic IS NOT NULL "
            "ORDER BY member_id LIMIT 2"
        ),
        "only_beneficiaries": cnics(
            "SELECT m.cnic FROM members m WHERE m.is_beneficiary AND (SELECT count(*) FROM members o "
            "WHERE o.household_id = m.household_id AND o.is_beneficiary) = 1 ORDER BY m.member_id LIMIT 2"
        ),
        "tehsil": con.execute("SELECT tehsil_code FROM households LIMIT 1").fetchone()[0],
    }
    con.close()
    return out


@pytest.fixture()
def integration(store_engine, gateway):
    return Integration(gateway=gateway, engine=store_engine, log=AccessLog(store_engine, key=AUDIT_KEY))


def dashed(cnic: str) -> str:
    return f"{cnic[:5]}-{cnic[5:12]}-{cnic[12]}"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_batch_is_matched_on_cnic_and_raises_events_by_the_rules(integration, people, tmp_path):
    b, s, o = people["beneficiary_heads"], people["sons"], people["other_heads"]
    path = write(
        tmp_path,
        "excise.csv",
        HEADER
        + f"{dashed(b[0])},LEA-1001,car,2026-02-01\n"  # a car in a beneficiary household: hold
        + f"{b[1]},LEB-2002,motorcycle,2026-02-01\n"  # a motorcycle is a livelihood: no event
        + f"{s[0]},KHI-3003,jeep,2026-02-03\n"  # the son's jeep counts for the household (plan 4.2)
        + f"{o[0]},ISB-4004,car,2026-02-04\n"  # no beneficiary to hold: matched, no event
        + "3520212345671,X-5,car,2026-01-01\n"  # nobody has this CNIC
        + f"{b[2]},LEA-9009,car,2026-02-01\n"
        + f"{b[2]},LEA-9009,jeep,2026-02-01\n"  # the same vehicle twice, different facts: ambiguous
        + f" {b[1]} ,LEB-2002,motorcycle,2026-02-01\n",  # the same record again: a duplicate
    )
    report = integration.load_file("excise_vehicles", path, "sana")
    assert (report.rows, report.matched, report.unmatched, report.ambiguous, report.duplicates) == (
        8,
        4,
        1,
        2,
        1,
    )
    assert (report.events, report.not_counted) == (2, 1)
    events = integration.events(MIS)
    assert sorted(e.cnic for e in events) == sorted([b[0], s[0]])
    assert all(e.effect == "hold" and e.code == "vehicle" and e.state == "pending" for e in events)
    car = next(e for e in events if e.cnic == b[0])
    assert "registration no LEA-1001" in car.explanation and "beneficiary household" in car.explanation
    records = {r.line: r for r in integration.records(MIS, report.batch_id)}
    assert records[6].status == "unmatched" and records[6].reason == "no registered person has this CNIC"
    assert records[7].status == records[8].status == "ambiguous" and "lines 7, 8" in records[7].reason
    assert records[9].status == "duplicate" and records[9].reason == "the same as line 3"
    assert (
        records[5].status == "matched" and "counts only the beneficiary household member" in records[5].reason
    )
    assert records[2].evidence["is_beneficiary_household"] is True  # the evidence kept with the match
    # the same fact in a later batch raises nothing new
    again = integration.load_file(
        "excise_vehicles", write(tmp_path, "later.csv", HEADER + f"{b[0]},LEA-1001,car,2026-02-01\n"), "sana"
    )
    assert (again.events, again.already_raised) == (0, 1)
    with pytest.raises(IntegrationError, match="the same content was loaded as batch"):
        integration.load_file("excise_vehicles", path, "sana")
    logged = [e for e in integration.log.rows() if e.kind == "integration"]
    assert [e.outcome for e in logged] == ["loaded", "viewed", "loaded"] and logged[0].rows == 8


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "cnic,registration_no,vehicle_class,registered_on\n123,LEA-1,car,2026-01-01\n",
            r"line 2, cnic: does not match",
        ),
        (HEADER + "3520212345671,LEA-1,boat,2026-01-01\n", r"line 2, vehicle_class: 'boat' is not one of"),
        (HEADER + "3520212345671,LEA-1,car,31/12/2025\n", r"line 2, registered_on: a date, YYYY-MM-DD"),
        ("cnic,registration_no,vehicle_class,registered_on,colour\n", r"line 1, colour: unknown column"),
        (
            "cnic,vehicle_class\n3520212345671,car\n",
            r"line 1, registration_no, registered_on: required column",
        ),
        (HEADER + "3520212345671,LEA-1,car\n", r"line 2: 3 values for 4 columns"),
        ("", r"the file is empty"),
    ],
)
def test_one_bad_record_rejects_the_whole_batch_and_names_it(integration, people, tmp_path, text, problem):
    good = f"{people['beneficiary_heads'][0]},LEA-1001,car,2026-02-01\n"
    path = write(tmp_path, "bad.csv", text + (good if text.startswith(HEADER) else ""))
    with pytest.raises(BatchRejected) as caught:
        integration.load_file("excise_vehicles", path, "sana")
    assert any(re.search(problem, str(p)) for p in caught.value.problems), caught.value.report()
    assert "nothing was loaded" in caught.value.report()
    assert integration.batches(MIS) == [] and integration.events(MIS, state=None) == []


def test_a_parquet_batch_and_an_area_feed(integration, people, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "area_code": [people["tehsil"], "PK999"],
            "event_name": ["Floods 2026"] * 2,
            "declared_on": ["2026-08-20"] * 2,
        }
    )
    pq.write_table(table, tmp_path / "areas.parquet")
    with pytest.raises(BatchRejected, match="'PK999' is not a district or tehsil code"):
        integration.load_file("ndma_areas", tmp_path / "areas.parquet", "sana")
    pq.write_table(table.slice(0, 1), tmp_path / "areas.parquet")
    report = integration.load_file("ndma_areas", tmp_path / "areas.parquet", "sana")
    [event] = integration.events(MIS)
    assert (report.matched, event.effect, event.code, event.area_code) == (
        1,
        "flag",
        "relief_priority",
        people["tehsil"],
    )
    assert event.district_code == people["tehsil"].split("T")[0]


def _one_event(integration, people, tmp_path, cnic=None, name="one.csv"):
    cnic = cnic or people["beneficiary_heads"][3]
    integration.load_file(
        "excise_vehicles", write(tmp_path, name, HEADER + f"{cnic},LEA-7,car,2026-02-01\n"), "sana"
    )
    return integration.events(MIS)[-1]


def test_review_appeal_and_reversal_follow_their_rules(integration, people, tmp_path):
    event = _one_event(integration, people, tmp_path)
    with pytest.raises(IntegrationError, match="only the BISP MIS team"):
        integration.review(PLANNER, event.id, "confirm")
    with pytest.raises(IntegrationError, match="dismiss needs a comment"):
        integration.review(MIS, event.id, "dismiss")
    with pytest.raises(IntegrationError, match="needs it confirmed or resurvey"):
        integration.appeal(MIS, event.id, "the car was sold")
    today = dt.date(2026, 12, 1)
    confirmed = integration.review(MIS, event.id, "confirm", "registration checked", today=today)
    assert confirmed.state == "confirmed" and confirmed.appeal_until == dt.date(2026, 12, 31)
    with pytest.raises(IntegrationError, match="closed on 31 December 2026"):
        integration.appeal(MIS, event.id, "the car was sold", today=dt.date(2027, 1, 1))
    with pytest.raises(IntegrationError, match="needs its grounds"):
        integration.appeal(MIS, event.id, " ")
    assert integration.appeal(MIS, event.id, "the car was sold in 2025", today=today).state == "appealed"
    assert [e["event_id"] for e in integration.effects_for_build()] == [event.id]  # the hold stays meanwhile
    assert integration.decide_appeal(MIS, event.id, False, "sale not shown").state == "confirmed"
    assert integration.appeal(MIS, event.id, "here is the transfer letter", today=today).state == "appealed"
    assert integration.decide_appeal(MIS, event.id, True, "transfer letter verified").state == "reversed"
    assert integration.effects_for_build() == []
    with pytest.raises(IntegrationError, match="is reversed"):
        integration.reverse(MIS, event.id, "again")
    _, _, steps = integration.event(MIS, event.id)
    assert [s.action for s in steps] == [
        "raised",
        "confirm",
        "appeal",
        "appeal_rejected",
        "appeal",
        "appeal_upheld",
    ]
    assert steps[-1].comment == "transfer letter verified" and steps[1].actor == "sana"
    assert (
        sum(
            1
            for e in integration.log.rows()
            if e.kind == "integration" and e.action.startswith(f"event {event.id}") and e.outcome != "viewed"
        )
        == 5  # the five decisions (reading the event's history is logged too, as "viewed")
    )


def test_two_reviewers_at_once_make_one_decision(integration, people, tmp_path):
    event = _one_event(integration, people, tmp_path)
    outcomes, start = [], threading.Barrier(2)

    def review(action):
        start.wait()
        try:
            outcomes.append(integration.review(MIS, event.id, action, "by thread").state)
        except IntegrationError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=review, args=(a,)) for a in ("confirm", "dismiss")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    decided = [o for o in outcomes if o in ("confirmed", "dismissed")]
    assert len(decided) == 1, outcomes
    _, _, steps = integration.event(MIS, event.id)
    assert len(steps) == 2  # raised, and the one decision


def test_partner_feedback_becomes_a_batch(integration, store_engine, people):
    from dashboard import store
    from dashboard.accounts import Accounts
    from dashboard.models import PartnerObservation

    usc = Accounts(store_engine, integration.log).add_organisation(
        "Utility Stores Corporation", "federal_government"
    )
    with store.sessions(store_engine).begin() as s:
        s.add(
            PartnerObservation(
                client_id="nser-usc",
                organisation_id=usc.id,
                type="usc_purchase",
                cnic=people["beneficiary_heads"][4],
                member_id=1,
                household_id=1,
                status="staged",
                payload={"store_code": "USC-ISB-01", "purchased_on": "2026-11-02", "amount_pkr": 72000.0},
            )
        )
    report = integration.load_feedback("usc_purchases", "sana")
    assert report.events == 1 and integration.events(MIS)[0].code == "high_spending"
    with pytest.raises(IntegrationError, match="no staged usc_purchase feedback"):
        integration.load_feedback("usc_purchases", "sana")


def test_the_next_snapshot_applies_exactly_the_events_in_force(integration, people, tmp_path, cubes_store):
    """Confirmed and re-survey events apply; pending, dismissed and reversed ones do not; a death
    recorded in error and reversed is back in the roster of the snapshot after."""
    from data.snapshots import SnapshotStore
    from data.warehouse import build_synthetic
    from tests.conftest import SMALL_HOUSEHOLDS, SMALL_SEED

    b = people["beneficiary_heads"]
    integration.load_file(
        "excise_vehicles",
        write(
            tmp_path, "v.csv", HEADER + "".join(f"{c},LEA-{i},car,2026-02-01\n" for i, c in enumerate(b[:4]))
        ),
        "sana",
    )
    dead = people["only_beneficiaries"][0]
    integration.load_file(
        "crms_vital_events",
        write(tmp_path, "d.csv", f"cnic,event,event_date,certificate_no\n{dead},death,2026-10-03,CRMS-1\n"),
        "sana",
    )
    by_cnic = {e.cnic: e for e in integration.events(MIS)}
    integration.review(MIS, by_cnic[b[0]].id, "confirm")
    integration.review(MIS, by_cnic[b[1]].id, "resurvey")
    integration.review(MIS, by_cnic[b[2]].id, "dismiss", "the vehicle belongs to an employer")
    # b[3] stays pending
    integration.review(MIS, by_cnic[dead].id, "confirm")
    store = SnapshotStore(tmp_path / "next")
    effects = integration.effects_for_build()
    snap = build_synthetic(SMALL_HOUSEHOLDS, SMALL_SEED, store=store, integration=effects)
    integration.record_build(snap.snapshot_id, effects, snap.manifest["integration"])
    before = duckdb.connect(str(cubes_store.require_current().path), read_only=True)
    after = duckdb.connect(str(snap.path), read_only=True)
    held = {
        r[0]: r[1]
        for r in after.execute(
            "SELECT household_id, hold_reason FROM integration_households WHERE held"
        ).fetchall()
    }
    household_of = dict(
        before.execute(
            "SELECT cnic, household_id FROM members WHERE cnic IN (?, ?, ?, ?, ?)", [*b[:4], dead]
        ).fetchall()
    )
    assert held == {
        household_of[b[0]]: "vehicle",
        household_of[b[1]]: "vehicle",
        household_of[dead]: "deceased_beneficiary",
    }
    assert after.execute(
        "SELECT resurvey FROM integration_households WHERE household_id = ?", [household_of[b[1]]]
    ).fetchone()[0]
    assert after.execute("SELECT cnic FROM deceased_members").fetchall() == [(dead,)]
    assert (
        after.execute("SELECT count(*) FROM members").fetchone()[0]
        == before.execute("SELECT count(*) FROM members").fetchone()[0] - 1
    )
    size_before = before.execute(
        "SELECT household_size FROM households WHERE household_id = ?", [household_of[dead]]
    ).fetchone()[0]
    assert (
        after.execute(
            "SELECT household_size FROM households WHERE household_id = ?", [household_of[dead]]
        ).fetchone()[0]
        == size_before - 1
    )
    # nothing else changed: every other household row is identical
    after.execute(f"ATTACH '{cubes_store.require_current().path}' AS old (READ_ONLY)")
    differing = after.execute(
        "SELECT count(*) FROM (SELECT * FROM households EXCEPT SELECT * FROM old.households)"
    ).fetchone()[0]
    assert differing == 1  # only the recounted household
    gone = after.execute(
        "SELECT cnic FROM (SELECT * FROM old.members EXCEPT SELECT * FROM members)"
    ).fetchall()
    assert gone == [(dead,)]
    assert (
        after.execute(
            "SELECT count(*) FROM (SELECT * FROM members EXCEPT SELECT * FROM old.members)"
        ).fetchone()[0]
        == 0
    )
    applied = {r[0] for r in after.execute("SELECT event_id FROM integration_applied").fetchall()}
    assert applied == {by_cnic[b[0]].id, by_cnic[b[1]].id, by_cnic[dead].id}
    assert integration.event(MIS, by_cnic[b[0]].id)[0].first_applied_in == snap.snapshot_id
    # the death was recorded in error: reversed, the next snapshot has her back
    integration.reverse(MIS, by_cnic[dead].id, "CRMS corrected the certificate: wrong CNIC")
    again = build_synthetic(
        SMALL_HOUSEHOLDS, SMALL_SEED, store=store, integration=integration.effects_for_build()
    )
    third = duckdb.connect(str(again.path), read_only=True)
    assert third.execute("SELECT count(*) FROM members WHERE cnic = ?", [dead]).fetchone()[0] == 1
    assert third.execute("SELECT count(*) FROM deceased_members").fetchone()[0] == 0
    for con in (before, after, third):
        con.close()


def test_a_reviewer_without_power_sees_no_cnic_and_a_scoped_one_only_their_area(
    integration, people, tmp_path
):
    event = _one_event(integration, people, tmp_path)
    _, record, _ = integration.event(MIS, event.id)
    assert record.payload["cnic"] == event.cnic  # Power: the secret field in full
    _, masked, _ = integration.event(MIS_STANDARD, event.id)
    assert masked.payload["cnic"] == "•••••••••" + event.cnic[-4:]
    other = "PK101" if not event.district_code.startswith("PK1") else "PK601"
    scoped = dataclasses.replace(MIS, scope=other)
    assert integration.events(scoped) == []
    with pytest.raises(IntegrationError, match=f"no integration event {event.id}"):
        integration.event(scoped, event.id)
    with pytest.raises(IntegrationError, match=f"no integration event {event.id}"):
        integration.review(scoped, event.id, "confirm")
    with pytest.raises(IntegrationError, match="without a geographic scope"):
        integration.records(scoped, event.batch_id)
    own = dataclasses.replace(MIS, scope=event.district_code)
    assert [e.id for e in integration.events(own)] == [event.id]
    viewed = [e for e in integration.log.rows() if e.kind == "integration" and e.outcome == "viewed"]
    assert len(viewed) == 2 and viewed[0].username == "sana"


def test_nobody_outside_mis_learns_anything_about_an_event(integration, people, tmp_path):
    event = _one_event(integration, people, tmp_path)
    integration.review(MIS, event.id, "confirm", today=dt.date(2020, 1, 1))  # the window closed long ago
    for attempt in (
        lambda: integration.appeal(PLANNER, event.id, "grounds"),
        lambda: integration.decide_appeal(PLANNER, event.id, True, "ok"),
        lambda: integration.reverse(PLANNER, event.id, "why"),
        lambda: integration.event(PLANNER, event.id),
        lambda: integration.contradictions(PLANNER),
    ):
        with pytest.raises(IntegrationError, match="only the BISP MIS team"):
            attempt()


def test_a_batch_that_fails_while_it_is_stored_leaves_nothing(integration, people, tmp_path):
    b = people["beneficiary_heads"]
    rows = [
        (2, {"cnic": b[0], "registration_no": "F-1", "vehicle_class": "car", "registered_on": "2026-01-01"})
    ]

    def the_store_fails(_session):
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError, match="the disk is full"):
        integration.load_records("excise_vehicles", rows, "fails.csv", "sana", "f" * 64, then=the_store_fails)
    assert integration.batches(MIS) == [] and integration.events(MIS, state=None) == []
    report = integration.load_records("excise_vehicles", rows, "again.csv", "sana", "f" * 64)
    assert report.events == 1  # nothing half-stored blocked the retry


def test_two_loads_of_the_same_content_at_once_store_it_once(integration, people):
    b = people["beneficiary_heads"]
    rows = [
        (2, {"cnic": b[5], "registration_no": "C-1", "vehicle_class": "car", "registered_on": "2026-01-01"})
    ]
    outcomes, start = [], threading.Barrier(2)

    def load():
        start.wait()
        try:
            outcomes.append(
                integration.load_records("excise_vehicles", rows, "same.csv", "sana", "c" * 64).events
            )
        except IntegrationError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert 1 in outcomes and len(integration.batches(MIS)) == 1, outcomes
    other = next(o for o in outcomes if o != 1)
    assert isinstance(other, str) and ("same content" in other or "a moment ago" in other)


def test_partner_feedback_that_does_not_fit_the_feed_is_set_aside_not_blocking(
    integration, store_engine, people
):
    from dashboard import store
    from dashboard.accounts import Accounts
    from dashboard.models import PartnerObservation

    usc = Accounts(store_engine, integration.log).add_organisation(
        "Utility Stores Corp", "federal_government"
    )
    b = people["beneficiary_heads"]
    good = {"store_code": "USC-1", "purchased_on": "2026-11-02", "amount_pkr": 65000.0, "items": 12}
    with store.sessions(store_engine).begin() as s:
        for cnic, payload in (
            (b[0], good),
            (b[1], {**good, "amount_pkr": -5.0}),
            (b[2], {**good, "colour": "red"}),
        ):
            s.add(
                PartnerObservation(
                    client_id="c",
                    organisation_id=usc.id,
                    type="usc_purchase",
                    cnic=cnic,
                    member_id=1,
                    household_id=1,
                    status="staged",
                    payload=payload,
                )
            )
    report = integration.load_feedback("usc_purchases", "sana")
    assert (report.rows, report.events) == (1, 1)
    with store.sessions(store_engine)() as s:
        statuses = sorted(o.status for o in s.query(PartnerObservation))
    assert statuses == ["integrated", "unusable", "unusable"]
    assert any(e.outcome == "unusable" and e.rows == 2 for e in integration.log.rows())
    with pytest.raises(IntegrationError, match="no staged usc_purchase feedback"):
        integration.load_feedback("usc_purchases", "sana")


def test_an_unknown_feed_is_named(integration, tmp_path):
    with pytest.raises(IntegrationError, match="feed: one of"):
        integration.load_file("yachts", write(tmp_path, "x.csv", "cnic\n"), "sana")


def test_a_build_with_many_events_is_recorded_in_chunks(integration, store_engine):
    """40,000 events: more than SQLite takes in one IN (...) list."""
    from sqlalchemy import insert

    from dashboard.models import IntegrationBatch, IntegrationEvent, IntegrationRecord

    now = dt.datetime.now(dt.UTC)
    with integration.sessions.begin() as s:
        batch = IntegrationBatch(
            feed="excise_vehicles",
            origin="big",
            sha256="b" * 64,
            rows=1,
            matched=1,
            unmatched=0,
            ambiguous=0,
            duplicates=0,
            events=0,
            loaded_by="t",
            loaded_at=now,
        )
        s.add(batch)
        s.flush()
        record = IntegrationRecord(batch_id=batch.id, line=1, payload={}, status="matched")
        s.add(record)
        s.flush()
        s.execute(
            insert(IntegrationEvent),
            [
                {
                    "record_id": record.id,
                    "batch_id": batch.id,
                    "feed": "excise_vehicles",
                    "rule": "motor_vehicle",
                    "effect": "hold",
                    "code": "vehicle",
                    "fact_key": f"{i:064d}",
                    "since": now.date(),
                    "explanation": "x",
                    "contradicts_survey": False,
                    "state": "confirmed",
                    "raised_at": now,
                }
                for i in range(40_000)
            ],
        )
    effects = integration.effects_for_build()
    assert len(effects) == 40_000
    integration.record_build(
        "snap-1",
        effects,
        {"skipped": [{"event_id": effects[0]["event_id"], "reason": "x"}], "skipped_count": 1},
    )
    with integration.sessions() as s:
        applied = s.query(IntegrationEvent).filter(IntegrationEvent.last_applied_in == "snap-1").count()
    assert applied == 39_999


def test_feeds_that_contradict_the_survey_are_ranked(integration, people, tmp_path):
    b = people["beneficiary_heads"]
    integration.load_file(
        "excise_vehicles",
        write(
            tmp_path,
            "cars.csv",
            HEADER + f"{b[0]},R-1,car,2026-01-01\n{b[0]},R-2,jeep,2026-01-02\n{b[1]},R-3,car,2026-01-03\n",
        ),
        "sana",
    )
    ranked = integration.contradictions(MIS)
    assert ranked and ranked[0]["contradictions"] >= ranked[-1]["contradictions"]
    assert all("contradicts the survey" in r["example"] for r in ranked)
