"""Run and time the pipeline's own commands (spark-submit, dbt) as a user would, with their
output kept in a log file per step so the progress display stays readable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streaming.spark import FEEDER, submit_command, submit_env
from tooling.dbt_runner import dbt_env
from tooling.settings import REPO_ROOT, Settings

JOBS = Path(__file__).resolve().parent / "jobs"
LANDED = re.compile(
    r"^(?:feeder|job): (\S+): (\d+) rows landed in (\d+) batch\(es\), ([\d.]+) s", re.M
)


class BenchError(Exception):
    """A step of the benchmark failed; the message names it and where its log is."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    output: str


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_timed(cmd: list[str], env: dict[str, str], log: Path, what: str) -> Timed:
    """Run ``cmd``, wall-clock it, keep its output in ``log``; raise BenchError on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    proc = subprocess.run(
        cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.monotonic() - began
    log.write_text(f"$ {' '.join(cmd)}\n\n{proc.stdout}")
    if proc.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {proc.returncode}); log: {log}\n{_tail(proc.stdout)}"
        )
    return Timed(seconds, proc.stdout)


def spark_job(
    settings: Settings,
    script: Path,
    args: list[str],
    log: Path,
    what: str,
    master: str | None = None,
) -> Timed:
    cmd = submit_command(settings, script, args, master)
    return run_timed(cmd, submit_env(settings), log, what)


@dataclass(frozen=True)
class Landed:
    rows: int
    batches: int
    seconds: float  # inside the job: from the queries' start until they stopped
    wall_seconds: float  # the whole spark-submit, JVM start included


def feed(
    settings: Settings, args: list[str], log: Path, what: str, master: str | None = None
) -> dict[str, Landed]:
    """Run the feeder (on ``master`` when given); returns what each query reported it landed."""
    done = spark_job(settings, FEEDER, args, log, what, master)
    landed = landed_lines(done)
    if not landed:
        raise BenchError(f"{what}: the feeder reported nothing landed; log: {log}")
    return landed


def landed_lines(done: Timed) -> dict[str, Landed]:
    return {
        name: Landed(int(rows), int(batches), float(secs), done.seconds)
        for name, rows, batches, secs in LANDED.findall(done.output)
    }


def dbt(
    settings: Settings, args: list[str], log: Path, what: str, env: dict[str, str] | None = None
) -> Timed:
    """``dbt ARGS`` in a child process, as `./lakehouse dbt` runs it: JVM start included
    (``env``: more variables, e.g. DBT_TARGET=cluster)."""
    env = {**submit_env(settings), **dbt_env(settings), **(env or {})}
    return run_timed([str(Path(sys.executable).with_name("dbt")), *args], env, log, what)


def model_seconds(settings: Settings) -> dict[str, float]:
    """Seconds each model took in the last dbt invocation (from dbt's run_results.json)."""
    path = Path(dbt_env(settings)["DBT_TARGET_PATH"]) / "run_results.json"
    results = json.loads(path.read_text())["results"]
    return {
        r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"])
        for r in results
        if r["unique_id"].startswith("model.")
    }


def _dbt_log(settings: Settings) -> Path:
    return Path(dbt_env(settings)["DBT_LOG_PATH"]) / "dbt.log"


def dbt_log_size(settings: Settings) -> int:
    """Where dbt's debug log ends now (dbt appends to it run after run)."""
    log = _dbt_log(settings)
    return log.stat().st_size if log.exists() else 0


def dbt_log_since(settings: Settings, offset: int) -> list:
    """The statements dbt logged after ``offset`` (see bench/dbt_log.py)."""
    from bench import dbt_log

    with _dbt_log(settings).open("rb") as f:
        f.seek(offset)
        return dbt_log.statements(f.read().decode("utf-8", "replace"))
