"""The synthetic registry: deterministic, calibrated to census 2023, and faithful to programme rules."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from data import geography
from data.catalogue import load_catalogue
from data.rules import load_rules
from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic
from tests.conftest import SMALL_HOUSEHOLDS, SMALL_SEED


def table_checksums(path) -> dict[str, tuple]:
    """Row count and a checksum of every row in key order, per table: equal means identical content."""
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for name, table in load_catalogue().tables.items():
        out[name] = con.execute(
            f"SELECT count(*), bit_xor(hash(t)), md5(string_agg(hash(t)::VARCHAR, ',' ORDER BY {table.key}))"
            f" FROM {name} t"
        ).fetchone()
    con.close()
    return out


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_and_size_give_identical_tables(small_snapshot, tmp_path):
    again = build_synthetic(
        SMALL_HOUSEHOLDS, SMALL_SEED, store=SnapshotStore(tmp_path / "again"), chunk_households=7_000
    )
    assert table_checksums(again.path) == table_checksums(small_snapshot.path)


def test_another_seed_gives_another_registry(small_snapshot, tmp_path):
    other = build_synthetic(SMALL_HOUSEHOLDS, SMALL_SEED + 1, store=SnapshotStore(tmp_path / "other"))
    a, b = table_checksums(other.path), table_checksums(small_snapshot.path)
    assert a["households"][0] == b["households"][0]  # same size …
    assert a["households"][1:] != b["households"][1:]  # … different people
    assert a["members"] != b["members"]


# --- schema ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(load_catalogue().tables))
def test_tables_have_exactly_the_catalogue_schema(wh, table):
    described = wh.execute(f"DESCRIBE {table}").fetchall()
    expected = [(c.name, c.type) for c in load_catalogue().tables[table].columns.values()]
    assert [(r[0], r[1]) for r in described] == expected


@pytest.mark.parametrize("table", list(load_catalogue().tables))
def test_required_columns_are_never_empty_and_codes_are_valid(wh, table):
    cat = load_catalogue()
    for col in cat.tables[table].columns.values():
        if not col.nullable:
            assert wh.execute(f"SELECT count(*) FROM {table} WHERE {col.name} IS NULL").fetchone()[0] == 0, (
                col.name
            )
        if col.codes and cat.codelists[col.codes].codes:
            seen = {r[0] for r in wh.execute(f"SELECT DISTINCT {col.name} FROM {table}").fetchall()} - {None}
            assert seen <= set(cat.codelists[col.codes].codes), (col.name, seen)
        if col.range and col.type not in ("DATE",):
            lo, hi = col.range
            bad = wh.execute(
                f"SELECT count(*) FROM {table} WHERE {col.name} < {lo} OR {col.name} > {hi}"
            ).fetchone()
            assert bad[0] == 0, col.name


def test_households_are_stored_in_geographic_order(wh):
    out_of_order = wh.execute(
        "SELECT count(*) FROM (SELECT village_code < lag(village_code) OVER (ORDER BY rowid) AS back FROM households)"
        " WHERE back"
    ).fetchone()[0]
    assert out_of_order == 0


def test_household_size_and_head_match_members(wh):
    bad = wh.execute("""
        SELECT count(*) FROM households h
        JOIN (SELECT household_id, count(*) n, count(*) FILTER (WHERE relation = 'head') heads,
                     any_value(member_id) FILTER (WHERE relation = 'head') head_id,
                     any_value(age) FILTER (WHERE relation = 'head') head_age,
                     any_value(cnic) FILTER (WHERE relation = 'head') head_cnic
              FROM members GROUP BY 1) m USING (household_id)
        WHERE h.household_size <> m.n OR m.heads <> 1 OR h.head_member_id <> m.head_id OR h.head_age <> m.head_age
           OR h.head_cnic <> m.head_cnic""").fetchone()[0]
    assert bad == 0
    orphans = wh.execute(
        "SELECT count(*) FROM members WHERE household_id NOT IN (SELECT household_id FROM households)"
    )
    assert orphans.fetchone()[0] == 0


def test_members_carry_their_household_columns(wh):
    cols = [
        "province_code",
        "division_code",
        "district_code",
        "tehsil_code",
        "uc_code",
        "urban_rural",
        "pmt_score",
        "pmt_band",
        "is_beneficiary_household",
    ]
    cond = " OR ".join(f"m.{c} IS DISTINCT FROM h.{c}" for c in cols)
    assert (
        wh.execute(
            f"SELECT count(*) FROM members m JOIN households h USING (household_id) WHERE {cond}"
        ).fetchone()[0]
        == 0
    )
    assert (
        wh.execute(
            "SELECT count(*) FROM members m JOIN households h USING (household_id) "
            "WHERE m.household_record_key <> h.record_key"
        ).fetchone()[0]
        == 0
    )


# --- calibration against census 2023 --------------------------------------------------------------


def test_households_per_district_follow_census(wh):
    census = pd.read_csv(geography.reference_path("census2023_district_population.csv"))
    ours = wh.execute("SELECT district_code, count(*) n FROM households GROUP BY 1").df()
    joined = census.merge(ours, on="district_code")
    assert len(joined) == 136  # every census district is in the registry
    assert joined["households"].corr(joined["n"]) >= 0.99
    # AJK and Gilgit-Baltistan are included (documented estimates)
    extra = wh.execute(
        "SELECT count(DISTINCT district_code) FROM households WHERE province_code IN ('PK1','PK3')"
    )
    assert extra.fetchone()[0] == 20


def test_households_per_tehsil_follow_census(wh):
    census = pd.read_csv(geography.reference_path("census2023_tehsil_population.csv"))
    ours = wh.execute("SELECT tehsil_code, count(*) n FROM households GROUP BY 1").df()
    joined = census.merge(ours, on="tehsil_code", how="left").fillna({"n": 0})
    assert joined["households"].corr(joined["n"]) >= 0.98


def test_household_size_matches_census(wh):
    assert 6.1 <= wh.execute("SELECT avg(household_size) FROM households").fetchone()[0] <= 6.5
    census = pd.read_csv(geography.reference_path("census2023_district_population.csv"))
    ours = wh.execute(
        "SELECT district_code, avg(household_size) s, count(*) n FROM households GROUP BY 1"
    ).df()
    joined = census.merge(ours, on="district_code")
    big = joined[joined.n >= 100]
    assert big["avg_household_size"].corr(big["s"]) >= 0.85
    assert (big["s"] - big["avg_household_size"]).abs().median() < 0.35


def test_age_and_sex_structure_matches_census(wh):
    u15, u5, o60, male = wh.execute(
        "SELECT avg((age < 15)::INT), avg((age < 5)::INT), avg((age >= 60)::INT), avg((gender = 'male')::INT) FROM members"
    ).fetchone()
    assert abs(u15 - 0.406) < 0.02
    assert abs(u5 - 0.152) < 0.015
    assert abs(o60 - 0.056) < 0.015
    assert abs(male - 106.1 / 206.1) < 0.01  # sex ratio 106 men per 100 women
    a = pd.read_csv(geography.reference_path("census2023_district_age_sex.csv"))
    a["u15"] = a.age_group_start < 15
    census = a.groupby("district_code").apply(
        lambda g: g.loc[g.u15, "total"].sum() / g.total.sum(), include_groups=False
    )
    ours = wh.execute("SELECT district_code, avg((age < 15)::INT) s, count(*) n FROM members GROUP BY 1").df()
    ours = ours[ours.n >= 500].set_index("district_code")
    both = ours.join(census.rename("census"), how="inner")
    assert both["s"].corr(both["census"]) >= 0.8


def test_marital_status_matches_census(wh):
    m = pd.read_csv(geography.reference_path("census2023_district_marital_status_15plus.csv"))
    tot = m.groupby("marital_status")[["male_15plus", "female_15plus"]].sum()
    share = tot / tot.sum()
    nm_w, nm_m, wid_w = wh.execute("""
        SELECT avg((marital_status = 'never_married')::INT) FILTER (WHERE gender = 'female'),
               avg((marital_status = 'never_married')::INT) FILTER (WHERE gender = 'male'),
               avg((marital_status = 'widowed')::INT) FILTER (WHERE gender = 'female')
        FROM members WHERE age >= 15""").fetchone()
    assert abs(nm_w - share.loc["Never Married", "female_15plus"]) < 0.03
    assert abs(nm_m - share.loc["Never Married", "male_15plus"]) < 0.03
    assert abs(wid_w - share.loc["Widowed", "female_15plus"]) < 0.02
    assert (
        wh.execute(
            "SELECT count(*) FROM members WHERE age < 15 AND marital_status <> 'never_married'"
        ).fetchone()[0]
        == 0
    )


def test_literacy_matches_census(wh):
    """Registry coverage is lower in cities (more literate), so the registry sits a little below census."""
    lit, lit_m, lit_f = wh.execute("""
        SELECT avg(is_literate::INT), avg(is_literate::INT) FILTER (WHERE gender = 'male'),
               avg(is_literate::INT) FILTER (WHERE gender = 'female') FROM members WHERE age >= 10""").fetchone()
    assert -0.04 < lit - 0.6065 < 0.01
    assert -0.05 < lit_m - 0.680 < 0.01
    assert -0.05 < lit_f - 0.528 < 0.01
    assert (
        wh.execute("SELECT count(*) FROM members WHERE age < 10 AND is_literate IS NOT NULL").fetchone()[0]
        == 0
    )
    census = pd.read_csv(geography.reference_path("census2023_district_indicators.csv"))
    ours = wh.execute(
        "SELECT district_code, avg(is_literate::INT) s, count(*) n FROM members WHERE age >= 10 GROUP BY 1"
    ).df()
    joined = census.merge(ours[ours.n >= 300], on="district_code")
    assert joined["literacy_rate_10plus_pct"].corr(joined["s"]) >= 0.9


def test_disability_matches_census(wh):
    dis = wh.execute("SELECT avg((disability <> 'none')::INT) FROM members").fetchone()[0]
    assert abs(dis - 0.031) < 0.006


@pytest.mark.parametrize(
    ("province", "column", "value"),
    [
        ("PK6", "dwelling_structure = 'pakka'", 0.808),
        ("PK2", "dwelling_structure = 'kacha'", 0.636),
        ("PK7", "toilet = 'none'", 0.193),
        ("PK5", "cooking_fuel = 'firewood'", 0.714),
        ("PK2", "lighting = 'solar'", 0.264),
        ("PK4", "tenure = 'rented'", 0.364),
    ],
)
def test_dwelling_and_amenities_match_census_by_province(wh, province, column, value):
    share = wh.execute(
        f"SELECT avg(({column})::INT) FROM households WHERE province_code = '{province}'"
    ).fetchone()[0]
    assert abs(share - value) < 0.06


# --- PMT and programme rules ----------------------------------------------------------------------


def test_pmt_distribution_has_the_documented_shape(wh):
    s32, s37 = wh.execute(
        "SELECT avg((pmt_score <= 32)::INT), avg((pmt_score > 32 AND pmt_score <= 37)::INT) FROM households"
    ).fetchone()
    assert 0.25 <= s32 <= 0.30
    assert 0.06 <= s37 <= 0.11
    by = dict(
        wh.execute("SELECT district_code, avg((pmt_score <= 32)::INT) FROM households GROUP BY 1").fetchall()
    )
    for rich in ("PK401", "PK617", "PK702", "PK721"):  # Islamabad, Lahore, Karachi Central/South
        assert by[rich] < 0.10, rich
    ex_fata = wh.execute(
        "SELECT avg((pmt_score <= 32)::INT) FROM households WHERE district_code IN "
        "('PK502','PK513','PK518','PK524','PK525','PK527','PK530')"
    ).fetchone()[0]
    assert 0.40 <= ex_fata <= 0.70
    assert (
        wh.execute(
            "SELECT avg((pmt_score <= 32)::INT) FROM households WHERE province_code = 'PK2'"
        ).fetchone()[0]
        > 0.4
    )


@pytest.mark.parametrize(
    "asset",
    [
        "has_refrigerator",
        "has_television",
        "has_washing_machine",
        "has_motorcycle",
        "has_car",
        "has_air_conditioner",
        "has_computer",
    ],
)
def test_pmt_rises_with_assets(wh, asset):
    with_, without = wh.execute(
        f"SELECT avg(pmt_score) FILTER (WHERE {asset}), avg(pmt_score) FILTER (WHERE NOT {asset}) "
        "FROM households"
    ).fetchone()
    assert with_ > without + 3


def test_pmt_follows_dwelling_education_and_size(wh):
    kacha, pakka = wh.execute(
        "SELECT avg(pmt_score) FILTER (WHERE dwelling_structure = 'kacha'), "
        "avg(pmt_score) FILTER (WHERE dwelling_structure = 'pakka') FROM households"
    ).fetchone()
    assert pakka > kacha + 10
    none_, grad = wh.execute(
        "SELECT avg(pmt_score) FILTER (WHERE head_education = 'none'), "
        "avg(pmt_score) FILTER (WHERE head_education IN ('graduate','postgraduate')) FROM households"
    ).fetchone()
    assert grad > none_ + 10
    corr = wh.execute("SELECT corr(household_size, pmt_score) FROM households").fetchone()[0]
    assert corr < -0.1


def test_beneficiaries_follow_the_kafaalat_rule(wh):
    cut = load_rules()["pmt"]["cutoffs"]
    wrong_eligibility = wh.execute(f"""
        SELECT count(*) FROM households WHERE kafaalat_eligible <>
          (pmt_score <= {cut["kafaalat"]} OR (n_disabled > 0 AND pmt_score <= {cut["kafaalat_disability"]}))""").fetchone()[
        0
    ]
    assert wrong_eligibility == 0
    wrong_household = wh.execute("""
        SELECT count(*) FROM households WHERE is_beneficiary_household <>
          (kafaalat_eligible AND exclusion_reason IS NULL AND n_ever_married_women > 0)""").fetchone()[0]
    assert wrong_household == 0
    assert (
        wh.execute(
            "SELECT count(*) FROM households WHERE exclusion_reason = 'car_owner' AND NOT has_car"
        ).fetchone()[0]
        == 0
    )
    wrong_member = wh.execute("""
        SELECT count(*) FROM members WHERE is_beneficiary <>
          (is_beneficiary_household AND gender = 'female' AND marital_status <> 'never_married' AND age >= 15)""").fetchone()[
        0
    ]
    assert wrong_member == 0
    above = wh.execute(
        f"SELECT count(*) FROM members WHERE is_beneficiary AND pmt_score > {cut['kafaalat_disability']}"
    )
    assert above.fetchone()[0] == 0
    relaxed = wh.execute(
        f"SELECT count(*) FROM households WHERE is_beneficiary_household AND pmt_score > {cut['kafaalat']}"
    )
    assert relaxed.fetchone()[0] > 0  # the disability relaxation matters


def test_cct_and_payments_are_consistent(wh):
    assert (
        wh.execute(
            "SELECT count(*) FROM cct_enrolments c JOIN members m USING (member_id) "
            "WHERE NOT m.is_cct_child OR NOT m.is_beneficiary_household"
        ).fetchone()[0]
        == 0
    )
    assert (
        wh.execute(
            "SELECT count(*) FROM cct_enrolments WHERE attendance_pct < 70 AND status = 'paid'"
        ).fetchone()[0]
        == 0
    )
    assert (
        wh.execute(
            "SELECT count(*) FROM payments p JOIN members m USING (member_id) WHERE NOT m.is_beneficiary"
        ).fetchone()[0]
        == 0
    )
    assert (
        wh.execute("SELECT count(*) FROM payments WHERE quarter >= '2025Q1' AND amount <> 13500").fetchone()[
            0
        ]
        == 0
    )
    counted = wh.execute(
        "SELECT count(*) FROM households h WHERE cct_children <> "
        "(SELECT count(*) FROM members m WHERE m.household_id = h.household_id AND m.is_cct_child)"
    )
    assert counted.fetchone()[0] == 0


# --- identifiers and keys -------------------------------------------------------------------------


def test_cnics_are_valid_unique_and_follow_parity_and_province(wh):
    rules = load_rules()["cnic"]
    bad_format = wh.execute(
        r"SELECT count(*) FROM members WHERE cnic IS NOT NULL AND NOT regexp_full_match(cnic, '\d{13}')"
    )
    assert bad_format.fetchone()[0] == 0
    assert wh.execute("SELECT count(cnic) - count(DISTINCT cnic) FROM members").fetchone()[0] == 0
    parity = wh.execute("""SELECT count(*) FROM members WHERE cnic IS NOT NULL AND gender IN ('male','female')
                           AND ((right(cnic, 1)::INT % 2 = 1) <> (gender = 'male'))""").fetchone()[0]
    assert parity == 0
    digits = dict(
        wh.execute(
            "SELECT district_code, any_value(left(cnic, 1)) FROM members WHERE cnic IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    for district, digit in digits.items():
        expected = (
            rules["ex_fata_digit"]
            if district in rules["ex_fata_districts"]
            else rules["first_digit"][district[:3]]
        )
        assert int(digit) == expected, district
    adults_without = wh.execute(
        "SELECT count(*) FROM members WHERE age >= 18 AND (cnic IS NULL OR id_type <> 'cnic')"
    )
    assert adults_without.fetchone()[0] == 0


def test_record_keys_look_random_and_are_not_derived_from_ids(wh):
    for table, key in (("households", "household_id"), ("members", "member_id")):
        counts = np.array(
            [
                r[0]
                for r in wh.execute(
                    f"SELECT count(*) FROM {table} GROUP BY record_key ORDER BY record_key"
                ).fetchall()
            ]
        )
        assert len(counts) == 256
        expected = counts.sum() / 256
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < 340, table  # 255 degrees of freedom: p ≈ 0.0003
        same = wh.execute(f"SELECT avg((record_key = {key} % 256)::INT) FROM {table}").fetchone()[0]
        assert same < 0.02
    indep = wh.execute(
        "SELECT avg((record_key = household_record_key)::INT) FROM members WHERE line_no > 1"
    ).fetchone()[0]
    assert indep < 0.02


def test_names_and_addresses_are_plausible(wh):
    rows = wh.execute("SELECT name, guardian_name FROM members USING SAMPLE 200 ROWS").fetchall()
    assert all(len(n.split()) >= 2 and len(g.split()) >= 2 for n, g in rows)
    head = wh.execute(
        "SELECT m.name, h.address, h.uc_name, h.tehsil_name FROM members m JOIN households h "
        "USING (household_id) WHERE m.relation = 'head' LIMIT 50"
    ).fetchall()
    assert all(uc in addr and tehsil in addr for _, addr, uc, tehsil in head)
    wife_guardian = wh.execute("""SELECT avg((w.guardian_name = h.name)::INT) FROM members w
        JOIN members h ON h.household_id = w.household_id AND h.relation = 'head'
        WHERE w.relation = 'spouse'""").fetchone()[0]
    assert wife_guardian == 1.0  # a wife's guardian is her husband, the head
