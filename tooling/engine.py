"""The warm engine: one long-lived process that holds a SparkSession and runs dbt in it.

A ``dbt build`` in a fresh process pays for a JVM start, dbt's start and a cold JIT on every
statement; on two cores that fixed cost is most of a small run. ``./lakehouse run --every``
keeps one engine instead and sends it each run:

- The engine is ``python -m tooling.engine``, a child in a process group of its own. It builds
  the session once (the local target's settings, the metastore included), then reads requests
  (dbt's arguments, one JSON line each) from one pipe, runs each through ``dbtRunner`` on the
  ``session`` method, and answers on another pipe. dbt's own output goes to the log.
- Nothing leaks from one run into the next (``reset_session``): cached tables, temporary
  views, the current database, session settings a run changed. Delta's cached table logs
  are kept: Delta brings a cached log up to date on every read, and sees a table that another
  process deleted and created again at its path (tests/integration/test_engine.py), so
  dropping them would only cost every run the log replay of every table.
  The UI's stores keep a bounded number of jobs and queries.
- A request that writes runs under the lakehouse's lock (tooling/lock.py), taken by the engine
  itself: the process that writes holds it, so a client killed mid-run (a SIGKILLed
  scheduler) frees nothing while the run goes on. A lock held elsewhere is answered "busy".
- Every answer carries the engine's memory after a full GC (the JVM's live heap, the JVM's and
  Python's resident sizes), so a schedule can show that it stays bounded.
- An engine that dies (its JVM killed, out of memory, the process gone) is detected: the client
  raises ``EngineDied`` and the caller starts a new one and redoes the run. Runs are
  incremental and idempotent, so a redone run ends where an uninterrupted one would.

The engine holds this lakehouse's embedded metastore for as long as it runs, like the cluster's
Thrift server: ``./lakehouse dbt`` refuses while it does (README: "Operating it").
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tooling import lock, processes
from tooling.settings import REPO_ROOT, Settings, load

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

START_TIMEOUT_S = 300.0
ENGINE_APP_NAME = "lakehouse-engine"
# The status stores of a session that lives for days: a bounded number of jobs, stages and
# queries (Spark keeps 1,000 of each by default, for the UI and the status tracker).
LONG_LIVED_CONF = {
    "spark.ui.retainedJobs": "100",
    "spark.ui.retainedStages": "200",
    "spark.sql.ui.retainedExecutions": "50",
    "spark.ui.retainedTasks": "10000",
}


def pid_file(settings: Settings) -> Path:
    return settings.lakehouse_dir / "runs" / "engine.pid"


def running_pid(settings: Settings) -> int | None:
    """The pid of this lakehouse's warm engine, if one runs."""
    return processes.read_pid(pid_file(settings), b"tooling.engine")


class EngineError(Exception):
    """The warm engine could not start or answer, phrased as what to do about it."""


class EngineDied(EngineError):
    """The engine exited (or its JVM did) before it answered."""


@dataclass(frozen=True)
class EngineResult:
    ok: bool
    seconds: float
    detail: str
    heap_mb: float  # the JVM's live heap after a full GC
    jvm_rss_mb: float
    python_rss_mb: float


# --- in the engine's process ---------------------------------------------------------------


def session_baseline(spark: SparkSession) -> dict[str, str]:
    """The session's settings as a run must find them."""
    return dict(spark.conf.getAll)


def reset_session(spark: SparkSession, baseline: dict[str, str] | None = None) -> None:
    """Forget what one run left in the session, so the next one starts as in a new process."""
    # cached rows and temporary views (dbt's __dbt_tmp views) name versions of the last run
    spark.catalog.clearCache()
    for table in spark.catalog.listTables():
        if table.isTemporary:
            spark.catalog.dropTempView(table.name)
    spark.catalog.setCurrentDatabase("default")
    if baseline is not None:
        current = session_baseline(spark)
        for key in current.keys() - baseline.keys():
            with contextlib.suppress(Exception):  # a static setting cannot be unset
                spark.conf.unset(key)
        for key, value in baseline.items():
            if current.get(key) != value and spark.conf.isModifiable(key):
                spark.conf.set(key, value)


