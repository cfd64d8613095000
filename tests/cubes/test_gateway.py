"""The gateway: permissions, scope, shape limits, what leaves it, consistency, audit and metering."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from cubes.events import MemorySink
from cubes.gateway import Gateway
from cubes.model import load_model
from tests.conftest import make_actor, make_query

LEVELS = ["national", "province", "division", "district", "tehsil", "union_council"]
TIERS = ["public", "business", "mis"]
INTERNAL = re.compile(
    r"^(n|k|h|s|c|t|lo|hi)__|record_key|pre_sdc|ckey|pcv|pvalue|household_id|member_id|cnic"
)


def walk(value):
    """Every key and value in a JSON payload."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


# --- permission matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("cube", sorted(load_model().cubes))
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("level", LEVELS)
def test_permission_matrix_tier_cube_geography(gateway, cube, tier, level):
    model = load_model()
    if tier not in model.cubes[cube].tiers:  # a cube closed to a tier is closed at every level
        result = gateway.run_query(make_actor(tier), make_query(cube, level=level))
        assert not result.ok and "not available at your access level" in result.reason
        return
    lowest = model.cubes[cube].tiers[tier].lowest_geography
    # a table without breakdowns (plain counts) may go one level finer where the tier allows it
    plain = model.tier(tier).get("univariate_lowest_geography", lowest)
    allowed = LEVELS.index(level) <= max(LEVELS.index(lowest), LEVELS.index(plain))
    codes = None
    if level in ("tehsil", "union_council"):  # keep the table small: one district's units
        codes = ["PK601T01"] if level == "tehsil" else ["PK601T01U001"]
    result = gateway.run_query(make_actor(tier), make_query(cube, level=level, codes=codes))
    assert result.ok is allowed, result.reason
    if not allowed:
        assert "too detailed for your access level" in result.reason


def test_public_plain_counts_reach_tehsils_but_breakdowns_and_union_councils_do_not(gateway):
    public = make_actor("public")
    plain = gateway.run_query(public, make_query("beneficiaries", level="tehsil", codes=["PK601T01"]))
    assert plain.ok, plain.reason
    for query in (
        make_query("beneficiaries", dimensions=["age_group"], level="tehsil", codes=["PK601T01"]),
        make_query("beneficiaries", level="union_council", codes=["PK601T01U001"]),
    ):
        refused = gateway.run_query(public, query)
        assert not refused.ok and "too detailed for your access level" in refused.reason


def test_an_approved_report_may_show_union_council_plain_counts_and_never_shares_its_answers(gateway):
    query = make_query("disability", level="union_council", codes=None)
    query["geography"]["within"] = "PK601T01"
    public = make_actor("public")
    report = make_actor("public")
    report.attributes["approved_report"] = "disability-by-union-council@v1"
    assert gateway.run_query(report, query).ok
    refused = gateway.run_query(public, query)  # asked after the report: no answer from the cache
    assert not refused.ok and "too detailed" in refused.reason
    with_breakdown = make_query("disability", dimensions=["gender"], level="union_council")
    with_breakdown["geography"]["within"] = "PK601T01"
    assert not gateway.run_query(report, with_breakdown).ok


