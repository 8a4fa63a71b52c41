"""Land events in bronze: through the feeder's files source (JSON lines in an inbox, then one
``--available-now`` run, no Kafka needed), or appended by the test's own Spark session."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from streaming import bronze
from streaming.spark import run_feeder


def write_json_lines(inbox: Path, topic: str, name: str, events: list[dict]) -> Path:
    path = inbox / topic / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def land(settings, inbox: Path, events: dict[str, list[dict]], name: str) -> None:
    """``events`` (topic -> events) written to the inbox and landed in bronze."""
    for topic, batch in events.items():
        write_json_lines(inbox, topic, name, batch)
    args = ["--source", "files", "--topics", ",".join(events), "--format", "json"]
    args += ["--input-path", str(inbox / "{topic}"), "--available-now"]
    assert run_feeder(settings, args) == 0


def append_to_bronze(
    spark,
    settings,
    topic: str,
    events: list[dict],
    source_file: str,
    *,
    change_feed: bool = True,
    raw: tuple[str, ...] = (),
    arrived: datetime | None = None,
) -> None:
    """``events`` appended to the topic's bronze table as the feeder writes them (its
    ``bronze.finish``), in this process: quicker than a feeder run when the path from Kafka is
    not what a test is about. A table this creates records a change data feed from its first
    commit, as the feeder's do (``change_feed=False``: a bronze table from before the feeder
    turned it on). ``raw``: more records as they arrived, e.g. a line that is not JSON.
    ``arrived``: when they landed (``_ingested_at`` and the arrival-date partition), instead of
    now, for a test that must not depend on the day it runs."""
    from pyspark.sql import functions as F

    values = [json.dumps(e) for e in events] + list(raw)
    df = spark.createDataFrame([(v,) for v in values], "raw_value string").select(
        "raw_value",
        F.lit(None).cast("string").alias("kafka_key"),
        F.lit(topic).alias("topic"),
        F.lit(None).cast("int").alias("kafka_partition"),
        F.lit(None).cast("long").alias("kafka_offset"),
        F.lit(None).cast("timestamp").alias("kafka_timestamp"),
        F.lit(source_file).alias("source_file"),
    )
    # as streaming/feeder.py does
    cdf = "spark.databricks.delta.properties.defaults.enableChangeDataFeed"
    previous = spark.conf.get(cdf, None)
    spark.conf.set(cdf, str(change_feed).lower())
    try:
        landed = bronze.finish(df, topic)
        if arrived is not None:
            landed = landed.withColumn("_ingested_at", F.lit(arrived)).withColumn(
                bronze.PARTITION_COLUMN, F.lit(arrived.date())
            )
        (
            landed.write.format("delta")
            .mode("append")
            .partitionBy(bronze.PARTITION_COLUMN)
            .save(str(settings.bronze_table(topic)))
        )
    finally:
        if previous is None:
            spark.conf.unset(cdf)
        else:
            spark.conf.set(cdf, previous)
