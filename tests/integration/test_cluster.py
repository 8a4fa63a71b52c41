"""The same project on a real Spark standalone cluster: master, worker and Thrift server
started by `./lakehouse cluster`, the feeder submitted to the master, dbt over Thrift. Every
silver and gold table must equal the local target's on the same input."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from rich.console import Console

from streaming import producer
from streaming.bronze import TOPICS
from streaming.spark import run_feeder
from tests.integration import topic
from tooling import cluster
from tooling.dbt_runner import NO_TESTS, run_in_process, run_subprocess
from tooling.demo import default_start, post_game_events
from tooling.fingerprint import fingerprint
from tooling.processes import alive
from tooling.settings import Settings
from tooling.tables import ThriftTables

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _files_inbox(root) -> tuple[list[str], int]:
    """An IDE events file in the inbox: the feeder's arguments to read it, and its events."""
    day = root / "date=2024-03-01"
    day.mkdir(parents=True)
    events = producer.build_events("ide", 60, 9, default_start(), timedelta(hours=2), 0, 0)
    (day / "part-0.json").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return ["--source", "files", "--topics", "ide_events", "--input-path", str(root)], len(events)


def test_cluster_builds_what_the_local_target_builds(
    spark, settings, kafka, empty_lakehouse, monkeypatch
):
    """The feeder lands bronze on the cluster (Kafka and files) and dbt builds it over
    Thrift; the local target then builds a copy of the very same bronze in this session, and
    every silver and gold table must be equal."""
    from streaming import kafka_local

    kafka_local.create_topics(kafka, list(TOPICS), partitions=2)
    plan = producer.Synthetic(count=300, seed=11, start=default_start(), span=timedelta(days=1))
    producer.produce_synthetic(kafka, ["web", "ide"], plan)
    post_game_events(settings, 60, 11, Console(stderr=True))
    files, filed = _files_inbox(settings.lakehouse_dir / "inbox")
    # what the topics hold (earlier tests' records too: the feeder reads from the start)
    in_kafka = {t: topic.count(kafka, t) for t in TOPICS}

    # the cluster: a lakehouse of its own (its Thrift server holds that one's metastore)
    lake = Settings(settings.lakehouse_dir / "cluster-lake", settings.jars_dir, kafka)
    for name in ("SPARK_MASTER_PORT", "SPARK_MASTER_WEBUI_PORT", "SPARK_WORKER_WEBUI_PORT"):
        monkeypatch.setenv(name, str(_free_port()))
    thrift_port = _free_port()
    monkeypatch.setenv("SPARK_THRIFT_PORT", str(thrift_port))
    c = cluster.start(lake)
    pids = cluster.status(lake)
    try:
        assert all(pid is not None for pid in pids.values()), pids
        assert run_feeder(lake, ["--available-now"], master=c.master_url) == 0
        assert run_feeder(lake, [*files, "--available-now"], master=c.master_url) == 0
        landed = {
            t: spark.read.format("delta").load(str(lake.bronze_table(t))).count() for t in TOPICS
        }
        assert landed == {**in_kafka, "ide_events": in_kafka["ide_events"] + filed}, landed
        monkeypatch.setenv("DBT_TARGET", "cluster")
        monkeypatch.setenv("SPARK_THRIFT_HOST", c.host)
        # the models over Thrift, then the sessions models' data tests through the server
        # (each test is a statement there: all of them would cost minutes)
        assert run_subprocess(lake, ["build", *NO_TESTS]) == 0
        assert run_subprocess(lake, ["test", "--select", "web_sessions", "ide_sessions"]) == 0
        # `./lakehouse dbt` finds the running cluster by itself; a second run finds nothing new
        monkeypatch.delenv("DBT_TARGET")
        monkeypatch.setenv("LAKEHOUSE_DIR", str(lake.lakehouse_dir))
        again = subprocess.run(
            [sys.executable, "-m", "tooling.cli", "dbt", "run"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode == 0, again.stdout[-2000:]
        assert "using the cluster target" in " ".join(again.stderr.split())  # rich wraps
        assert "SKIP (nothing new)" in again.stdout
        tables = ThriftTables(c.host, thrift_port)
        try:
            [(staged,)] = tables.rows("select count(*) from silver.stg_bronze__web_events")
        finally:
            tables.close()
        on_cluster = fingerprint(spark, lake.warehouse_dir)  # by path: no metastore needed
    finally:
        cluster.stop(lake)
    assert not any(alive(pid) for pid in pids.values() if pid), "every cluster process stopped"
    # read through the Thrift server while it holds the metastore: what staging holds
    rows = on_cluster["silver.stg_bronze__web_events"]["rows"]
    assert isinstance(rows, int) and staged == rows > 0

    # the local target: embedded Spark, this test session's metastore, the same bronze.
    # Models and seeds only: every data test runs over the whole project in test_pipeline.py
    shutil.copytree(lake.bronze_dir, settings.bronze_dir)
    run_in_process(settings, ["build", *NO_TESTS], quiet=True)
    local = fingerprint(spark, settings.warehouse_dir)
    assert local and set(local) == set(on_cluster)
    assert on_cluster == local


def test_cluster_start_reports_a_taken_port(settings, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        monkeypatch.setenv("SPARK_MASTER_PORT", str(port))
        lake = Settings(settings.lakehouse_dir / "cluster-busy", settings.jars_dir, "x:1")
        with pytest.raises(cluster.ClusterError, match=f"port 127.0.0.1:{port} .* is taken"):
            cluster.start(lake)
    assert not any(cluster.status(lake).values())
