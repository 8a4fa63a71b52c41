"""The local broker's set-up helpers that need no JVM."""

from __future__ import annotations

from streaming.kafka_local import new_cluster_id


def test_cluster_ids_never_read_as_an_option():
    # base64 of a random uuid starts with '-' once in 64 draws; kafka-storage took it for a flag
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
