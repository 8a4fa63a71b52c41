"""The lakehouse's lock (tooling/lock.py): one writer at a time, shared among an Airflow DAG
run's tasks, held by the child that writes even when the process that took it is killed, and
taken by `./lakehouse dbt` (commands that write) and `./lakehouse erase`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tooling import lock, processes
from tooling.cli import app
from tooling.dbt_runner import writes
from tooling.settings import Settings


def _lake(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "lake", tmp_path / "jars", "127.0.0.1:9")


def test_one_exclusive_holder_or_many_shared_ones(tmp_path):
    lake = _lake(tmp_path)
    first = r"held by pid \d+ \(the first writer\)"
    with lock.exclusive(lake, "the first writer"):
        with pytest.raises(lock.Busy, match=first), lock.exclusive(lake, "a second writer"):
            pass
        with pytest.raises(lock.Busy), lock.exclusive(lake, "a task", shared=True):
            pass
    with lock.exclusive(lake, "task 1", shared=True), lock.exclusive(lake, "task 2", shared=True):
        shared = pytest.raises(lock.Busy, match="held by shared holders")
        with shared, lock.exclusive(lake, "a writer"):
            pass
    with lock.exclusive(lake, "free again"):
        pass


def test_the_child_that_writes_holds_the_lock_after_its_parent_is_killed(tmp_path):
    """A parent takes the lock and starts a child with its descriptor, as `./lakehouse dbt`
    starts dbt; SIGKILL the parent: the lock stays taken until the child ends."""
    lake = _lake(tmp_path)
    parent = textwrap.dedent(
        f"""
        import subprocess, sys
        from pathlib import Path
        from tooling import lock, processes
        from tooling.settings import Settings
        lake = Settings(Path({str(lake.lakehouse_dir)!r}), Path("/j"), "127.0.0.1:9")
        with lock.exclusive(lake, "the parent") as fd:
            child = subprocess.Popen(["sleep", "4"], pass_fds=(fd,))
            print(child.pid, flush=True)
            child.wait()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        with pytest.raises(lock.Busy, match="the parent"), lock.exclusive(lake, "the test"):
            pass
        deadline = time.monotonic() + 15
        while processes.alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        with lock.exclusive(lake, "the test, after the child"):
            pass
    finally:
        if processes.alive(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--select", "x"], True),
        (["--log-level", "debug", "build"], True),
        (["run-operation", "erase_user"], True),
        (["seed"], True),
        (["ls", "--select", "run"], False),
        (["docs", "serve"], False),
        (["test"], False),
        (["--version"], False),
    ],
)
def test_the_dbt_commands_that_write(args, expected):
    assert writes(args) is expected


def test_dbt_and_erase_refuse_while_another_writer_holds_the_lock(tmp_path, monkeypatch):
    lake = _lake(tmp_path)
    monkeypatch.setenv("LAKEHOUSE_DIR", str(lake.lakehouse_dir))
    monkeypatch.delenv("DBT_TARGET", raising=False)
    runner = CliRunner()
    with lock.exclusive(lake, "lakehouse run, run 7"):
        for command in (["dbt", "run"], ["erase", "--user-id", "42"]):
            result = runner.invoke(app, command)
            said = " ".join(result.output.split())
            assert result.exit_code == 1, said
            assert "another writer runs" in said and "lakehouse run, run 7" in said, said
