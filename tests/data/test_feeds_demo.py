"""Demo integration feeds: a valid file for every feed, matched often enough for every rule to fire,
mostly unmatched, noisy the way real files are, and malformed on request in ways a batch must reject."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from data.feeds import (
    Feed,
    FeedsError,
    contradiction,
    counts_for_household,
    holds,
    load_feeds,
    normal_cnic,
    parse_value,
)
from data.feeds_demo import MAX_ROWS, MIN_ROWS, _row_counts, write_demo_feeds
from data.rules import load_rules

FEEDS = load_feeds()
PERSON_FEEDS = [name for name, feed in FEEDS.feeds.items() if feed.key == "cnic"]
# (feed, rule) pairs whose event the demo is meant to show, each with what the matched member must be
MUST_FIRE = {
    ("excise_vehicles", "motor_vehicle"): None,
    ("fbr_taxpayers", "taxpayer_above_threshold"): None,
    ("crms_vital_events", "death"): "member.is_beneficiary",
    ("ndma_households", "affected_household"): None,
}
MEMBER_COLUMNS = ("marital_status", "gender", "age", "relation", "employment_status", "employment_sector")
MEMBER_COLUMNS += ("is_beneficiary", "disability")
HOUSEHOLD_COLUMNS = ("district_code", "tehsil_code", "province_code", "has_car", "income_band")
HOUSEHOLD_COLUMNS += ("is_beneficiary_household", "pmt_score")


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def problems(feed: Feed, row: dict[str, str]) -> dict[str, str]:
    """{field: problem} for every value of the row that its declaration rejects."""
    out = {}
    for name, spec in feed.fields.items():
        problem = parse_value(spec, row[name])[1]
        if problem:
            out[name] = problem
    return out


def parsed(feed: Feed, row: dict[str, str]) -> dict:
    return {name: parse_value(spec, row[name])[0] for name, spec in feed.fields.items()}


def kind_of(feed: Feed, name: str, problem: str) -> str:
    """Which kind of bad value a problem reports, judged from the declaration and parse_value's words."""
    spec = feed.fields[name]
    if name == feed.key == "cnic" and problem.startswith("does not match"):
        return "bad_cnic"
    if spec["type"] == "date" and problem == "a date, YYYY-MM-DD":
        return "bad_date"
    if spec.get("codes") and "is not one of" in problem:
        return "bad_code"
    if spec["type"] in ("integer", "number") and problem.startswith("between"):
        return "out_of_range"
    if spec.get("geography") and "code" in problem:
        return "unknown_district"
    return f"unexpected: {name} {problem}"


def applicable_kinds(feed: Feed) -> set[str]:
    fields = feed.fields.values()
    kinds = {"bad_cnic"} if feed.key == "cnic" else set()
    kinds |= {"bad_date"} if any(f["type"] == "date" for f in fields) else set()
    kinds |= {"bad_code"} if any(f.get("codes") for f in fields) else set()
    numeric = [f for f in fields if f["type"] in ("integer", "number") and ("min" in f or "max" in f)]
    kinds |= {"out_of_range"} if numeric else set()
    kinds |= {"unknown_district"} if any(f.get("geography") for f in fields) else set()
    return kinds


@pytest.fixture(scope="module")
def demo(small_snapshot, tmp_path_factory) -> dict[str, Path]:
    return write_demo_feeds(small_snapshot.path, tmp_path_factory.mktemp("feeds-demo"), seed=1)


@pytest.fixture(scope="module")
def demo_malformed(small_snapshot, tmp_path_factory) -> dict[str, Path]:
    return write_demo_feeds(small_snapshot.path, tmp_path_factory.mktemp("feeds-bad"), seed=1, malformed=True)


@pytest.fixture(scope="module")
def rows(demo) -> dict[str, list[dict[str, str]]]:
    return {name: read_rows(path)[1] for name, path in demo.items()}


@pytest.fixture(scope="module")
def registry(small_snapshot, rows) -> dict[str, dict]:
    """The registry's view of every member a demo row names, keyed by CNIC, as the matcher sees it."""
    cnics = sorted({normal_cnic(r["cnic"].strip()) for name in PERSON_FEEDS for r in rows[name]})
    select = [f'm.{c} AS "member.{c}"' for c in MEMBER_COLUMNS]
    select += [f'h.{c} AS "household.{c}"' for c in HOUSEHOLD_COLUMNS]
    select.append("coalesce(b.relations, '') AS \"household.beneficiary_relations\"")
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    try:
        found = con.execute(
            f"SELECT m.cnic, {', '.join(select)} FROM members m JOIN households h USING (household_id)"
            " LEFT JOIN (SELECT household_id, string_agg(DISTINCT relation, ',') AS relations FROM members"
            " WHERE is_beneficiary GROUP BY ALL) b USING (household_id)"
            " WHERE m.cnic IN (SELECT unnest(?))",
            [cnics],
        ).df()
    finally:
        con.close()
    return {r.pop("cnic"): r for r in found.to_dict("records")}


