"""The Spark configuration shared by the feeder, the tests and the demo.

Sized for a small machine (``local[2]``, a handful of shuffle partitions, a driver of a few
GiB); every figure can be overridden with an environment variable. dbt's ``local`` target in
``profiles.yml`` sets the same options for its embedded session.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tooling.settings import Settings

LOG4J_CONF = Path(__file__).resolve().parent / "conf" / "log4j2.properties"

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def jar_paths(settings: Settings) -> list[str]:
    jars = sorted(str(p) for p in settings.spark_jars.glob("*.jar"))
    if not any("delta-spark" in j for j in jars):
        raise RuntimeError(f"Delta jars missing in {settings.spark_jars}: run `./lakehouse setup`")
    return jars


def session_conf(
    settings: Settings, *, with_metastore: bool, master: str | None = None
) -> dict[str, str]:
    """Spark options for a session; ``with_metastore`` turns on the Derby catalog.

    Only one JVM may hold the embedded Derby metastore, so the feeder runs without one and
    writes its Delta tables by path; dbt registers them in the catalog. ``master`` (default
    SPARK_MASTER, else ``local[2]``) may name a cluster: a standalone master
    (``spark://HOST:PORT``) gives each application SPARK_APP_CORES cores (default 1, so that
    the Thrift server and a feeder share a small worker), and executors SPARK_EXECUTOR_MEMORY.
    """
    master = master or os.environ.get("SPARK_MASTER", "local[2]")
    tz = "-Duser.timezone=UTC"
    derby = f"-Dderby.system.home={settings.metastore_dir}"
    log4j = f"-Dlog4j2.configurationFile={LOG4J_CONF}"
    conf = {
        "spark.master": master,
        "spark.driver.memory": os.environ.get("SPARK_DRIVER_MEMORY", "3g"),
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.default.parallelism": "2",
        "spark.jars": ",".join(jar_paths(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": f"{tz} {derby} {log4j}",
        "spark.local.dir": str(settings.lakehouse_dir / "tmp"),
        "spark.executor.extraJavaOptions": tz,
        "spark.sql.warehouse.dir": str(settings.warehouse_dir),
        # Python workers (the enrichment UDF) must use this environment's interpreter
        "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "spark.ui.showConsoleProgress": "false",
        # The feeder counts what it landed from each query's progress list: keep all of it.
        "spark.sql.streaming.numRecentProgressUpdates": "10000",
        "spark.ui.enabled": os.environ.get("SPARK_UI_ENABLED", "false"),
        # Small tables, two cores: Delta's default of 50 tasks per log replay is pure overhead.
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
    }
    if not master.startswith("local"):
        conf["spark.executor.memory"] = os.environ.get("SPARK_EXECUTOR_MEMORY", "2g")
    if master.startswith("spark://"):
        conf["spark.cores.max"] = os.environ.get("SPARK_APP_CORES", "1")
    if with_metastore:
        url = f"jdbc:derby:;databaseName={settings.metastore_dir / 'metastore_db'};create=true"
        conf["spark.sql.catalogImplementation"] = "hive"
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = url
    else:
        conf["spark.sql.catalogImplementation"] = "in-memory"
    return conf


def submit_command(
    settings: Settings, script: Path, args: list[str], master: str | None = None
) -> list[str]:
    """``spark-submit`` of a Python script with this module's configuration (no metastore)."""
    conf = session_conf(settings, with_metastore=False, master=master)
    cmd = [
        str(Path(sys.executable).with_name("spark-submit")),
        "--master",
        conf.pop("spark.master"),
        "--driver-memory",
        conf.pop("spark.driver.memory"),
    ]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, str(script), *args]


def submit_env(settings: Settings) -> dict[str, str]:
    """The environment a submitted script needs: this interpreter, its venv's bin, the paths."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "LAKEHOUSE_DIR": str(settings.lakehouse_dir),
        "LAKEHOUSE_JARS_DIR": str(settings.jars_dir),
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        **({"BRONZE_PATH": str(settings.bronze_path)} if settings.bronze_path else {}),
    }


def build_session(
    settings: Settings,
    app_name: str,
    *,
    with_metastore: bool,
    extra: dict[str, str] | None = None,
) -> SparkSession:
    """A session with this module's settings (and ``extra``'s, which win)."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    settings.metastore_dir.mkdir(parents=True, exist_ok=True)
    # pyspark takes its workers' interpreter from the environment, not from the conf
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    # Under spark-submit (its JVM is up and passed us its gateway), what it was given
    # (--master, --jars, --conf) wins and this module's settings only fill the gaps.
    # Elsewhere nothing is given yet: the JVM starts with these settings (driver memory too).
    given: set[str] = set()
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        SparkContext._ensure_initialized()
        given = {key for key, _ in SparkConf().getAll()}
    conf = {**session_conf(settings, with_metastore=with_metastore), **(extra or {})}
    for key, value in conf.items():
        if key not in given:
            builder = builder.config(key, value)
    if with_metastore:
        builder = builder.enableHiveSupport()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
    return spark


FEEDER = Path(__file__).resolve().parent / "feeder.py"


def run_feeder(settings: Settings, feeder_args: list[str], master: str | None = None) -> int:
    """``spark-submit streaming/feeder.py FEEDER_ARGS`` with this module's configuration
    (on ``master`` when given); returns the feeder's exit code."""
    import subprocess

    return subprocess.call(
        submit_command(settings, FEEDER, feeder_args, master),
        env=submit_env(settings),
        cwd=FEEDER.parents[1],
    )
