"""Ingest: how fast the feeder drains Kafka into bronze, against what Spark can read at all.

Pre-produces N web events into a topic with 2+ partitions, then, in one run, times:
  - Spark's Kafka source into the ``noop`` sink (the ceiling on this machine),
  - the same plus every bronze column the feeder computes, still into ``noop``,
  - the feeder itself (``--available-now``, Delta bronze),
  - a plain kafka-python consumer reading every record.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, TopicPartition

from bench import steps
from bench.context import Context
from streaming import kafka_client, kafka_local, producer
from streaming.events.web import generate_web_events

TOPIC = "web_events"
CHUNK = 100_000


def produce_events(bootstrap: str, count: int, seed: int, advance) -> float:
    """Produce `count` web events in chunks (bounded memory); returns the seconds it took."""
    start = datetime(2024, 3, 1, tzinfo=UTC)
    spent = 0.0
    sent = 0
    chunk_no = 0
    while sent < count:
        n = min(CHUNK, count - sent)
        events = generate_web_events(
            n, seed + chunk_no, start + timedelta(hours=chunk_no), timedelta(hours=1)
        )
        began = time.monotonic()
        sent += producer.produce(bootstrap, TOPIC, events, key_field="event_uuid", progress=False)
        spent += time.monotonic() - began
        chunk_no += 1
        advance(n)
    return spent


def consume_all(bootstrap: str, expected: int) -> tuple[int, float]:
    """Read every record of the topic with kafka-python; returns (records, seconds)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        **kafka_client.load().python_kwargs(),
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        began = time.monotonic()
        seen = 0
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000, max_records=50_000).values():
                seen += len(records)
        return seen, time.monotonic() - began
    finally:
        consumer.close()


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    settings = ctx.settings("ingest", kafka=True)
    n = plan.ingest_events
    ctx.step(f"ingest: starting a Kafka broker at {settings.kafka_bootstrap}")
    kafka_local.start(settings)
    try:
        kafka_local.create_topics(settings.kafka_bootstrap, [TOPIC], plan.partitions)
        with ctx.counter(f"ingest: producing {n:,} web events", n) as advance:
            seconds = produce_events(settings.kafka_bootstrap, n, plan.seed, advance)
        results.add(
            "ingest",
            "kafka-python producer",
            n / seconds,
            "events/s",
            f"{n:,} events, {plan.partitions} partitions, acks=all",
        )

        ctx.step("ingest: Spark Kafka source -> noop (the ceiling)")
        ceiling = _noop(ctx, settings, "raw")
        ctx.step("ingest: the feeder (--available-now, Delta bronze)")
        fed = steps.feed(
            settings, ["--topics", TOPIC, "--available-now"], ctx.log("ingest-feeder"), "feeder"
        )
        feeder = next(iter(fed.values()))
        ctx.step("ingest: Spark Kafka source + bronze columns -> noop")
        transform = _noop(ctx, settings, "bronze")
        ctx.step("ingest: kafka-python consumer")
        consumed, consume_s = consume_all(settings.kafka_bootstrap, n)
    finally:
        kafka_local.stop(settings)

    for label, landed in (
        ("Spark Kafka source -> noop sink", ceiling),
        ("feeder -> Delta bronze", feeder),
        ("Spark + bronze columns -> noop sink", transform),
    ):
        if landed.rows != n:
            raise steps.BenchError(f"ingest: {label} read {landed.rows:,} of {n:,} records")
        results.add(
            "ingest",
            label,
            landed.rows / landed.seconds,
            "events/s",
            f"{landed.seconds:.1f} s in {landed.batches} batch(es); "
            f"{landed.wall_seconds:.0f} s with the JVM start",
        )
    if consumed != n:
        raise steps.BenchError(f"ingest: the kafka-python consumer read {consumed:,} of {n:,}")
    results.add(
        "ingest",
        "kafka-python consumer",
        consumed / consume_s,
        "events/s",
        f"{consume_s:.1f} s, one thread",
    )
    results.check(f"ingest: each reader saw exactly the {n:,} events produced")
    ratio = (feeder.rows / feeder.seconds) / (ceiling.rows / ceiling.seconds)
    results.target("feeder / noop ceiling", ratio, ">=", 0.8, "events/s, feeder vs Spark -> noop")


def _noop(ctx: Context, settings, transform: str) -> steps.Landed:
    """Drain the topic into Spark's noop sink (``raw``: the ceiling; ``bronze``: with the
    feeder's columns computed) and return what the job reported it read."""
    done = steps.spark_job(
        settings,
        steps.JOBS / "kafka_noop.py",
        ["--topic", TOPIC, "--transform", transform],
        ctx.log(f"ingest-noop-{transform}"),
        f"Spark ({transform}) -> noop",
    )
    landed = steps.landed_lines(done)
    if len(landed) != 1:
        raise steps.BenchError(f"Spark ({transform}) -> noop did not report what it read")
    return next(iter(landed.values()))
