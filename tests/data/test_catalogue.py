"""The field catalogue and the rules are validated at load: mistakes fail fast with a clear message."""

from __future__ import annotations

import copy

import pytest
import yaml

from data.catalogue import CATALOGUE_PATH, CatalogueError, load_catalogue, parse_catalogue
from data.rules import RULES_PATH, RulesError, validate_rules


@pytest.fixture()
def raw() -> dict:
    with open(CATALOGUE_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_shipped_catalogue_loads_and_classifies_the_seed_table():
    cat = load_catalogue()
    secret = {(t, c) for t, c in cat.secret_columns()}
    # §6.3: CNICs, coordinates and sensitive questions are secret; record keys never leave the warehouse
    for col in ("cnic",):
        assert ("members", col) in secret
    for col in ("head_cnic", "latitude", "longitude", "receives_remittances", "income_band", "record_key"):
        assert ("households", col) in secret
    confidential = {
        c.name for c in cat.tables["households"].columns.values() if c.classification == "confidential"
    }
    assert {"pmt_score", "has_car", "address", "contact_number", "is_beneficiary_household"} <= confidential
    assert cat.column("members", "name").classification == "confidential"
    assert all(c.description for t in cat.tables.values() for c in t.columns.values())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda r: r["tables"]["households"]["columns"]["rooms"].update(colour="red"),
            r"households.rooms: unknown keys \['colour'\]",
        ),
        (
            lambda r: r["tables"]["households"]["columns"]["rooms"].pop("description"),
            "households.rooms: missing description",
        ),
        (
            lambda r: r["tables"]["households"]["columns"]["toilet"].update(codes="toilets"),
            "unknown code list 'toilets'",
        ),
        (
            lambda r: r["tables"]["members"]["columns"]["cnic"].update(aggregate=True),
            "secret and internal fields can never",
        ),
        (lambda r: r["tables"]["members"]["columns"]["age"].update(type="NUMBER"), "type 'NUMBER'"),
        (
            lambda r: r["tables"]["members"]["columns"]["household_id"].update(references="homes.id"),
            "references unknown column",
        ),
        (lambda r: r["codelists"]["gender"]["codes"].update(other=None), "code 'other' has no label"),
        (lambda r: r["tables"]["payments"].update(key="nothing"), "key 'nothing' is not a column"),
    ],
)
def test_malformed_catalogue_is_rejected_with_the_place_named(raw, mutate, message):
    broken = copy.deepcopy(raw)
    mutate(broken)
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(broken)


def test_rules_are_checked():
    with open(RULES_PATH, encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)
    validate_rules(copy.deepcopy(rules))
    bad = copy.deepcopy(rules)
    bad["pmt"]["bands"][1]["upper"] = 10
    with pytest.raises(RulesError, match="strictly rise"):
        validate_rules(bad)
    bad = copy.deepcopy(rules)
    bad["pmt"]["cutoffs"]["kafaalat"] = 132
    with pytest.raises(RulesError, match="outside the scale"):
        validate_rules(bad)
