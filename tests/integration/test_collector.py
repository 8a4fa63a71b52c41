"""The game events collector on a real uvicorn server and a real Kafka broker."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from streaming import kafka_local
from streaming.collector.app import MAX_BODY_BYTES, TOPIC, KafkaSink, serve_in_thread
from streaming.collector.config import CollectorConfig
from streaming.collector.load import run_ab
from streaming.spark import run_feeder
from tests.integration import topic
from tooling.dbt_runner import run_in_process

pytestmark = pytest.mark.integration

PURCHASE = {"player_id": "p1", "item_type": "sword", "price": 12.5, "quantity": 2}


@pytest.fixture(scope="module")
def collector(kafka) -> Iterator[str]:
    kafka_local.create_topics(kafka, [TOPIC], partitions=2)
    with serve_in_thread(KafkaSink(kafka)) as url:
        yield url


def _records(bootstrap: str) -> list[dict]:
    return topic.records(bootstrap, TOPIC)


def test_accepted_event_is_in_kafka_with_uuid_and_server_time(collector, kafka):
    r = httpx.post(f"{collector}/events/purchase", json=PURCHASE)
    assert r.status_code == 202, r.text
    body = r.json()
    stored = [e for e in _records(kafka) if e["event_uuid"] == body["event_uuid"]]
    assert len(stored) == 1
    event = stored[0]
    assert event["event_type"] == "purchase"
    assert event["received_at"] == body["received_at"]
    assert event["received_at"].endswith("Z") and len(event["received_at"]) == 24
    assert (event["player_id"], event["item_type"], event["price"], event["quantity"]) == (
        "p1",
        "sword",
        "12.5",
        2,
    )


@pytest.mark.parametrize(
    ("path", "payload", "status", "message"),
    [
        ("/events/fly_dragon", {"player_id": "p1"}, 404, "unknown event type 'fly_dragon'"),
        ("/events/purchase", {**PURCHASE, "price": "cheap"}, 422, "price"),
        ("/events/purchase", {**PURCHASE, "item_type": "bow"}, 422, "item_type"),
        (
            "/events/purchase",
            {"player_id": "p1", "item_type": "sword"},
            422,
            "price: Field required",
        ),
        ("/events/purchase", {**PURCHASE, "quantity": 0}, 422, "quantity"),
        ("/events/guild_join", {"player_id": "p1", "guild_name": "x", "admin": True}, 422, "admin"),
        ("/events/level_up", {"player_id": "p1", "new_level": "2"}, 422, "new_level"),
        ("/events/level_up", [1, 2], 400, "JSON object"),
    ],
)
def test_bad_requests_get_a_4xx_and_never_reach_kafka(
    collector, kafka, path, payload, status, message
):
    before = len(_records(kafka))
    r = httpx.post(f"{collector}{path}", json=payload)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert len(_records(kafka)) == before


def test_not_json_and_oversized_bodies_are_refused(collector, kafka):
    before = len(_records(kafka))
    r = httpx.post(
        f"{collector}/events/purchase",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "not JSON" in r.json()["detail"]
    big = json.dumps({**PURCHASE, "pad": "x" * (MAX_BODY_BYTES + 1)})
    r = httpx.post(
        f"{collector}/events/purchase", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert len(_records(kafka)) == before


def test_health_reports_kafka(collector):
    r = httpx.get(f"{collector}/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "kafka": "up"}


def test_kafka_unreachable_from_the_start_means_503_at_once():
    """A collector started before Kafka serves: 503 with Retry-After, fast, never a 2xx."""
    sink = KafkaSink("127.0.0.1:9")
    with serve_in_thread(sink, wait_for_kafka=False) as url:
        for _ in range(3):
            started = time.monotonic()
            r = httpx.post(f"{url}/events/purchase", json=PURCHASE, timeout=10)
            assert time.monotonic() - started < 2
            assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
            assert "not stored" in r.json()["detail"]
        started = time.monotonic()
        health = httpx.get(f"{url}/health", timeout=10)
        assert time.monotonic() - started < 1
        assert health.status_code == 503 and health.json()["status"] == "degraded"


def test_a_fatal_producer_error_is_down_until_a_new_producer_stores_again(kafka):
    """librdkafka reports a fatal error (as its error callback does when an idempotent
    producer loses its sequence): the sink is down at once, builds a new producer, and
    stores events through it."""
    from confluent_kafka import KafkaError

    kafka_local.create_topics(kafka, [TOPIC], partitions=2)
    sink = KafkaSink(kafka)
    with serve_in_thread(sink) as url:
        failed = sink._producer
        sink.on_error(KafkaError(KafkaError._FATAL, "injected by the test", fatal=True))
        state = sink.state()
        assert not state.up and "fatally" in state.reason, state
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/health", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, sink.state()
            time.sleep(0.2)
        assert sink._producer is not None and sink._producer is not failed
        r = httpx.post(f"{url}/events/purchase", json={**PURCHASE, "player_id": "p-fatal"})
        assert r.status_code == 202, r.text
        uuid = r.json()["event_uuid"]
    assert uuid in {e["event_uuid"] for e in _records(kafka)}


def test_idempotency_key_gives_every_retry_the_same_event_uuid(collector):
    def post(key: str | None, player: str = "p-idem") -> str:
        headers = {"idempotency-key": key} if key else {}
        r = httpx.post(
            f"{collector}/events/purchase", json={**PURCHASE, "player_id": player}, headers=headers
        )
        assert r.status_code == 202, r.text
        return str(r.json()["event_uuid"])

    assert post("order-1") == post("order-1")
    assert post("order-1") != post("order-2")
    assert post("order-1") != post("order-1", player="someone-else")
    assert post(None) != post(None)
    r = httpx.post(
        f"{collector}/events/purchase", json=PURCHASE, headers={"idempotency-key": "x" * 129}
    )
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["detail"]


def test_hostile_bodies_get_a_4xx(collector, kafka):
    before = len(_records(kafka))

    def chunks():
        for _ in range(64):
            yield b" " * 1024  # 64 KiB, chunked: no content-length to refuse it by

    r = httpx.post(
        f"{collector}/events/purchase",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    deep = b"[" * 5_000 + b"]" * 5_000  # under the size limit
    r = httpx.post(
        f"{collector}/events/purchase", content=deep, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "deeper" in r.json()["detail"]
    nested = json.dumps({**PURCHASE, "price": {"a": {"b": 1}}})
    r = httpx.post(
        f"{collector}/events/purchase", content=nested, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    r = httpx.post(
        f"{collector}/events/purchase",
        content=json.dumps(PURCHASE),
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 415
    for field, value in (("price", 1e29), ("quantity", 10**9)):
        r = httpx.post(f"{collector}/events/purchase", json={**PURCHASE, field: value})
        assert r.status_code == 422 and field in r.json()["detail"]
    r = httpx.post(
        f"{collector}/events/treasure_found",
        json={"player_id": "p1", "treasure_type": "chest", "gold": 10**29},
    )
    assert r.status_code == 422 and "gold" in r.json()["detail"]
    assert len(_records(kafka)) == before


def test_api_keys_rate_limit_and_docs_switch(kafka):
    key = "k" * 32
    config = CollectorConfig(api_keys=frozenset({key}), rate_per_second=1, burst=3, docs=False)
    with serve_in_thread(KafkaSink(kafka), config=config) as url:
        assert httpx.post(f"{url}/events/purchase", json=PURCHASE).status_code == 401
        wrong = {"x-api-key": "w" * 32}
        assert httpx.post(f"{url}/events/purchase", json=PURCHASE, headers=wrong).status_code == 401
        statuses = [
            httpx.post(f"{url}/events/purchase", json=PURCHASE, headers={"x-api-key": key})
            for _ in range(5)
        ]
        assert [r.status_code for r in statuses[:3]] == [202, 202, 202]
        assert statuses[-1].status_code == 429 and int(statuses[-1].headers["retry-after"]) >= 1
        bearer = {"authorization": f"Bearer {key}"}
        time.sleep(1.1)
        assert (
            httpx.post(f"{url}/events/purchase", json=PURCHASE, headers=bearer).status_code == 202
        )
        assert httpx.get(f"{url}/docs").status_code == 404
        assert httpx.get(f"{url}/openapi.json").status_code == 404


def test_load_with_apache_bench(collector, settings):
    assert shutil.which("ab"), "ab is missing: apt-get install apache2-utils (.ci/run does)"
    result = run_ab(collector, settings.lakehouse_dir / "tmp", requests=200, concurrency=8)
    assert result.failed == 0 and result.non_2xx == 0
    assert result.requests_per_second > 0
    assert 0 <= result.p50_ms <= result.p99_ms


def test_http_to_gold(collector, kafka, spark, settings, empty_lakehouse):
    """Events posted over HTTP come out in the gold game tables, exactly once."""
    posts = [
        ("purchase", {"player_id": "e2e-1", "item_type": "shield", "price": 30, "quantity": 1}),
        ("purchase", {"player_id": "e2e-1", "item_type": "sword", "price": 12.5, "quantity": 2}),
        ("purchase", {"player_id": "e2e-2", "item_type": "potion", "price": 2.25, "quantity": 4}),
        ("guild_join", {"player_id": "e2e-1", "guild_name": "Knights of e2e"}),
        ("guild_join", {"player_id": "e2e-2", "guild_name": "Knights of e2e"}),
        ("guild_join", {"player_id": "e2e-2", "guild_name": "Knights of e2e"}),
        ("level_up", {"player_id": "e2e-1", "new_level": 2}),
        ("level_up", {"player_id": "e2e-1", "new_level": 3}),
        ("treasure_found", {"player_id": "e2e-2", "treasure_type": "chest", "gold": 50}),
        ("potion_taken", {"player_id": "e2e-2", "potion_type": "health", "health_restored": 20}),
        ("enemy_defeated", {"player_id": "e2e-2", "enemy_type": "orc", "xp": 10}),
        ("enemy_attack", {"player_id": "e2e-1", "enemy_type": "orc", "damage": 3}),
    ]
    for event_type, payload in posts:
        assert httpx.post(f"{collector}/events/{event_type}", json=payload).status_code == 202
    # everything in the topic, earlier tests' events too; retries with one Idempotency-Key
    # share an event_uuid and count once
    stored = list({e["event_uuid"]: e for e in reversed(_records(kafka))}.values())

    # (a second feeder run adding nothing is test_pipeline's: one run here)
    assert run_feeder(settings, ["--topics", "game_events", "--available-now"]) == 0
    run_in_process(
        settings,
        ["build", "--select", "+item_purchases", "+guild_memberships", "+player_stats"],
        quiet=True,
    )

    expected: dict[tuple[str, str], tuple[int, int, Decimal]] = {}
    for e in stored:
        if e["event_type"] == "purchase":
            key = (e["item_type"], e["received_at"][:10])
            n, q, rev = expected.get(key, (0, 0, Decimal(0)))
            expected[key] = (n + 1, q + e["quantity"], rev + Decimal(e["price"]) * e["quantity"])
    got = {
        (r.item_type, str(r.purchase_date)): (r.purchases, r.quantity, r.revenue)
        for r in spark.table("gold.item_purchases").collect()
    }
    assert got == expected

    guild = spark.sql(
        "select joins, new_members, members from gold.guild_memberships "
        "where guild_name = 'Knights of e2e'"
    ).collect()
    assert [tuple(r) for r in guild] == [(3, 2, 2)]
    players = {
        r.player_id: r
        for r in spark.sql("select * from gold.player_stats where player_id like 'e2e-%'").collect()
    }
    assert (players["e2e-1"].level, players["e2e-1"].purchases) == (3, 2)
    assert players["e2e-1"].amount_spent == Decimal("55.00")
    assert (
        players["e2e-2"].level,
        players["e2e-2"].treasures_found,
        players["e2e-2"].gold_found,
    ) == (
        1,
        1,
        50,
    )
    assert (players["e2e-2"].potions_taken, players["e2e-2"].enemies_defeated) == (1, 1)
