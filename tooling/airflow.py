"""``./lakehouse airflow``: the Airflow DAG (orchestration/airflow/) with its own Airflow.

Airflow and astronomer-cosmos live in a virtual environment of their own, ``.venv-airflow``,
created on first use from ``orchestration/airflow/requirements.lock`` (the versions of
``requirements.txt`` and all they need, see tooling/locks.py; with uv: seconds once its cache
is warm), so Airflow's hundreds of dependencies never constrain the pipeline's.
dbt still runs from the pipeline's venv: cosmos calls ``orchestration/airflow/dbt``, which
is ``./lakehouse dbt``.

Airflow's home (its SQLite metadata database, its logs) is ``LAKEHOUSE_DIR/airflow``: each
lakehouse has its own, like its metastore.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tooling import cluster
from tooling.dbt_runner import run_subprocess
from tooling.settings import REPO_ROOT, Settings

ORCHESTRATION = REPO_ROOT / "orchestration" / "airflow"
REQUIREMENTS = ORCHESTRATION / "requirements.txt"
LOCK = ORCHESTRATION / "requirements.lock"
DAGS = ORCHESTRATION / "dags"
DAG_ID = "clickstream_lakehouse"
VENV = Path(os.environ.get("LAKEHOUSE_AIRFLOW_VENV", REPO_ROOT / ".venv-airflow"))
PYTHON = os.environ.get("LAKEHOUSE_PYTHON", "python3.11")


class AirflowError(Exception):
    """Airflow could not be installed, or a command of it failed."""


def _stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes() + LOCK.read_bytes()).hexdigest()


def ensure_venv(say: Callable[[str], None]) -> Path:
    """The Airflow venv's bin/ folder, installing it first when the requirements changed."""
    stamp = VENV / ".lakehouse-requirements"
    if stamp.exists() and stamp.read_text() == _stamp():
        return VENV / "bin"
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        raise AirflowError(f"uv not found at {uv}: run ./lakehouse setup")
    say(f"airflow: installing {LOCK.relative_to(REPO_ROOT)} into {VENV} (once)...")
    log = VENV.with_name(VENV.name + "-install.log")
    with log.open("w") as out:
        for cmd in (
            [str(uv), "venv", "--quiet", "--allow-existing", "--python", PYTHON, str(VENV)],
            [str(uv), "pip", "install", "--python", str(VENV / "bin" / "python"),
             "-r", str(LOCK)],
        ):  # fmt: skip
            if subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT) != 0:
                tail = " | ".join(log.read_text().strip().splitlines()[-3:])
                raise AirflowError(f"installing Airflow failed (log: {log}): {tail}")
    stamp.write_text(_stamp())
    return VENV / "bin"


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment Airflow, the DAG and its tasks read."""
    home = settings.lakehouse_dir / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "LAKEHOUSE_ROOT": str(REPO_ROOT),
        "LAKEHOUSE_DIR": str(settings.lakehouse_dir),
        "LAKEHOUSE_JARS_DIR": str(settings.jars_dir),
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NO_COLOR": "1",
        # no usage reports: this machine reaches package registries only, and a pipeline's
        # scheduler has no business calling home
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
    }
    if "DBT_TARGET" not in os.environ:
        env.update(cluster.target_env(settings) or {"DBT_TARGET": "local"})
    # the tasks run ./lakehouse, which must not inherit this venv
    env.pop("VIRTUAL_ENV", None)
    return env


def prepare(settings: Settings, say: Callable[[str], None]) -> tuple[Path, dict[str, str]]:
    """The venv, the metadata database and dbt's manifest (cosmos renders the DAG from it)."""
    bin_dir = ensure_venv(say)
    env = airflow_env(settings)
    home = Path(env["AIRFLOW_HOME"])
    migrated = home / ".lakehouse-migrated"
    if not migrated.exists() or migrated.read_text() != _stamp():
        home.mkdir(parents=True, exist_ok=True)
        say(f"airflow: creating its metadata database in {home}...")
        done = subprocess.run(
            [str(bin_dir / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
            raise AirflowError(f"airflow db migrate failed: {tail}")
        migrated.write_text(_stamp())
    say("airflow: dbt parse (cosmos renders one task per model from dbt's manifest)...")
    if run_subprocess(settings, ["--quiet", "parse"], {"DBT_TARGET": env["DBT_TARGET"]}) != 0:
        raise AirflowError("dbt parse failed: run `./lakehouse dbt parse` to see why")
    return bin_dir, env


def cli(settings: Settings, args: list[str], say: Callable[[str], None]) -> int:
    """Any Airflow command (`standalone`, `dags list`, ...) in the lakehouse's Airflow."""
    bin_dir, env = prepare(settings, say)
    return subprocess.call([str(bin_dir / "airflow"), *args], env=env, cwd=REPO_ROOT)


def test_dag(
    settings: Settings,
    *,
    select: list[str],
    feeder_args: list[str],
    say: Callable[[str], None],
) -> dict[str, object]:
    """One run of the DAG with ``dag.test()`` (in-process, no scheduler): the feeder task,
    then the selected models' tasks. Returns the run's state and each task's state."""
    bin_dir, env = prepare(settings, say)
    env["LAKEHOUSE_DBT_SELECT"] = " ".join(select)
    env["LAKEHOUSE_FEEDER_ARGS"] = " ".join(feeder_args)
    out = settings.lakehouse_dir / "airflow" / "dag-test.json"
    out.unlink(missing_ok=True)
    log = settings.lakehouse_dir / "airflow" / "dag-test.log"
    say(f"airflow: dag.test() of {DAG_ID} (log: {log})...")
    with log.open("w") as sink:
        code = subprocess.call(
            [str(bin_dir / "python"), str(ORCHESTRATION / "dag_test.py"), DAG_ID, str(out)],
            env=env,
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    if not out.exists():
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-5:])
        raise AirflowError(f"dag.test() ended with {code} before reporting (log {log}): {tail}")
    result: dict[str, object] = json.loads(out.read_text())
    return result
