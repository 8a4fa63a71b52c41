"""Bad input: a one-line error that says what to do, a non-zero exit, nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from streaming import kafka_local, producer
from tooling.settings import REPO_ROOT, Settings

FEEDER = str(REPO_ROOT / "streaming" / "feeder.py")


def _feeder(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, FEEDER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    return lines[0]


def test_feeder_rejects_an_unknown_topic():
    r = _feeder("--topics", "nope", "--available-now")
    assert r.returncode == 2
    assert "unknown topic(s) nope" in _one_line(r.stderr)


def test_feeder_needs_a_trigger():
    r = _feeder("--topics", "web_events")
    assert r.returncode == 2
    assert "--available-now or --processing-time" in _one_line(r.stderr)


def test_feeder_refuses_an_input_path_without_files(tmp_path):
    r = _feeder(
        "--source",
        "files",
        "--input-path",
        str(tmp_path),
        "--topics",
        "ide_events",
        "--available-now",
    )
    assert r.returncode == 1
    assert "holds no parquet, csv or json files" in _one_line(r.stderr)


def test_feeder_says_when_no_broker_answers(tmp_path):
    r = _feeder(
        "--available-now", env={"KAFKA_BOOTSTRAP": "127.0.0.1:9", "LAKEHOUSE_DIR": str(tmp_path)}
    )
    assert r.returncode == 1
    assert "no Kafka broker answers at 127.0.0.1:9" in _one_line(r.stderr)
    assert not any(tmp_path.iterdir()), "nothing may be written"


def test_broker_start_reports_a_taken_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        settings = Settings(tmp_path, REPO_ROOT / ".jars", f"127.0.0.1:{port}")
        with pytest.raises(kafka_local.KafkaLocalError, match=f"port 127.0.0.1:{port} is taken"):
            kafka_local.start(settings)
    assert not (tmp_path / "kafka" / "broker.pid").exists()


def test_broker_start_needs_java(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(tmp_path, REPO_ROOT / ".jars", "127.0.0.1:1")
    with pytest.raises(kafka_local.KafkaLocalError, match="java not found"):
        kafka_local.start(settings)


@pytest.mark.integration
def test_feeder_names_topics_missing_on_the_broker(kafka):
    from streaming.feeder import FeederError, check_kafka_topics

    with pytest.raises(FeederError, match="topic\\(s\\) no_such_topic do not exist on"):
        check_kafka_topics(kafka, ("no_such_topic",))


@pytest.mark.integration
def test_producer_refuses_an_unknown_topic(kafka):
    with pytest.raises(producer.ProducerError, match="does not exist"):
        producer.produce(kafka, "no_such_topic", [{"a": 1}], progress=False)


def test_producer_says_when_no_broker_answers():
    with pytest.raises(producer.ProducerError, match="no Kafka broker answers"):
        producer.produce("127.0.0.1:9", "web_events", [{"a": 1}], progress=False)


def test_cli_rejects_an_invalid_option():
    r = subprocess.run(
        [sys.executable, "-m", "tooling.cli", "produce", "--kind", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=60,
    )
    assert r.returncode == 2
    assert "--kind must be web, ide or all" in r.stderr
