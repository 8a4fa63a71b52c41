"""``./lakehouse test``: the linters of .pre-commit-config.yaml, then pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tooling.settings import REPO_ROOT

BIN = Path(sys.executable).parent


def run_linters() -> int:
    """Every pre-commit hook over every tracked file; returns pre-commit's exit code."""
    if not (REPO_ROOT / ".git").exists():
        print("lakehouse: not a git checkout: the linters need one (skip with --no-lint)")
        return 1
    return subprocess.call(
        [str(BIN / "pre-commit"), "run", "--all-files", "--show-diff-on-failure", "--color=never"],
        cwd=REPO_ROOT,
        env=_with_venv_on_path(),
    )


# programs the tests drive besides what set-up installs, with how to install each
TOOLS = {"ab": "apt-get install apache2-utils"}  # Apache Bench: the collector's load test


def missing_tools() -> list[str]:
    """One line per program the suite needs that is not on PATH, with its install command."""
    return [f"{name} is missing: {how}" for name, how in TOOLS.items() if not shutil.which(name)]


def run_pytest(args: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=REPO_ROOT)


def _with_venv_on_path() -> dict[str, str]:
    """The hooks are `language: system`: they must find the venv's tools first."""
    import os

    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
