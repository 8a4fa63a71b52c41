"""`./lakehouse run --every`: the feeder kept running, dbt built on a schedule under the
lakehouse's lock in the warm engine, a tick skipped while another holds it, Ctrl-C stopping
everything; an engine killed mid-run started again and its run redone exactly, and the lock
held by the engine itself while it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streaming import producer
from tests.integration.inbox import append_to_bronze, write_json_lines
from tooling import lock, processes
from tooling.dbt_runner import NO_TESTS
from tooling.fingerprint import fingerprint
from tooling.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

EVENTS = 120


def _wait_for(proc, lines: list[str], needle: str, timeout_s: float):
    """Read the scheduler's output until a line holds ``needle``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no {needle!r} within {timeout_s} s:\n{''.join(lines)}")


def _stop(proc) -> None:
    """SIGTERM first, so the scheduler stops its feeder and dbt (a SIGKILL would orphan them)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_scheduled_runs_under_the_lock_and_a_clean_stop(spark, settings):
    lake = Settings(settings.lakehouse_dir / "schedule-lake", settings.jars_dir, "127.0.0.1:9")
    inbox = lake.lakehouse_dir / "inbox"
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    events = producer.build_events("web", EVENTS, 23, start, timedelta(hours=2), 0.0, 0.0)
    write_json_lines(inbox, "web_events", "part-0", events)

    env = {**os.environ, "LAKEHOUSE_DIR": str(lake.lakehouse_dir)}
    env.pop("DBT_TARGET", None)
    feeder = [
        "--source",
        "files",
        "--topics",
        "web_events",
        "--input-path",
        str(inbox / "{topic}"),
        "--format",
        "json",
        "--processing-time",
        "5 seconds",
    ]
    lines: list[str] = []
    with lock.exclusive(lake, "the test"):  # the first tick finds the lock taken
        proc = subprocess.Popen(
            # the web chain's models: the rest of the project and the data tests are not what
            # this is about (they run in test_pipeline.py and the demo)
            [
                sys.executable,
                "-m",
                "tooling.cli",
                "run",
                "--every",
                "20s",
                "--select",
                "+web_sessions",
                "--exclude",
                "resource_type:test",
                "--exclude",
                "resource_type:unit_test",
                "--",
                *feeder,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            started = _wait_for(proc, lines, "feeder started (pid", 60)
            skipped = _wait_for(proc, lines, "run 1 ", 120)
        except BaseException:
            _stop(proc)
            raise
    try:
        assert "skipped" in skipped and "the test" in skipped, skipped
        second = _wait_for(proc, lines, "run 2 ", 600)
        assert "dbt build ok" in second, "".join(lines)
        # web events are fresh; the topics that never had an event are named as stale
        freshness = second.partition("bronze freshness ")[2]
        assert freshness.startswith("error: ") and "web_events" not in freshness, second
        assert "ide_events error" in freshness, second
        # run 3 begins at once (run 2 took longer than 20 s): Ctrl-C while it runs
        time.sleep(8)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
        assert proc.stdout is not None
        lines.extend(proc.stdout.readlines())
    finally:
        _stop(proc)
    output = "".join(lines)
    assert code == 0, output
    assert "stopping" in output and "schedule: stopped after" in output, output

    records = [
        json.loads(line)
        for line in (lake.lakehouse_dir / "runs" / "schedule.jsonl").read_text().splitlines()
    ]
    assert [r["status"] for r in records[:2]] == ["skipped", "ok"]
    assert records[1]["engine"] == "warm" and records[1]["heap_mb"] > 0, records[1]
    assert records[-1]["status"] in ("interrupted", "ok")
    staged = spark.read.format("delta").load(
        str(lake.warehouse_dir / "silver.db" / "stg_bronze__web_events")
    )
    assert staged.count() == EVENTS, "the running feeder landed the files, dbt staged them"
    # a first start on an empty lakehouse: the feeder created bronze once, before its first
    # micro-batch and before the first run (no second writer creating it: no feeder restart)
    assert (
        "feeder: created bronze table web_events"
        in (lake.lakehouse_dir / "runs" / "feeder.log").read_text()
    )
    history = spark.sql(f"describe history delta.`{lake.bronze_table('web_events')}`")
    operations = [r.operation for r in history.orderBy("version").collect()]
    assert operations[0] == "CREATE TABLE" and operations.count("CREATE TABLE") == 1, operations
    assert "starting it again" not in output, output

    feeder_pid = int(started.split("pid ")[1].split(";")[0])
    # the feeder's whole process group is gone (the JVM and its Python driver), and so is
    # the warm engine's
    assert processes.group_members(feeder_pid) == []
    engine_pid = int(
        next(x for x in lines if "warm engine started" in x).split("pid ")[1].split(",")[0]
    )
    assert processes.group_members(engine_pid) == []
    with lock.exclusive(lake, "the test, after"):  # released
        pass


def test_a_failed_build_is_retried_at_the_next_tick(settings, tmp_path):
    """dbt fails at once (no profile where it looks): the next tick runs it again, each
    failure is one line naming the log, and the lock is free after."""
    from tooling.schedule import Scheduler

    lake = Settings(settings.lakehouse_dir / "failing-lake", settings.jars_dir, "127.0.0.1:9")
    lines: list[str] = []
    began = time.monotonic()
    records = Scheduler(
        lake, 3.0, runs=2, env={"DBT_PROFILES_DIR": str(tmp_path)}, say=lines.append
    ).run()
    assert [r.status for r in records] == ["failed", "failed"], lines
    assert all("retried at the next tick" in r.detail for r in records), lines
    assert time.monotonic() - began >= 3.0, "the second run waited for its tick"
    runs = [line for line in lines if line.startswith("run ")]
    assert "dbt build failed" in runs[0] and lines[-1].startswith("schedule: stopped after 2")
    assert sum("warm engine started" in line for line in lines) == 1, "one engine, kept"
    log = (lake.lakehouse_dir / "runs" / "dbt.log").read_text()
    # both runs said why, for the build and for the freshness check after it
    assert log.count("Could not find profile named 'lakehouse'") == 4, log[-2000:]
    with lock.exclusive(lake, "the test, after"):
        pass
    # the same with a dbt process per run (--cold), which is handed the tick's lock
    cold = Scheduler(
        lake, 0.5, runs=1, env={"DBT_PROFILES_DIR": str(tmp_path)}, warm=False, say=lines.append
    ).run()
    assert [r.status for r in cold] == ["failed"] and cold[0].engine == "cold", lines
    with lock.exclusive(lake, "the test, after the cold run"):
        pass


def _kill_when_started(log: Path, model: str, pid_of, seen: dict, timeout_s: float) -> None:
    """SIGKILL the warm engine's JVM once dbt's log says ``model`` started writing; ``seen``
    gets the log as it stood at the kill."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        jvm = pid_of()
        if f"START sql incremental model {model} " in text and jvm:
            os.kill(jvm, signal.SIGKILL)
            seen["at_kill"] = log.read_text(errors="replace")
            return
        time.sleep(0.1)