def matched(feed_name: str, rows, registry) -> list[tuple[dict, dict]]:
    """(parsed record, registry view) for every row of the feed that names a registered member."""
    feed = FEEDS[feed_name]
    out = []
    for row in rows[feed_name]:
        view = registry.get(normal_cnic(row["cnic"].strip()))
        if view is not None:
            out.append((parsed(feed, row), view))
    return out


# --- files and values ------------------------------------------------------------------------------


def test_every_feed_gets_a_file_headed_by_its_fields_in_order(demo):
    assert set(demo) == set(FEEDS.feeds)
    for name, path in demo.items():
        assert path.name == f"{name}.csv"
        header, _ = read_rows(path)
        assert header == list(FEEDS[name].fields)


def test_every_value_of_every_row_passes_its_declaration(rows):
    for name, feed_rows in rows.items():
        assert feed_rows, name
        for line, row in enumerate(feed_rows, 2):
            assert problems(FEEDS[name], row) == {}, f"{name} line {line}"


@pytest.mark.parametrize("name", PERSON_FEEDS)
def test_person_feeds_have_hundreds_of_rows_for_twenty_thousand_households(rows, name):
    assert 100 <= len(rows[name]) <= 2_000


def test_row_counts_scale_with_the_registry_between_a_floor_and_a_cap():
    feed = FEEDS["excise_vehicles"]
    small, demo, large, national = (sum(_row_counts(feed, n)) for n in (500, 20_000, 200_000, 40_000_000))
    assert small == MIN_ROWS
    assert 200 <= demo <= 1_000 and 2_000 <= large <= 10_000
    assert national == MAX_ROWS <= FEEDS.batch_max_rows


def test_area_feed_names_a_handful_of_areas_that_have_households(small_snapshot, rows):
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    try:
        codes = {r[0] for r in con.execute("SELECT DISTINCT district_code FROM households").fetchall()}
        codes |= {r[0] for r in con.execute("SELECT DISTINCT tehsil_code FROM households").fetchall()}
    finally:
        con.close()
    areas = [r["area_code"].strip() for r in rows["ndma_areas"]]
    assert 3 <= len(areas) <= 10
    assert set(areas) <= codes


# --- matched and unmatched -------------------------------------------------------------------------


@pytest.mark.parametrize("name", PERSON_FEEDS)
def test_a_few_rows_are_registered_members_and_most_are_not(rows, registry, name):
    found = [normal_cnic(r["cnic"].strip()) in registry for r in rows[name]]
    share = sum(found) / len(found)
    assert 0.01 <= share <= 0.6, f"{name}: {share:.1%} matched"
    assert any(found) and not all(found)


def test_cnics_are_in_the_nadra_format_and_mothers_have_a_womans_number(rows, registry):
    cnic_rules = load_rules()["cnic"]
    digits = set(cnic_rules["first_digit"].values()) | {cnic_rules["ex_fata_digit"]}
    for name in PERSON_FEEDS:
        for row in rows[name]:
            cnic = normal_cnic(row["cnic"].strip())
            assert re.fullmatch(r"\d{13}", cnic), (name, row)
            assert int(cnic[0]) in digits, (name, row)
    women = [r for r in rows["crms_vital_events"] if r["event"].strip() == "birth"]
    women += [r for r in rows["social_welfare"] if r["programme"].strip() == "destitute_women"]
    outsiders = [
        normal_cnic(r["cnic"].strip()) for r in women if normal_cnic(r["cnic"].strip()) not in registry
    ]
    assert outsiders and all(int(c[-1]) % 2 == 0 for c in outsiders)


@pytest.mark.parametrize(("name", "rule_name"), sorted(MUST_FIRE))
def test_the_rules_the_demo_shows_fire_on_some_matched_records(rows, registry, name, rule_name):
    rule = next(r for r in FEEDS[name].rules if r.name == rule_name)
    also = MUST_FIRE[(name, rule_name)]
    firing = [
        view
        for record, view in matched(name, rows, registry)
        if holds(rule, record, view) and counts_for_household(rule, view) and (also is None or view[also])
    ]
    assert firing, f"{name}: no matched record raises {rule_name}"


@pytest.mark.parametrize("name", PERSON_FEEDS)
def test_every_rule_of_every_person_feed_fires_at_least_once(rows, registry, name):
    pairs = matched(name, rows, registry)
    for rule in FEEDS[name].rules:
        assert any(holds(rule, rec, view) and counts_for_household(rule, view) for rec, view in pairs), (
            rule.name
        )


@pytest.mark.parametrize(
    ("name", "rule_name"),
    # (the taxpayer hold names no survey value: the survey's income is a secret field, kept out of events)
    [("excise_vehicles", "motor_vehicle")],
)
def test_some_holds_contradict_what_the_survey_recorded(rows, registry, name, rule_name):
    rule = next(r for r in FEEDS[name].rules if r.name == rule_name)
    assert rule.contradicts, "feeds.yaml no longer names the survey values this hold contradicts"
    assert any(
        holds(rule, rec, view) and counts_for_household(rule, view) and contradiction(rule, view)
        for rec, view in matched(name, rows, registry)
    )


