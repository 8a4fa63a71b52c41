"""Freshness as a user feels it: how long after an event is produced its session shows.

A Kafka broker of its own; ``./lakehouse run --every`` as a user runs it (the feeder kept
running on Kafka, dbt in the warm engine, data tests every 10 minutes); a steady stream of
web and IDE events into the topics (the producer's generators, timestamped as they are
sent). Some of them are sampled, and a probe reads silver with deltalake (no JVM, while the
engine holds the metastore) every ``PROBE_EVERY_S``: an event is fresh once its row in
``silver.web_events_sessionized`` / ``ide_events_sessionized`` names a session that
``silver.web_sessions`` / ``ide_sessions`` holds. The figures are those delays (p50, p95,
max), measured after the first run (the build from empty is not the steady state), with the
runs' durations. At the end one more run takes in what the feeder landed last, and every
silver and gold table must equal a full refresh.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.incremental import _fingerprint
from bench.steps import BenchError, dbt
from streaming import kafka_local, producer
from streaming.producer import TOPICS
from tooling.schedule import Scheduler

P95_TARGET_S = 60.0
PROBE_EVERY_S = 2.0
SAMPLE_EVERY = 25  # one event in this many is followed
CHUNK_S = 1.0  # the producer sends a second's events at a time
TESTS_EVERY_S = 600.0  # a build with the data tests every 10 minutes, plain runs between
SETTLE_S = 900.0  # how long the last samples may take to show before the run gives up
USER_ACTIONS = {"a", "b", "c"}  # IDE events that always belong to a session


@dataclass
class Sample:
    kind: str  # web | ide
    key: tuple[Any, ...]  # web: (event_uuid,); ide: (user_id, event_id, product_code, epoch ms)
    produced: float  # time.time() once Kafka acknowledged it
    seen: float | None = None


def _epoch_ms(value: Any) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


class _Producer(threading.Thread):
    """``rate`` events a second (half web, half IDE) for ``seconds``; samples some."""

    def __init__(self, bootstrap: str, rate: int, seconds: float, seed: int) -> None:
        super().__init__(name="freshness-producer", daemon=True)
        self.bootstrap, self.rate, self.seconds, self.seed = bootstrap, rate, seconds, seed
        self.samples: list[Sample] = []
        self.sent = 0
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            began = time.monotonic()
            n = 0
            while time.monotonic() - began < self.seconds:
                n += 1
                self._chunk(n)
                ahead = began + n * CHUNK_S - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def _chunk(self, n: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        per_kind = max(1, int(self.rate * CHUNK_S / 2))
        for kind in ("web", "ide"):
            events = producer.build_events(
                kind, per_kind, self.seed * 100_000 + n, now, timedelta(seconds=CHUNK_S), 0, 0
            )
            producer.produce(
                self.bootstrap,
                TOPICS[kind],
                events,
                key_field=producer.KEY_FIELDS[kind],
                progress=False,
            )
            acked = time.time()
            picked = []
            for i, e in enumerate(events):
                if i % SAMPLE_EVERY:
                    continue
                if kind == "web":
                    picked.append(Sample("web", (e["event_uuid"],), acked))
                elif e["event_id"] in USER_ACTIONS:
                    key = (
                        e["user_id"],
                        e["event_id"],
                        e["product_code"],
                        _epoch_ms(e["timestamp"]),
                    )
                    picked.append(Sample("ide", key, acked))
            with self.lock:
                self.samples += picked
                self.sent += len(events)


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def probe(warehouse: Path, pending: list[Sample], now: float) -> None:
    """Mark the samples whose session silver now holds (``seen`` = ``now``): each sample's
    event row joined to the sessions table on its session, read with deltalake (deletion
    vectors applied) while the warm engine writes."""
    from tooling.tables import DeltaLakeTables

    tables = DeltaLakeTables(warehouse)
    web = {s.key[0]: s for s in pending if s.kind == "web"}
    ide = {s.key: s for s in pending if s.kind == "ide"}
    try:
        if web:
            for (key,) in tables.rows(
                "select e.event_key from silver.web_events_sessionized e "
                "join silver.web_sessions s on e.session_id = s.session_id "
                f"where e.event_key in ({_quoted(list(web))})"
            ):
                web.pop(key).seen = now
        if ide:
            for user, event, product, at in tables.rows(
                'select e.user_id, e.event_id, e.product_code, e."timestamp" '
                "from silver.ide_events_sessionized e "
                "join silver.ide_sessions s on e.session_id = s.session_id "
                f"where e.user_id in ({_quoted(sorted({k[0] for k in ide}))})"
            ):
                found = ide.pop((user, event, product, _epoch_ms(at)), None)
                if found is not None:
                    found.seen = now
    except LookupError:  # the first run has not created the tables yet
        return


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    settings = ctx.settings("freshness", kafka=True)
    rate, seconds = plan.freshness_rate, plan.freshness_seconds
    ctx.step(f"freshness: starting a Kafka broker at {settings.kafka_bootstrap}")
    kafka_local.start(settings)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        ctx.progress.console.log(line)

    try:
        kafka_local.create_topics(settings.kafka_bootstrap, list(TOPICS.values()), plan.partitions)
        feeder = ["--source", "kafka", "--topics", ",".join(TOPICS.values())]
        scheduler = Scheduler(
            settings,
            1.0,  # runs back to back
            feeder_args=[*feeder, "--processing-time", "5 seconds"],
            tests_every_s=TESTS_EVERY_S,
            say=say,
        )
        # half a minute of events first, so the first run (a build from empty) has work
        warmup = _Producer(settings.kafka_bootstrap, rate, 30.0, plan.seed + 1)
        measured = _Producer(settings.kafka_bootstrap, rate, seconds, plan.seed)
        measured_from: list[float] = []

        def drive() -> None:
            """Warm up, wait for the first run, produce for ``seconds``, wait for the last
            samples to show, then stop the scheduler."""
            try:
                warmup.run()
                while not scheduler.records and not scheduler.stopping.is_set():
                    time.sleep(0.5)
                measured_from.append(time.time())
                measured.start()
                pending = measured.samples
                deadline = time.monotonic() + seconds + SETTLE_S
                while time.monotonic() < deadline and not scheduler.stopping.is_set():
                    time.sleep(PROBE_EVERY_S)
                    with measured.lock:
                        waiting = [s for s in pending if s.seen is None]
                    if not waiting and not measured.is_alive():
                        break
                    probe(settings.warehouse_dir, waiting, time.time())
            finally:
                scheduler.stopping.set()

        ctx.step(f"freshness: run --every with {rate} events/s for {seconds:.0f} s")
        driver = threading.Thread(target=drive, name="freshness-driver", daemon=True)
        driver.start()
        records = scheduler.run()  # in this thread: it installs signal handlers
        driver.join(timeout=60)
        for p in (warmup, measured):
            if p.error is not None:
                raise BenchError(f"freshness: the producer failed: {p.error}")
    finally:
        kafka_local.stop(settings)

    samples = measured.samples
    unseen = [s for s in samples if s.seen is None]
    if not samples or unseen:
        raise BenchError(
            f"freshness: {len(unseen)} of {len(samples)} sampled events never showed in a "
            f"session within {SETTLE_S:.0f} s of the end (schedule: {' | '.join(lines[-5:])})"
        )
    start = measured_from[0] if measured_from else 0.0
    in_window = [r for r in records[1:] if r.status == "ok"]
    note = (
        f"{measured.sent:,} events in {seconds:.0f} s ({measured.sent / seconds:,.0f}/s, web and "
        f"IDE); {len(samples)} sampled; probe every {PROBE_EVERY_S:.0f} s"
    )
    for kind in ("web", "ide", "all"):
        delays = [s.seen - s.produced for s in samples if kind in ("all", s.kind) and s.seen]
        if not delays:
            continue
        for label, q in (("p50", 0.5), ("p95", 0.95), ("max", 1.0)):
            results.add("freshness", f"{kind} freshness {label}", _percentile(delays, q), "s", note)
    delays = [s.seen - s.produced for s in samples if s.seen]
    results.target(
        f"freshness p95 at {rate} events/s",
        _percentile(delays, 0.95) / P95_TARGET_S,
        "<=",
        1.0,
        f"p95 / {P95_TARGET_S:.0f} s: produce until the event's session is in silver's sessions",
    )
    durations = [r.seconds for r in in_window]
    if durations:
        results.add(
            "freshness",
            "run duration p50",
            statistics.median(durations),
            "s",
            f"{len(durations)} runs after the first (build every {TESTS_EVERY_S / 60:.0f} min)",
        )
        results.add("freshness", "run duration max", max(durations), "s", "")
    results.add(
        "freshness",
        "first run (build from empty)",
        records[0].seconds,
        "s",
        f"measured from {datetime.fromtimestamp(start, UTC).isoformat(timespec='seconds')}"
        if start
        else "",
    )

    # what the feeder landed after the last run, then the comparison with a full refresh
    ctx.step("freshness: one more run, then the full refresh to compare")
    dbt(settings, ["run"], ctx.log("freshness-last-run"), "freshness: the last run")
    incremental = _fingerprint(ctx, settings, "freshness-incremental")
    dbt(settings, ["run", "--full-refresh"], ctx.log("freshness-full"), "freshness: full refresh")
    full = _fingerprint(ctx, settings, "freshness-full-refresh")
    differ = sorted(t for t in full if incremental.get(t) != full[t])
    if differ:
        raise BenchError(f"freshness: the runs differ from a full refresh in {', '.join(differ)}")
    results.check(
        f"freshness: after {len(records)} scheduled runs and one more, all {len(full)} silver "
        "and gold tables equal a full refresh"
    )
