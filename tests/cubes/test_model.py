"""Cube files are validated at load: unknown keys, dangling references and unsafe measures fail fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cubes.model import CUBES_DIR, TIERS, CubeError, load_model

NOT_PUBLIC = {"integration"}


def test_shipped_cubes_load_with_descriptions_everywhere():
    model = load_model()
    assert {
        "households",
        "persons",
        "beneficiaries",
        "education_cct",
        "disability",
        "kafaalat_payments",
    } <= set(model.cubes)
    for cube in model.cubes.values():
        assert cube.description and cube.title
        for m in cube.measures.values():
            assert m.description and m.unit, (cube.name, m.name)
        for d in cube.dimensions:
            dim = model.dimensions[d]
            assert dim.description
            for member in dim.members or ():
                assert member.label and member.description, (d, member.code)
        # every cube serves business users and MIS; the public gets all but the integration cube, whose
        # holds and flags are about individual households' circumstances
        expected = set(TIERS) - ({"public"} if cube.name in NOT_PUBLIC else set())
        assert set(cube.tiers) == expected, cube.name
        if "public" in cube.tiers:
            assert cube.tiers["public"].lowest_geography == "district"
        assert cube.tiers["business"].lowest_geography == "tehsil"
        assert cube.tiers["mis"].lowest_geography == "union_council"


def test_pmt_bands_follow_the_rules_file():
    from data.rules import load_rules

    bands = [b["code"] for b in load_rules()["pmt"]["bands"]]
    assert load_model().dimensions["pmt_band"].member_codes() == bands


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "cubes"
    d.mkdir()
    for f in CUBES_DIR.glob("*.yaml"):
        shutil.copy(f, d / f.name)
    shutil.copy(CUBES_DIR / "ptable.csv", d / "ptable.csv")
    return d


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("households.yaml", lambda c: c.update(colour="red"), r"households.yaml: unknown keys \['colour'\]"),
        (
            "households.yaml",
            lambda c: c["dimensions"].append("shoe_size"),
            "dimension 'shoe_size' is not defined",
        ),
        (
            "persons.yaml",
            lambda c: c["measures"]["persons"].pop("description"),
            "measure persons: missing description",
        ),
        (
            "persons.yaml",
            lambda c: c["measures"].update(
                cnics={"type": "count", "filter": "cnic IS NOT NULL", "description": "x", "unit": "x"}
            ),
            "'cnic' is secret",
        ),
        (
            "households.yaml",
            lambda c: c["measures"].update(
                keys={"type": "sum", "column": "record_key", "description": "x", "unit": "x"}
            ),
            "'record_key' is internal",
        ),
        (
            "households.yaml",
            lambda c: c["measures"]["min_pmt_score"].update(tiers=["business", "mis"]),
            "min and max reveal single records",
        ),
        (
            "households.yaml",
            lambda c: c["measures"]["share_beneficiary"].update(numerator="mean_pmt_score"),
            "is not a count measure",
        ),
        (
            "households.yaml",
            lambda c: c["tiers"]["public"].update(lowest_geography="village"),
            "unknown geography level",
        ),
        (
            "persons.yaml",
            lambda c: c["forbidden_combinations"][0]["dimensions"].append("toilet"),
            "'toilet' is not a dimension of this cube",
        ),
        (
            "households.yaml",
            lambda c: c["dimensions"].append("gender"),
            "person dimension 'gender' cannot be used",
        ),
        (
            "dimensions.yaml",
            lambda c: c["dimensions"]["toilet"]["members"]["flush"].pop("description"),
            "member flush: missing description",
        ),
        (
            "households.yaml",
            lambda c: c["measures"]["households"].update(filter="has_car"),
            "first count measure must count every record",
        ),
    ],
)
def test_malformed_cube_files_are_rejected_with_the_place_named(tmp_path, file, change, message):
    d = _copy(tmp_path)
    _edit(d / file, change)
    with pytest.raises(CubeError, match=message):
        load_model(d)
