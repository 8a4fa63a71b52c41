"""Kafka -> feeder (spark-submit) -> bronze Delta -> dbt staging, on the real components."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from streaming import bronze, producer
from streaming.spark import run_feeder
from tests.integration import reference
from tests.integration.test_sessions_property import _valid_ide, _valid_web
from tooling.dbt_runner import run_in_process

pytestmark = pytest.mark.integration


def _bronze(spark, settings, topic: str):
    return spark.read.format("delta").load(str(settings.bronze_table(topic)))


def _assert_declared_schema(spark, landed) -> None:
    """A bronze table the real feeder landed has the columns the `bronze` dbt source
    declares, in its order and with its types: the contract staging reads."""
    declared = [
        (name, spark.sql(f"select cast(null as {t}) as c").schema[0].dataType)
        for name, t in bronze.BRONZE_SCHEMA
    ]
    assert [(f.name, f.dataType) for f in landed.schema] == declared


def test_kafka_to_staging_exactly_once(spark, settings, empty_topics, empty_lakehouse):
    kafka = empty_topics
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    web = producer.build_events("web", 300, 7, start, timedelta(hours=6), 0.1, 0.05)
    ide = producer.build_events("ide", 300, 7, start, timedelta(hours=6), 0.1, 0.05)
    web_unique = {e["event_uuid"] for e in web}
    ide_unique = {(e["user_id"], e["event_id"], e["product_code"], e["timestamp"]) for e in ide}
    assert len(web) > len(web_unique) and len(ide) > len(ide_unique), "the set must hold duplicates"

    producer.produce(kafka, "web_events", web, key_field="event_uuid", progress=False)
    producer.produce(kafka, "ide_events", ide, key_field="user_id", progress=False)
    producer.produce_raw(kafka, "web_events", [b"this is not json"])
    producer.produce_raw(kafka, "ide_events", [json.dumps({"user_id": "7"})])

    assert run_feeder(settings, ["--available-now"]) == 0
    web_bronze = _bronze(spark, settings, "web_events")
    ide_bronze = _bronze(spark, settings, "ide_events")
    _assert_declared_schema(spark, web_bronze)
    _assert_declared_schema(spark, ide_bronze)
    assert web_bronze.count() == len(web) + 1
    assert ide_bronze.count() == len(ide) + 1
    flagged = {
        (r.topic, r.malformed_reason, r.raw_value)
        for r in web_bronze.union(ide_bronze).where("is_malformed").collect()
    }
    assert flagged == {
        ("web_events", "invalid_json", "this is not json"),
        ("ide_events", "missing_field:timestamp", '{"user_id": "7"}'),
    }
    offsets = web_bronze.where("kafka_offset is not null").select("kafka_partition").distinct()
    assert offsets.count() == 2, "both partitions of the topic landed"

    # the second run finds nothing new: exactly once across runs
    assert run_feeder(settings, ["--available-now"]) == 0
    assert _bronze(spark, settings, "web_events").count() == len(web) + 1
    assert _bronze(spark, settings, "ide_events").count() == len(ide) + 1

    run_in_process(
        settings,
        [
            "build",
            "--select",
            "path:models/staging",
            "path:seeds",
            "--indirect-selection",
            "cautious",
        ],
        quiet=True,
    )
    stg_web = spark.table("silver.stg_bronze__web_events")
    stg_ide = spark.table("silver.stg_bronze__ide_events")
    assert stg_web.count() == len(web_unique)
    assert {r.event_uuid for r in stg_web.select("event_uuid").collect()} == web_unique
    assert stg_ide.count() == len(ide_unique)
    assert stg_ide.where("is_quarantined").count() == 0
    quarantine = {(r.topic, r.reason) for r in spark.table("silver.events_quarantine").collect()}
    assert quarantine == {
        ("web_events", "invalid_json"),
        ("ide_events", "missing_field:timestamp"),
    }

    # the sessions chains on this data, with their data and unit tests (the whole project,
    # gold and all its tests, is built by the demo in test_report.py)
    run_in_process(
        settings,
        [
            "build",
            "--select",
            "path:models/intermediate",
            "path:models/silver",
            "--indirect-selection",
            "cautious",
        ],
        quiet=True,
    )
    sessioned = spark.sql(
        "select count(*) as events, count(distinct session_id) as sessions "
        "from silver.web_events_sessionized"
    ).first()
    assert sessioned.events == len(web_unique)
    assert spark.table("silver.web_sessions").count() == sessioned.sessions
    assert spark.table("silver.web_sessions").where("country is null").count() == 0
    # the sessions the independent reference finds in the same events, id for id
    web_ids = {
        s["session_id"] for s in reference.web_sessions(reference.sessionize_web(_valid_web(web)))
    }
    ide_ids = {
        s["session_id"] for s in reference.ide_sessions(reference.sessionize_ide(_valid_ide(ide)))
    }
    assert web_ids and ide_ids
    for table, expected in (("web_sessions", web_ids), ("ide_sessions", ide_ids)):
        got = {r.session_id for r in spark.table(f"silver.{table}").select("session_id").collect()}
        assert got == expected, f"{table}: {len(got ^ expected)} sessions unlike the reference"


def test_continuous_trigger_lands_new_events(spark, settings, empty_topics, empty_lakehouse):
    """--processing-time keeps polling: events produced later land in the same run."""
    kafka = empty_topics
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    events = producer.build_events("ide", 25, 11, start, timedelta(minutes=30), 0.0, 0.0)
    args = ["--topics", "ide_events", "--processing-time", "2 seconds", "--run-for", "30"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        feeder = pool.submit(run_feeder, settings, args)
        time.sleep(15)  # the feeder is up and polling by now
        producer.produce(kafka, "ide_events", events, key_field="user_id", progress=False)
        assert feeder.result(timeout=180) == 0
    assert _bronze(spark, settings, "ide_events").count() == 25


def _ide_file_rows(day: str, n: int) -> pa.Table:
    return pa.table(
        {
            "user_id": [f"u{i % 3}" for i in range(n)],
            "event_id": ["a" if i % 2 else "d" for i in range(n)],
            "timestamp": [f"{day}T10:{i:02d}:00.000Z" for i in range(n)],
            "product_code": ["PY"] * n,
        }
    )


def test_files_source_lands_each_file_once(spark, settings, empty_lakehouse):
    inbox = settings.lakehouse_dir / "inbox-ide"
    (inbox / "date=2024-03-01").mkdir(parents=True)
    pq.write_table(_ide_file_rows("2024-03-01", 12), inbox / "date=2024-03-01" / "part-0.parquet")
    args = ["--source", "files", "--input-path", str(inbox), "--topics", "ide_events"]

    assert run_feeder(settings, [*args, "--available-now"]) == 0
    first = _bronze(spark, settings, "ide_events")
    assert first.count() == 12
    _assert_declared_schema(spark, first)

    (inbox / "date=2024-03-02").mkdir()
    pq.write_table(_ide_file_rows("2024-03-02", 5), inbox / "date=2024-03-02" / "part-0.parquet")
    assert run_feeder(settings, [*args, "--available-now"]) == 0
    landed = _bronze(spark, settings, "ide_events")
    assert landed.count() == 12 + 5, "the new file landed, the files already seen not again"
    assert landed.where("is_malformed").count() == 0
    row = json.loads(landed.where("source_file like '%2024-03-02%'").first().raw_value)
    assert set(row) == {"user_id", "event_id", "timestamp", "product_code"}


def test_files_source_contract(spark, settings, empty_lakehouse):
    """CSV mapped by each file's header (a byte-order mark dropped, in JSON lines too),
    temporary names ignored until renamed into place,
    old modification times read, later fields and changed types kept as they arrived."""
    inbox = settings.lakehouse_dir / "inbox-contract"
    day = inbox / "ide" / "date=2024-03-07"
    day.mkdir(parents=True)
    header = "user_id,event_id,timestamp,product_code"
    # a.csv opens with a byte-order mark (as spreadsheets write it): not part of its header
    (day / "a.csv").write_text(f"{header}\nu1,a,2024-03-07T10:00:00.000Z,PY\n", "utf-8-sig")
    (day / "b.csv").write_text(
        "product_code,timestamp,event_id,user_id\nGO,2024-03-07T11:00:00.000Z,b,u2\nshort,row\n"
    )
    (day / "c.csv.tmp").write_text(f"{header}\nu3,a,2024-03-07T12:00:00.000Z,PY\n")
    args = ["--source", "files", "--input-path", str(inbox / "ide"), "--topics", "ide_events"]
    assert run_feeder(settings, [*args, "--format", "csv", "--available-now"]) == 0
    rows = _bronze(spark, settings, "ide_events").collect()
    good = {
        json.loads(r.raw_value)["user_id"]: json.loads(r.raw_value)
        for r in rows
        if not r.is_malformed
    }
    assert set(good) == {"u1", "u2"}, "the .tmp file is not read"
    assert (good["u2"]["product_code"], good["u2"]["event_id"]) == ("GO", "b")
    assert [(r.raw_value, r.malformed_reason) for r in rows if r.is_malformed] == [
        ("short,row", "invalid_json")
    ]

    # renamed into place, with a modification time from 2001 (as `cp -p` keeps it)
    (day / "c.csv.tmp").rename(day / "c.csv")
    old = datetime(2001, 1, 1, tzinfo=UTC).timestamp()
    os.utime(day / "c.csv", (old, old))
    assert run_feeder(settings, [*args, "--format", "csv", "--available-now"]) == 0
    assert _bronze(spark, settings, "ide_events").count() == 4

    web = inbox / "web" / "date=2024-03-07"
    web.mkdir(parents=True)
    event = {
        "url": "/",
        "host": "h.example",
        "ip": "81.2.69.160",
        "user_id": "7",
        "event_time": "2024-03-07T10:00:00.000Z",
    }
    # JSON lines: a blank line is no record; a line without the event time is kept, flagged
    no_time = {k: v for k, v in event.items() if k != "event_time"}
    # ... and a byte-order mark opening the file is not part of its first record
    lines = json.dumps(event) + "\n\n" + json.dumps(no_time) + "\n"
    (web / "1.jsonl").write_text(lines, "utf-8-sig")
    web_args = ["--source", "files", "--input-path", str(inbox / "web"), "--topics", "web_events"]
    assert run_feeder(settings, [*web_args, "--format", "json", "--available-now"]) == 0
    reasons = sorted(
        r.malformed_reason or "" for r in _bronze(spark, settings, "web_events").collect()
    )
    assert reasons == ["", "missing_field:event_time"]
    (web / "2.jsonl").write_text(json.dumps({**event, "user_id": 8, "campaign": "spring"}) + "\n")
    assert run_feeder(settings, [*web_args, "--format", "json", "--available-now"]) == 0
    later = _bronze(spark, settings, "web_events").where("source_file like '%2.jsonl'").first()
    assert json.loads(later.raw_value) == {**event, "user_id": 8, "campaign": "spring"}
    assert _bronze(spark, settings, "web_events").count() == 3  # the blank line is no record
