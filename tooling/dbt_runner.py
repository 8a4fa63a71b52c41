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
    """Environment variables dbt and profiles.yml read. Raises DbtError for an IP salt that
    Spark could not substitute into SQL text (see ``check_ip_salt``)."""
    check_ip_salt(os.environ.get("PRIVACY_IP_SALT", ""))
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
        # bronze outside LAKEHOUSE_DIR, resolved as the feeder resolves it
        **({"BRONZE_PATH": str(settings.bronze_path)} if settings.bronze_path else {}),
    }


def check_ip_salt(salt: str) -> None:
    """PRIVACY_IP_SALT reaches the SQL as a Spark setting substituted into its text
    (macros/privacy/anonymize_ip.sql), inside a string literal: a quote, a backslash or a
    dollar sign in it would change the statement or the substitution."""
    if any(c in salt for c in "'\\$"):
        raise DbtError(
            "PRIVACY_IP_SALT may not hold a quote ('), a backslash or a dollar sign: choose another"
        )


def apply_env(settings: Settings) -> None:
    for key, value in dbt_env(settings).items():
        os.environ.setdefault(key, value)


def run_subprocess(
    settings: Settings,
    args: list[str],
    extra_env: dict[str, str] | None = None,
    lock_fd: int | None = None,
) -> int:
    """``dbt ARGS`` in a child process (with ``extra_env`` too); returns its exit code. With
    ``lock_fd`` (``tooling.lock.exclusive``'s), the child holds the lakehouse's lock too."""
    env = {**os.environ, **dbt_env(settings), **(extra_env or {})}
    dbt = Path(sys.executable).with_name("dbt")
    keep = () if lock_fd is None else (lock_fd,)
    return subprocess.call([str(dbt), *args], env=env, cwd=REPO_ROOT, pass_fds=keep)


# dbt's commands that write tables (or run operations that may): they take the lock
WRITES = frozenset({"build", "clone", "retry", "run", "run-operation", "seed", "snapshot"})


def writes(args: list[str]) -> bool:
    """Whether ``dbt ARGS`` may write: its command is one of WRITES. The command is the first
    argument that is neither a global option nor the value of one (dbt's own parser says
    which global options take a value)."""
    import click
    from dbt.cli.main import cli

    valued = {
        name
        for p in cli.params
        if isinstance(p, click.Option) and not p.is_flag and not p.count
        for name in (*p.opts, *p.secondary_opts)
    }
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            return arg in WRITES
        if arg in valued:
            next(rest, None)  # its value
    return False


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
