"""Collector: requests/s and p50/p99 latency under Apache Bench at several concurrencies.

The collector answers 202 only after Kafka acknowledged the event (acks=all), so these
figures include the broker round trip."""

from __future__ import annotations

from bench.context import Context
from bench.steps import BenchError
from streaming import kafka_local
from streaming.collector.app import KafkaSink, serve_in_thread
from streaming.collector.load import LoadError, run_ab


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    settings = ctx.settings("collector", kafka=True)
    ctx.step(f"collector: starting a Kafka broker at {settings.kafka_bootstrap}")
    kafka_local.start(settings)
    try:
        kafka_local.create_topics(settings.kafka_bootstrap, ["game_events"], plan.partitions)
        with serve_in_thread(KafkaSink(settings.kafka_bootstrap)) as url:
            for level in plan.concurrency:
                ctx.step(f"collector: ab -n {plan.collector_requests} -c {level}")
                try:
                    r = run_ab(url, settings.lakehouse_dir / "ab", plan.collector_requests, level)
                except LoadError as exc:
                    raise BenchError(f"collector: {exc}") from exc
                if r.failed or r.non_2xx:
                    raise BenchError(
                        f"collector: {r.failed} failed and {r.non_2xx} non-2xx responses "
                        f"at c={level}"
                    )
                note = f"{plan.collector_requests:,} POST /events/purchase"
                results.add(
                    "collector", f"requests/s at c={level}", r.requests_per_second, "req/s", note
                )
                results.add("collector", f"p50 latency at c={level}", r.p50_ms, "ms", note)
                results.add("collector", f"p99 latency at c={level}", r.p99_ms, "ms", note)
    finally:
        kafka_local.stop(settings)
    results.check("collector: every request got its 202 (no failures, no non-2xx)")
