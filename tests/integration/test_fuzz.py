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
from streaming.bronze import EVENT_TIME_FIELD, FIELD_CAPS, MAX_RECORD_CHARS
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


USABLE = "usable"
# the fields without which an event cannot be used, and the reason staging gives
REQUIRED = {
    "web_events": {"host": "missing_key:host", "ip": "missing_key:ip"},
    "game_events": {
        "player_id": "missing_key:player_id",
        "event_type": "unknown_event_type",
        "new_level": "missing_field:new_level",
    },
}


def _absent(topic: str, field: str) -> frozenset[str] | None:
    """The verdict on an event of ``topic`` whose ``field`` is missing or null; None where
    the record cannot be found again (its own id was the field changed)."""
    if field == "event_uuid":
        return None
    time_field = EVENT_TIME_FIELD[topic]
    if field == time_field:
        return frozenset({f"missing_field:{time_field}"})
    return frozenset({REQUIRED[topic].get(field, USABLE)})


def _blank(topic: str, field: str) -> frozenset[str] | None:
    """The verdict when ``field`` is an empty or blank string."""
    if field == "event_uuid":
        return None
    time_field = EVENT_TIME_FIELD[topic]
    if field == time_field:
        return frozenset({f"unparseable_timestamp:{time_field}"})
    if topic == "web_events" and field == "user_id":
        return frozenset({"missing_key:user_id"})
    return frozenset({REQUIRED[topic].get(field, USABLE)})


def _long(topic: str, field: str, size: int) -> frozenset[str] | None:
    """The verdict when ``field`` is ``size`` x's: the feeder's size checks come first."""
    if size + 200 > MAX_RECORD_CHARS:
        return frozenset({"record_too_large"})
    time_field = EVENT_TIME_FIELD[topic]
    if field == time_field:
        return frozenset({f"unparseable_timestamp:{time_field}"})
    cap = FIELD_CAPS[topic].get(field)
    if cap is not None and size > cap:
        return frozenset({f"field_too_long:{field}"})
    if field == "event_uuid":
        return None  # every such record shares one id: the first is kept, the rest reused
    if topic == "game_events" and field == "new_level":
        return frozenset({"not_a_number:new_level"})
    return frozenset({USABLE})


def _junk(topic: str, i: int, rng: random.Random) -> tuple[bytes, int, frozenset[str] | None]:
    """One malformed value, unique by construction (``fuzz-i``), with its kind and the
    verdicts it may get (a reason, or USABLE); None where only the totals can judge it
    (random bytes, and values whose reading is Spark's business: a number or an object
    where a string was expected)."""
    good = _good(topic, i)
    good["event_uuid"] = f"fuzz-{i}"
    time_field = EVENT_TIME_FIELD[topic]
    kind = rng.randrange(9)
    if kind == 0:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))) + f"{i}".encode()
        return raw, kind, None
    if kind == 1:
        return (
            json.dumps(good).encode()[: rng.randrange(1, 40)] + f"#{i}".encode(),
            kind,
            frozenset({"invalid_json"}),
        )
    if kind == 2:
        value = rng.choice([[i], i, f"fuzz-{i}", None, [good]])
        # JSON null may parse to a null variant or to none at all
        reasons = {"not_a_json_object", "invalid_json"} if value is None else {"not_a_json_object"}
        return json.dumps(value).encode(), kind, frozenset(reasons)
    field = rng.choice(sorted(good))
    verdict: frozenset[str] | None
    if kind == 3:
        good.pop(field)
        verdict = _absent(topic, field)
    elif kind == 4:
        good[field] = rng.choice([{"a": [1, 2]}, [1, 2, 3], 10**30, -1, True, "", " "])
        verdict = _blank(topic, field) if good[field] in ("", " ") else None
    elif kind == 5:
        size = rng.choice([100, 3000, 70_000])
        good[field] = "x" * size
        verdict = _long(topic, field, size)
    elif kind == 6:
        good[time_field] = rng.choice(["yesterday", "1999-01-01T00:00:00Z", "3024-01-01T00:00:00Z"])
        reason = {
            "yesterday": f"unparseable_timestamp:{time_field}",
            "1999-01-01T00:00:00Z": "timestamp_before_2000",
            "3024-01-01T00:00:00Z": "timestamp_in_future",
        }[good[time_field]]
        verdict = frozenset({reason})
    elif kind == 7 and topic == "game_events":
        options: list[tuple[dict[str, Any], frozenset[str]]] = [
            (
                {
                    "event_type": "purchase",
                    "item_type": "sword",
                    "price": "1e400",
                    "quantity": 1,
                },
                frozenset({"out_of_range:price", "not_a_number:price"}),
            ),
            (
                {"event_type": "purchase", "item_type": "bow", "price": -5, "quantity": 0},
                frozenset({"out_of_range:price"}),
            ),
            (
                {"event_type": "treasure_found", "treasure_type": "chest", "gold": 10**29},
                frozenset({"out_of_range:gold"}),
            ),
            ({"event_type": f"t{i}"}, frozenset({"unknown_event_type"})),
            ({"player_id": None}, frozenset({"missing_key:player_id"})),
        ]
        change, verdict = rng.choice(options)
        good.update(change)
    else:
        good["nested"] = {"deep": [[[[{"x": i}]]]]}
        good[field] = None
        verdict = _absent(topic, field)
    return json.dumps(good).encode(), kind, verdict


def _verdicts(spark, settings, topic: str, stage: str) -> tuple[dict[str, str], dict[str, str]]:
    """What became of each record: the feeder's reason by raw value (bronze's malformed
    rows), and staging's verdict by event_uuid (a quarantine reason, or USABLE)."""
    bronze = spark.read.format("delta").load(str(settings.bronze_table(topic)))
    malformed = {
        r.raw_value: r.malformed_reason
        for r in bronze.where("is_malformed").select("raw_value", "malformed_reason").collect()
    }
    staged = {
        r.event_uuid: r.quarantine_reason or USABLE
        for r in spark.table(f"silver.{stage}")
        .where("event_uuid is not null")
        .select("event_uuid", "quarantine_reason")
        .collect()
    }
    return malformed, staged


def test_ten_thousand_malformed_kafka_values(spark, settings, empty_topics, empty_lakehouse):
    kafka = empty_topics
    rng = random.Random(2026)
    produced: dict[str, int] = {}
    judged: dict[str, list[tuple[bytes, int, frozenset[str]]]] = {}
    for topic in ("web_events", "game_events"):
        junk = [_junk(topic, i, rng) for i in range(VALUES_PER_TOPIC)]
        judged[topic] = [(value, kind, verdict) for value, kind, verdict in junk if verdict]
        good = [json.dumps(_good(topic, i)).encode() for i in range(50)]
        values = [value for value, _, _ in junk] + good
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
        # each record of a kind whose verdict the generator knows got that verdict: junk
        # that stages as usable, or a usable event quarantined, fails here
        malformed, staged = _verdicts(spark, settings, topic, stage)
        wrong: list[tuple[int, str, str]] = []
        tally: dict[int, int] = {}
        for value, kind, verdict in judged[topic]:
            text = value.decode()
            got = malformed.get(text) or staged.get(json.loads(text)["event_uuid"], "not staged")
            tally[kind] = tally.get(kind, 0) + 1
            if got not in verdict:
                wrong.append((kind, got, text[:120]))
        print(f"{topic}: records judged per kind {dict(sorted(tally.items()))}")
        assert sum(tally.values()) > VALUES_PER_TOPIC // 2, (topic, tally)
        assert not wrong, f"{topic}: {len(wrong)} records with the wrong verdict, e.g. {wrong[:5]}"
