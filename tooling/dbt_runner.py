"""Run dbt for this project: as a subprocess (one JVM per call) or in-process with dbtRunner.

In-process runs share one embedded SparkSession between calls, so a second ``dbt build`` in
the same Python process costs seconds instead of a JVM start; the demo and the tests use it.
The environment is the same either way: profiles from the repository, dbt's target/ and logs
under ``LAKEHOUSE_DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tooling.settings import REPO_ROOT, Settings

# `dbt build` arguments that leave the data tests and unit tests out: seeds and models only
NO_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]


class DbtError(Exception):
    """A dbt command failed."""


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment variables dbt and profiles.yml read."""
    return {
        "LAKEHOUSE_ROOT": str(REPO_ROOT),
        "LAKEHOUSE_DIR": str(settings.lakehouse_dir),
        "LAKEHOUSE_JARS_DIR": str(settings.jars_dir),
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_PROJECT_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(settings.lakehouse_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.lakehouse_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }


def apply_env(settings: Settings) -> None:
    for key, value in dbt_env(settings).items():
        os.environ.setdefault(key, value)


def run_subprocess(
    settings: Settings, args: list[str], extra_env: dict[str, str] | None = None
) -> int:
    """``dbt ARGS`` in a child process (with ``extra_env`` too); returns its exit code."""
    env = {**os.environ, **dbt_env(settings), **(extra_env or {})}
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.call([str(dbt), *args], env=env, cwd=REPO_ROOT)


def run_in_process(settings: Settings, args: list[str], *, quiet: bool = False) -> object:
    """``dbt ARGS`` through dbtRunner in this process; raises DbtError when it fails."""
    from dbt.cli.main import dbtRunner

    apply_env(settings)
    full = [*args]
    if quiet:
        full = ["--quiet", *full]
    if "--project-dir" not in full:
        full += ["--project-dir", str(REPO_ROOT)]
    if "--profiles-dir" not in full:
        full += ["--profiles-dir", str(REPO_ROOT)]
    result = dbtRunner().invoke(full)
    if not result.success:
        detail = result.exception or failures(result.result)
        raise DbtError(f"dbt {' '.join(args)} failed: {detail}")
    return result.result


def failures(result: object) -> str:
    """The failed nodes of a dbt result and their messages, on one line."""
    rows = getattr(result, "results", None) or []
    failed = [
        f"{r.node.name}: {r.message}"
        for r in rows
        if getattr(r, "status", None) in ("error", "fail")
    ]
    return "; ".join(failed) or "see the dbt log"