def _lock_holder_once_writing(lake: Settings, log: Path, offset: int, seen: dict) -> None:
    """Once dbt's log (past ``offset``) says a model started, try the lakehouse's lock:
    ``seen['holder']`` gets who holds it (or 'free')."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")[offset:] if log.exists() else ""
        if "START sql" in text:
            try:
                with lock.exclusive(lake, "the test's probe"):
                    seen["holder"] = "free"
            except lock.Busy as exc:
                seen["holder"] = str(exc)
            return
        time.sleep(0.1)


def test_a_killed_engine_is_started_again_and_its_run_redone_exactly(spark, settings):
    """The warm engine's JVM is killed while the first build writes staging: the scheduler
    says so, starts a new engine and redoes the run, and every silver and gold table then
    equals a full refresh over the same data."""
    from tooling.schedule import Scheduler

    lake = Settings(settings.lakehouse_dir / "killed-engine-lake", settings.jars_dir, "127.0.0.1:9")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    delivered = {}
    for kind, topic in (("web", "web_events"), ("ide", "ide_events")):
        events = producer.build_events(kind, EVENTS, 31, start, timedelta(hours=2), 0.1, 0.05)
        append_to_bronze(spark, lake, topic, events, f"{topic}-0")
        delivered[topic] = events
    lines: list[str] = []
    # the web chain's models only: other models and the data tests are not what this is about
    web_chain = ["--select", "+web_sessions"]
    scheduler = Scheduler(lake, 1.0, runs=1, dbt_args=[*web_chain, *NO_TESTS], say=lines.append)
    model = "silver.stg_bronze__web_events"
    seen: dict[str, str] = {}
    killer = threading.Thread(
        target=_kill_when_started,
        args=(
            lake.lakehouse_dir / "runs" / "dbt.log",
            model,
            lambda: scheduler.engine and scheduler.engine.jvm_pid,
            seen,
            300,
        ),
        daemon=True,
    )
    killer.start()
    try:
        record = scheduler.tick(1)
        killer.join(timeout=5)
        assert "at_kill" in seen, f"{model} never started: {lines}"
        # the kill interrupted real work: the model had started and not finished
        assert f"OK created sql incremental model {model} " not in seen["at_kill"]
        assert record.status == "ok" and record.engine_restarts == 1, (record, lines)
        assert any("warm engine died during dbt build" in x for x in lines), lines
        assert any("warm engine started again" in x for x in lines), lines
        incremental = fingerprint(spark, lake.warehouse_dir)
        assert scheduler.engine is not None
        # the engine holds the lakehouse's lock itself while it writes, with no scheduler
        # around it (one killed with SIGKILL frees nothing)
        log = lake.lakehouse_dir / "runs" / "dbt.log"
        probe: dict[str, str] = {}
        prober = threading.Thread(
            target=_lock_holder_once_writing,
            args=(lake, log, log.stat().st_size, probe),
            daemon=True,
        )
        prober.start()
        assert scheduler.engine.run(["run", "--full-refresh", *web_chain]).ok
        prober.join(timeout=5)
        assert "the warm engine, dbt run" in probe.get("holder", ""), probe
    finally:
        if scheduler.engine is not None:
            scheduler.engine.stop()
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # tables replaced by the refresh
    assert fingerprint(spark, lake.warehouse_dir) == incremental
    # each web event once (re-deliveries dropped by their event_uuid), and sessions built
    unique = len({e["event_uuid"] for e in delivered["web_events"]})
    assert len(delivered["web_events"]) > unique, "the batch re-delivers some events"
    assert incremental["silver.stg_bronze__web_events"]["rows"] == unique, incremental
    sessions = incremental["silver.web_sessions"]["rows"]
    assert isinstance(sessions, int) and sessions > 0, incremental
