"""``./lakehouse run --every 10m``: the feeder kept running, ``dbt build`` on a schedule.

- The feeder runs as a child (``--processing-time``, its own process group) and is started
  again if it dies.
- Every interval (the first at once) ``dbt build`` and then ``dbt source freshness`` run under
  the lakehouse's lock (tooling/lock.py): never two dbt runs at once, nor a run beside
  ``./lakehouse maintain``. A tick that finds the lock taken is skipped and says by whom. The
  process that writes holds the lock (the warm engine, or the dbt child it is handed to), so a
  scheduler killed with SIGKILL frees nothing while its run goes on.
- On the local target dbt runs in the warm engine (tooling/engine.py): one Spark session kept
  across runs, so a run pays for its statements, not for a JVM start. An engine that dies is
  started again and the run it interrupted redone. ``warm=False`` (``--cold``) starts a dbt
  process per run instead; on the cluster target the Thrift server is the warm engine.
- ``tests_every_s`` (``--tests-every``) trades safety for freshness: a run is ``dbt run``, no
  data or unit test, unless that long has passed since the last ``dbt build`` (or the last run
  failed). A build's tests stop a bad model's children; a plain run does not, so the default
  builds every run.
- A failed build is retried at the next tick: runs are incremental and idempotent, so a
  retry redoes exactly what is missing.
- One line per run on the terminal and in ``LAKEHOUSE_DIR/runs/schedule.jsonl``.
- Ctrl-C (or SIGTERM) stops cleanly: the running dbt is interrupted (a half-finished run is
  redone by the next one), the feeder is stopped, the lock is released.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from streaming.bronze import TOPICS
from streaming.spark import FEEDER, submit_command, submit_env
from tooling import lock, processes
from tooling.dbt_runner import dbt_env
from tooling.engine import Engine, EngineDied, EngineError, EngineResult
from tooling.settings import REPO_ROOT, Settings

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_FEEDER_ARGS = ["--processing-time", "30 seconds"]
STOP_GRACE_S = 30
# how long the first run waits for the feeder to create the bronze tables it writes
BRONZE_WAIT_S = 180
# a run the engine's death interrupted is redone at once, this many times, then left to the
# next tick
ENGINE_REDOS = 2


class ScheduleError(Exception):
    """A schedule that cannot run, phrased as what to change."""


def parse_interval(text: str, option: str = "--every") -> float:
    """``90`` or ``90s``, ``10m``, ``1h``, ``1d`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ScheduleError(f"{option} {text!r}: write it as 30s, 10m, 1h or 1d")
    seconds = float(match.group(1)) * UNITS[match.group(2) or "s"]
    if seconds < 1:
        raise ScheduleError(f"{option} {text!r}: at least one second")
    return seconds


@dataclass
class RunRecord:
    run: int
    started_at: str
    status: str  # ok | failed | skipped
    seconds: float
    freshness: str  # pass, or the worst status and the sources not fresh; not run
    detail: str = ""
    engine: str = "cold"  # warm: in the warm engine; cold: a dbt process
    build_seconds: float = 0.0  # the dbt build (or run) alone: the run adds freshness
    heap_mb: float = 0.0  # the warm engine's live heap after the run (after a full GC)
    jvm_rss_mb: float = 0.0
    engine_restarts: int = 0  # engines started again during this run
    command: str = "build"  # build (models and their tests) or run (models only)

    def line(self) -> str:
        text = (
            f"run {self.run} at {self.started_at[11:19]}: dbt {self.command} {self.status}"
            f" in {self.seconds:.0f} s; bronze freshness {self.freshness}"
        )
        if self.engine == "warm" and self.heap_mb:
            text += f"; warm engine heap {self.heap_mb:.0f} MB, JVM {self.jvm_rss_mb:.0f} MB"
        return text + (f" ({self.detail})" if self.detail else "")


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        every_s: float,
        *,
        feeder_args: list[str] | None = None,
        runs: int | None = None,
        dbt_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        warm: bool = True,
        tests_every_s: float = 0.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.every_s = every_s
        self.feeder_args = feeder_args
        self.runs = runs
        self.dbt_args = dbt_args or []
        self.tests_every_s = tests_every_s
        self._last_build = -float("inf")  # monotonic time of the last good build
        self.env = {**submit_env(settings), **dbt_env(settings), **(env or {})}
        self.say = say
        self.stopping = threading.Event()
        self.feeder: subprocess.Popen[bytes] | None = None
        self.feeder_starts = 0
        self.child: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None  # the lock's descriptor while a tick holds it
        # the Thrift server of the cluster target is warm already
        self.warm = warm and self.env.get("DBT_TARGET", "local") == "local"
        self.engine: Engine | None = None
        self.engine_starts = 0
        self._stop_asked = 0.0
        self.folder = settings.lakehouse_dir / "runs"
        self.records: list[RunRecord] = []

    # --- processes -------------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def _start_feeder(self) -> None:
        if self.feeder_args is None:
            return
        self.feeder_starts += 1
        with self._log("feeder.log").open("ab") as log:
            self.feeder = subprocess.Popen(
                submit_command(self.settings, FEEDER, self.feeder_args),
                env=submit_env(self.settings),
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        verb = "started" if self.feeder_starts == 1 else "restarted"
        self.say(f"schedule: feeder {verb} (pid {self.feeder.pid}; log {self._log('feeder.log')})")

    def _feeder_topics(self) -> list[str]:
        args = self.feeder_args or []
        for i, arg in enumerate(args):
            if arg == "--topics" and i + 1 < len(args):
                return args[i + 1].split(",")
            if arg.startswith("--topics="):
                return arg.partition("=")[2].split(",")
        return list(TOPICS)

    def _await_bronze(self) -> None:
        """Before the first run: wait until the feeder has created each bronze table it
        writes (it does so before its first micro-batch), so that dbt's on-run-start never
        creates one at the same time (two writers creating one Delta table: one of them
        fails). Ends early if the feeder exits or a stop is asked."""
        if self.feeder is None:
            return
        missing = [t for t in self._feeder_topics() if t in TOPICS]
        deadline = time.monotonic() + BRONZE_WAIT_S
        while missing and not self.stopping.is_set() and self.feeder.poll() is None:
            missing = [
                t
                for t in missing
                if not any((self.settings.bronze_table(t) / "_delta_log").glob("*.json"))
            ]
            if missing and time.monotonic() >= deadline:
                self.say(
                    f"schedule: the feeder has not created bronze {', '.join(missing)} "
                    f"within {BRONZE_WAIT_S} s; the first run goes ahead"
                )
                return
            if missing:
                self.stopping.wait(0.5)

    def _watch_feeder(self) -> None:
        if (
            self.feeder is not None
            and self.feeder.poll() is not None
            and not self.stopping.is_set()
        ):
            self.say(
                f"schedule: the feeder exited with {self.feeder.returncode}; starting it again"
            )
            self._start_feeder()

    def _dbt(self, args: list[str], log_name: str) -> int:
        dbt = str(Path(sys.executable).with_name("dbt"))
        with self._log(log_name).open("ab") as log:
            self.child = subprocess.Popen(
                [dbt, *args],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # the tick's lock, so that this dbt holds it even if the scheduler is killed
                pass_fds=() if self._lock_fd is None else (self._lock_fd,),
            )
        try:
            # waited for here only: a signal handler must not wait on the same child
            while True:
                try:
                    return self.child.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    if self._stop_asked and time.monotonic() - self._stop_asked > STOP_GRACE_S:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(self.child.pid, signal.SIGKILL)
        finally:
            self.child = None

    def _start_engine(self) -> Engine:
        if self.engine is not None:
            self.engine.stop(STOP_GRACE_S)
        self.engine_starts += 1
        engine = Engine(self.settings, self.env, self._log("dbt.log"))
        engine.start()
        self.engine = engine
        verb = "started" if self.engine_starts == 1 else "started again"
        self.say(
            f"schedule: warm engine {verb} (pid {engine.pid}, JVM {engine.jvm_pid}; "
            f"log {self._log('dbt.log')})"
        )
        return engine

    def _escalate(self) -> None:
        """While a run waits on the engine: SIGKILL once the stop's grace is over."""
        overdue = self._stop_asked and time.monotonic() - self._stop_asked > STOP_GRACE_S
        if overdue and self.engine is not None:
            self.engine.signal(signal.SIGKILL)

    def _warm_dbt(self, args: list[str], record: RunRecord | None) -> int:
        """``dbt ARGS`` in the warm engine, started (again) when needed; a run the engine's
        death interrupted is redone (runs are idempotent)."""
        for _ in range(1 + ENGINE_REDOS):
            engine = self.engine
            if engine is None or not engine.alive():
                if engine is not None and record is not None:
                    record.engine_restarts += 1
                engine = self._start_engine()
            try:
                result: EngineResult = engine.run(args, on_wait=self._escalate)
            except EngineDied as exc:
                if self.stopping.is_set():
                    raise InterruptedError from None
                self.say(
                    f"schedule: the warm engine died during dbt {args[0]} ({exc}); "
                    "starting it again and redoing the run"
                )
                continue  # _start_engine reaps the dead one
            if record is not None:
                record.heap_mb, record.jvm_rss_mb = result.heap_mb, result.jvm_rss_mb
            return 0 if result.ok else 1
        return 1

    def _run_dbt(self, args: list[str], record: RunRecord | None) -> int:
        """``dbt ARGS``: its exit code; ``record`` gets the warm engine's figures."""
        if self.warm:
            return self._warm_dbt(args, record)
        return self._dbt(args, "dbt.log")

    @staticmethod
    def _stop(process: subprocess.Popen[bytes] | None) -> None:
        if process is not None:
            processes.stop_group(process, STOP_GRACE_S)

    # --- one tick --------------------------------------------------------------------------

    def tick(self, n: int) -> RunRecord:
        began = time.monotonic()
        record = RunRecord(
            n,
            datetime.now(UTC).isoformat(timespec="seconds"),
            "ok",
            0.0,
            "not run",
            engine="warm" if self.warm else "cold",
            command="build" if began - self._last_build >= self.tests_every_s else "run",
        )
        try:
            # a dbt per run is handed the tick's lock; the warm engine takes it itself for
            # each command that writes (the process that writes holds it)
            held = (
                contextlib.nullcontext(None)
                if self.warm
                else lock.exclusive(self.settings, f"lakehouse run, run {n}")
            )
            with held as self._lock_fd:
                code = self._run_dbt([record.command, *self.dbt_args], record)
                if code == 0 and record.command == "build":
                    self._last_build = began
                record.build_seconds = round(time.monotonic() - began, 1)
                if self.stopping.is_set():
                    raise InterruptedError
                # after the build: its on-run-start has registered every bronze table
                self._run_dbt(["source", "freshness"], None)
                record.freshness = self._freshness()
        except lock.Busy as exc:
            record.status, record.detail = "skipped", str(exc)
            return record
        except EngineError as exc:  # it did not start: the next tick tries again
            code, record.detail = 1, f"{exc}; retried at the next tick"
        except InterruptedError:
            code = -1
        finally:
            self._lock_fd = None
        record.seconds = round(time.monotonic() - began, 1)
        if self.stopping.is_set():
            record.status = "interrupted"
            record.detail = "stopped by the user; the next run redoes it"
        elif code != 0:
            record.status = "failed"
            record.detail = record.detail or (
                f"exit {code}, retried at the next tick; log {self._log('dbt.log')}"
            )
        return record

    def _freshness(self) -> str:
        """The worst freshness status of the bronze sources, naming the ones not fresh."""
        results = Path(self.env["DBT_TARGET_PATH"]) / "sources.json"
        try:
            rows = json.loads(results.read_text())["results"]
        except (OSError, ValueError, KeyError):
            return "unknown (no sources.json)"
        stale = {
            r["unique_id"].rpartition(".")[2]: r["status"]
            for r in rows
            if r.get("status") != "pass"
        }
        if not stale:
            return "pass"
        worst = "error" if any(v != "warn" for v in stale.values()) else "warn"
        return f"{worst}: " + ", ".join(f"{k} {v}" for k, v in sorted(stale.items()))

    # --- the loop --------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Asks dbt to stop (SIGTERM to its process group) and returns at once: the loop
        waits for it, and escalates to SIGKILL after STOP_GRACE_S."""
        if not self.stopping.is_set():
            self.say(f"schedule: {signal.Signals(signum).name}: stopping (dbt and the feeder)")
            self._stop_asked = time.monotonic()
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        if self.engine is not None:
            self.engine.signal(signal.SIGTERM)

    def run(self) -> list[RunRecord]:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        self._start_feeder()
        n = 0
        try:
            self._await_bronze()  # in the try: a Ctrl-C while it waits stops the feeder too
            while not self.stopping.is_set():
                n += 1
                began = time.monotonic()
                self._watch_feeder()
                record = self.tick(n)
                self.records.append(record)
                self.say(record.line())
                with self._log("schedule.jsonl").open("a") as log:
                    log.write(json.dumps(asdict(record)) + "\n")
                if self.runs is not None and n >= self.runs:
                    break
                # the next tick comes `every` after this one began (at once if it overran)
                while not self.stopping.wait(
                    min(1.0, max(0.0, began + self.every_s - time.monotonic()))
                ):
                    self._watch_feeder()
                    if time.monotonic() >= began + self.every_s:
                        break
        finally:
            self.stopping.set()
            self._stop(self.child)
            if self.engine is not None:
                self.engine.stop(STOP_GRACE_S)
            self._stop(self.feeder)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        done = sum(r.status == "ok" for r in self.records)
        self.say(f"schedule: stopped after {len(self.records)} runs ({done} ok)")
        return self.records
