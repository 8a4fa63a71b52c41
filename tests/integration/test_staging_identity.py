"""Staging keeps each event once across all dates, quarantines what cannot be used (with a
reason; the first arrival's verdict stands, even for a time in the future that has since
passed), and never lets bad game events fail the build: records written straight to the
topics, over two feeder runs and two dbt builds, on the real broker, Spark, Delta and dbt."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from streaming import producer
from streaming.spark import run_feeder
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import run_in_process

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _web(event_uuid: str, at: datetime, url: str = "/") -> dict:
    return {
        "event_uuid": event_uuid,
        "url": url,
        "referrer": None,
        "user_agent": "Mozilla/5.0",
        "headers": "{}",
        "host": "www.zachwilson.tech",
        "ip": "81.2.69.160",
        "user_id": "42",
        "event_time": _ts(at),
    }


def _game(event_uuid: str | None, at: datetime, **fields: object) -> dict:
    return {"event_uuid": event_uuid, "received_at": _ts(at), **fields}


def _send(kafka: str, topic: str, records: list[dict]) -> None:
    producer.produce_raw(kafka, topic, [json.dumps(r).encode() for r in records])


# staging (the quarantine too) and the game chain: the web and IDE sessions chains, and every
# data test of the whole project, are built in test_pipeline.py
SELECT = [
    "--select",
    "path:models/staging",
    "+item_purchases",
    "+guild_memberships",
    "+player_stats",
]


def _land_and(settings, command: str) -> None:
    assert run_feeder(settings, ["--topics", "web_events,game_events", "--available-now"]) == 0
    run_in_process(settings, [command, *SELECT], quiet=True)


def test_identity_across_dates_and_game_quarantine(spark, settings, empty_topics, empty_lakehouse):
    kafka = empty_topics  # no seed: neither staging nor the game chain reads one
    day1, day2 = NOW - timedelta(days=2), NOW - timedelta(days=1)
    web_a, web_b, web_c, ahead = (str(uuid.uuid4()) for _ in range(4))
    # stamped 3 days after it lands (a client clock ahead): quarantined by its first arrival
    in_future = NOW + timedelta(days=3)
    buy = {"event_type": "purchase", "player_id": "p1", "item_type": "sword"}
    buy_ok = {**buy, "price": "12.50", "quantity": "2"}
    retry, reused = str(uuid.uuid4()), str(uuid.uuid4())

    _send(
        kafka,
        "web_events",
        [
            _web(web_a, day1),
            _web(web_b, day1),
            _web(web_b, day1),  # a re-delivery in the same batch
            _web(web_c, day1, url="/one"),
            _web(web_c, day1, url="/two"),  # the same id, another payload, same batch
            {**_web(str(uuid.uuid4()), day1), "ip": "9" * 1000},  # flagged, never enriched
            _web(str(uuid.uuid4()), day1, url="/" + "x" * 70_000),  # a record over 64 KiB
            _web(ahead, in_future),
        ],
    )
    _send(
        kafka,
        "game_events",
        [
            _game(retry, day1, **buy_ok),
            _game(reused, day1, **buy_ok),
            _game(None, day1, **buy_ok),
            _game(str(uuid.uuid4()), day1, **{**buy_ok, "event_type": "fly_dragon"}),
            _game(str(uuid.uuid4()), day1, **{**buy_ok, "player_id": None}),
            _game(str(uuid.uuid4()), day1, **{**buy_ok, "price": "1e29"}),
            _game(str(uuid.uuid4()), day1, **{**buy_ok, "price": "cheap"}),
            _game(str(uuid.uuid4()), day1, **buy),  # no price, no quantity
            _game(
                str(uuid.uuid4()),
                day1,
                event_type="treasure_found",
                player_id="p1",
                treasure_type="chest",
                gold=str(10**29),
            ),
        ],
    )
    _land_and(settings, "run")

    # the next batch: the same ids again, on another date
    _send(
        kafka,
        "web_events",
        [
            _web(web_a, day1),  # an exact re-delivery, a day later
            _web(web_b, day2),  # the id re-sent with another event time
        ],
    )
    _send(
        kafka,
        "game_events",
        [
            _game(retry, day2, **buy_ok),  # a client retry: same id, same payload, received later
            _game(reused, day2, **{**buy_ok, "quantity": "9"}),  # same id, another payload
            _game(reused, day2, **{**buy_ok, "quantity": "9"}),  # ... delivered twice
        ],
    )
    # the event ahead of its time delivered again once its time has passed: the verdict of
    # its first arrival stands (as a full refresh, which keeps the first arrival, decides)
    append_to_bronze(
        spark,
        settings,
        "web_events",
        [_web(ahead, in_future)],
        "re-delivery",
        arrived=in_future + timedelta(days=1),
    )
    _land_and(settings, "build")  # every data test of these models passes, bad events or not

    web = spark.table("silver.stg_bronze__web_events")
    assert web.where("not is_quarantined").count() == 3
    assert sorted(r.quarantine_reason for r in web.where("is_quarantined").collect()) == [
        "reused_event_id",
        "reused_event_id",
        "timestamp_in_future",
    ]
    assert web.where(f"event_uuid = '{ahead}'").count() == 1
    flagged = spark.sql(
        "select reason from silver.events_quarantine where topic = 'web_events' "
        "and reason not like 'reused%'"
    ).collect()
    assert sorted(r.reason for r in flagged) == [
        "field_too_long:ip",
        "record_too_large",
        "timestamp_in_future",
    ]
    first_b = web.where(f"event_uuid = '{web_b}' and not is_quarantined").collect()
    assert [r.event_date for r in first_b] == [day1.date()]

    game = spark.table("silver.stg_bronze__game_events")
    kept = game.where("not is_quarantined").collect()
    assert sorted((r.event_uuid, r.event_date, r.quantity) for r in kept) == sorted(
        [(retry, day1.date(), 2), (reused, day1.date(), 2)]
    )
    reasons = sorted(r.quarantine_reason for r in game.where("is_quarantined").collect())
    assert reasons == [
        "missing_field:price",
        "missing_key:event_uuid",
        "missing_key:player_id",
        "not_a_number:price",
        "out_of_range:gold",
        "out_of_range:price",
        "reused_event_id",
        "unknown_event_type",
    ]
    listed = spark.sql(
        "select topic, reason from silver.events_quarantine where topic = 'game_events'"
    ).collect()
    assert sorted(r.reason for r in listed) == reasons

    purchases = spark.table("gold.item_purchases").collect()
    assert [(r.purchases, r.quantity) for r in purchases] == [(2, 4)]
