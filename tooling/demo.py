"""``./lakehouse demo``: the whole pipeline once, on this machine.

Kafka, the producer (web and IDE events, two records that cannot be events), game events
posted through the HTTP collector, the feeder (available-now), ``dbt build`` and
``dbt docs generate``, the report and a summary of what landed where.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from streaming import kafka_local, producer
from streaming.bronze import TOPICS
from streaming.spark import run_feeder
from tooling import cluster, lock, summary
from tooling.dbt_runner import DbtError, run_in_process, run_subprocess
from tooling.report import write_report
from tooling.settings import Settings
from tooling.tables import SparkTables, ThriftTables

STEPS = 7


class DemoError(Exception):
    """A demo step failed; the message says which and where to look."""


@dataclass(frozen=True)
class DemoResult:
    seconds: float
    report: Path


def default_start() -> datetime:
    """Midnight UTC five days ago: the synthetic events' first time."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=5)


def post_game_events(settings: Settings, count: int, seed: int, console: Console) -> int:
    """Serve the collector for a moment and post ``count`` synthetic gameplay events to it."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from rich.progress import Progress

    from streaming.collector.app import KafkaSink, serve_in_thread
    from streaming.events import Event
    from streaming.events.game import generate_game_events

    events = generate_game_events(count, seed)
    with serve_in_thread(KafkaSink(settings.kafka_bootstrap)) as url, httpx.Client() as client:

        def post(item: tuple[str, Event]) -> int:
            # a game client's retry loop: the same Idempotency-Key on every attempt, so an
            # event stored before its 503 is not stored twice
            event_type, payload = item
            key = str(uuid.uuid4())
            for attempt in range(5):
                r = client.post(
                    f"{url}/events/{event_type}", json=payload, headers={"idempotency-key": key}
                )
                if r.status_code != 503:
                    break
                time.sleep(float(r.headers.get("retry-after", 1)) * (attempt + 1))
            return r.status_code

        with Progress(console=console, transient=True) as progress, ThreadPoolExecutor(8) as pool:
            task = progress.add_task("collector: posting game events", total=len(events))
            statuses = []
            for status in pool.map(post, events):
                statuses.append(status)
                progress.advance(task)
    rejected = [s for s in statuses if s != 202]
    if rejected:
        raise DemoError(
            f"the collector refused {len(rejected)} of {len(events)} events (HTTP {rejected[0]})"
        )
    return len(events)


def land_events(settings: Settings, count: int, seed: int, console: Console) -> None:
    """Steps 1-4: broker and topics, producer, collector, feeder."""
    console.rule(f"1/{STEPS} Kafka")
    broker = kafka_local.start(settings)
    console.print(f"kafka: broker up at {broker.bootstrap} (logs in {broker.logs})")
    kafka_local.create_topics(settings.kafka_bootstrap, list(TOPICS), partitions=2)
    console.rule(f"2/{STEPS} Producer")
    plan = producer.Synthetic(count=count, seed=seed, start=default_start(), span=timedelta(days=5))
    for kind, sent in producer.produce_synthetic(
        settings.kafka_bootstrap, ["web", "ide"], plan
    ).items():
        console.print(f"produce: {sent} {kind} events -> {producer.TOPICS[kind]}")
    # Two records that cannot be events, to show they are kept and flagged.
    producer.produce_raw(settings.kafka_bootstrap, "web_events", [b"this is not json"])
    producer.produce_raw(settings.kafka_bootstrap, "ide_events", [b'{"user_id": "7"}'])
    console.rule(f"3/{STEPS} Game events through the HTTP collector")
    posted = post_game_events(settings, max(count // 5, 50), seed, console)
    console.print(f"collector: {posted} game events accepted -> game_events")
    console.rule(f"4/{STEPS} Feeder (spark-submit, available-now)")
    master = cluster.layout(settings).master_url if cluster.target_env(settings) else None
    if run_feeder(settings, ["--available-now"], master) != 0:
        raise DemoError("the feeder failed (see above)")


def _build(
    settings: Settings, on_cluster: dict[str, str] | None, lock_fd: int, console: Console
) -> SparkTables | ThriftTables:
    """dbt build and docs generate (under the lakehouse's lock, ``lock_fd``); the tables, read
    where dbt wrote them."""
    if on_cluster:
        # the cluster's Thrift server holds the metastore: dbt and the reads go through it
        console.print("demo: this lakehouse's cluster runs: dbt uses the cluster target")
        for args in (["build"], ["docs", "generate"]):
            if run_subprocess(settings, args, on_cluster, lock_fd=lock_fd) != 0:
                raise DemoError(f"dbt {' '.join(args)} failed on the cluster target (see above)")
        c = cluster.layout(settings)
        return ThriftTables(c.host, c.thrift_port)
    try:
        run_in_process(settings, ["build"])
        run_in_process(settings, ["docs", "generate"])
    except DbtError as exc:
        raise DemoError(str(exc)) from None
    from pyspark.sql import SparkSession

    # dbt ran in this process: getOrCreate hands back its embedded session.
    return SparkTables(SparkSession.builder.getOrCreate())


def run_demo(
    settings: Settings, count: int, seed: int, keep_kafka: bool, console: Console
) -> DemoResult:
    """Run every step; stops the broker it started unless ``keep_kafka``."""
    began = time.monotonic()
    pid, answering = kafka_local.status(settings)
    started_here = pid is None and not answering
    try:
        land_events(settings, count, seed, console)
    finally:
        if started_here and not keep_kafka:
            kafka_local.stop(settings)
    console.rule(f"5/{STEPS} dbt build + docs generate")
    on_cluster = cluster.target_env(settings)
    try:
        with lock.exclusive(settings, "lakehouse demo") as held:
            tables = _build(settings, on_cluster, held, console)
    except lock.Busy as exc:
        raise DemoError(f"another writer runs: {exc}; try again when it ends") from None
    console.rule(f"6/{STEPS} Report")
    report = write_report(tables, settings.lakehouse_dir / "report" / "index.html")
    console.rule(f"7/{STEPS} Summary")
    summary.print_summary(summary.table_rows(tables), summary.quarantine_rows(tables))
    return DemoResult(seconds=time.monotonic() - began, report=report)
