"""Collector: requests/s and p50/p99 latency under Apache Bench at several concurrencies,
against a bare endpoint measured in the same run.

The collector answers 202 only after Kafka acknowledged the event (acks=all), so its figures
include the broker round trip. The bare endpoint is a FastAPI app on the same uvicorn that
reads and parses the same JSON body and writes nothing: what the web stack alone costs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request

from bench.context import Context
from bench.steps import BenchError
from streaming import kafka_local
from streaming.collector.app import KafkaSink, serve_in_thread
from streaming.collector.load import LoadError, LoadResult, run_ab

TARGET_CONCURRENCY = 64
VS_BARE = 0.6
P99_MS = 50


@contextmanager
def bare_endpoint() -> Iterator[str]:
    """A FastAPI POST /events/{event_type} that parses the body and stores nothing."""
    app = FastAPI()

    @app.post("/events/{event_type}", status_code=202)
    async def collect(event_type: str, request: Request) -> dict[str, str]:
        payload = json.loads(await request.body())
        return {"event_type": event_type, "player_id": str(payload.get("player_id"))}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise BenchError("collector: the bare endpoint did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _load(ctx: Context, url: str, level: int, what: str) -> LoadResult:
    plan = ctx.plan
    ctx.step(f"collector: ab -n {plan.collector_requests} -c {level} against the {what}")
    try:
        r = run_ab(url, ctx.work_dir / "ab", plan.collector_requests, level)
    except LoadError as exc:
        raise BenchError(f"collector: {exc}") from exc
    if r.failed or r.non_2xx:
        raise BenchError(
            f"collector: {r.failed} failed and {r.non_2xx} non-2xx responses from the {what} "
            f"at c={level}"
        )
    return r


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    settings = ctx.settings("collector", kafka=True)
    ctx.step(f"collector: starting a Kafka broker at {settings.kafka_bootstrap}")
    kafka_local.start(settings)
    collector: dict[int, LoadResult] = {}
    try:
        kafka_local.create_topics(settings.kafka_bootstrap, ["game_events"], plan.partitions)
        with serve_in_thread(KafkaSink(settings.kafka_bootstrap)) as url:
            for level in plan.concurrency:
                collector[level] = _load(ctx, url, level, "collector")
    finally:
        kafka_local.stop(settings)
    note = f"{plan.collector_requests:,} POST /events/purchase"
    for level, r in collector.items():
        results.add("collector", f"requests/s at c={level}", r.requests_per_second, "req/s", note)
        results.add("collector", f"p50 latency at c={level}", r.p50_ms, "ms", note)
        results.add("collector", f"p99 latency at c={level}", r.p99_ms, "ms", note)
    results.check("collector: every request got its 202 (no failures, no non-2xx)")

    with bare_endpoint() as url:
        bare = _load(ctx, url, TARGET_CONCURRENCY, "bare endpoint")
    note = f"{plan.collector_requests:,} POST, JSON parsed, nothing stored"
    results.add(
        "collector",
        f"bare endpoint requests/s at c={TARGET_CONCURRENCY}",
        bare.requests_per_second,
        "req/s",
        note,
    )
    results.add(
        "collector", f"bare endpoint p99 latency at c={TARGET_CONCURRENCY}", bare.p99_ms, "ms", note
    )
    ours = collector.get(TARGET_CONCURRENCY) or _missing(TARGET_CONCURRENCY)
    results.target(
        f"collector / bare endpoint at c={TARGET_CONCURRENCY}",
        ours.requests_per_second / bare.requests_per_second,
        ">=",
        VS_BARE,
        "requests/s, same uvicorn, same run",
    )
    results.target(
        f"collector p99 latency at c={TARGET_CONCURRENCY} / {P99_MS} ms",
        ours.p99_ms / P99_MS,
        "<=",
        1.0,
        "ab's 99th percentile",
    )


def _missing(level: int) -> LoadResult:
    raise BenchError(f"collector: the plan has no concurrency {level}; add it to compare")
