"""Checkpoint identity and lost offsets, on files alone (no broker, no Spark)."""

from __future__ import annotations

import json

import pytest

from streaming import checkpoints
from streaming.checkpoints import CheckpointMismatch, LostRange, SourceIdentity

HERE = SourceIdentity("cluster-a", "ide_events", "topic-1", "127.0.0.1:9092")


def _with_progress(tmp_path, offsets: dict[str, dict[str, int]] | None = None):
    cp = tmp_path / "bronze_ide_events_kafka"
    (cp / "offsets").mkdir(parents=True)
    body = ["v1", json.dumps({"batchWatermarkMs": 0}), json.dumps(offsets or {})]
    (cp / "offsets" / "0").write_text("\n".join(body) + "\n")
    return cp


def test_a_new_checkpoint_records_its_source(tmp_path):
    cp = tmp_path / "new"
    assert checkpoints.verify(cp, HERE, "--reset-checkpoint") is None
    assert checkpoints.read_identity(cp) == HERE


def test_an_old_checkpoint_without_a_record_is_adopted_with_a_note(tmp_path):
    cp = _with_progress(tmp_path)
    note = checkpoints.verify(cp, HERE, "--reset-checkpoint")
    assert note is not None and "no recorded source" in note
    assert checkpoints.read_identity(cp) == HERE


@pytest.mark.parametrize(
    ("now", "says"),
    [
        (SourceIdentity("cluster-a", "ide_events", "topic-2", "x:1"), "deleted and created again"),
        (SourceIdentity("cluster-b", "ide_events", "topic-1", "y:2"), "another cluster"),
    ],
)
def test_another_log_is_refused_with_the_command(tmp_path, now, says):
    cp = _with_progress(tmp_path)
    checkpoints.write_identity(cp, HERE)
    with pytest.raises(CheckpointMismatch, match=says) as exc:
        checkpoints.verify(cp, now, "--topics ide_events --reset-checkpoint")
    assert "--topics ide_events --reset-checkpoint" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert checkpoints.read_identity(cp) == HERE  # unchanged


def test_the_same_log_at_another_address_is_accepted(tmp_path):
    cp = _with_progress(tmp_path)
    checkpoints.write_identity(cp, HERE)
    moved = SourceIdentity("cluster-a", "ide_events", "topic-1", "broker-2:9092")
    assert checkpoints.verify(cp, moved, "--reset-checkpoint") is None


def test_resume_offsets_and_lost_ranges(tmp_path):
    cp = _with_progress(tmp_path, {"ide_events": {"0": 10, "1": 7}})
    assert checkpoints.resume_offsets(cp, "ide_events") is None, "nothing committed yet"
    (cp / "commits").mkdir()
    (cp / "commits" / "0").write_text("v1\n{}\n")
    (cp / "offsets" / "1").write_text(
        "v1\n{}\n" + json.dumps({"ide_events": {"0": 15, "1": 7}}) + "\n"
    )
    # batch 1 is planned, not committed: a restart reads it again from batch 0's end, so
    # records deleted in its range are lost as well
    assert checkpoints.resume_offsets(cp, "ide_events") == {0: 10, 1: 7}
    (cp / "commits" / "1").write_text("v1\n{}\n")
    resume = checkpoints.resume_offsets(cp, "ide_events")
    assert resume == {0: 15, 1: 7}
    lost = checkpoints.lost_ranges("ide_events", resume, {0: 15, 1: 12})
    assert lost == [LostRange("ide_events", 1, 7, 12)]
    path = checkpoints.record_lost(cp, lost)
    assert json.loads(path.read_text())["count"] == 5
    checkpoints.record_lost(cp, lost)  # seen again (the first batch after the pre-flight)
    assert len(path.read_text().splitlines()) == 1, "a range is recorded once"
    assert checkpoints.resume_offsets(cp, "web_events") is None


