"""Maintenance: bronze file counts and one query's time before and after `./lakehouse
maintain`, after the feeder landed many micro-batches.

Produces N web events into Kafka, lands them with the feeder in about MICRO_BATCHES
micro-batches (``--max-offsets-per-trigger``: the small files a streaming feeder leaves),
then runs bench/jobs/maintenance.py: the query best of three, maintenance, the query again.
"""

from __future__ import annotations

import json

from bench import steps
from bench.context import Context
from bench.ingest import TOPIC, produce_events
from bench.steps import BenchError
from streaming import kafka_local

MICRO_BATCHES = 100
JOB = steps.JOBS / "maintenance.py"


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    events = max(plan.ingest_events // 10, 5_000)
    settings = ctx.settings("maintenance", kafka=True)
    ctx.step(f"maintenance: {events:,} web events into Kafka")
    kafka_local.start(settings)
    try:
        kafka_local.create_topics(settings.kafka_bootstrap, [TOPIC], plan.partitions)
        produce_events(settings.kafka_bootstrap, events, plan.seed, lambda _n: None)
        per_trigger = max(events // MICRO_BATCHES, 1)
        ctx.step(f"maintenance: the feeder, {per_trigger:,} offsets per micro-batch")
        landed = steps.feed(
            settings,
            ["--topics", TOPIC, "--available-now", "--max-offsets-per-trigger", str(per_trigger)],
            ctx.log("maintenance-feeder"),
            "feeder",
        )
    finally:
        kafka_local.stop(settings)
    batches = next(iter(landed.values())).batches
    ctx.step("maintenance: the query, maintenance, the query again")
    out = settings.lakehouse_dir / "figures.json"
    steps.spark_job(settings, JOB, ["--out", str(out)], ctx.log("maintenance-job"), "maintain")
    figures = json.loads(out.read_text())
    web = figures["web"]
    note = f"bronze web_events, {events:,} events in {batches} micro-batches"
    results.add(
        "maintenance", "bronze files before maintenance", web["files_before"], "files", note
    )
    results.add("maintenance", "bronze files after maintenance", web["files_after"], "files", note)
    query = "distinct visitors per host over bronze's raw JSON, best of 3"
    results.add("maintenance", "query before maintenance", figures["query_before_s"], "s", query)
    results.add("maintenance", "query after maintenance", figures["query_after_s"], "s", query)
    results.add("maintenance", "maintenance of bronze web_events", web["seconds"], "s", note)
    if web["files_after"] >= web["files_before"]:
        raise BenchError(
            f"maintenance: OPTIMIZE left {web['files_after']} bronze files of {web['files_before']}"
        )
    results.check("maintenance: OPTIMIZE left fewer bronze files than the feeder wrote")