def test_a_death_leaves_a_household_without_its_only_beneficiary(small_snapshot, rows, registry):
    deaths = {
        normal_cnic(r["cnic"].strip())
        for r in rows["crms_vital_events"]
        if r["event"].strip() == "death"
        and registry.get(normal_cnic(r["cnic"].strip()), {}).get("member.is_beneficiary")
    }
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    try:
        alone = con.execute(
            "SELECT count(*) FROM members m WHERE m.cnic IN (SELECT unnest(?)) AND m.gender = 'female' AND"
            " (SELECT count(*) FROM members o WHERE o.household_id = m.household_id AND o.is_beneficiary) = 1",
            [sorted(deaths)],
        ).fetchone()[0]
    finally:
        con.close()
    assert alone >= 1


def test_livelihood_vehicles_and_pilgrimages_of_beneficiaries_raise_nothing(rows, registry):
    for name, rule_name in (("excise_vehicles", "motor_vehicle"), ("fia_travel", "long_stay_abroad")):
        rule = next(r for r in FEEDS[name].rules if r.name == rule_name)
        quiet = [
            rec
            for rec, view in matched(name, rows, registry)
            if counts_for_household(rule, view) and not holds(rule, rec, view)
        ]
        assert quiet, f"{name}: every counted record raises {rule_name}"
    religious_long = [
        rec
        for rec, view in matched("fia_travel", rows, registry)
        if rec["purpose"] == "religious" and rec["days_abroad"] >= 180
    ]
    assert religious_long


def test_matched_records_look_like_the_people_they_name(small_snapshot, rows, registry):
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    try:
        car_share, mean_pmt = con.execute(
            "SELECT avg(has_car::INT), avg(pmt_score) FROM households"
        ).fetchone()
    finally:
        con.close()
    vehicles = matched("excise_vehicles", rows, registry)
    assert sum(v["household.has_car"] for _, v in vehicles) / len(vehicles) > 2 * car_share
    taxpayers = matched("fbr_taxpayers", rows, registry)
    assert sum(v["household.pmt_score"] for _, v in taxpayers) / len(taxpayers) > mean_pmt + 10
    certificates = [
        v for r, v in matched("social_welfare", rows, registry) if r["programme"] == "disability_certificate"
    ]
    assert sum(v["member.disability"] != "none" for v in certificates) > 0.7 * len(certificates)
    bikes = [r for r, _ in vehicles if r["vehicle_class"] == "motorcycle"]
    assert len(bikes) > 0.3 * len(vehicles)


# --- noise and malformed rows ----------------------------------------------------------------------


def test_files_carry_the_noise_a_loader_accepts(rows):
    for name in PERSON_FEEDS:
        feed_rows = rows[name]
        assert any(re.fullmatch(r"\d{5}-\d{7}-\d", r["cnic"].strip()) for r in feed_rows), name
        assert any(v != v.strip() for r in feed_rows for v in r.values()), name
        as_tuples = [tuple(r.values()) for r in feed_rows]
        assert len(set(as_tuples)) < len(as_tuples), f"{name}: no duplicate row"


def test_malformed_files_have_rows_that_fail_on_one_value_of_each_intended_kind(demo_malformed):
    for name, path in demo_malformed.items():
        feed = FEEDS[name]
        bad_rows = [(row, p) for row, p in ((row, problems(feed, row)) for row in read_rows(path)[1]) if p]
        assert bad_rows, name
        assert all(len(p) == 1 for _, p in bad_rows), f"{name}: {bad_rows}"
        kinds = {}
        for row, p in bad_rows:
            ((field, problem),) = p.items()
            kinds.setdefault(kind_of(feed, field, problem), []).append(row[field])
        assert set(kinds) == applicable_kinds(feed), name
        assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", v) for v in kinds.get("bad_date", [])), kinds


def test_malformed_rows_are_added_and_the_others_left_exactly_as_they_were(demo, demo_malformed):
    for name in demo:
        feed = FEEDS[name]
        clean = read_rows(demo[name])[1]
        kept = [row for row in read_rows(demo_malformed[name])[1] if not problems(feed, row)]
        assert kept == clean, name


# --- determinism -----------------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files_and_another_seed_others(small_snapshot, demo, tmp_path):
    again = write_demo_feeds(small_snapshot.path, tmp_path / "again", seed=1)
    other = write_demo_feeds(small_snapshot.path, tmp_path / "other", seed=2)
    for name in demo:
        assert again[name].read_bytes() == demo[name].read_bytes(), name
        assert other[name].read_bytes() != demo[name].read_bytes(), name


def test_a_subset_of_feeds_gives_the_same_files_as_all_of_them(small_snapshot, demo, tmp_path):
    out = write_demo_feeds(small_snapshot.path, tmp_path, seed=1, feeds=["excise_vehicles", "ndma_areas"])
    assert set(out) == {"excise_vehicles", "ndma_areas"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["excise_vehicles.csv", "ndma_areas.csv"]
    for name, path in out.items():
        assert path.read_bytes() == demo[name].read_bytes()


def test_an_unknown_feed_is_refused(small_snapshot, tmp_path):
    with pytest.raises(FeedsError, match="unknown feed"):
        write_demo_feeds(small_snapshot.path, tmp_path, feeds=["nadra"])
