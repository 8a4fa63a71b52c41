"""Bad input in bulk: 10,000 generated requests against the collector (hypothesis) and
10,000 malformed Kafka values through the feeder and staging. No 5xx, no crash; every bad
record is refused (HTTP) or quarantined with a reason (Kafka); every good one lands."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError

from streaming import producer
from streaming.collector.app import TOPIC, KafkaSink, serve_in_thread
from streaming.collector.events import EVENT_TYPES
from streaming.spark import run_feeder
from tests.integration import topic as kafka_topic
from tooling.dbt_runner import run_in_process

pytestmark = pytest.mark.integration

REQUESTS = 10_000
VALUES_PER_TOPIC = 5_000

# --- the collector -------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=120),
    st.sampled_from(["sword", "shield", "potion", "p1", "", " ", "1e29", "NaN", "12.5"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = sorted({f for m in EVENT_TYPES.values() for f in m.model_fields} | {"extra"})
# objects built from the real field names: mostly wrong, sometimes right
EVENTS = st.dictionaries(st.sampled_from(FIELDS), SCALARS, max_size=6)
BODIES = st.one_of(
    EVENTS.map(lambda d: json.dumps(d).encode()),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    EVENTS.map(lambda d: json.dumps(d).encode()[: max(1, len(json.dumps(d)) // 2)]),
)
PATHS = st.sampled_from([*EVENT_TYPES, "unknown", "purchase/../level_up", "%00"])
TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])


def _valid(event_type: str, body: bytes) -> bool:
    model = EVENT_TYPES.get(event_type)
    if model is None:
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    try:
        model.model_validate(payload)
    except ValidationError:
        return False
    return True


@pytest.fixture(scope="module")
def fuzz_collector(kafka) -> Iterator[tuple[str, httpx.Client]]:
    from streaming import kafka_local

    kafka_local.create_topics(kafka, [TOPIC], partitions=2)
    with serve_in_thread(KafkaSink(kafka)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield url, client


def test_ten_thousand_generated_requests(fuzz_collector, kafka):
    _, client = fuzz_collector
    accepted: list[str] = []
    statuses: dict[int, int] = {}

    @hsettings(
        max_examples=REQUESTS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(PATHS, BODIES, TYPES)
    def one(event_type: str, body: bytes, content_type: str) -> None:
        headers = {"content-type": content_type} if content_type else {}
        r = client.post(f"/events/{event_type}", content=body, headers=headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (event_type, body, r.text)
        if r.status_code == 202:
            assert content_type.startswith("application/json") and _valid(event_type, body)
            accepted.append(r.json()["event_uuid"])
        else:
            assert r.status_code in (400, 404, 405, 413, 415, 422), r.status_code

    one()
    print(f"collector fuzz: statuses {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= REQUESTS
    stored = _stored_uuids(kafka)
    assert set(accepted) <= stored, "an event answered 202 is not in Kafka"


def _stored_uuids(bootstrap: str) -> set[str]:
    return {e["event_uuid"] for e in kafka_topic.records(bootstrap, TOPIC)}


# --- Kafka values through the feeder and staging -------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _good(topic: str, i: int) -> dict[str, Any]:
    at = (NOW - timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if topic == "web_events":
        return {
            "event_uuid": f"good-{i}",
            "url": "/",
            "referrer": None,
            "user_agent": "Mozilla/5.0",
            "headers": "{}",
            "host": "www.zachwilson.tech",
            "ip": "81.2.69.160",
            "user_id": str(i),
            "event_time": at,
        }
    return {
        "event_uuid": f"good-{i}",
        "event_type": "level_up",
        "player_id": f"p{i}",
        "new_level": 2,
        "received_at": at,
    }


def _junk(topic: str, i: int, rng: random.Random) -> bytes:
    """One malformed value, unique by construction (``fuzz-i``)."""
    good = _good(topic, i)
    good["event_uuid"] = f"fuzz-{i}"
    kind = rng.randrange(9)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))) + f"{i}".encode()
    if kind == 1:
        return json.dumps(good).encode()[: rng.randrange(1, 40)] + f"#{i}".encode()
    if kind == 2:
        return json.dumps(rng.choice([[i], i, f"fuzz-{i}", None, [good]])).encode()
    field = rng.choice(sorted(good))
    if kind == 3:
        good.pop(field)
    elif kind == 4:
        good[field] = rng.choice([{"a": [1, 2]}, [1, 2, 3], 10**30, -1, True, "", " "])
    elif kind == 5:
        good[field] = "x" * rng.choice([100, 3000, 70_000])
    elif kind == 6:
        time_field = "event_time" if topic == "web_events" else "received_at"
        good[time_field] = rng.choice(["yesterday", "1999-01-01T00:00:00Z", "3024-01-01T00:00:00Z"])
    elif kind == 7 and topic == "game_events":
        good.update(
            rng.choice(
                [
                    {
                        "event_type": "purchase",
                        "item_type": "sword",
                        "price": "1e400",
                        "quantity": 1,
                    },
                    {"event_type": "purchase", "item_type": "bow", "price": -5, "quantity": 0},
                    {"event_type": "treasure_found", "treasure_type": "chest", "gold": 10**29},
                    {"event_type": f"t{i}"},
                    {"player_id": None},
                ]
            )
        )
    else:
        good["nested"] = {"deep": [[[[{"x": i}]]]]}
        good[field] = None
    return json.dumps(good).encode()


def test_ten_thousand_malformed_kafka_values(spark, settings, empty_topics, empty_lakehouse):
    kafka = empty_topics
    rng = random.Random(2026)
    produced: dict[str, int] = {}
    for topic in ("web_events", "game_events"):
        junk = [_junk(topic, i, rng) for i in range(VALUES_PER_TOPIC)]
        good = [json.dumps(_good(topic, i)).encode() for i in range(50)]
        values = junk + good
        rng.shuffle(values)
        producer.produce_raw(kafka, topic, values, key=str(uuid.uuid4()))
        produced[topic] = len(values)
    assert run_feeder(settings, ["--available-now"]) == 0
    run_in_process(
        settings,
        ["run", "--select", "path:models/staging"],
        quiet=True,
    )
    for topic, stage in (
        ("web_events", "stg_bronze__web_events"),
        ("game_events", "stg_bronze__game_events"),
    ):
        bronze = spark.read.format("delta").load(str(settings.bronze_table(topic)))
        assert bronze.count() == produced[topic], f"{topic}: bronze lost or added records"
        staged = spark.table(f"silver.{stage}")
        usable = staged.where("not is_quarantined")
        quarantined = spark.sql(
            f"select reason from silver.events_quarantine where topic = '{topic}'"
        ).collect()
        assert all(r.reason for r in quarantined), f"{topic}: a quarantined record has no reason"
        assert usable.count() + len(quarantined) == produced[topic], (
            f"{topic}: {usable.count()} usable + {len(quarantined)} quarantined "
            f"!= {produced[topic]} produced"
        )
        good_ids = {f"good-{i}" for i in range(50)}
        kept = {r.event_uuid for r in usable.select("event_uuid").collect()}
        assert good_ids <= kept, f"{topic}: a good event was not staged"
