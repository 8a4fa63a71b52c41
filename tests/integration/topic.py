"""Reading a Kafka topic back in tests: every record from the beginning, or where it ends."""

from __future__ import annotations

import json
from typing import Any

from kafka import KafkaConsumer, TopicPartition


def records(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record of ``topic`` (JSON values), in partition order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    end = consumer.end_offsets(partitions)
    out: list[dict[str, Any]] = []
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=1000).values():
            out += [json.loads(r.value) for r in batch]
    consumer.close()
    return out


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition: int(o) for tp, o in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def count(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds (from each partition's first offset to its end)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        first = consumer.beginning_offsets(partitions)
        end = consumer.end_offsets(partitions)
        return sum(int(end[tp]) - int(first[tp]) for tp in partitions)
    finally:
        consumer.close()
