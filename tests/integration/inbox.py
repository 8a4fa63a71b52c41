"""Land events through the feeder's files source: JSON lines in an inbox, then one
``--available-now`` run (no Kafka needed)."""

from __future__ import annotations

import json
from pathlib import Path

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
