"""The Airflow DAG (orchestration/airflow/): Airflow installed into a venv of its own on first
use, cosmos renders one task per dbt model and seed, and one `dag.test()` run lands the
inbox in bronze (the feeder task) and then builds the selected models in dependency order."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from streaming import producer
from tests.integration.inbox import write_json_lines
from tooling.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

EVENTS = 150
# a small selection keeps the test short (each task starts dbt and its JVM): the seed, the
# staging model and the intermediate model that reads both
SELECT = "+int_ide_events_resessionized"
EXPECTED = ["feed_bronze", "stg_bronze__ide_events", "int_ide_events_resessionized"]


def test_dag_renders_every_model_and_runs_with_dag_test(spark, settings):
    lake = Settings(settings.lakehouse_dir / "airflow-lake", settings.jars_dir, "127.0.0.1:9")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    events = producer.build_events("ide", EVENTS, 5, start, timedelta(hours=2), 0.0, 0.0)
    inbox = lake.lakehouse_dir / "inbox"
    write_json_lines(inbox, "ide_events", "part-0", events)

    env = {**os.environ, "LAKEHOUSE_DIR": str(lake.lakehouse_dir)}
    env.pop("DBT_TARGET", None)
    feeder = ["--source", "files", "--topics", "ide_events", "--format", "json"]
    feeder += ["--input-path", str(inbox / "{topic}")]
    done = subprocess.run(
        [sys.executable, "-m", "tooling.cli", "airflow", "test", "--select", SELECT, "--", *feeder],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = lake.lakehouse_dir / "airflow" / "dag-test.log"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + log.read_text()[-5000:]
    result = json.loads((lake.lakehouse_dir / "airflow" / "dag-test.json").read_text())

    # every model and seed of the project is a task of the DAG, after the feeder's
    manifest = json.loads((lake.lakehouse_dir / "dbt" / "target" / "manifest.json").read_text())
    nodes = {
        f"dbt.{n['name']}_{n['resource_type']}_build"
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed")
    }
    assert nodes and nodes <= set(result["tasks"]), sorted(nodes - set(result["tasks"]))
    assert "feed_bronze" in result["tasks"]
    assert result["max_active_tasks"] == 1, "the local target's metastore admits one JVM"

    # the selected run: every task succeeded, in dependency order
    assert result["state"] == "success", result
    assert set(result["task_states"].values()) == {"success"}, result["task_states"]
    # each on its first try (the DAG retries once, which would hide a first failure)
    assert set(result["task_tries"]) == set(result["task_states"]), result
    assert set(result["task_tries"].values()) == {1}, result["task_tries"]
    times = {
        task.removeprefix("dbt.").removesuffix("_model_build"): began_ended
        for task, began_ended in result["task_times"].items()
    }
    for before, after in itertools.pairwise(EXPECTED):
        assert times[before][1] <= times[after][0], f"{before} ended after {after} began: {times}"

    # what the tasks built: every event landed and staged; the batch table exists (empty: on a
    # first build the sessions models read staging whole, so there is no batch to hand on)
    warehouse = lake.warehouse_dir / "silver.db"
    staged = spark.read.format("delta").load(str(warehouse / "stg_bronze__ide_events"))
    assert staged.count() == EVENTS
    assert spark.read.format("delta").load(str(warehouse / "int_ide_events_resessionized")).columns
