"""The collector while its Kafka broker is stalled (process paused) and stopped: every request
is answered 503 with Retry-After within 2.5 s, /health within 1 s, and no 2xx is ever given
for an event Kafka does not hold. On a broker of its own, so pausing it harms no other test."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from streaming import kafka_local
from streaming.collector.app import TOPIC, KafkaSink, serve_in_thread
from tests.integration import topic
from tooling.processes import free_port_pair
from tooling.settings import Settings

pytestmark = pytest.mark.integration

PURCHASE = {"player_id": "p-fault", "item_type": "potion", "price": 2.5, "quantity": 1}


@pytest.fixture(scope="module")
def broker(settings) -> Iterator[Settings]:
    lake = Settings(
        settings.lakehouse_dir / "collector-faults",
        settings.jars_dir,
        f"127.0.0.1:{free_port_pair()}",
    )
    kafka_local.start(lake)
    try:
        kafka_local.create_topics(lake.kafka_bootstrap, [TOPIC], partitions=1)
        yield lake
    finally:
        kafka_local.stop(lake)


def _stored_uuids(bootstrap: str) -> list[str]:
    return [e["event_uuid"] for e in topic.records(bootstrap, TOPIC)]


def _burst(url: str, n: int, tag: str) -> list[tuple[int, float, str | None, str | None]]:
    """n concurrent POSTs: (status, seconds, Retry-After, event_uuid if 202)."""

    def one(i: int) -> tuple[int, float, str | None, str | None]:
        started = time.monotonic()
        r = httpx.post(
            f"{url}/events/purchase",
            json=PURCHASE,
            headers={"idempotency-key": f"{tag}-{i}"},
            timeout=30,
        )
        took = time.monotonic() - started
        uuid = r.json().get("event_uuid") if r.status_code == 202 else None
        return r.status_code, took, r.headers.get("retry-after"), uuid

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def _health(url: str) -> tuple[int, float]:
    started = time.monotonic()
    r = httpx.get(f"{url}/health", timeout=30)
    return r.status_code, time.monotonic() - started


def _wait_health(url: str, status: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _health(url)[0] != status:
        assert time.monotonic() < deadline, f"/health never answered {status}"
        time.sleep(0.2)


# the sink's 1.5 s acknowledgement timeout, plus the request's own time in a burst of 40 on
# two shared cores (2.01 s was seen once with a bound of 2 s)
ANSWER_WITHIN_S = 2.5


def _assert_refused_fast(results: list[tuple[int, float, str | None, str | None]]) -> None:
    for status, took, retry_after, _ in results:
        if status != 202:
            assert status == 503, status
            assert retry_after is not None and int(retry_after) >= 1
        assert took < ANSWER_WITHIN_S, f"answered after {took:.2f} s"


def test_stalled_and_stopped_broker_get_fast_503s_and_no_false_202(broker):
    accepted: list[str] = []
    with serve_in_thread(KafkaSink(broker.kafka_bootstrap)) as url:
        before = _burst(url, 20, "before")
        assert {r[0] for r in before} == {202}
        accepted += [r[3] for r in before if r[3]]

        pid, _ = kafka_local.status(broker)
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # stalled: the port still accepts, nothing answers
        try:
            stalled = _burst(url, 40, "stalled")
            _assert_refused_fast(stalled)
            assert sum(r[0] == 503 for r in stalled) > 0
            accepted += [r[3] for r in stalled if r[3]]
            _wait_health(url, 503, timeout_s=10)
            status, took = _health(url)
            assert status == 503 and took < 1.0
            again = _burst(url, 20, "stalled-again")
            _assert_refused_fast(again)
            assert {r[0] for r in again} == {503}
        finally:
            os.kill(pid, signal.SIGCONT)
        _wait_health(url, 200)
        after_stall = _burst(url, 20, "resumed")
        assert {r[0] for r in after_stall} == {202}
        accepted += [r[3] for r in after_stall if r[3]]

        kafka_local.stop(broker)
        try:
            stopped = _burst(url, 40, "stopped")
            _assert_refused_fast(stopped)
            assert {r[0] for r in stopped} == {503}
            status, took = _health(url)
            assert status == 503 and took < 1.0
        finally:
            kafka_local.start(broker)
        _wait_health(url, 200)
        restarted = _burst(url, 20, "restarted")
        assert {r[0] for r in restarted} == {202}
        accepted += [r[3] for r in restarted if r[3]]

    stored = set(_stored_uuids(broker.kafka_bootstrap))
    missing = [u for u in accepted if u not in stored]
    assert not missing, f"{len(missing)} events answered 202 are not in Kafka"
