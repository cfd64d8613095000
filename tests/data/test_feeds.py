"""The feeds of data/feeds.yaml: checked at load, values parsed as declared, rules applied as written."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from data.feeds import FEEDS_PATH, FeedsError, counts_for_household, holds, load_feeds, parse_value


def test_every_source_of_the_plan_has_a_feed_and_every_code_is_declared():
    feeds = load_feeds()
    plans = {f.plan for f in feeds.feeds.values()}
    assert {
        "9.2.1",
        "9.2.2",
        "9.2.3",
        "9.2.4",
        "9.2.5",
        "9.2.6",
        "9.2.7",
        "9.2.8",
        "9.2.9",
        "9.2.10",
        "9.2.11",
    } <= plans


def test_hold_reasons_are_the_same_in_feeds_catalogue_and_cube():
    from cubes.model import load_model
    from data.catalogue import load_catalogue

    feeds = set(load_feeds().hold_reasons)
    assert set(load_catalogue().codelists["hold_reason"].codes) == feeds
    members = {m.code for m in load_model().dimensions["hold_reason"].members}
    assert members == feeds | {"none"}


def _broken(tmp_path, change) -> FeedsError:
    raw = yaml.safe_load(FEEDS_PATH.read_text())
    change(raw)
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(raw))
    load_feeds.cache_clear()
    try:
        with pytest.raises(FeedsError) as caught:
            load_feeds(path)
    finally:
        load_feeds.cache_clear()
    return caught.value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["feeds"]["excise_vehicles"]["rules"][0].update(effect={"hold": "yacht"}),
            "hold 'yacht' is not declared",
        ),
        (lambda r: r["feeds"]["excise_vehicles"]["rules"][0].update(effect="delete"), "effect: deceased"),
        (
            lambda r: r["feeds"]["nadra_citizens"]["rules"][0]["when"][0].update(
                differs_from="member.salary"
            ),
            "differs_from",
        ),
        (
            lambda r: r["feeds"]["excise_vehicles"]["rules"][0]["when"][0].update({"in": ["plane"]}),
            "'plane'] are not codes of vehicle_class",
        ),
        (
            lambda r: r["feeds"]["ndma_areas"]["rules"][0].update(effect={"hold": "vehicle"}),
            "an area feed can only flag",
        ),
        (
            lambda r: r["feeds"]["fia_travel"]["fields"]["days_abroad"].update(type="duration"),
            "fia_travel field days_abroad",
        ),
        (lambda r: r["feeds"]["fia_travel"].update(identity=["passport"]), "identity names unknown fields"),
        (lambda r: r["feeds"]["fia_travel"]["rules"][0].update(applies_to="neighbours"), "applies_to"),
    ],
)
def test_a_mistake_in_feeds_yaml_is_named(tmp_path, change, message):
    assert message in str(_broken(tmp_path, change))


@pytest.mark.parametrize(
    ("spec", "raw", "value", "problem"),
    [
        ({"type": "string", "pattern": r"^\d{5}-?\d{7}-?\d$"}, "35202-1234567-1", "35202-1234567-1", None),
        ({"type": "string", "pattern": r"^\d{5}-?\d{7}-?\d$"}, "3520212345", None, "does not match"),
        ({"type": "date"}, "2026-02-30", None, "a date, YYYY-MM-DD"),
        ({"type": "date"}, dt.date(2026, 2, 1), dt.date(2026, 2, 1), None),
        ({"type": "integer", "min": 0, "max": 10}, "11", None, "between 0 and 10"),
        ({"type": "integer"}, "4.5", None, "a whole number"),
        ({"type": "number"}, "nan", None, "a number"),
        ({"type": "boolean"}, "Yes", True, None),
        ({"type": "boolean"}, "maybe", None, "true or false"),
        ({"type": "string", "required": True}, "  ", None, "required"),
        ({"type": "string", "geography": "district"}, "PK601", "PK601", None),
        ({"type": "string", "geography": "district"}, "PK601T01", None, "not a district code"),
    ],
)
def test_values_are_parsed_as_declared(spec, raw, value, problem):
    got, why = parse_value(spec, raw)
    assert got == value
    assert (why is None) if problem is None else (problem in why)


def test_rules_read_the_record_and_the_registry():
    feeds = load_feeds()
    travel = feeds["fia_travel"].rules[0]
    assert holds(travel, {"days_abroad": 400, "purpose": "work"}, {})
    assert not holds(travel, {"days_abroad": 400, "purpose": "religious"}, {})  # Hajj is no sign of means
    assert not holds(travel, {"days_abroad": 30, "purpose": "work"}, {})
    moved = feeds["nadra_citizens"].rules[1]
    assert holds(moved, {"district_code": "PK601"}, {"household.district_code": "PK602"})
    assert not holds(moved, {"district_code": "PK601"}, {"household.district_code": "PK601"})
    husband = {
        "member.is_beneficiary": False,
        "member.relation": "head",
        "household.is_beneficiary_household": True,
        "household.beneficiary_relations": "spouse",
    }
    son = {**husband, "member.relation": "son"}
    assert counts_for_household(travel, husband) and not counts_for_household(travel, son)
    # the beneficiary is the head's widowed mother: her son's job abroad is not her spouse's
    assert not counts_for_household(travel, {**husband, "household.beneficiary_relations": "parent"})
    # a female head beneficiary: her husband (the head's spouse) counts
    assert counts_for_household(
        travel, {**husband, "member.relation": "spouse", "household.beneficiary_relations": "head"}
    )
    vehicle = feeds["excise_vehicles"].rules[0]
    assert counts_for_household(vehicle, son)  # any member of a beneficiary household (plan 4.2)
    assert not counts_for_household(vehicle, {**son, "household.is_beneficiary_household": False})
