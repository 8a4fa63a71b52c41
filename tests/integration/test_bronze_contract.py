"""The feeder writes bronze exactly as the `bronze` source declares it (names, order, types)."""

from __future__ import annotations

import pytest

from streaming import bronze

pytestmark = pytest.mark.integration


def _kafka_rows(spark):
    return spark.createDataFrame(
        [(b"k", b'{"event_time": "2024-01-01T00:00:00Z"}', "web_events", 0, 7, None)],
        "key binary, value binary, topic string, partition int, offset bigint, timestamp timestamp",
    )


@pytest.mark.parametrize("topic", bronze.TOPICS)
def test_feeder_output_has_the_declared_schema(spark, topic):
    declared = [
        (name, spark.sql(f"select cast(null as {t}) as c").schema[0].dataType)
        for name, t in bronze.BRONZE_SCHEMA
    ]
    landed = bronze.from_kafka(_kafka_rows(spark), topic)
    assert [(f.name, f.dataType) for f in landed.schema] == declared
