"""Shared fixtures: one lakehouse directory, one SparkSession (which dbt reuses in-process),
one real Kafka broker, all for the whole test session."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming import kafka_local
from tooling.engine import reset_session
from tooling.processes import free_port_pair, process_table
from tooling.settings import REPO_ROOT, Settings

PR_SET_CHILD_SUBREAPER = 36
LEAKS: list[str] = []


# what a user's shell may set that would change what the tests test: the dbt target and
# threads, Spark's settings, a Kafka cluster and its security (the tests start their own),
# a bronze folder outside the test lakehouse
CLEARED = ("DBT_TARGET", "DBT_THREADS", "KAFKA_BOOTSTRAP", "KAFKA_CLIENT_PROPERTIES", "BRONZE_PATH")
CLEARED_PREFIXES = ("SPARK_", "KAFKA_SECURITY_", "KAFKA_SASL_", "KAFKA_SSL_")


def _clear_environment() -> list[str]:
    """Remove those variables from this process (and so from every child); their names."""
    names = [n for n in os.environ if n in CLEARED or n.startswith(CLEARED_PREFIXES)]
    for name in names:
        del os.environ[name]
    return sorted(names)


def pytest_configure(config) -> None:
    cleared = _clear_environment()
    if cleared:
        print(f"tests: cleared {', '.join(cleared)} from the environment")
    # --basetemp lives under .lakehouse/, which a fresh clone does not have yet
    basetemp = config.option.basetemp
    if basetemp:
        Path(basetemp).parent.mkdir(parents=True, exist_ok=True)
    # a process orphaned by a test (its parent exited first) becomes this process's child
    # instead of init's, so the leak check below still sees it
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _descendants() -> dict[int, tuple[int, str]]:
    """This process's running (not zombie) descendants: pid -> (parent pid, command line)."""
    parents = {pid: ppid for pid, (state, ppid, _) in process_table().items() if state != "Z"}
    found, frontier = {}, {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in found}
        for pid in frontier:
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                found[pid] = (parents[pid], cmd.decode(errors="replace").strip())
    return found


@pytest.fixture(autouse=True)
def _no_leaked_processes(request) -> Iterator[None]:
    """Every process a test starts must be gone when it ends (fixtures' broker and Spark
    aside): a leftover feeder or JVM would slow, or skew, every test after it. A leak fails
    the test that leaked (an error in its teardown), is killed so that it skews nothing
    after, and is listed again at the end of the run."""
    before = set(_descendants())
    yield
    deadline = time.monotonic() + 10  # a JVM may take a moment to exit after its signal
    while True:
        leaks = _new_and_not_benign(_descendants(), before)
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not leaks:
        return
    found = [f"pid {p} {c[:160]}" for p, c in leaks.items()]
    LEAKS.extend(f"{request.node.nodeid}: {line}" for line in found)
    for pid in leaks:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the test left {len(found)} process(es) running: " + "; ".join(found))


def _new_and_not_benign(running: dict[int, tuple[int, str]], before: set[int]) -> dict[int, str]:
    """The processes started since ``before`` that are not the brokers of session or module
    fixtures, the SparkSession and the Python workers under it, or Python's own resource
    tracker (dbt in-process)."""
    roots = {p for p, (_, c) in running.items() if "kafka.Kafka" in c or "pyspark-shell" in c}

    def benign(pid: int) -> bool:
        if "multiprocessing.resource_tracker" in running[pid][1]:
            return True
        while pid in running:
            if pid in roots:
                return True
            pid = running[pid][0]
        return False

    return {p: c for p, (_, c) in running.items() if p not in before and not benign(p)}


def pytest_runtest_logreport(report) -> None:
    """Each phase of 5 s or more with its test's name, and a failure's traceback, as soon as it
    ends, not only in the summary at the end: a CI run stopped by its time limit still shows
    where its time went and why a test failed."""
    if report.duration >= 5 or report.failed:
        print(f"\n[{report.when} {report.duration:.0f} s] {report.nodeid}", flush=True)
    if report.failed:
        heading = f"--- {report.nodeid} failed ({report.when}) ---"
        print(f"\n{heading}\n{report.longreprtext}", flush=True)


def pytest_terminal_summary(terminalreporter) -> None:
    if LEAKS:
        terminalreporter.write_sep("=", f"processes left running by tests: {len(LEAKS)}")
        for line in LEAKS:
            terminalreporter.write_line(line)


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
    # tables and versions that no longer exist: forgotten as the warm engine forgets them.
    reset_session(spark)
    return spark
