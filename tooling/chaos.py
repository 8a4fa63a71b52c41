"""Fault injection on the real processes: ``kill -9`` the feeder while events are produced,
stop and start the broker under it, ``kill -9`` dbt mid-run; then count what was lost or
duplicated. ``./lakehouse chaos`` runs the long version; tests/integration/test_faults.py
runs a short one in CI.

Feeder: one known corpus of IDE events is produced in chunks while the feeder runs with a
processing-time trigger and is killed (the whole process group, SIGKILL) after a random time,
as soon as a micro-batch is under way, then restarted; once, the broker is stopped and
started while the feeder runs. A final ``--available-now`` run drains the topic. Every event
must be in bronze exactly once (by Kafka offset and by identity), and in staging once.

dbt: rounds of late-arriving web and IDE events land through the files source; each round's
``dbt run`` is killed while its n-th model runs (n random), the next round's run redoing what
the last one left half done; one run after the last kill takes it all in. Then every table
must equal a ``--full-refresh`` over the same data (row count and content hash of each
table).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streaming import kafka_local, producer
from streaming.events import Event
from streaming.spark import FEEDER, submit_command, submit_env
from tooling import processes
from tooling.engine import Engine
from tooling.settings import REPO_ROOT, Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TOPIC = "ide_events"
RESERVE_CHUNK = 10  # events in each held-back chunk (see _Producer)
IDLE_S = 6.0  # a feeder idle this long, with no micro-batch to interrupt, is sent a chunk
STARTUP_S = 30.0  # ... once it has had the time to start (its JVM takes about 20 s)
IDENTITY = ("user_id", "event_id", "product_code", "timestamp")


class ChaosError(Exception):
    """A fault run could not be carried out (not a lost or duplicated event: those are
    counted)."""


@dataclass
class FeederOutcome:
    kills: int = 0
    broker_restarts: int = 0
    produced: int = 0
    bronze_rows: int = 0
    bronze_offsets: int = 0  # distinct (partition, offset)
    lost: int = 0  # produced events missing from bronze
    duplicated: int = 0  # bronze rows beyond one per offset
    staged: int | None = None
    staged_expected: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def staging_exact(self) -> bool:
        return self.staged is None or self.staged == self.staged_expected


def _identity(event: Event) -> tuple[str, ...]:
    return tuple(str(event[k]) for k in IDENTITY)


class _Producer(threading.Thread):
    """Sends the corpus in chunks; a chunk is never split by a broker restart (the
    restarter holds ``lock`` while the broker is down), so the corpus is sent exactly once.
    The last ``reserve`` small chunks are held back: ``nudge`` sends one when a feeder waits
    for work to interrupt (the paced chunks may all be sent by then), ``flush`` the rest."""

    def __init__(
        self, bootstrap: str, corpus: list[Event], chunks: int, pause_s: float, reserve: int = 0
    ) -> None:
        super().__init__(name="chaos-producer", daemon=True)
        self.bootstrap = bootstrap
        held = min(len(corpus) // 2, reserve * RESERVE_CHUNK)
        self.corpus = corpus[: len(corpus) - held]
        self.reserve = [
            corpus[i : i + RESERVE_CHUNK]
            for i in range(len(corpus) - held, len(corpus), RESERVE_CHUNK)
        ]
        self.size = max(1, len(self.corpus) // chunks)
        self.pause_s = pause_s
        self.lock = threading.Lock()
        self.sent = 0
        self.error: BaseException | None = None

    def _send(self, chunk: list[Event]) -> None:
        with self.lock:
            producer.produce(self.bootstrap, TOPIC, chunk, key_field="user_id", progress=False)
            self.sent += len(chunk)

    def run(self) -> None:
        try:
            for i in range(0, len(self.corpus), self.size):
                self._send(self.corpus[i : i + self.size])
                time.sleep(self.pause_s)
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def nudge(self) -> bool:
        """Send one held-back chunk; False when none is left."""
        if not self.reserve:
            return False
        self._send(self.reserve.pop(0))
        return True

    def flush(self) -> None:
        while self.nudge():
            pass


def _start_feeder(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    args = ["--topics", TOPIC, "--processing-time", "2 seconds"]
    out = log.open("ab")
    try:
        return subprocess.Popen(
            submit_command(settings, FEEDER, args),
            env=submit_env(settings),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the JVM too
        )
    finally:
        out.close()


def _kill(proc: subprocess.Popen[Any]) -> None:
    """kill -9 the process and its whole group (a JVM and its Python children)."""
    processes.stop_group(proc, grace_s=0, sig=signal.SIGKILL)


def _batches(folder: Path) -> int:
    """The last micro-batch a checkpoint's ``offsets`` or ``commits`` folder records (-1:
    none)."""
    names = [int(f.name) for f in folder.iterdir() if f.name.isdigit()] if folder.is_dir() else []
    return max(names, default=-1)


def _kill_mid_batch(
    feeder: subprocess.Popen[bytes],
    started: float,
    checkpoint: Path,
    table: Path,
    *,
    after_a_commit: bool,
    committed_before: int,
    timeout_s: float,
    nudge: Callable[[], bool] = lambda: False,
) -> int | None:
    """SIGKILL the feeder while it works on a micro-batch: the batch's offsets are in the
    checkpoint, its commit is not, and this feeder has begun it (it wrote the batch's offsets,
    or data files into the table, since it ``started``: a batch left open by the last kill
    is otherwise "under way" before this JVM has even started). ``after_a_commit``: only
    once this feeder has committed a batch (the checkpoint's last commit was
    ``committed_before`` as it started), so the kill lands in a later one, not in the
    first (a kill that always lands in the first batch would only ever redo it). While no
    batch begins for ``IDLE_S`` (once the feeder has had ``STARTUP_S`` to start),
    ``nudge()`` is called to send it more work. Returns the batch's number, or None (the
    feeder killed all the same) if none came within ``timeout_s`` or the feeder exited."""
    deadline = time.monotonic() + timeout_s
    progress, last_seen = time.monotonic(), (-1, -1)

    def begun_here(batch: int) -> bool:
        offsets = checkpoint / "offsets" / str(batch)
        if offsets.exists() and offsets.stat().st_mtime > started:
            return True
        return any(f.stat().st_mtime > started for f in table.rglob("*.parquet"))

    try:
        while time.monotonic() < deadline and feeder.poll() is None:
            batch = _batches(checkpoint / "offsets")
            committed = _batches(checkpoint / "commits")
            ready = committed > committed_before or not after_a_commit
            if ready and batch > committed and begun_here(batch):
                return batch  # killed at once, below
            if (batch, committed) != last_seen:
                progress, last_seen = time.monotonic(), (batch, committed)
            elif (
                time.time() - started > STARTUP_S
                and time.monotonic() - progress > IDLE_S
                and nudge()
            ):
                progress = time.monotonic()
            time.sleep(0.05)
        return None
    finally:
        _kill(feeder)


def run_feeder_chaos(
    settings: Settings,
    *,
    kills: int,
    events: int,
    seed: int,
    restart_broker: bool = True,
    kill_after_s: tuple[float, float] = (6.0, 25.0),
    say: Callable[[str], None] = print,
) -> tuple[FeederOutcome, list[Event]]:
    """Kill the feeder ``kills`` times while ``events`` IDE events are produced (the broker
    at ``settings.kafka_bootstrap`` must run, topic ide_events must exist), then drain. Each
    kill waits a random time in ``kill_after_s``, then for a micro-batch under way.
    Returns the outcome (bronze not yet counted: see ``count_bronze``) and the corpus."""
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    corpus = producer.build_events("ide", events, seed, start, timedelta(days=2), 0.1, 0.0)
    outcome = FeederOutcome(produced=len(corpus))
    log = settings.lakehouse_dir / "chaos" / "feeder.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # the corpus is spread over roughly the time the kills take (each: the wait, then a
    # micro-batch to interrupt, about 20 s after the JVM starts)
    expected_s = kills * (sum(kill_after_s) / 2 + 20)
    chunks = max(10, kills * 3)
    sender = _Producer(
        settings.kafka_bootstrap, corpus, chunks, pause_s=expected_s / chunks, reserve=4 * kills
    )
    sender.start()
    restart_at = kills // 2 if restart_broker else -1
    checkpoint = settings.checkpoint(f"bronze_{TOPIC}_kafka")
    table = settings.bronze_table(TOPIC)
    for n in range(kills):
        launched, committed = time.time(), _batches(checkpoint / "commits")
        feeder = _start_feeder(settings, log)
        wait = rng.uniform(*kill_after_s)
        if n == restart_at:
            time.sleep(wait / 2)
            with sender.lock:
                say(f"chaos: stopping the broker under the feeder (run {n + 1})")
                kafka_local.stop(settings)
                time.sleep(3)
                kafka_local.start(settings)
            outcome.broker_restarts += 1
            time.sleep(wait / 2)
        else:
            time.sleep(wait)
        # then the kill, as soon as a micro-batch is under way (its offsets written, its
        # commit not yet): a kill that interrupts real work, not the JVM's start-up
        batch = _kill_mid_batch(
            feeder,
            launched,
            checkpoint,
            table,
            after_a_commit=n % 2 == 1,
            committed_before=committed,
            timeout_s=120,
            nudge=sender.nudge,
        )
        if batch is None:
            outcome.notes.append(
                f"run {n + 1}: no micro-batch under way to kill (the feeder "
                + ("had exited)" if feeder.returncode is not None else "was idle)")
            )
            continue
        outcome.kills += 1
        say(f"chaos: feeder killed {outcome.kills}/{kills} in micro-batch {batch}, {wait:.1f} s in")
    sender.join(timeout=600)
    if sender.error is not None:
        raise ChaosError(f"the producer failed: {sender.error}")
    sender.flush()
    say("chaos: draining the topic with --available-now")
    drain = subprocess.run(
        submit_command(settings, FEEDER, ["--topics", TOPIC, "--available-now"]),
        env=submit_env(settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if drain.returncode != 0:
        raise ChaosError(
            f"the feeder could not resume after the kills (exit {drain.returncode}): "
            f"{drain.stderr.strip()[-500:]}"
        )
    return outcome, corpus


def count_bronze(
    spark: SparkSession, settings: Settings, outcome: FeederOutcome, corpus: list[Event]
) -> FeederOutcome:
    """Fill in the bronze counts: rows, distinct offsets, events lost and duplicated."""
    from pyspark.sql import functions as F

    bronze = spark.read.format("delta").load(str(settings.bronze_table(TOPIC)))
    outcome.bronze_rows = bronze.count()
    outcome.bronze_offsets = bronze.select("kafka_partition", "kafka_offset").distinct().count()
    outcome.duplicated = outcome.bronze_rows - outcome.bronze_offsets
    fields = [F.get_json_object("raw_value", f"$.{k}").alias(k) for k in IDENTITY]
    landed = {tuple(str(v) for v in r) for r in bronze.select(*fields).collect()}
    outcome.lost = len({_identity(e) for e in corpus} - landed)
    return outcome


def count_staging(
    spark: SparkSession, staging_path: Path, outcome: FeederOutcome, corpus: list[Event]
) -> FeederOutcome:
    staged = spark.read.format("delta").load(str(staging_path))
    outcome.staged = staged.select("event_key").distinct().count()
    if outcome.staged != staged.count():
        outcome.notes.append("staging holds an event_key twice")
        outcome.staged = staged.count()
    outcome.staged_expected = len({_identity(e) for e in corpus})
    return outcome


def describe(outcome: FeederOutcome) -> str:
    staged = (
        ""
        if outcome.staged is None
        else f"; staging {outcome.staged} of {outcome.staged_expected} events"
    )
    return (
        f"feeder: {outcome.kills} kill(s) survived, {outcome.broker_restarts} broker "
        f"restart(s); {outcome.produced} events produced, {outcome.lost} lost, "
        f"{outcome.duplicated} duplicated in bronze{staged}"
        + "".join(f"; {note}" for note in outcome.notes)
    )


def as_json(outcome: FeederOutcome) -> dict[str, Any]:
    return {**outcome.__dict__, "staging_exact": outcome.staging_exact}


def dump(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


@dataclass
class DbtOutcome:
    kills: int = 0
    rounds: int = 0
    killed_after_s: list[float] = field(default_factory=list)
    # per kill: the model that was running (started, not finished) when dbt was killed
    killed_in: list[str] = field(default_factory=list)
    tables: int = 0
    differing: list[str] = field(default_factory=list)  # tables unlike a full refresh

    @property
    def exact(self) -> bool:
        return self.tables > 0 and not self.differing


def _round_events(n: int, seed: int, events: int) -> dict[str, list[Event]]:
    """``events`` web and IDE events of the last three days, arriving today (late data)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    return {
        topic: producer.build_events(kind, events, seed + n, start, timedelta(days=3), 0.2, 0.05)
        for kind, topic in (("web", "web_events"), ("ide", "ide_events"))
    }


