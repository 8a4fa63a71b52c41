"""Table maintenance and raw retention on real Delta tables: old bronze days go once staging
has read them and never before; OPTIMIZE compacts the feeder's small files; staging keeps
everything; a full refresh that would lose retained-away events is refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from pyspark.sql import functions as F

from streaming import producer
from tests.integration.inbox import append_to_bronze
from tooling import maintain
from tooling.dbt_runner import DbtError, run_in_process

pytestmark = pytest.mark.integration

STAGING = "silver.stg_bronze__web_events"


def _land_today(spark, settings, today: date, n: int, seed: int) -> None:
    """n web events appended as the feeder writes a micro-batch (its small files), landed at
    noon of ``today`` (so a run across midnight lands them on the same day as the rest; the
    feeder is not what this tests)."""
    noon = datetime.combine(today, time(12), UTC)
    events = producer.build_events(
        "web", n, seed, noon - timedelta(hours=6), timedelta(hours=5), 0.0, 0.0
    )
    append_to_bronze(spark, settings, "web_events", events, f"part-{seed}", arrived=noon)


def _append_old_day(spark, settings, day: date, seed: int, n: int = 40) -> None:
    """n new web events that arrived on ``day`` (written straight to bronze: the feeder only
    ever writes today's partition)."""
    path = str(settings.bronze_table("web_events"))
    bronze = spark.read.format("delta").load(path)
    start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(hours=12)
    events = producer.build_events("web", n, seed, start, timedelta(hours=10), 0.0, 0.0)
    raws = spark.createDataFrame([(json.dumps(e),) for e in events], "new_raw string")
    rows = (
        bronze.where("not is_malformed")
        .limit(1)
        .crossJoin(raws)
        .withColumn("raw_value", F.col("new_raw"))
        .withColumn("source_file", F.lit(f"old-day-{day}"))
        .withColumn("_ingested_at", F.lit(f"{day} 12:00:00").cast("timestamp"))
        .withColumn("ingest_date", F.lit(day.isoformat()).cast("date"))
        .select(*bronze.columns)
    )
    rows.write.format("delta").mode("append").save(path)


def _days(spark, settings) -> set[str]:
    path = settings.bronze_table("web_events")
    rows = spark.read.format("delta").load(str(path)).select("ingest_date").distinct().collect()
    return {r[0].isoformat() for r in rows}


def _count(spark, table: str) -> int:
    return int(spark.table(table).count())


def _report(reports, name: str):
    return next(r for r in reports if r.table == name)


def test_retention_waits_for_staging_and_optimize_compacts(spark, settings, empty_lakehouse):
    today = datetime.now(UTC).date()
    for seed in (1, 2, 3):  # three micro-batches: at least three small files today
        _land_today(spark, settings, today, 60, seed)
    read_day, unread_day = today - timedelta(days=30), today - timedelta(days=20)
    _append_old_day(spark, settings, read_day, seed=4)
    run_in_process(settings, ["run", "--select", "stg_bronze__web_events"], quiet=True)
    _append_old_day(spark, settings, unread_day, seed=5)  # after staging's last read
    staged = _count(spark, STAGING)
    assert staged == 3 * 60 + 40

    options = maintain.Options(bronze_retention_days=14, today=today)
    reports = maintain.run(spark, settings, options, say=lambda _line: None)

    web = _report(reports, "bronze.web_events")
    assert web.partitions_dropped == [read_day.isoformat()]
    assert web.partitions_kept_unread == [unread_day.isoformat()]
    assert _days(spark, settings) == {unread_day.isoformat(), today.isoformat()}
    assert web.files_before >= 5
    assert web.files_compacted >= 3 and web.files_after < web.files_before
    assert web.files_vacuumed == 0  # every file is younger than the 7 days VACUUM keeps
    assert _count(spark, STAGING) == staged, "staging keeps what bronze let go"
    log = settings.lakehouse_dir / "maintenance" / "log.jsonl"
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {e["table"] for e in logged} >= {"bronze.web_events", STAGING}

    # staging reads the unread day; the next maintenance lets it go, and optimizes nothing
    # that was not written since
    run_in_process(settings, ["run", "--select", "stg_bronze__web_events"], quiet=True)
    assert _count(spark, STAGING) == staged + 40
    reports = maintain.run(spark, settings, options, say=lambda _line: None)
    web = _report(reports, "bronze.web_events")
    assert web.partitions_dropped == [unread_day.isoformat()]
    assert web.partitions_kept_unread == []
    assert _days(spark, settings) == {today.isoformat()}
    assert _report(reports, "bronze.ide_events").note.startswith("nothing written")

    # a full refresh of staging would lose the two days bronze no longer holds
    with pytest.raises(DbtError, match="raw retention"):
        run_in_process(
            settings, ["run", "--full-refresh", "--select", "stg_bronze__web_events"], quiet=True
        )
    assert _count(spark, STAGING) == staged + 40
    allow = ["--vars", "{retention__allow_staging_rebuild: true}"]
    run_in_process(
        settings,
        ["run", "--full-refresh", "--select", "stg_bronze__web_events", *allow],
        quiet=True,
    )
    assert _count(spark, STAGING) == 3 * 60
