"""Shared fixtures: one lakehouse directory, one SparkSession (which dbt reuses in-process),
one real Kafka broker, all for the whole test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming import kafka_local
from tooling.processes import free_port_pair
from tooling.settings import REPO_ROOT, Settings


def pytest_configure(config) -> None:
    # --basetemp lives under .lakehouse/, which a fresh clone does not have yet
    basetemp = config.option.basetemp
    if basetemp:
        Path(basetemp).parent.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """A lakehouse of its own under .lakehouse/pytest (never /tmp, never the demo's)."""
    root = Path(os.environ.get("LAKEHOUSE_TEST_DIR", REPO_ROOT / ".lakehouse" / "pytest"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    port = free_port_pair()
    s = Settings(
        lakehouse_dir=root.resolve(),
        jars_dir=Path(os.environ.get("LAKEHOUSE_JARS_DIR", REPO_ROOT / ".jars")).resolve(),
        kafka_bootstrap=f"127.0.0.1:{port}",
    )
    os.environ["LAKEHOUSE_DIR"] = str(s.lakehouse_dir)
    os.environ["KAFKA_BOOTSTRAP"] = s.kafka_bootstrap
    os.environ.pop("KAFKA_CONTROLLER_PORT", None)
    return s


@pytest.fixture(scope="session")
def spark(settings: Settings):
    """The one SparkSession of the test run; dbt's session target picks it up."""
    from streaming.spark import build_session
    from tooling.dbt_runner import apply_env

    apply_env(settings)
    session = build_session(settings, "lakehouse-tests", with_metastore=True)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def kafka(settings: Settings) -> Iterator[str]:
    """A real Kafka 4 broker (KRaft) for the session; stopped by its pid afterwards."""
    kafka_local.start(settings)
    try:
        yield settings.kafka_bootstrap
    finally:
        kafka_local.stop(settings)


@pytest.fixture
def empty_topics(kafka: str) -> str:
    """The session's broker with the pipeline's topics deleted and created again, empty
    (another test may have produced into them)."""
    from streaming.bronze import TOPICS

    kafka_local.delete_topics(kafka, list(TOPICS))
    kafka_local.create_topics(kafka, list(TOPICS), partitions=2)
    return kafka


@pytest.fixture
def empty_lakehouse(spark, settings: Settings):
    """The session's Spark, after forgetting every table and every byte the pipeline wrote
    (the test broker keeps running)."""
    for schema in ("bronze", "silver", "gold"):
        spark.sql(f"drop database if exists {schema} cascade")
    for d in (settings.bronze_dir, settings.checkpoints_dir, settings.warehouse_dir):
        shutil.rmtree(d, ignore_errors=True)
    # Delta caches each path's log in the JVM: a table recreated at the same path would be
    # seen at its old version (its history replaced behind the cache's back).
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    # Cached rows and temporary views (dbt's __dbt_tmp views) of the last run would name
    # tables and versions that no longer exist.
    spark.catalog.clearCache()
    for table in spark.catalog.listTables():
        if table.isTemporary:
            spark.catalog.dropTempView(table.name)
    return spark
