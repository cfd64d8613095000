"""Record search through the gateway: the seed's table of what each role gets (§8.2.2), the Basic sample,
validation and injection, scope, limits and pages, and the access log and ledger matching what left."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from cubes import records
from cubes.events import DataMetered, MemorySink, QueryAudited
from cubes.gateway import Gateway
from data.catalogue import load_catalogue
from tests.conftest import make_actor

SALT = "ab" * 32


@pytest.fixture()
def search(cubes_store, monkeypatch):
    monkeypatch.setenv("NSER_SAMPLE_SALT", SALT)
    gateway = Gateway(cubes_store, events=MemorySink())

    def run(role: str | None, query: dict, tier: str = "business", scope: str | None = None):
        actor = make_actor(tier, scope=scope, user=f"{role}-user")
        actor.attributes.update(record_role=role, user_id=7, organisation_id=3, ip="10.0.0.9")
        return gateway.search_records(actor, query)

    run.gateway = gateway
    return run


@pytest.fixture(scope="module")
def truth(cubes_store):
    """Facts read straight from the warehouse to check the gateway against."""
    con = duckdb.connect(str(cubes_store.require_current().path), read_only=True)
    big = con.execute(
        "SELECT district_code FROM households GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    household, size = con.execute(
        "SELECT household_id, household_size FROM households WHERE district_code = ? AND household_size >= 4 "
        "ORDER BY household_id LIMIT 1",
        [big],
    ).fetchone()
    cnic = con.execute(
        "SELECT cnic FROM members WHERE household_id = ? AND cnic IS NOT NULL AND line_no > 1 ORDER BY line_no LIMIT 1",
        [household],
    ).fetchone()[0]
    ids = [
        r[0]
        for r in con.execute("SELECT household_id FROM households WHERE district_code = ?", [big]).fetchall()
    ]
    con.close()
    return {"district": big, "household": household, "size": size, "cnic": cnic, "ids": ids}


SECRET = {c for _, c in load_catalogue().secret_columns()}
ASSETS = {"has_car", "has_refrigerator", "dwelling_structure", "land_acres"}


def fields(result) -> tuple[set[str], set[str]]:
    h = set().union(*(r.keys() for r in result.households)) if result.households else set()
    m = set().union(*(r.keys() for ms in result.members.values() for r in ms)) if result.members else set()
    return h, m


# --- the seed's table, role × search × field ---------------------------------------------------------


def test_cnic_search_power_gets_complete_particulars_with_every_cnic(search, truth):
    r = search("power", {"type": "cnic", "cnic": truth["cnic"]})
    assert r.ok, r.reason
    h, m = fields(r)
    assert {"head_cnic", "contact_number", "address", "pmt_score", "latitude", "income_band"} | ASSETS <= h
    assert {"name", "cnic", "relation", "age", "disability", "employment_status"} <= m
    members = r.members[str(truth["household"])]
    assert len(members) == truth["size"] and sum(1 for x in members if x.get("cnic")) >= 1


def test_cnic_search_standard_gets_names_address_assets_pmt_but_no_other_cnic(search, truth):
    r = search("standard", {"type": "cnic", "cnic": truth["cnic"]})
    h, m = fields(r)
    assert {"address", "pmt_score"} | ASSETS <= h
    assert not (h & SECRET) and "contact_number" not in h
    members = r.members[str(truth["household"])]
    assert len(members) == truth["size"] and all("name" in x for x in members)
    with_cnic = [x for x in members if "cnic" in x]
    assert [x["cnic"] for x in with_cnic] == [truth["cnic"]]  # the searched CNIC only


def test_cnic_search_basic_gets_name_address_and_pmt_of_the_searched_person_only(search, truth):
    r = search(
        "basic",
        {"type": "cnic", "cnic": truth["cnic"][:5] + "-" + truth["cnic"][5:12] + "-" + truth["cnic"][12]},
    )
    h, m = fields(r)
    assert m == {"name"} and sum(len(x) for x in r.members.values()) == 1
    assert {"address", "pmt_score"} <= h and not (h & (SECRET | ASSETS | {"household_id", "contact_number"}))


@pytest.mark.parametrize("kind", ["address", "pmt_range"])
def test_area_searches_power_standard_basic(search, truth, kind):
    q = {"type": kind, "area": truth["district"] if kind == "address" else None}
    if kind == "pmt_range":
        tehsil = truth["district"] + "T01"
        q = {"type": kind, "area": tehsil, "pmt_min": 0, "pmt_max": 100}
    power = search("power", q)
    assert power.ok, power.reason
    h, m = fields(power)
    assert {"head_cnic", "contact_number", "address", "pmt_score"} | ASSETS <= h and "cnic" in m
    standard = search("standard", q)
    h, m = fields(standard)
    assert {"address"} <= h and {"name", "gender", "relation", "age"} <= m
    assert not (h & (SECRET | ASSETS | {"pmt_score", "contact_number"})) and not (m & SECRET)
    basic = search("basic", q)
    h, m = set(basic.columns["households"]), set(basic.columns["members"])  # (a 1 % sample may be empty)
    assert basic.sampled and m == set() and "household" in h
    assert not (h & (SECRET | {"address", "household_id", "contact_number", "pmt_score"}))
    assert all(x["household"].startswith("S-") for x in basic.households)


# --- the Basic sample ----------------------------------------------------------------------------


def in_sample(household_id) -> bool:
    digest = hashlib.md5((SALT + str(household_id)).encode()).hexdigest()
    return int(digest[:8], 16) % 1000 < 10


def test_basic_cannot_gather_more_than_the_fixed_one_percent(search, truth):
    """Each Basic answer is exactly the fixed 1 % sample among the households the search matches (checked
    against Power's answer to the same search), so repeating or re-wording never reaches beyond the
    sample; and its pseudonyms differ between searches, so answers cannot be joined."""
    salt = bytes.fromhex(SALT)
    sample = {h for h in truth["ids"] if in_sample(h)}
    assert 0 < len(sample) < 0.03 * len(truth["ids"])
    variants = [
        {},
        {"urban_rural": ["urban"]},
        {"urban_rural": ["rural"]},
        {"gender": ["female"]},
        {"toilet": ["flush", "none", "non_flush"]},
        {"is_beneficiary_household": [True]},
    ]
    reached, names = set(), []
    for filters in variants * 2:  # repeated and re-worded
        q = {"type": "address", "area": truth["district"], "filters": filters}
        basic, power = search("basic", q), search("power", {**q, "export": True})
        assert basic.ok and power.ok, (basic.reason, power.reason)
        matched = {x["household_id"] for x in power.households} & sample
        population = records.parse_search(q).population()
        assert {x["household"] for x in basic.households} == {
            records.pseudonym(salt, h, population) for h in matched
        }
        reached |= matched
        names.append({x["household"] for x in basic.households})
    assert reached and reached <= sample
    assert names[0] == names[len(variants)]  # the same search gives the same answer
    assert not names[0] & names[1]  # two different searches share no pseudonym


# --- validation, injection, scope, limits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"type": "cnic", "cnic": "1234"}, "13 digits"),
        ({"type": "cnic", "cnic": "35202-1234567-1' OR '1'='1"}, "13 digits"),
        ({"type": "address", "area": "PK601; DROP TABLE households"}, "area"),
        ({"type": "address", "area": "PK601", "filters": {"name; --": ["x"]}}, "cannot be searched on"),
        (
            {"type": "address", "area": "PK601", "filters": {"disability": ["' OR 1=1 --"]}},
            "not a code of disability",
        ),
        (
            {"type": "address", "area": "PK601", "filters": {"pmt_band": ["le_32"], "x": 1}},
            "cannot be searched on",
        ),
        ({"type": "pmt_range", "area": "PK601T01", "pmt_min": 40, "pmt_max": 10}, "PMT range"),
        ({"type": "pmt_range", "area": "PK601", "pmt_min": 0, "pmt_max": 10}, "not a known tehsil"),
        ({"type": "everything"}, "type"),
        ({"type": "address", "area": "PK601", "page": 0}, "page"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_logged(search, query, message):
    r = search("power", query)
    assert not r.ok and message in r.reason and r.rows == 0
    audit = [e for e in search.gateway.events.events if isinstance(e, QueryAudited)][-1]
    assert audit.outcome == "invalid" and audit.rows == 0


def test_the_warehouse_is_intact_after_injection_attempts(search, truth):
    search("power", {"type": "address", "area": "PK601'); DELETE FROM households; --"})
    again = search("power", {"type": "address", "area": truth["district"]})
    assert again.ok and again.total == min(len(truth["ids"]), records.load_policy().row_limits["power"])


def test_no_role_no_records_and_scope_limits_results(search, truth):
    assert not search(None, {"type": "cnic", "cnic": truth["cnic"]}).ok
    assert not search("power", {"type": "cnic", "cnic": truth["cnic"]}, tier="public").ok
    province = truth["district"][:3]
    elsewhere = "PK2" if province != "PK2" else "PK6"
    outside = search("power", {"type": "address", "area": truth["district"]}, scope=elsewhere)
    assert not outside.ok and "outside your account" in outside.reason
    hidden = search("power", {"type": "cnic", "cnic": truth["cnic"]}, scope=elsewhere)
    assert not hidden.households and "within your area" in hidden.reason
    inside = search("power", {"type": "cnic", "cnic": truth["cnic"]}, scope=province)
    assert inside.households


def test_pages_and_the_row_limit(search, truth):
    policy = records.load_policy()
    first = search("standard", {"type": "address", "area": truth["district"]})
    assert first.total == min(len(truth["ids"]), policy.row_limits["standard"])
    assert len(first.households) == min(policy.page_size, first.total)
    second = search("standard", {"type": "address", "area": truth["district"], "page": 2})
    assert {x["household_id"] for x in second.households}.isdisjoint(
        {x["household_id"] for x in first.households}
    )
    beyond = search("standard", {"type": "address", "area": truth["district"], "page": first.pages + 1})
    assert not beyond.ok and "page" in beyond.reason


def test_audit_and_ledger_rows_equal_the_records_returned(search, truth):
    sink = search.gateway.events
    before = len(sink.events)
    r = search("power", {"type": "cnic", "cnic": truth["cnic"]})
    audit, meter = sink.events[before:]
    assert isinstance(audit, QueryAudited) and isinstance(meter, DataMetered)
    assert audit.cube == "records:cnic" and audit.rows == r.rows == 1 + truth["size"]
    assert audit.ip == "10.0.0.9" and audit.user == "power-user" and truth["cnic"] in audit.query
    assert meter.service == "portal_rows" and meter.cells == r.rows


def test_the_policy_cannot_grant_a_secret_field_below_power_or_an_unknown_field():
    import copy

    import yaml

    raw = yaml.safe_load(records.POLICY_PATH.read_text())
    cat = load_catalogue()
    leaky = copy.deepcopy(raw)
    leaky["searches"]["address"]["standard"]["household"].append("head_cnic")
    with pytest.raises(
        records.RecordPolicyError, match="head_cnic is secret, which the standard role does not hold"
    ):
        records.parse_policy(leaky, cat)
    typo = copy.deepcopy(raw)
    typo["groups"]["contact"] = {"households": ["phone"]}
    with pytest.raises(records.RecordPolicyError, match="households.phone is not in the field catalogue"):
        records.parse_policy(typo, cat)
    internal = copy.deepcopy(raw)
    internal["groups"]["contact"] = {"households": ["record_key"]}
    with pytest.raises(records.RecordPolicyError, match="internal"):
        records.parse_policy(internal, cat)
    missing = copy.deepcopy(raw)
    del missing["searches"]["cnic"]["basic"]
    with pytest.raises(records.RecordPolicyError, match="exactly the roles"):
        records.parse_policy(missing, cat)


def test_power_sees_the_payment_history_of_a_beneficiary_household_and_others_do_not(search, cubes_store):
    with duckdb.connect(str(cubes_store.require_current().path), read_only=True) as con:
        household, cnic, paid = con.execute(
            "SELECT p.household_id, any_value(m.cnic), count(DISTINCT p.payment_id) FROM payments p "
            "JOIN members m ON m.household_id = p.household_id AND m.cnic IS NOT NULL "
            "GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
    power = search("power", {"type": "cnic", "cnic": cnic})
    history = power.payments[str(household)]
    assert len(history) == paid and {"quarter", "amount", "status"} <= set(history[0])
    assert power.rows == 1 + len(power.members[str(household)]) + paid
    for role in ("standard", "basic"):
        assert search(role, {"type": "cnic", "cnic": cnic}).payments == {}