def _rss_mb(pid: int | str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def jvm_pid(spark: SparkSession) -> int | None:
    gateway = spark.sparkContext._gateway
    proc = getattr(gateway, "proc", None)
    return proc.pid if proc is not None else None


def memory(spark: SparkSession) -> dict[str, float]:
    """The JVM's live heap after a full GC, and the resident sizes of the JVM and of Python."""
    jvm: Any = spark._jvm
    jvm.java.lang.System.gc()
    runtime = jvm.java.lang.Runtime.getRuntime()
    pid = jvm_pid(spark)
    return {
        "heap_mb": round((runtime.totalMemory() - runtime.freeMemory()) / 2**20, 1),
        "jvm_rss_mb": round(_rss_mb(pid), 1) if pid else 0.0,
        "python_rss_mb": round(_rss_mb("self"), 1),
    }


def _jvm_alive(spark: SparkSession) -> bool:
    try:
        jsc: Any = spark.sparkContext._jsc
        return not jsc.sc().isStopped()
    except Exception:  # py4j: the gateway is gone
        return False


def serve(settings: Settings, requests: IO[str], replies: IO[str]) -> int:
    """The engine's loop: build the session, then answer requests until the pipe closes."""
    from dbt.cli.main import dbtRunner

    from streaming.spark import build_session
    from tooling.dbt_runner import apply_env, failures, writes

    apply_env(settings)
    spark = build_session(settings, ENGINE_APP_NAME, with_metastore=True, extra=LONG_LIVED_CONF)
    baseline = session_baseline(spark)

    def answer(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    answer({"ready": True, "jvm_pid": jvm_pid(spark), **memory(spark)})
    for line in requests:
        args = json.loads(line)["args"]
        print(f"engine: dbt {' '.join(args)}", flush=True)
        began = time.monotonic()
        # the process that writes holds the lakehouse's lock: a client killed mid-run
        # (a SIGKILLed scheduler) frees nothing while this run goes on
        held = (
            lock.exclusive(settings, f"the warm engine, dbt {args[0]}")
            if writes(args)
            else contextlib.nullcontext(0)
        )
        try:
            with held:
                try:
                    result = dbtRunner().invoke(args)
                    ok = bool(result.success)
                    detail = "" if ok else str(result.exception or failures(result.result))
                except Exception as exc:  # dbt raised past its own handling: report, serve on
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
        except lock.Busy as exc:
            answer({"busy": str(exc)})
            continue
        seconds = round(time.monotonic() - began, 2)
        if not _jvm_alive(spark):
            print("engine: the JVM is gone; exiting", flush=True)
            return 70
        reset_session(spark, baseline)
        answer({"ok": ok, "seconds": seconds, "detail": detail[:2000], **memory(spark)})
    spark.stop()
    return 0


def main() -> int:
    requests_fd, replies_fd = (int(fd) for fd in sys.argv[1:3])
    with os.fdopen(requests_fd, "r") as requests, os.fdopen(replies_fd, "w") as replies:
        return serve(load(), requests, replies)


# --- the client ----------------------------------------------------------------------------


class Engine:
    """A warm engine started by this process; ``run`` sends it one dbt command."""

    def __init__(self, settings: Settings, env: dict[str, str], log: Path) -> None:
        self.settings = settings
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.jvm_pid: int | None = None
        self._requests: IO[str] | None = None
        self._replies: IO[str] | None = None
        self._buffer = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the engine and wait until its session is built."""
        req_read, req_write = os.pipe()
        rep_read, rep_write = os.pipe()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        pid_file(self.settings).parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tooling.engine", str(req_read), str(rep_write)],
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(req_read, rep_write),
                start_new_session=True,
            )
        os.close(req_read)
        os.close(rep_write)
        pid_file(self.settings).write_text(str(self.proc.pid))
        self._requests = os.fdopen(req_write, "w")
        self._replies = os.fdopen(rep_read, "r")
        self._buffer = ""
        try:
            ready = self._reply(timeout_s)
        except EngineDied as exc:
            self.stop()
            raise EngineError(
                f"the warm engine did not start ({exc}): {processes.tail(self.log)}"
            ) from None
        self.jvm_pid = ready.get("jvm_pid")

    def run(self, args: list[str], on_wait: Callable[[], None] | None = None) -> EngineResult:
        """``dbt ARGS`` in the engine (``on_wait`` called every second while it runs).
        Raises EngineDied if the engine exits before it answers, lock.Busy if ARGS write
        and another process holds the lakehouse's lock (the engine takes it for the run)."""
        if not self.alive() or self._requests is None:
            raise EngineDied("the engine is not running")
        try:
            self._requests.write(json.dumps({"args": args}) + "\n")
            self._requests.flush()
        except BrokenPipeError:
            raise EngineDied("the engine closed its pipe") from None
        reply = self._reply(None, on_wait)
        if "busy" in reply:
            raise lock.Busy(reply["busy"])
        return EngineResult(
            ok=reply["ok"],
            seconds=reply["seconds"],
            detail=reply["detail"],
            heap_mb=reply["heap_mb"],
            jvm_rss_mb=reply["jvm_rss_mb"],
            python_rss_mb=reply["python_rss_mb"],
        )

    def _reply(
        self, timeout_s: float | None, on_wait: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        assert self._replies is not None and self.proc is not None
        fd = self._replies.fileno()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while "\n" not in self._buffer:
            if deadline is not None and time.monotonic() > deadline:
                raise EngineDied(f"no answer within {timeout_s:.0f} s")
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                if on_wait is not None:
                    on_wait()
                if self.proc.poll() is not None:
                    raise EngineDied(f"the engine exited with {self.proc.returncode}")
                continue
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                self.proc.wait(timeout=30)
                raise EngineDied(f"the engine exited with {self.proc.returncode}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition("\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def signal(self, sig: int) -> None:
        """``sig`` to the engine's process group (its JVM too), without waiting."""
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, grace_s: float = 30.0) -> None:
        """Close the request pipe (the engine stops its session and exits), then make sure."""
        for pipe in (self._requests, self._replies):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._requests = self._replies = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=min(grace_s, 20.0))
            processes.stop_group(self.proc, grace_s, signal.SIGTERM)
            with contextlib.suppress(FileNotFoundError):
                pid_file(self.settings).unlink()
        self.proc = None


if __name__ == "__main__":
    raise SystemExit(main())
