"""What a Kafka checkpoint was written against, checked before the feeder resumes from it.

A Spark checkpoint stores offsets only. Offsets mean nothing once the topic is deleted and
created again, the broker's storage is formatted again, or ``KAFKA_BOOTSTRAP`` names another
cluster: Spark would resume at offsets of another log and skip (or re-read) events without
a word. So each checkpoint also records the Kafka cluster id and the topic id it was
written against (``lakehouse_source.json`` beside Spark's files), and the feeder refuses to
start on a mismatch until the operator resets the checkpoint knowingly.

A checkpoint also records the bronze table it writes (its Delta table id, in
``lakehouse_sink.json``): a table deleted, or deleted and created again, under a checkpoint
that has read on would have Spark's Delta sink start a new table at the checkpoint's next
batch, without the events of the batches before. The feeder refuses that too.

The same check finds offsets deleted by retention before the feeder read them: the
checkpoint resumes at offset N, the partition now starts after N. Spark's
``failOnDataLoss`` stops the query on that, with a long stack trace; the feeder says so
before Spark starts, and with ``--allow-data-loss`` skips the range and appends it to
``lost_offsets.jsonl`` in the checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

IDENTITY_FILE = "lakehouse_source.json"
SINK_FILE = "lakehouse_sink.json"
LOST_FILE = "lost_offsets.jsonl"


class CheckpointMismatch(Exception):
    """The checkpoint was written against another cluster or topic; the message says what
    to run."""


@dataclass(frozen=True)
class SourceIdentity:
    """The Kafka log a checkpoint reads."""

    cluster_id: str
    topic: str
    topic_id: str
    bootstrap: str

    def same_log(self, other: SourceIdentity) -> bool:
        return (self.cluster_id, self.topic, self.topic_id) == (
            other.cluster_id,
            other.topic,
            other.topic_id,
        )


@dataclass(frozen=True)
class LostRange:
    topic: str
    partition: int
    first: int  # the first offset lost
    end: int  # the first offset still there

    @property
    def count(self) -> int:
        return self.end - self.first


def broker_identities(
    admin: Any, bootstrap: str, topics: tuple[str, ...]
) -> dict[str, SourceIdentity]:
    """Each topic's identity on the broker ``admin`` talks to (a KafkaAdminClient)."""
    cluster_id = str(admin.describe_cluster()["cluster_id"])
    found = {t["name"]: t for t in admin.describe_topics(list(topics))}
    return {
        topic: SourceIdentity(cluster_id, topic, str(found[topic]["topic_id"]), bootstrap)
        for topic in topics
        if topic in found
    }


def has_progress(checkpoint: Path) -> bool:
    """Whether Spark has planned at least one batch in this checkpoint."""
    offsets = checkpoint / "offsets"
    return offsets.is_dir() and any(p.name.isdigit() for p in offsets.iterdir())


def has_commits(checkpoint: Path) -> bool:
    """Whether Spark has committed at least one batch (for a Delta sink: after the table's
    own commit of it)."""
    commits = checkpoint / "commits"
    return commits.is_dir() and any(p.name.isdigit() for p in commits.iterdir())


def read_identity(checkpoint: Path) -> SourceIdentity | None:
    path = checkpoint / IDENTITY_FILE
    if not path.is_file():
        return None
    return SourceIdentity(**json.loads(path.read_text(encoding="utf-8")))


def write_identity(checkpoint: Path, identity: SourceIdentity) -> None:
    checkpoint.mkdir(parents=True, exist_ok=True)
    tmp = checkpoint / f".{IDENTITY_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(identity), indent=2) + "\n", encoding="utf-8")
    tmp.replace(checkpoint / IDENTITY_FILE)


def verify(checkpoint: Path, current: SourceIdentity, reset_hint: str) -> str | None:
    """Refuse a checkpoint written against another log; record the identity of a new one.

    Returns a note for the operator (a checkpoint from before identities were recorded), or
    None. Raises CheckpointMismatch with the command to run.
    """
    if not has_progress(checkpoint):
        write_identity(checkpoint, current)
        return None
    stored = read_identity(checkpoint)
    if stored is None:
        write_identity(checkpoint, current)
        return (
            f"checkpoint {checkpoint.name} had no recorded source: taking it as "
            f"topic {current.topic} (id {current.topic_id}) of cluster {current.cluster_id}"
        )
    if stored.same_log(current):
        return None
    if stored.cluster_id != current.cluster_id:
        what = (
            f"Kafka cluster {stored.cluster_id} (at {stored.bootstrap}), and {current.bootstrap} "
            f"is cluster {current.cluster_id} (another cluster, or its storage formatted again)"
        )
    else:
        what = (
            f"topic {stored.topic} with id {stored.topic_id}, and the topic now has id "
            f"{current.topic_id} (deleted and created again)"
        )
    raise CheckpointMismatch(
        f"checkpoint {checkpoint.name} was written against {what}: its offsets would skip "
        f"or repeat events. To start this topic over knowingly, run again with {reset_hint} "
        "(bronze keeps what it has; staging drops re-read events by their identity)"
    )


