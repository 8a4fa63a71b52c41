"""The lakehouse as an Airflow DAG: the feeder lands Kafka in bronze, then astronomer-cosmos
renders the dbt project as one task per model (each `dbt build --select` of that model, its
tests included), in dbt's dependency order.

Run it with `./lakehouse airflow ...` (README: Scheduling with Airflow), which sets these
environment variables; any other Airflow needs them too:

  LAKEHOUSE_ROOT         this repository (its `lakehouse` script runs the feeder and dbt)
  LAKEHOUSE_DIR          the lakehouse's data (default LAKEHOUSE_ROOT/.lakehouse)
  DBT_TARGET             local (embedded Spark: one task at a time, the Derby metastore admits
                         one JVM) or cluster (the Thrift server: tasks run in parallel)
  LAKEHOUSE_SCHEDULE     a cron expression or "@hourly"-style preset (default: every 10 minutes
                         on the cluster target, every 30 on the local one, whose run of one
                         JVM per task takes about 10)
  LAKEHOUSE_FEEDER_ARGS  the feeder's arguments after --available-now (default: none, so Kafka
                         at KAFKA_BOOTSTRAP)
  LAKEHOUSE_DBT_SELECT   a dbt selection rendered instead of the whole project (space separated)
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

ROOT = Path(os.environ.get("LAKEHOUSE_ROOT", Path(__file__).resolve().parents[3]))
LAKEHOUSE_DIR = Path(os.environ.get("LAKEHOUSE_DIR", ROOT / ".lakehouse"))
TARGET = os.environ.get("DBT_TARGET", "local")
LAKEHOUSE = ROOT / "lakehouse"
# `./lakehouse dbt` gives dbt this project's environment (paths, jars); written by `dbt parse`
MANIFEST = LAKEHOUSE_DIR / "dbt" / "target" / "manifest.json"
SELECT = os.environ.get("LAKEHOUSE_DBT_SELECT", "").split()

with DAG(
    dag_id="clickstream_lakehouse",
    description="Kafka to bronze (the feeder), then every dbt model and its tests",
    schedule=os.environ.get(
        "LAKEHOUSE_SCHEDULE", "*/30 * * * *" if TARGET == "local" else "*/10 * * * *"
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,  # each run takes whatever arrived; missed intervals need no replay
    max_active_runs=1,  # incremental models advance one watermark at a time
    # the embedded metastore admits one JVM at a time; a Thrift server serves many
    max_active_tasks=1 if TARGET == "local" else 8,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["lakehouse"],
    doc_md=__doc__,
) as dag:
    feed = BashOperator(
        task_id="feed_bronze",
        doc_md="Kafka (or an inbox of files) to the bronze Delta tables, exactly once, then stop.",
        bash_command=shlex.join([str(LAKEHOUSE), "feed", "--available-now"])
        + " "
        + os.environ.get("LAKEHOUSE_FEEDER_ARGS", ""),
        cwd=str(ROOT),
    )
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=ROOT, manifest_path=MANIFEST, project_name="clickstream_lakehouse"
        ),
        profile_config=ProfileConfig(
            profile_name="lakehouse",
            target_name=TARGET,
            profiles_yml_filepath=ROOT / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(ROOT / "orchestration" / "airflow" / "dbt"),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=SELECT,
            test_behavior=TestBehavior.BUILD,  # a model and its tests in one `dbt build`
        ),
        operator_args={
            "install_deps": False,
            # a test of several models runs with the build of the last of them: with dbt's
            # default (eager), building the seed alone would run a gold test before gold exists
            "env": {"DBT_INDIRECT_SELECTION": "buildable"},
            "append_env": True,
        },
    )
    feed >> dbt