def test_what_a_batch_skipped_while_the_feeder_ran():
    start, end = {0: 10, 1: 7}, {0: 20, 1: 12}

    def unasked() -> dict[int, int]:
        raise AssertionError("a batch that read its whole range never asks the broker")

    # every offset read: nothing skipped, wherever the partitions start now
    assert checkpoints.skipped_in_batch("t", start, end, 15, unasked) == []
    # 4 offsets of partition 0 were deleted before the batch read them
    assert checkpoints.skipped_in_batch("t", start, end, 11, lambda: {0: 14, 1: 7}) == [
        LostRange("t", 0, 10, 14)
    ]
    # retention went past the batch's end: only the batch's own range is its loss
    assert checkpoints.skipped_in_batch("t", start, end, 5, lambda: {0: 25, 1: 7}) == [
        LostRange("t", 0, 10, 20)
    ]
    # a new query's first batch (no start offsets): nothing to compare with
    assert checkpoints.skipped_in_batch("t", {}, end, 0, lambda: {0: 25, 1: 9}) == []


def _delta_table(path) -> str:
    """A real Delta table at ``path`` (deltalake, no JVM); its id."""
    import pyarrow as pa
    from deltalake import write_deltalake

    write_deltalake(str(path), pa.table({"raw_value": ["{}"]}))
    return str(checkpoints.delta_table_id(path))


def test_a_bronze_table_gone_or_recreated_under_a_checkpoint_is_refused(tmp_path):
    import shutil

    cp, table = _with_progress(tmp_path), tmp_path / "bronze" / "ide_events"
    hint = "--topics ide_events --reset-checkpoint"
    # batch 0 planned, the feeder killed before it committed: no table was ever made
    assert checkpoints.verify_sink(cp, table, hint) is None
    (cp / "commits").mkdir()
    (cp / "commits" / "0").write_text("v1\n{}\n")
    with pytest.raises(CheckpointMismatch, match="is gone since") as gone:
        checkpoints.verify_sink(cp, table, hint)
    assert hint in str(gone.value) and "\n" not in str(gone.value)
    first = _delta_table(table)
    assert checkpoints.verify_sink(cp, table, hint) is None  # recorded now
    assert json.loads((cp / checkpoints.SINK_FILE).read_text())["table_id"] == first
    assert checkpoints.verify_sink(cp, table, hint) is None
    shutil.rmtree(table)
    assert _delta_table(table) != first
    with pytest.raises(CheckpointMismatch, match="deleted and created again"):
        checkpoints.verify_sink(cp, table, hint)
    # a checkpoint that has read nothing yet has nothing to lose
    assert checkpoints.verify_sink(tmp_path / "new", table, hint) is None


def test_a_new_kafka_checkpoint_for_a_bronze_table_with_kafka_rows_is_refused(tmp_path):
    """The checkpoint deleted, bronze kept: a new checkpoint would read the topic again from
    its start and land copies, so it is refused unless reset knowingly. Rows from files (no
    Kafka offset) are no reason."""
    import pyarrow as pa
    from deltalake import write_deltalake

    table, new = tmp_path / "bronze" / "ide_events", tmp_path / "checkpoints" / "new"
    hint = "--topics ide_events --reset-checkpoint"
    files_rows = pa.table({"raw_value": ["{}"], "kafka_offset": pa.array([None], pa.int64())})
    write_deltalake(str(table), files_rows)
    assert not checkpoints.holds_kafka_rows(table)
    assert checkpoints.verify_sink(new, table, hint, kafka=True) is None
    kafka_rows = pa.table({"raw_value": ["{}"], "kafka_offset": pa.array([41], pa.int64())})
    write_deltalake(str(table), kafka_rows, mode="append")
    assert checkpoints.holds_kafka_rows(table)
    with pytest.raises(CheckpointMismatch, match="holds events read from Kafka") as refused:
        checkpoints.verify_sink(new, table, hint, kafka=True)
    assert hint in str(refused.value)
    assert checkpoints.verify_sink(new, table, hint, kafka=True, reset=True) is None
    assert checkpoints.verify_sink(new, table, hint) is None  # a files checkpoint
