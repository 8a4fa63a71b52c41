"""The bronze layer's one shape, shared by every topic and both sources.

Bronze keeps what arrived, untouched: the raw value as text, where it came from (Kafka
coordinates or the input file), when it landed (``_ingested_at``) and the arrival date it is
partitioned by. A record that does not parse is landed all the same, with
``is_malformed = true`` and the reason; dbt's staging models leave it out of the events and
show it in the quarantine view. Web events also carry ``enrichment`` (see
``streaming.enrich``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# The bronze layer is defined once, in dbt's source declaration: its topics and its typed
# columns (dbt creates the tables from it, the feeder writes them from it).
SOURCES_YML = (
    Path(__file__).resolve().parents[1] / "models" / "staging" / "bronze" / "_bronze__sources.yml"
)


def declared_source() -> dict[str, Any]:
    """The `bronze` source as dbt's sources yml declares it."""
    sources = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"]
    source: dict[str, Any] = next(s for s in sources if s["name"] == "bronze")
    return source


_SOURCE = declared_source()
TOPICS: tuple[str, ...] = tuple(t["name"] for t in _SOURCE["tables"])
# (name, Spark SQL type) of every bronze column, in table order; every topic has the same.
BRONZE_SCHEMA: tuple[tuple[str, str], ...] = tuple(
    (c["name"], c["data_type"]) for c in _SOURCE["tables"][0]["columns"]
)
PARTITION_COLUMN: str = _SOURCE["meta"]["partitioned_by"]

# The field that carries each topic's event time. A record must be a JSON object with this
# field holding a parseable timestamp; everything else is judged later, in dbt.
EVENT_TIME_FIELD = {
    "web_events": "event_time",
    "ide_events": "timestamp",
    "game_events": "received_at",
}


# Records and fields beyond these sizes are flagged (malformed), never parsed further or
# enriched: a flood of megabyte values must not fill the lookups' caches or the workers.
MAX_RECORD_CHARS = 64 * 1024
FIELD_CAPS = {
    "web_events": {"ip": 45, "host": 253, "user_agent": 2048, "url": 8192, "referrer": 8192},
    "ide_events": {"user_id": 256, "event_id": 64, "product_code": 64},
    "game_events": {"player_id": 256, "event_uuid": 64, "event_type": 64},
}


def malformed_reason(raw: Column, parsed: Column, topic: str) -> Column:
    """Why ``raw`` cannot be an event of ``topic``, or null when it can.

    ``parsed`` is ``try_parse_json(raw)``, computed once by ``checked`` for every check.
    """
    from pyspark.sql import functions as F

    field = EVENT_TIME_FIELD[topic]
    ts_text = F.try_variant_get(parsed, f"$.{field}", "string")
    reason = (
        F.when(raw.isNull() | (F.trim(raw) == ""), F.lit("empty_value"))
        .when(F.length(raw) > MAX_RECORD_CHARS, F.lit("record_too_large"))
        .when(parsed.isNull(), F.lit("invalid_json"))
        # valid JSON whose text opens with a brace is an object (cheaper than its schema)
        .when(~F.ltrim(raw).startswith("{"), F.lit("not_a_json_object"))
        .when(ts_text.isNull(), F.lit(f"missing_field:{field}"))
        .when(F.try_to_timestamp(ts_text).isNull(), F.lit(f"unparseable_timestamp:{field}"))
    )
    for name, cap in FIELD_CAPS[topic].items():
        value = F.try_variant_get(parsed, f"$.{name}", "string")
        reason = reason.when(F.length(value) > cap, F.lit(f"field_too_long:{name}"))
    return reason


def enrichment(parsed: Column, topic: str, usable: Column) -> Column:
    """Geo and user-agent lookups (JSON text) for web events; null for other topics. Spark
    evaluates a Python UDF for every row, whatever a ``when`` around it says, so the inputs
    themselves are null unless the record is ``usable``: a malformed record's megabyte
    value never reaches a Python worker, the lookups or their caches."""
    from pyspark.sql import functions as F

    if topic != "web_events":
        return F.lit(None).cast("string")
    from streaming.enrich import enrichment_json

    return enrichment_json(
        F.when(usable, F.try_variant_get(parsed, "$.ip", "string")),
        F.when(usable, F.try_variant_get(parsed, "$.user_agent", "string")),
    )


def checked(df: DataFrame, topic: str) -> DataFrame:
    """Add ``_parsed`` (the raw value parsed once, as a variant) and ``malformed_reason``."""
    from pyspark.sql import functions as F

    return df.withColumn("_parsed", F.try_parse_json(F.col("raw_value"))).withColumn(
        "malformed_reason", malformed_reason(F.col("raw_value"), F.col("_parsed"), topic)
    )


def finish(df: DataFrame, topic: str) -> DataFrame:
    """Add the flags, enrichment, landing time and arrival-date partition; fix column order."""
    from pyspark.sql import functions as F

    # The checks and the lookups all read the one parsed variant.
    return (
        checked(df, topic)
        .withColumn(
            "enrichment",
            F.when(
                F.col("malformed_reason").isNull(),
                enrichment(F.col("_parsed"), topic, F.col("malformed_reason").isNull()),
            ),
        )
        .withColumn("is_malformed", F.col("malformed_reason").isNotNull())
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn(PARTITION_COLUMN, F.to_date("_ingested_at"))
        .select(*[F.col(name).cast(data_type).alias(name) for name, data_type in BRONZE_SCHEMA])
    )


def from_kafka(df: DataFrame, topic: str) -> DataFrame:
    """Kafka source rows (key, value, topic, partition, offset, timestamp) to bronze."""
    from pyspark.sql import functions as F

    return finish(
        df.select(
            F.col("value").cast("string").alias("raw_value"),
            F.col("key").cast("string").alias("kafka_key"),
            F.col("topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("timestamp").alias("kafka_timestamp"),
            F.lit(None).cast("string").alias("source_file"),
        ),
        topic,
    )


def from_files(df: DataFrame, topic: str) -> DataFrame:
    """File records (``raw_value``, ``source_file``: see ``streaming.files``) to bronze."""
    from pyspark.sql import functions as F

    return finish(
        df.select(
            F.col("raw_value"),
            F.lit(None).cast("string").alias("kafka_key"),
            F.lit(topic).alias("topic"),
            F.lit(None).cast("int").alias("kafka_partition"),
            F.lit(None).cast("long").alias("kafka_offset"),
            F.lit(None).cast("timestamp").alias("kafka_timestamp"),
            F.col("source_file"),
        ),
        topic,
    )


def ensure_table(spark: SparkSession, path: str) -> bool:
    """Create the bronze table at ``path`` when none is there: empty, with the declared
    columns and partitioning and a change data feed from its first commit (staging reads
    bronze through it). Returns whether this call created it.

    The feeder calls this before its first micro-batch, so a table is created once rather
    than by whichever of the feeder's stream and dbt's ``on-run-start`` writes first (two
    writers creating one table fail with DELTA_PROTOCOL_CHANGED). A creation lost to another
    writer that created the same table counts as done."""
    from delta.tables import DeltaTable

    if DeltaTable.isDeltaTable(spark, path):
        return False
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .partitionedBy(PARTITION_COLUMN)
        .property("delta.enableChangeDataFeed", "true")
    )
    for name, data_type in BRONZE_SCHEMA:
        builder = builder.addColumn(name, data_type)
    try:
        builder.execute()
    except Exception:
        if DeltaTable.isDeltaTable(spark, path):  # another writer created it meanwhile
            return False
        raise
    return True
