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
