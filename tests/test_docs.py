"""Documentation stays true: every CLI command is in the README, every cube piece is described."""

from __future__ import annotations

from pathlib import Path

import click

from dashboard.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "nser") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, path)
        else:
            out.append(path)
    return out


def test_every_cli_command_is_in_the_readme():
    missing = [c for c in _commands(main) if c not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_readme_has_exactly_two_setup_commands():
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = setup.split("```sh")[1:]
    assert len(blocks) == 2
    assert "nser run" in blocks[0] and "scripts/test.sh" in blocks[1]