def test_tehsils_below_the_household_floor_are_hidden_from_the_public(cubes_store):
    """The plain-count allowance shows a tehsil only when it holds enough households: with the floor set
    between the smallest and largest tehsil of the small warehouse, exactly the small ones are hidden."""
    import copy

    truth = Gateway(cubes_store, events=MemorySink()).run_query(
        make_actor("mis"), make_query("households", level="tehsil", filters=None)
    )
    sizes = {r["tehsil_code"]: r["households"] for r in truth.rows}
    floor = sorted(sizes.values())[len(sizes) // 2]
    model = copy.deepcopy(load_model())
    model.tier("public")["min_area_households"] = floor
    public = Gateway(cubes_store, model=model, events=MemorySink()).run_query(
        make_actor("public"), make_query("households", level="tehsil")
    )
    assert public.ok, public.reason
    hidden = {r["tehsil_code"] for r in public.rows if r["households"] is None}
    small = {code for code, n in sizes.items() if n < floor}
    assert small and hidden >= small
    shown = {r["tehsil_code"] for r in public.rows if r["households"] is not None}
    assert shown and shown.isdisjoint(small)


@pytest.mark.parametrize(
    ("tier", "measure", "allowed"),
    [
        ("public", "min_pmt_score", False),
        ("business", "max_pmt_score", False),
        ("mis", "min_pmt_score", True),
        ("public", "mean_pmt_score", True),
        ("business", "total_land_acres", True),
        ("public", "share_beneficiary", True),
    ],
)
def test_permission_matrix_measures(gateway, tier, measure, allowed):
    result = gateway.run_query(make_actor(tier), make_query("households", [measure]))
    assert result.ok is allowed, result.reason


@pytest.mark.parametrize(
    ("tier", "dims", "allowed"),
    [
        ("public", ["urban_rural", "pmt_band"], True),
        ("public", ["urban_rural", "pmt_band", "toilet"], False),
        ("business", ["urban_rural", "pmt_band", "toilet"], True),
        ("business", ["urban_rural", "pmt_band", "toilet", "tenure"], False),
        ("mis", ["urban_rural", "pmt_band", "toilet", "tenure"], True),
    ],
)
def test_shape_limit_on_variables(gateway, tier, dims, allowed):
    result = gateway.run_query(make_actor(tier), make_query("households", dimensions=dims, level="province"))
    assert result.ok is allowed, result.reason
    if not allowed:
        assert result.reason == "too many variables for one table; choose fewer variables"


def test_shape_limit_on_cells_is_checked_before_scanning(gateway):
    sink = gateway.events
    result = gateway.run_query(
        make_actor("business"),
        make_query("persons", ["persons"], ["age_group", "education", "employment_status"], level="tehsil"),
    )
    assert not result.ok and "too large" in result.reason
    assert sink.events[-1].source is None  # refused before any rollup or raw scan


def test_forbidden_combination(gateway):
    q = make_query(
        "disability",
        ["persons_with_disability"],
        ["disability_type", "pmt_band"],
        level="tehsil",
        codes=["PK601T01"],
    )
    assert not gateway.run_query(make_actor("business"), q).ok
    assert gateway.run_query(make_actor("mis"), q).ok


# --- geographic scope ----------------------------------------------------------------------------


def test_scope_limits_finer_areas_but_keeps_comparison_figures(gateway):
    actor = make_actor("business", scope="PK601")
    whole = gateway.run_query(actor, make_query("households", level="tehsil"))
    assert whole.ok
    assert {r["tehsil_code"][:5] for r in whole.rows} == {"PK601"}
    outside = gateway.run_query(actor, make_query("households", level="tehsil", codes=["PK602T01"]))
    assert not outside.ok and "outside the area you may see" in outside.reason
    # the national and provincial (and district) comparison figures stay available
    provinces = gateway.run_query(actor, make_query("households", level="province"))
    assert provinces.ok and len(provinces.rows) == 7
    districts = gateway.run_query(actor, make_query("households", level="district"))
    assert districts.ok and len(districts.rows) == 156
    wide = gateway.run_query(make_actor("business", scope="PK6"), make_query("households", level="district"))
    assert wide.ok and {r["district_code"][:3] for r in wide.rows} == {"PK6"}


def test_within_keeps_the_areas_inside_one_area_and_is_part_of_the_cache_key(gateway):
    actor = make_actor("business")
    everywhere = gateway.run_query(actor, make_query("beneficiaries", level="tehsil"))
    punjab = make_query("beneficiaries", level="tehsil")
    punjab["geography"]["within"] = "PK6"
    attock = make_query("beneficiaries", level="tehsil")
    attock["geography"]["within"] = "PK601"
    in_punjab = gateway.run_query(actor, punjab)
    in_attock = gateway.run_query(
        actor, attock
    )  # asked right after PK6: a cache keyed without `within` fails
    assert everywhere.ok and in_punjab.ok and in_attock.ok
    assert {r["tehsil_code"][:3] for r in in_punjab.rows} == {"PK6"}
    assert len(in_punjab.rows) < len(everywhere.rows)
    assert sorted(r["tehsil_code"] for r in in_attock.rows) == [f"PK601T0{i}" for i in range(1, 7)]
    assert in_attock.query["geography"]["within"] == "PK601"
    coarser = make_query("beneficiaries", level="province")
    coarser["geography"]["within"] = "PK601"
    refused = gateway.run_query(actor, coarser)
    assert not refused.ok and "finer level" in refused.reason
    unknown = make_query("beneficiaries", level="tehsil")
    unknown["geography"]["within"] = "PK999"
    assert "not a known area" in gateway.run_query(actor, unknown).reason


# --- what leaves the gateway ---------------------------------------------------------------------


def test_payload_has_only_categories_protected_values_and_flags(gateway):
    for tier in ("public", "business"):
        result = gateway.run_query(
            make_actor(tier),
            make_query(
                "households",
                ["households", "mean_pmt_score", "share_at_or_below_cutoff", "total_land_acres"],
                ["urban_rural"],
                level="division",
                totals=True,
            ),
        )
        assert result.ok
        payload = result.to_json()
        for item in walk(payload):
            if isinstance(item, str):
                assert not INTERNAL.search(item), item
        assert set(result.columns) == {
            "division_code",
            "division_name",
            "urban_rural",
            "households",
            "mean_pmt_score",
            "share_at_or_below_cutoff",
            "total_land_acres",
        }
        for row in result.rows:
            assert set(row) == set(result.columns)
        for flags in result.flags:
            assert set(flags.values()) <= {"suppressed"}


def test_refusals_contain_no_numbers(gateway):
    refusals = [
        make_query("households", level="union_council", codes=["PK601T01U001"]),
        make_query("households", dimensions=["urban_rural", "pmt_band", "toilet", "tenure"]),
        make_query("persons", ["persons"], ["age_group", "education", "employment_status"], level="tehsil"),
        make_query("households", ["min_pmt_score"]),
        make_query("households", level="district", codes=["PK999"]),
        {"cube": "households", "measures": ["households"], "colour": "red"},
        make_query("persons", ["persons"], ["gender", "age_group", "marital_status"], level="tehsil"),
    ]
    for q in refusals:
        result = gateway.run_query(make_actor("business"), q)
        assert not result.ok
        assert result.reason and not re.search(r"\d", result.reason), result.reason
        assert result.rows == []


def test_invalid_queries_name_what_is_wrong(gateway):
    r = gateway.run_query(make_actor("business"), {"cube": "houses", "measures": ["x"]})
    assert not r.ok and "unknown cube 'houses'" in r.reason
    r = gateway.run_query(make_actor("business"), make_query("households", ["households"], ["gender"]))
    assert not r.ok and "no dimension 'gender'" in r.reason
    r = gateway.run_query(
        make_actor("business"),
        make_query("households", dimensions=["toilet"], filters={"toilet": ["golden"]}),
    )
    assert not r.ok and "unknown members ['golden']" in r.reason
    r = gateway.run_query(make_actor("business"), "{not json")
    assert not r.ok and "not valid JSON" in r.reason


# --- consistency -----------------------------------------------------------------------------------


def test_same_cell_same_value_across_tiers_paths_and_restarts(cubes_store, gateway):
    q = make_query("persons", ["persons", "ever_married_women"], ["gender"], level="province")
    public = gateway.run_query(make_actor("public"), q)
    business = gateway.run_query(make_actor("business"), q)
    assert public.rows == business.rows and public.flags == business.flags
    # the same cells as margins of a bigger table
    bigger = gateway.run_query(
        make_actor("business"),
        make_query(
            "persons",
            ["persons", "ever_married_women"],
            ["gender", "age_group"],
            level="province",
            totals=True,
        ),
    )
    margins = {(r["province_code"], r["gender"]): r for r in bigger.rows if r["age_group"] == "_total"}
    for r in business.rows:
        m = margins[(r["province_code"], r["gender"])]
        assert (m["persons"], m["ever_married_women"]) == (r["persons"], r["ever_married_women"])
    # a restart (new process-wide gateway, no cache) gives the same answer
    fresh = Gateway(cubes_store, events=MemorySink(), cache=False)
    assert fresh.run_query(make_actor("business"), q).rows == business.rows
    # filtering shows the same cells, never recomputed ones
    filtered = gateway.run_query(
        make_actor("business"),
        make_query(
            "persons",
            ["persons", "ever_married_women"],
            ["gender"],
            level="province",
            filters={"gender": ["female"]},
        ),
    )
    assert filtered.rows == [r for r in business.rows if r["gender"] == "female"]


def test_mis_sees_true_values_from_rollups_and_raw(small_snapshot, gateway):
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    truth = dict(con.execute("SELECT district_code, count(*) FROM households GROUP BY 1").fetchall())
    result = gateway.run_query(make_actor("mis"), make_query("households", level="district"))
    assert {r["district_code"]: r["households"] for r in result.rows} == {
        d: truth.get(d, 0) for d in (r["district_code"] for r in result.rows)
    }
    uc = con.execute(
        "SELECT uc_code, count(*) FROM members WHERE tehsil_code = 'PK601T01' GROUP BY 1"
    ).fetchall()
    raw = gateway.run_query(
        make_actor("mis"), make_query("persons", level="union_council", codes=[u for u, _ in uc])
    )
    assert {r["uc_code"]: r["persons"] for r in raw.rows} == dict(uc)
    assert gateway.events.events[-2].source == "raw"
    protected = gateway.run_query(make_actor("business"), make_query("households", level="district"))
    differ = sum(
        1
        for a, b in zip(result.rows, protected.rows, strict=True)
        if b["households"] is not None and a["households"] != b["households"]
    )
    assert differ > 0  # protected values really are perturbed


# --- audit and metering ----------------------------------------------------------------------------


def test_every_answer_and_refusal_is_audited_and_answers_are_metered(gateway):
    sink = gateway.events
    before = len(sink.events)
    ok = gateway.run_query(
        make_actor("business", user="amina"), make_query("households", dimensions=["urban_rural"])
    )
    bad = gateway.run_query(
        make_actor("public", user="anon"), make_query("households", level="union_council")
    )
    new = sink.events[before:]
    kinds = [e.kind for e in new]
    assert kinds == ["query_audited", "data_metered", "query_audited"]
    audit, meter, refusal = new
    assert audit.user == "amina" and audit.outcome == "answered" and audit.cells == len(ok.rows)
    assert json.loads(audit.query)["cube"] == "households" and audit.snapshot_id == ok.snapshot_id
    assert meter.cells == audit.cells and meter.organisation == "Test Org"
    assert refusal.outcome == "refused" and refusal.reason == bad.reason


def test_result_is_stamped_with_snapshot(cubes_store, gateway):
    result = gateway.run_query(make_actor("public"), make_query())
    snap = cubes_store.require_current()
    assert result.snapshot_id == snap.snapshot_id and result.as_of == snap.as_of
    assert any("perturbed" in n for n in result.notes)
