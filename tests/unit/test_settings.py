"""Where the tooling reads and writes (tooling/settings.py): paths or file:// URIs, bronze
under BRONZE_PATH when it is set, and a one-line error for a location it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streaming.spark import submit_env
from tooling.cli import app
from tooling.dbt_runner import dbt_env
from tooling.settings import SettingsError, load


def test_paths_and_file_uris(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_DIR", f"file://{tmp_path}/lake%20one")
    monkeypatch.delenv("BRONZE_PATH", raising=False)
    settings = load()
    assert settings.lakehouse_dir == tmp_path / "lake one"
    assert settings.bronze_table("web_events") == tmp_path / "lake one" / "bronze" / "web_events"
    assert "BRONZE_PATH" not in dbt_env(settings)  # dbt's macro takes LAKEHOUSE_DIR/bronze


def test_bronze_outside_the_lakehouse_is_where_every_writer_and_reader_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_DIR", str(tmp_path / "lake"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRONZE_PATH", "shared/bronze")  # relative: resolved once, here
    settings = load()
    assert settings.bronze_table("ide_events") == tmp_path / "shared" / "bronze" / "ide_events"
    assert settings.checkpoints_dir == tmp_path / "lake" / "checkpoints"
    # the feeder's child, dbt's profile and macros get the same, resolved path
    assert dbt_env(settings)["BRONZE_PATH"] == str(tmp_path / "shared" / "bronze")
    assert submit_env(settings)["BRONZE_PATH"] == str(tmp_path / "shared" / "bronze")


@pytest.mark.parametrize("value", ["s3a://bucket/lake", "hdfs://nn:8020/lake", "file://host/x"])
def test_a_location_the_tooling_cannot_use_is_one_line_before_any_command(value, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_DIR", value)
    with pytest.raises(SettingsError, match="only local paths and file:// URIs"):
        load()
    result = CliRunner().invoke(app, ["kafka", "status"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and f"LAKEHOUSE_DIR={value}" in said, said
    assert not Path("s3a:").exists()
