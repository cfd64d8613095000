"""The `nser` command: the contract tests and outside checks rely on."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dashboard.cli import main


def test_warehouse_build_then_info_json(data_dir):
    runner = CliRunner()
    built = runner.invoke(main, ["warehouse", "build", "--households", "2000", "--seed", "3", "--quiet"])
    assert built.exit_code == 0, built.output
    info = runner.invoke(main, ["warehouse", "info", "--json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert {"path", "snapshot_id", "as_of", "households", "members"} <= set(data)
    assert data["households"] == 2000 and data["members"] > 10_000
    assert data["path"].startswith(str(data_dir))
    text = runner.invoke(main, ["warehouse", "info"])
    assert data["snapshot_id"] in text.stdout and "2,000" in text.stdout


def test_info_without_a_snapshot_says_what_to_do(data_dir):
    result = CliRunner().invoke(main, ["warehouse", "info", "--json"])
    assert result.exit_code != 0
    assert "nser warehouse build" in result.output


def test_bad_arguments_are_named(data_dir):
    runner = CliRunner()
    small = runner.invoke(main, ["warehouse", "build", "--households", "10"])
    assert small.exit_code != 0 and "--households" in small.output
    date = runner.invoke(main, ["warehouse", "build", "--as-of", "31/12/2025"])
    assert date.exit_code != 0 and "YYYY-MM-DD" in date.output


def test_cubes_list_json_describes_cubes_dimensions_measures_and_tiers():
    result = CliRunner().invoke(main, ["cubes", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    cubes = {c["name"]: c for c in data["cubes"]}
    assert {"households", "persons", "beneficiaries", "education_cct", "disability"} <= set(cubes)
    persons = cubes["persons"]
    assert persons["tiers"]["business"]["lowest_geography"] == "tehsil"
    gender = next(d for d in persons["dimensions"] if d["name"] == "gender")
    assert {m["code"] for m in gender["members"]} == {"male", "female", "transgender"}
    assert all(m["description"] and m["unit"] for m in persons["measures"])


def test_query_through_the_gateway_single_and_batch(cubes_store, monkeypatch, tmp_path):
    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    runner = CliRunner()
    q = {"cube": "households", "measures": ["households"], "dimensions": ["urban_rural"],
         "geography": {"level": "province"}}
    one = runner.invoke(main, ["query", "--tier", "public", json.dumps(q)])
    assert one.exit_code == 0, one.output
    answer = json.loads(one.stdout)
    assert answer["ok"] and answer["snapshot_id"] == cubes_store.current_id()
    assert {r["urban_rural"] for r in answer["rows"]} == {"urban", "rural"}
    batch = tmp_path / "queries.jsonl"
    refused = dict(q, geography={"level": "union_council"})
    batch.write_text(json.dumps(q) + "\n" + json.dumps(refused) + "\n")
    many = runner.invoke(main, ["query", "--tier", "business", "--batch", str(batch)])
    assert many.exit_code == 0, many.output
    lines = [json.loads(x) for x in many.stdout.splitlines()]
    assert [x["ok"] for x in lines] == [True, False]
    assert "too detailed" in lines[1]["reason"]
    scoped = runner.invoke(main, ["query", "--tier", "business", "--scope", "PK601",
                                  json.dumps(dict(q, geography={"level": "province"}))])
    assert scoped.exit_code == 2 and not json.loads(scoped.stdout)["ok"]


def test_query_needs_exactly_one_source():
    result = CliRunner().invoke(main, ["query", "--tier", "public"])
    assert result.exit_code != 0 and "QUERY_JSON" in result.output


def test_ptable_check_passes_on_the_shipped_table():
    result = CliRunner().invoke(main, ["cubes", "ptable", "--check"])
    assert result.exit_code == 0, result.output
