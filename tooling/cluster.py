"""``./lakehouse cluster start|stop|status``: a real Spark standalone cluster on this machine.

A master (``org.apache.spark.deploy.master.Master``) and one worker
(``org.apache.spark.deploy.worker.Worker``), started with the pyspark wheel's ``spark-class``,
and a Spark Thrift server (``HiveThriftServer2``, whose jar ships in the wheel) submitted to
that master with the Delta jars and the Delta extension and catalog set at start. dbt's
``cluster`` target talks to the Thrift server; the feeder runs on the master with
``./lakehouse feed --master spark://HOST:PORT``.

The Thrift server holds the lakehouse's metastore (LAKEHOUSE_DIR/metastore, the same one the
local target uses) for as long as it runs: read tables through it meanwhile, not with another
embedded session. Logs, pid files and the worker's directory live under
LAKEHOUSE_DIR/cluster. Sizes fit 2 cores; every figure is an environment variable (README:
"On a Spark cluster").
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from streaming.spark import session_conf, submit_env
from tooling.processes import alive, port_open, port_taken, read_pid, spawn, stop_pid, tail
from tooling.settings import Settings

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


class ClusterError(Exception):
    """A cluster problem, phrased as what to do about it."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit():
        raise ClusterError(f"{name}={value!r} is not a whole number")
    return int(value)


@dataclass(frozen=True)
class ClusterLayout:
    root: Path
    host: str
    master_port: int
    master_ui_port: int
    worker_ui_port: int
    thrift_port: int
    worker_cores: int
    worker_memory: str
    # each application (the Thrift server, a feeder) takes at most this many cores, so that
    # two can run side by side on the one worker
    app_cores: int
    thrift_driver_memory: str

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.master_port}"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def pid_file(self, role: str) -> Path:
        return self.root / f"{role}.pid"

    def log(self, role: str) -> Path:
        return self.logs / f"{role}.log"


def layout(settings: Settings) -> ClusterLayout:
    host = os.environ.get("SPARK_CLUSTER_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::"):
        raise ClusterError(
            f"SPARK_CLUSTER_HOST={host}: name the address the others reach this machine at "
            "(the master's URL and the driver's address are made from it)"
        )
    return ClusterLayout(
        root=settings.lakehouse_dir / "cluster",
        host=host,
        master_port=_env_int("SPARK_MASTER_PORT", 7077),
        master_ui_port=_env_int("SPARK_MASTER_WEBUI_PORT", 8081),
        worker_ui_port=_env_int("SPARK_WORKER_WEBUI_PORT", 8082),
        thrift_port=_env_int("SPARK_THRIFT_PORT", 10000),
        worker_cores=_env_int("SPARK_WORKER_CORES", 2),
        worker_memory=os.environ.get("SPARK_WORKER_MEMORY", "6g"),
        app_cores=_env_int("SPARK_APP_CORES", 1),
        thrift_driver_memory=os.environ.get("SPARK_THRIFT_DRIVER_MEMORY", "2g"),
    )


ROLES = {"master": MASTER_CLASS.encode(), "worker": WORKER_CLASS.encode(), "thrift": b"HiveThrift"}


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def _daemon_env(settings: Settings, c: ClusterLayout) -> dict[str, str]:
    env = {
        **submit_env(settings),
        "SPARK_DAEMON_MEMORY": os.environ.get("SPARK_DAEMON_MEMORY", "512m"),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", c.host),
    }
    # the wheel's own Spark, never another install a SPARK_HOME may name
    env.pop("SPARK_HOME", None)
    return env


def application_conf(settings: Settings, c: ClusterLayout) -> dict[str, str]:
    """The Spark settings of an application on this cluster (the Thrift server, a feeder)."""
    # session_conf sizes a standalone master's applications (SPARK_EXECUTOR_MEMORY, ...)
    conf = session_conf(settings, with_metastore=True, master=c.master_url)
    conf.update(
        {
            "spark.cores.max": str(c.app_cores),
            "spark.executor.cores": str(c.app_cores),
            "spark.driver.host": c.host,
            "spark.driver.bindAddress": c.host,
        }
    )
    return conf


def thrift_command(settings: Settings, c: ClusterLayout) -> list[str]:
    conf = application_conf(settings, c)
    conf.pop("spark.driver.memory")
    # Queries run in the Thrift server's session threads, whose class loader does not see
    # what spark.jars adds: `delta` must be on the driver's own class path (spark.jars still
    # ships the jars to the executors).
    conf["spark.driver.extraClassPath"] = f"{settings.spark_jars}/*"
    cmd = [
        str(Path(sys.executable).with_name("spark-submit")),
        "--master",
        conf.pop("spark.master"),
        "--driver-memory",
        c.thrift_driver_memory,
        "--class",
        THRIFT_CLASS,
        "--name",
        "lakehouse-thrift-server",
    ]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    # (spark-submit gives HiveThriftServer2 its `spark-internal` resource itself)
    return [
        *cmd,
        "--hiveconf",
        f"hive.server2.thrift.port={c.thrift_port}",
        "--hiveconf",
        f"hive.server2.thrift.bind.host={c.host}",
    ]


