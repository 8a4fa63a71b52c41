"""The ./lakehouse command line: its help lists every command, and bad options fail clearly."""

from __future__ import annotations

from pathlib import Path

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


def test_dbt_refuses_while_the_warm_engine_holds_the_metastore(tmp_path, monkeypatch):
    """A process that looks like the warm engine (its command line holds tooling.engine) and
    whose pid is in the lakehouse's engine.pid: `dbt` says who holds the metastore, exit 1."""
    import subprocess
    import sys

    from tooling.engine import pid_file
    from tooling.settings import load

    monkeypatch.setenv("LAKEHOUSE_DIR", str(tmp_path))
    monkeypatch.delenv("DBT_TARGET", raising=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "tooling.engine"]
    )
    try:
        pid_file(load()).parent.mkdir(parents=True)
        pid_file(load()).write_text(str(holder.pid))
        result = runner.invoke(app, ["dbt", "debug"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"warm engine of `./lakehouse run` (pid {holder.pid})" in result.output


def test_test_refuses_without_a_program_the_suite_drives(monkeypatch):
    """`./lakehouse test` without Apache Bench (or any program in checks.TOOLS) stops before
    the linters with one line naming the program and its install command, exit 1."""
    from tooling import checks

    monkeypatch.setattr(checks, "TOOLS", {"no-such-program-x": "apt-get install x-utils"})
    result = runner.invoke(app, ["test", "--no-lint"])
    assert result.exit_code == 1
    assert "no-such-program-x is missing: apt-get install x-utils" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_an_ip_salt_sql_cannot_hold_is_a_one_line_error_before_any_command(monkeypatch):
    """The salt is substituted into SQL text as Spark parses it: a quote would change the
    statement, so every command refuses it first (and dbt's environment likewise)."""
    import pytest

    from tooling.dbt_runner import DbtError, dbt_env
    from tooling.settings import Settings

    monkeypatch.setenv("PRIVACY_IP_SALT", "a-long-enough-salt-with-a-'quote")
    result = runner.invoke(app, ["produce", "--kind", "web", "--count", "1"])
    assert result.exit_code == 1
    assert "PRIVACY_IP_SALT may not hold a quote" in " ".join(result.output.split())
    with pytest.raises(DbtError, match="PRIVACY_IP_SALT may not hold"):
        dbt_env(Settings(Path("/lake"), Path("/jars"), "broker:9092"))
    monkeypatch.setenv("PRIVACY_IP_SALT", "a-long-enough-salt-without-one")
    assert dbt_env(Settings(Path("/lake"), Path("/jars"), "broker:9092"))
