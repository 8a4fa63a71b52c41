"""The ./lakehouse command line: its help lists every command, and bad options fail clearly."""

from __future__ import annotations

from typer.testing import CliRunner

from tooling.cli import app

runner = CliRunner()


def _commands() -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    return names + [g.name or "" for g in app.registered_groups]


def test_help_lists_every_command_setup_included():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert "setup" in listed
    assert set(_commands()) <= listed, set(_commands()) - listed


def test_an_unknown_kind_is_a_one_line_error_and_exit_2():
    result = runner.invoke(app, ["produce", "--kind", "nope"])
    assert result.exit_code == 2
    assert "--kind must be web, ide or all" in result.output