def _open_delta(table: Path) -> Any:
    """The Delta table at ``table`` (deltalake, no JVM), or None where there is none."""
    if not (table / "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(str(table))
    except TableNotFoundError:
        return None


def delta_table_id(table: Path) -> str | None:
    """The Delta table's id (its metaData), or None where there is no Delta table."""
    delta = _open_delta(table)
    return None if delta is None else str(delta.metadata().id)


def record_sink(checkpoint: Path, table: Path, table_id: str | None = None) -> None:
    """Record the bronze table this checkpoint writes (once it exists; ``table_id`` when the
    caller has read it already)."""
    table_id = table_id or delta_table_id(table)
    if table_id is None or not checkpoint.is_dir():
        return
    path = checkpoint / SINK_FILE
    tmp = checkpoint / f".{SINK_FILE}.tmp"
    tmp.write_text(json.dumps({"table": str(table), "table_id": table_id}) + "\n", "utf-8")
    tmp.replace(path)


def holds_kafka_rows(table: Path) -> bool:
    """Whether the bronze table holds rows read from Kafka (by its files' statistics: a file
    with a Kafka offset); False without a table or without statistics."""
    delta = _open_delta(table)
    if delta is None:
        return False
    import pyarrow as pa

    actions = pa.table(delta.get_add_actions(flatten=True))
    if "max.kafka_offset" not in actions.column_names:
        return False
    return bool(actions["max.kafka_offset"].null_count < actions.num_rows)


def verify_sink(
    checkpoint: Path, table: Path, reset_hint: str, *, kafka: bool = False, reset: bool = False
) -> str | None:
    """Refuse a checkpoint that has read on while its bronze table was deleted, or deleted
    and created again; and (``kafka``, unless the checkpoint was ``reset`` knowingly) a new
    checkpoint for a table that already holds rows read from Kafka: the old checkpoint was
    deleted, and the feeder would land copies. Records the table of a checkpoint that has
    none recorded. Returns a note for the operator, or None. Raises CheckpointMismatch with
    the command to run."""
    if not has_progress(checkpoint):
        if kafka and not reset and holds_kafka_rows(table):
            raise CheckpointMismatch(
                f"bronze table {table} holds events read from Kafka, but checkpoint "
                f"{checkpoint.name} is new (deleted?): the feeder would read the topic again "
                "from --starting-offsets and land copies of them. Put the checkpoint back, or "
                f"run again with {reset_hint} to read it again knowingly (staging drops the "
                "copies by their identity)"
            )
        return None
    current = delta_table_id(table)
    path = checkpoint / SINK_FILE
    recorded = json.loads(path.read_text("utf-8"))["table_id"] if path.is_file() else None
    if current is not None and recorded in (None, current):
        if recorded is None:
            record_sink(checkpoint, table, current)
        return None
    if current is None and recorded is None and not has_commits(checkpoint):
        return None  # the first batch was planned, never committed: no table was made yet
    what = "is gone" if current is None else "was deleted and created again"
    raise CheckpointMismatch(
        f"bronze table {table} {what} since checkpoint {checkpoint.name} last wrote to it: "
        "the feeder would go on at the checkpoint's next batch and the events landed before "
        f"would be missing from it. To land this topic again from the start knowingly, run "
        f"again with {reset_hint} (staging drops re-read events by their identity)"
    )


def reset(checkpoint: Path) -> bool:
    """Delete a checkpoint (the next run starts at --starting-offsets); True if one existed."""
    if not checkpoint.exists():
        return False
    shutil.rmtree(checkpoint)
    return True


def resume_offsets(checkpoint: Path, topic: str) -> dict[int, int] | None:
    """The offsets the query resumes reading from: the end of the newest batch Spark
    committed. A batch planned after it (its offsets written, its commit not) is read again
    from that point on a restart, so its range is still to be read: records retention
    deleted there are lost too. None before the first commit (the query starts where its
    startingOffsets say)."""
    offsets, commits = checkpoint / "offsets", checkpoint / "commits"
    if not offsets.is_dir() or not commits.is_dir():
        return None
    committed = {int(p.name) for p in commits.iterdir() if p.name.isdigit()}
    planned = sorted((int(p.name) for p in offsets.iterdir() if p.name.isdigit()), reverse=True)
    for batch in (b for b in planned if b in committed):
        lines = (offsets / str(batch)).read_text(encoding="utf-8").splitlines()
        for line in lines[2:]:  # "v1", the batch metadata, then one line per source
            try:
                source = json.loads(line)
            except ValueError:
                continue
            if isinstance(source, dict) and topic in source:
                return {int(p): int(o) for p, o in source[topic].items()}
    return None


def lost_ranges(topic: str, resume: dict[int, int], earliest: dict[int, int]) -> list[LostRange]:
    """The offsets retention deleted between where the checkpoint stands and where each
    partition now starts."""
    return [
        LostRange(topic, p, resume[p], earliest[p])
        for p in sorted(resume)
        if p in earliest and earliest[p] > resume[p]
    ]


def record_lost(checkpoint: Path, ranges: list[LostRange]) -> Path:
    """Append the ranges skipped under --allow-data-loss to the checkpoint's record; a range
    recorded already (the pre-flight's, seen again in the first batch) is not added twice."""
    path = checkpoint / LOST_FILE
    known = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                row = json.loads(line)
                known.add((row["topic"], int(row["partition"]), int(row["first"]), int(row["end"])))
    at = datetime.now(UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for r in ranges:
            if (r.topic, r.partition, r.first, r.end) not in known:
                out.write(json.dumps({"recorded_at": at, **asdict(r), "count": r.count}) + "\n")
    return path


def skipped_in_batch(
    topic: str,
    start: dict[int, int],
    end: dict[int, int],
    rows: int,
    earliest: Callable[[], dict[int, int]],
) -> list[LostRange]:
    """What a micro-batch read from ``start`` to ``end`` skipped (Spark's Kafka source with
    failOnDataLoss off passes over offsets retention deleted, without a word): nothing when
    it read every offset of its range, else the offsets below where each partition now
    starts (``earliest()``, asked only then: it is a round trip to the broker), up to the
    batch's end."""
    expected = sum(end[p] - start.get(p, end[p]) for p in end)
    if rows >= expected:
        return []
    now = earliest()
    return [
        LostRange(topic, p, start[p], min(now[p], end.get(p, now[p])))
        for p in sorted(start)
        if p in now and now[p] > start[p]
    ]