def status(settings: Settings) -> dict[str, int | None]:
    """The pid of each role that runs (None for one that does not)."""
    c = layout(settings)
    return {role: read_pid(c.pid_file(role), marker) for role, marker in ROLES.items()}


def thrift_answers(host: str, port: int, timeout_s: float = 10.0) -> bool:
    """True when a query through the Thrift server returns."""
    if not port_open(host, port):
        return False
    from pyhive import hive

    try:
        conn = hive.connect(host=host, port=port, username="lakehouse")
        try:
            cursor = conn.cursor()
            cursor.execute("select 1")
            return bool(cursor.fetchall() == [(1,)])
        finally:
            conn.close()
    except Exception:
        return False


def _wait(what: str, ready: Callable[[], bool], pid: int, log: Path, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive(pid):
            raise ClusterError(f"the {what} exited at start-up: {tail(log)} (log: {log})")
        time.sleep(1.0)
    raise ClusterError(f"the {what} did not come up within {wait_s:.0f}s (log: {log})")


def _free(c: ClusterLayout, ports: dict[str, int]) -> None:
    for name, port in ports.items():
        if port_taken(c.host, port):
            raise ClusterError(
                f"port {c.host}:{port} ({name}) is taken: stop what listens there, or set "
                f"{name} to a free port"
            )


def _log_mentions(log: Path, text: str) -> bool:
    try:
        return text in log.read_text(errors="replace")
    except FileNotFoundError:
        return False


def start(settings: Settings, wait_s: float = 180.0) -> ClusterLayout:
    """Start master, worker and Thrift server (the ones not running yet); returns when the
    Thrift server answers a query."""
    c = layout(settings)
    running = status(settings)
    for d in (c.logs, c.work):
        d.mkdir(parents=True, exist_ok=True)
    env = _daemon_env(settings, c)
    spark_class = _spark_class()
    if running["master"] is None:
        _free(c, {"SPARK_MASTER_PORT": c.master_port, "SPARK_MASTER_WEBUI_PORT": c.master_ui_port})
        c.log("master").unlink(missing_ok=True)
        pid = spawn(
            [spark_class, MASTER_CLASS, "--host", c.host, "--port", str(c.master_port),
             "--webui-port", str(c.master_ui_port)],
            c.log("master"), c.pid_file("master"), env,
        )  # fmt: skip
        _wait("Spark master", lambda: port_open(c.host, c.master_port), pid, c.log("master"), 60)
    if running["worker"] is None:
        _free(c, {"SPARK_WORKER_WEBUI_PORT": c.worker_ui_port})
        c.log("worker").unlink(missing_ok=True)
        pid = spawn(
            [spark_class, WORKER_CLASS, "--host", c.host, "--cores", str(c.worker_cores),
             "--memory", c.worker_memory, "--work-dir", str(c.work),
             "--webui-port", str(c.worker_ui_port), c.master_url],
            c.log("worker"), c.pid_file("worker"), env,
        )  # fmt: skip
        try:
            _wait(
                "Spark worker (it never registered with the master)",
                lambda: _log_mentions(c.log("worker"), "Successfully registered with master"),
                pid,
                c.log("worker"),
                60,
            )
        except ClusterError:
            stop_pid(pid)
            raise
    if running["thrift"] is None:
        _free(c, {"SPARK_THRIFT_PORT": c.thrift_port})
        settings.metastore_dir.mkdir(parents=True, exist_ok=True)
        c.log("thrift").unlink(missing_ok=True)
        pid = spawn(thrift_command(settings, c), c.log("thrift"), c.pid_file("thrift"), env)
        try:
            _wait(
                "Thrift server",
                lambda: thrift_answers(c.host, c.thrift_port),
                pid,
                c.log("thrift"),
                wait_s,
            )
        except ClusterError as exc:
            stop_pid(pid)
            hint = ""
            if _log_mentions(c.log("thrift"), "Another instance of Derby"):
                hint = " (another JVM holds the metastore: stop the feeder or dbt using it first)"
            raise ClusterError(f"{exc}{hint}") from None
    return c


def target_env(settings: Settings) -> dict[str, str] | None:
    """While this lakehouse's Thrift server runs (and holds its metastore), the variables
    that point dbt's ``cluster`` target at it; None when it does not run."""
    if status(settings)["thrift"] is None:
        return None
    c = layout(settings)
    return {
        "DBT_TARGET": "cluster",
        "SPARK_THRIFT_HOST": c.host,
        "SPARK_THRIFT_PORT": str(c.thrift_port),
    }


def stop(settings: Settings) -> list[str]:
    """Stop the Thrift server, the worker and the master by their pids; returns the stopped."""
    c = layout(settings)
    stopped = []
    for role, pid in reversed(list(status(settings).items())):
        if pid is not None:
            stop_pid(pid)
            stopped.append(role)
        c.pid_file(role).unlink(missing_ok=True)
    return stopped