def _write_round(inbox: Path, n: int, batches: dict[str, list[Event]]) -> None:
    """A round's events as JSON lines in the files source's inbox, one file per topic."""
    today = datetime.now(UTC).date().isoformat()
    for topic, batch in batches.items():
        path = inbox / topic / f"date={today}" / f"part-{n:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in batch))
        tmp.replace(path)


# dbt's console lines as a model starts and as it ends (ok or not)
_MODEL_START = re.compile(r" START sql \w+ model (\S+) ")
_MODEL_END = re.compile(r" (?:OK created|ERROR creating) sql \w+ model (\S+) ")


def _running_model(log_text: str) -> str | None:
    """The model dbt's console output shows as started and not yet ended (one thread)."""
    started = _MODEL_START.findall(log_text)
    ended = set(_MODEL_END.findall(log_text))
    running = [m for m in started if m not in ended]
    return running[-1] if running else None


def _kill_in_model(
    run: subprocess.Popen[Any], log: Path, nth: int, timeout_s: float
) -> tuple[str, float] | None:
    """SIGKILL ``run`` as soon as its ``nth`` model has started, so the kill lands in real
    work (not in dbt's start-up). Returns the model it interrupted and the seconds since the
    start, or None (``run`` killed all the same) if it ended first or ``timeout_s`` passed."""
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout_s and run.poll() is None:
            text = log.read_text(errors="replace")
            if len(_MODEL_START.findall(text)) >= nth and (model := _running_model(text)):
                return model, round(time.monotonic() - began, 1)  # killed at once, below
            time.sleep(0.1)
        return None
    finally:
        _kill(run)


