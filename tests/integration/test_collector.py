"""The game events collector on a real uvicorn server and a real Kafka broker."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from streaming import kafka_local
from streaming.collector.app import MAX_BODY_BYTES, TOPIC, KafkaSink, serve_in_thread
from streaming.collector.load import run_ab
from streaming.spark import run_feeder
from tooling.dbt_runner import run_in_process

pytestmark = pytest.mark.integration

PURCHASE = {"player_id": "p1", "item_type": "sword", "price": 12.5, "quantity": 2}


@pytest.fixture(scope="module")
def collector(kafka) -> Iterator[str]:
    kafka_local.create_topics(kafka, [TOPIC], partitions=2)
    with serve_in_thread(KafkaSink(kafka)) as url:
        yield url


def _records(bootstrap: str) -> list[dict]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000)
    partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    end = consumer.end_offsets(partitions)
    out = []
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=1000).values():
            out += [json.loads(r.value) for r in batch]
    consumer.close()
    return out


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


def test_kafka_down_means_503_never_2xx():
    with serve_in_thread(KafkaSink("127.0.0.1:9")) as url:
        r = httpx.post(f"{url}/events/purchase", json=PURCHASE, timeout=60)
        assert r.status_code == 503
        assert "not stored" in r.json()["detail"]
        assert httpx.get(f"{url}/health", timeout=60).status_code == 503


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
    stored = _records(kafka)  # everything in the topic, earlier tests' events too

    assert run_feeder(settings, ["--topics", "game_events", "--available-now"]) == 0
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
