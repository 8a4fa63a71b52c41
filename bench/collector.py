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
from statistics import median

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


def _spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """Each run's figure, in run order, and the range: what one median hides."""
    runs = ", ".join(fmt.format(v) for v in values)
    return f"runs {runs} (range {fmt.format(min(values))}-{fmt.format(max(values))})"


def run(ctx: Context) -> None:
    """Each concurrency level ``collector_repeats`` times; at the target level each collector
    run is paired with a bare-endpoint run right after it, so the two see the same moment of
    a shared machine, and the targets are the medians of the pairs."""
    plan, results = ctx.plan, ctx.results
    settings = ctx.settings("collector", kafka=True)
    ctx.step(f"collector: starting a Kafka broker at {settings.kafka_bootstrap}")
    kafka_local.start(settings)
    collector: dict[int, list[LoadResult]] = {level: [] for level in plan.concurrency}
    bare: list[LoadResult] = []
    if TARGET_CONCURRENCY not in collector:
        _missing(TARGET_CONCURRENCY)
    try:
        kafka_local.create_topics(settings.kafka_bootstrap, ["game_events"], plan.partitions)
        with serve_in_thread(KafkaSink(settings.kafka_bootstrap)) as url, bare_endpoint() as b:
            for _ in range(plan.collector_repeats):
                for level in plan.concurrency:
                    collector[level].append(_load(ctx, url, level, "collector"))
                bare.append(_load(ctx, b, TARGET_CONCURRENCY, "bare endpoint"))
    finally:
        kafka_local.stop(settings)
    note = f"{plan.collector_requests:,} POST /events/purchase, median of {plan.collector_repeats}"
    for level, runs in collector.items():
        rps = [r.requests_per_second for r in runs]
        p99 = [r.p99_ms for r in runs]
        results.add(
            "collector", f"requests/s at c={level}", median(rps), "req/s", f"{note}; {_spread(rps)}"
        )
        results.add(
            "collector", f"p50 latency at c={level}", median(r.p50_ms for r in runs), "ms", note
        )
        results.add(
            "collector", f"p99 latency at c={level}", median(p99), "ms", f"{note}; {_spread(p99)}"
        )
    results.check("collector: every request got its 202 (no failures, no non-2xx)")

    bare_note = (
        f"{plan.collector_requests:,} POST, JSON parsed, nothing stored, median of {len(bare)}"
    )
    bare_rps = [r.requests_per_second for r in bare]
    results.add(
        "collector",
        f"bare endpoint requests/s at c={TARGET_CONCURRENCY}",
        median(bare_rps),
        "req/s",
        f"{bare_note}; {_spread(bare_rps)}",
    )
    results.add(
        "collector",
        f"bare endpoint p99 latency at c={TARGET_CONCURRENCY}",
        median(r.p99_ms for r in bare),
        "ms",
        bare_note,
    )
    ours = collector[TARGET_CONCURRENCY]
    ratios = [
        o.requests_per_second / b.requests_per_second for o, b in zip(ours, bare, strict=True)
    ]
    p99s = [o.p99_ms / P99_MS for o in ours]
    results.target(
        f"collector / bare endpoint at c={TARGET_CONCURRENCY}",
        median(ratios),
        ">=",
        VS_BARE,
        f"requests/s, same uvicorn, each collector run paired with a bare run after it; "
        f"median of {_spread(ratios, '{:.2f}')}",
    )
    results.target(
        f"collector p99 latency at c={TARGET_CONCURRENCY} / {P99_MS} ms",
        median(p99s),
        "<=",
        1.0,
        f"ab's 99th percentile, median of {_spread(p99s, '{:.2f}')}",
    )


def _missing(level: int) -> LoadResult:
    raise BenchError(f"collector: the plan has no concurrency {level}; add it to compare")