def run_dbt_chaos(
    settings: Settings,
    *,
    kills: int,
    events: int,
    seed: int,
    say: Callable[[str], None] = print,
    spark: SparkSession | None = None,
    land_events: Callable[[str, list[Event], str], None] | None = None,
) -> DbtOutcome:
    """Kill ``dbt run`` once in each of ``kills`` rounds, then run it once to the end: the
    first round is the very first build, each later one a round of new late data (its run
    also redoing what the last kill left). Each kill lands while a model runs, the n-th of
    the run for a random n. Then run it to the end and compare every table with a full
    refresh (both in one warm engine, tooling/engine.py). ``settings`` names
    a lakehouse of its own (its metastore must be free: dbt runs in child processes). With
    ``spark`` (a running session, whatever its metastore) the tables are fingerprinted in
    it, by path, instead of in a JVM of their own each time. With
    ``land_events(topic, events, name)`` each round lands in bronze through it instead of
    the feeder's files source (where the feeder is not what is tested)."""
    from bench import steps
    from tooling.dbt_runner import NO_TESTS

    rng = random.Random(seed)
    outcome = DbtOutcome()
    logs = settings.lakehouse_dir / "chaos" / "logs"
    inbox = settings.lakehouse_dir / "chaos" / "inbox"
    feed_args = [
        "--source",
        "files",
        "--topics",
        "web_events,ide_events",
        "--input-path",
        str(inbox / "{topic}"),
        "--format",
        "json",
        "--available-now",
    ]

    def land(n: int) -> None:
        batches = _round_events(n, seed, events)
        if land_events is not None:
            for topic, batch in batches.items():
                land_events(topic, batch, f"round-{n:03d}")
            return
        _write_round(inbox, n, batches)
        steps.feed(settings, feed_args, logs / f"feed-{n}.log", f"feeder, round {n}")

    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {**submit_env(settings), **_dbt_env(settings), "PYTHONUNBUFFERED": "1"}
    # seeds and models, as `dbt seed` then `dbt run` (one JVM instead of two)
    models = ["build", *NO_TESTS]

    def killed_run(n: int) -> None:
        """The models' build killed while its n-th model runs."""
        log = logs / f"dbt-{n}-killed.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("ab")
        try:
            run = subprocess.Popen(
                [dbt, *models],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        nth = rng.randint(1, 12)
        killed = _kill_in_model(run, log, nth, timeout_s=900)
        if killed is not None:
            model, after_s = killed
            outcome.kills += 1
            outcome.killed_after_s.append(after_s)
            outcome.killed_in.append(model)
            say(
                f"chaos: dbt killed {outcome.kills}/{kills} in {model}, model {nth} of the "
                f"run, after {after_s:.1f} s (round {n})"
            )
        else:
            say(f"chaos: dbt ended before its model {nth} started (round {n}): not killed")
        outcome.rounds += 1

    # round 0 is the very first build: killed while its tables are half created. Each later
    # round lands new late data and is killed again before anything redid the last kill's
    # work (a run killed as it recovers), and one run at the end takes the lakehouse back
    land(0)
    if kills:
        killed_run(0)
    for n in range(1, kills):
        land(n)
        killed_run(n)
    # the run to the end and the full refresh to compare with, in one warm engine (one JVM
    # and dbt start fewer; the engine is what `run --every` redoes a killed run in)
    engine = Engine(settings, env, logs / "engine.log")
    engine.start()
    try:
        _engine_dbt(engine, models, "dbt run after the kills", say)
        incremental = _fingerprint(settings, logs, "after-kills", spark)
        say("chaos: full refresh over the same data, to compare")
        _engine_dbt(engine, [*models, "--full-refresh"], "full refresh", say)
    finally:
        engine.stop()
    full = _fingerprint(settings, logs, "full-refresh", spark)
    outcome.tables = len(full)
    outcome.differing = sorted(t for t in full if incremental.get(t) != full[t])
    return outcome


def _engine_dbt(engine: Engine, args: list[str], what: str, say: Callable[[str], None]) -> None:
    result = engine.run(args)
    if not result.ok:
        raise ChaosError(f"{what} failed: {result.detail[-1500:]} (log {engine.log})")
    say(f"chaos: {what}: {result.seconds:.0f} s in the warm engine")


def _dbt_env(settings: Settings) -> dict[str, str]:
    from tooling.dbt_runner import dbt_env

    return dbt_env(settings)


def _fingerprint(
    settings: Settings, logs: Path, name: str, spark: SparkSession | None
) -> dict[str, Any]:
    from bench import steps
    from tooling.fingerprint import fingerprint

    if spark is not None:
        return fingerprint(spark, settings.warehouse_dir)
    out = logs / f"fingerprint-{name}.json"
    steps.spark_job(
        settings, steps.JOBS / "fingerprint.py", ["--out", str(out)], logs / f"{name}.log", name
    )
    prints: dict[str, Any] = json.loads(out.read_text())
    return prints


def describe_dbt(outcome: DbtOutcome) -> str:
    verdict = (
        "every table equals a full refresh"
        if outcome.exact
        else f"tables unlike a full refresh: {', '.join(outcome.differing) or 'none fingerprinted'}"
    )
    where = f" (killed in {', '.join(outcome.killed_in)})" if outcome.killed_in else ""
    return f"dbt: {outcome.kills} kill(s) survived over {outcome.rounds} round(s){where}; {verdict}"


def run(
    base: Settings,
    *,
    feeder_kills: int,
    dbt_kills: int,
    events: int,
    seed: int,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``./lakehouse chaos``: both fault runs, each in a lakehouse and (for the feeder) a
    broker of its own under ``LAKEHOUSE_DIR/chaos``; returns the figures (also written to
    ``LAKEHOUSE_DIR/chaos/latest.json``)."""
    import shutil

    from streaming.spark import build_session
    from tooling.dbt_runner import run_subprocess
    from tooling.processes import free_port_pair

    root = base.lakehouse_dir / "chaos"
    doc: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if feeder_kills:
        lake = Settings(root / "feeder-lake", base.jars_dir, f"127.0.0.1:{free_port_pair()}")
        shutil.rmtree(lake.lakehouse_dir, ignore_errors=True)
        lake.lakehouse_dir.mkdir(parents=True)
        os.environ["LAKEHOUSE_DIR"] = str(lake.lakehouse_dir)
        os.environ["KAFKA_BOOTSTRAP"] = lake.kafka_bootstrap
        say(f"chaos: a broker of its own at {lake.kafka_bootstrap}")
        kafka_local.start(lake)
        try:
            kafka_local.create_topics(lake.kafka_bootstrap, [TOPIC], partitions=2)
            outcome, corpus = run_feeder_chaos(
                lake, kills=feeder_kills, events=events, seed=seed, say=say
            )
        finally:
            kafka_local.stop(lake)
        if run_subprocess(lake, ["run", "--select", "stg_bronze__ide_events"]) != 0:
            raise ChaosError("dbt could not stage the events after the feeder's kills")
        spark = build_session(lake, "chaos-census", with_metastore=False)
        try:
            count_bronze(spark, lake, outcome, corpus)
            staging = lake.warehouse_dir / "silver.db" / "stg_bronze__ide_events"
            count_staging(spark, staging, outcome, corpus)
        finally:
            spark.stop()
        say(describe(outcome))
        doc["feeder"] = as_json(outcome)
    if dbt_kills:
        lake = Settings(root / "dbt-lake", base.jars_dir, "127.0.0.1:9")
        shutil.rmtree(lake.lakehouse_dir, ignore_errors=True)
        lake.lakehouse_dir.mkdir(parents=True)
        os.environ["LAKEHOUSE_DIR"] = str(lake.lakehouse_dir)
        dbt_outcome = run_dbt_chaos(lake, kills=dbt_kills, events=events, seed=seed, say=say)
        say(describe_dbt(dbt_outcome))
        doc["dbt"] = {**dbt_outcome.__dict__, "exact": dbt_outcome.exact}
    doc["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    dump(root / "latest.json", doc)
    return doc
