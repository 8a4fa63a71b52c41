"""Producer, collector and feeder against a broker that wants SASL (SASL_PLAINTEXT, PLAIN and
SCRAM-SHA-256): the clients take their security settings from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from streaming import kafka_local, producer
from streaming.bronze import TOPICS
from streaming.spark import run_feeder
from tooling.demo import default_start, post_game_events
from tooling.processes import free_port_pair
from tooling.settings import Settings

pytestmark = pytest.mark.integration

USER, PASSWORD = "feeder", 'pa ss"word'


def _client(monkeypatch, mechanism: str, password: str = PASSWORD) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", mechanism)
    monkeypatch.setenv("KAFKA_SASL_USERNAME", USER)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", password)


def test_clients_authenticate_with_plain_and_scram(spark, settings, monkeypatch):
    lake = Settings(
        settings.lakehouse_dir / "sasl-lake",
        settings.jars_dir,
        f"127.0.0.1:{free_port_pair()}",
    )
    monkeypatch.setenv("KAFKA_BOOTSTRAP", lake.kafka_bootstrap)
    _client(monkeypatch, "SCRAM-SHA-256")
    kafka_local.start(lake)
    try:
        kafka_local.create_topics(lake.kafka_bootstrap, list(TOPICS), partitions=1)
        plan = producer.Synthetic(count=120, seed=3, start=default_start(), span=timedelta(hours=6))
        sent = producer.produce_synthetic(lake.kafka_bootstrap, ["web", "ide"], plan)

        _client(monkeypatch, "PLAIN")
        posted = post_game_events(lake, 40, 3, Console(stderr=True))
        assert run_feeder(lake, ["--available-now"]) == 0

        _client(monkeypatch, "PLAIN", password="wrong")
        assert not kafka_local.broker_answers(lake.kafka_bootstrap, timeout_s=3)
        with pytest.raises(producer.ProducerError):
            producer.produce_raw(lake.kafka_bootstrap, "web_events", [b"{}"])
    finally:
        _client(monkeypatch, "PLAIN")
        kafka_local.stop(lake)

    landed = {
        topic: spark.read.format("delta").load(str(lake.bronze_table(topic))).count()
        for topic in TOPICS
    }
    assert landed == {"web_events": sent["web"], "ide_events": sent["ide"], "game_events": posted}
