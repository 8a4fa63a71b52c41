"""Facts the Python and dbt sides both need are defined once; where a copy cannot be avoided
(a YAML profile cannot import Python), these tests fail as soon as the copies drift."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from streaming import bronze, producer, spark
from streaming.collector import app as collector
from tooling.dbt_runner import dbt_env
from tooling.settings import REPO_ROOT, Settings

DBT_TEXT_FILES = [
    REPO_ROOT / "profiles.yml",
    REPO_ROOT / "dbt_project.yml",
    *sorted((REPO_ROOT / "macros").rglob("*.sql")),
    *sorted((REPO_ROOT / "models").rglob("*.sql")),
]
ENV_VAR = re.compile(r"env_var\(\s*'([A-Z_]+)'\s*(,)?")


def test_every_topic_has_its_event_time_field_and_staging_model():
    assert set(bronze.EVENT_TIME_FIELD) == set(bronze.TOPICS)
    for topic in bronze.TOPICS:
        assert (REPO_ROOT / "models" / "staging" / "bronze" / f"stg_bronze__{topic}.sql").exists()


def test_producer_and_collector_write_declared_topics():
    assert set(producer.TOPICS.values()) <= set(bronze.TOPICS)
    assert collector.TOPIC in bronze.TOPICS


def test_every_bronze_table_declares_the_same_typed_columns():
    tables = bronze.declared_source()["tables"]
    shapes = {t["name"]: [(c["name"], c.get("data_type")) for c in t["columns"]] for t in tables}
    assert all(shape == list(bronze.BRONZE_SCHEMA) for shape in shapes.values()), shapes
    assert all(data_type for _, data_type in bronze.BRONZE_SCHEMA)
    assert bronze.PARTITION_COLUMN in dict(bronze.BRONZE_SCHEMA)


def test_lakehouse_dir_has_one_default_in_python():
    """dbt reads LAKEHOUSE_DIR and friends without a fallback of its own, and the runner sets
    every variable dbt requires."""
    required = set()
    for path in DBT_TEXT_FILES:
        for name, has_default in ENV_VAR.findall(path.read_text(encoding="utf-8")):
            if name.startswith("LAKEHOUSE_"):
                assert not has_default, f"{path.name}: env_var('{name}') has a default of its own"
            if not has_default:
                required.add(name)
    settings = Settings(Path("/data/lake"), Path("/data/jars"), "broker:9092")
    assert required <= set(dbt_env(settings)), required - set(dbt_env(settings))


def _rendered_local_profile(env: dict[str, str]) -> dict[str, str]:
    """profiles.yml's local target with env_var() answered from ``env``, as dbt renders it."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(name)
        return default

    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jinja.filters["as_number"] = lambda value: value
    profile = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    params = profile["lakehouse"]["outputs"]["local"]["server_side_parameters"]
    return {k: jinja.from_string(str(v)).render(env_var=env_var) for k, v in params.items()}


# The settings both sessions must agree on; the profile's class path and the feeder's extras
# (streaming progress, UI, schema merge) differ by design.
SHARED_SPARK_SETTINGS = {
    "spark.master",
    "spark.driver.memory",
    "spark.sql.shuffle.partitions",
    "spark.default.parallelism",
    "spark.sql.extensions",
    "spark.sql.catalog.spark_catalog",
    "spark.sql.catalogImplementation",
    "spark.sql.session.timeZone",
    "spark.sql.warehouse.dir",
    "spark.local.dir",
    "spark.hadoop.javax.jdo.option.ConnectionURL",
    "spark.driver.extraJavaOptions",
    "spark.ui.showConsoleProgress",
    "spark.databricks.delta.snapshotPartitions",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism",
}


OVERRIDES = [{}, {"SPARK_DRIVER_MEMORY": "6g", "SPARK_MASTER": "local[4]"}]


@pytest.mark.parametrize("overrides", OVERRIDES)
def test_dbt_local_profile_and_spark_module_set_the_same_spark(tmp_path, monkeypatch, overrides):
    jars = tmp_path / "jars"
    (jars / "spark").mkdir(parents=True)
    (jars / "spark" / "delta-spark_2.13-4.4.0.jar").touch()
    settings = Settings(tmp_path / "lake", jars, "broker:9092")
    for name in ("SPARK_MASTER", "SPARK_DRIVER_MEMORY", "SPARK_SHUFFLE_PARTITIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    ours = spark.session_conf(settings, with_metastore=True)
    dbts = _rendered_local_profile({**dbt_env(settings), **overrides})
    assert set(ours) & set(dbts) >= SHARED_SPARK_SETTINGS
    assert {k: dbts[k] for k in SHARED_SPARK_SETTINGS} == {
        k: ours[k] for k in SHARED_SPARK_SETTINGS
    }
