"""Faults on the real processes: the feeder killed with SIGKILL while events are produced and
the broker restarted under it; checkpoints that outlive their topic; offsets deleted before
they were read. Nothing may be lost, nothing duplicated, nothing wedged."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
from kafka import TopicPartition

from streaming import checkpoints, feeder, kafka_local, producer
from streaming.spark import run_feeder, submit_env
from tests.integration import topic
from tests.integration.inbox import append_to_bronze
from tests.integration.test_bad_input import _feeder
from tests.integration.test_incremental_watermarks import _built_tables
from tooling import chaos, fingerprint
from tooling.dbt_runner import run_in_process
from tooling.settings import Settings

pytestmark = pytest.mark.integration

KILLS = int(os.environ.get("LAKEHOUSE_FEEDER_KILLS", "3"))


def _ide(n: int, seed: int) -> list[dict]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    return producer.build_events("ide", n, seed, start, timedelta(hours=2), 0.0, 0.0)


def _bronze_rows(spark, settings) -> int:
    return int(spark.read.format("delta").load(str(settings.bronze_table("ide_events"))).count())


def _feed(settings, *extra: str) -> int:
    return run_feeder(settings, ["--topics", "ide_events", "--available-now", *extra])


def _refused(settings, *extra: str) -> list[str]:
    """The feeder run as a refusal is checked: its Python driver alone (every refusal comes
    from its pre-flight, before Spark starts), which must exit 1; returns what it said."""
    run = _feeder("--topics", "ide_events", "--available-now", *extra, env=submit_env(settings))
    said = [ln for ln in (run.stdout + run.stderr).splitlines() if ln.startswith("feeder:")]
    assert run.returncode == 1, (run.returncode, said, run.stderr[-2000:])
    return said


def test_feeder_killed_and_broker_restarted_lands_each_event_once(
    spark, settings, empty_topics, empty_lakehouse
):
    outcome, corpus = chaos.run_feeder_chaos(
        settings, kills=KILLS, events=1500, seed=42, restart_broker=True
    )
    chaos.count_bronze(spark, settings, outcome, corpus)
    run_in_process(settings, ["run", "--select", "stg_bronze__ide_events"], quiet=True)
    chaos.count_staging(
        spark, settings.warehouse_dir / "silver.db" / "stg_bronze__ide_events", outcome, corpus
    )
    print(chaos.describe(outcome))
    # every kill interrupted a micro-batch under way (notes say when one found none)
    assert (outcome.kills, outcome.broker_restarts) == (KILLS, 1), chaos.describe(outcome)
    assert outcome.lost == 0 and outcome.duplicated == 0, chaos.describe(outcome)
    assert outcome.bronze_offsets == outcome.produced
    assert outcome.staged == outcome.staged_expected, chaos.describe(outcome)


def test_a_recreated_topic_is_refused_until_the_checkpoint_is_reset(
    spark, settings, empty_topics, empty_lakehouse
):
    kafka = empty_topics
    producer.produce(kafka, "ide_events", _ide(20, 1), key_field="user_id", progress=False)
    assert _feed(settings) == 0
    assert _bronze_rows(spark, settings) == 20

    kafka_local.delete_topics(kafka, ["ide_events"])
    kafka_local.create_topics(kafka, ["ide_events"], partitions=2)
    producer.produce(kafka, "ide_events", _ide(7, 2), key_field="user_id", progress=False)
    said = _refused(settings)
    assert len(said) == 1 and "deleted and created again" in said[0], said
    assert "--topics ide_events --reset-checkpoint" in said[0]
    assert _bronze_rows(spark, settings) == 20  # nothing landed, nothing skipped

    assert _feed(settings, "--reset-checkpoint") == 0
    assert _bronze_rows(spark, settings) == 27


def test_a_checkpoint_from_another_cluster_or_without_its_bronze_is_refused(
    spark, settings, empty_topics, empty_lakehouse
):
    kafka = empty_topics
    producer.produce(kafka, "ide_events", _ide(5, 3), key_field="user_id", progress=False)
    assert _feed(settings) == 0
    checkpoint = settings.checkpoint("bronze_ide_events_kafka")
    recorded = checkpoints.read_identity(checkpoint)
    assert recorded is not None and recorded.topic == "ide_events"
    (checkpoint / checkpoints.IDENTITY_FILE).write_text(
        json.dumps({**recorded.__dict__, "cluster_id": "another-cluster"})
    )
    said = _refused(settings)
    assert len(said) == 1 and "another-cluster" in said[0], said
    (checkpoint / checkpoints.IDENTITY_FILE).write_text(json.dumps(recorded.__dict__))

    # bronze deleted under the checkpoint: Spark's sink would start a new table at the next
    # batch, without the 5 events; refused until the checkpoint is reset, then landed again
    assert (checkpoint / checkpoints.SINK_FILE).is_file(), "the first run recorded its table"
    shutil.rmtree(settings.bronze_table("ide_events"))
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    said = _refused(settings)
    assert len(said) == 1 and "is gone since checkpoint" in said[0], said
    assert "--topics ide_events --reset-checkpoint" in said[0]
    assert _feed(settings, "--reset-checkpoint") == 0
    assert _bronze_rows(spark, settings) == 5

    # and the other way round: the checkpoint deleted, bronze kept (a new checkpoint would
    # read the topic from its start again and land copies)
    shutil.rmtree(checkpoint)
    said = _refused(settings)
    assert len(said) == 1 and "holds events read from Kafka" in said[0], said
    assert _bronze_rows(spark, settings) == 5


def test_offsets_deleted_before_read_need_allow_data_loss_and_each_loss_is_recorded(
    spark, settings, empty_topics, empty_lakehouse
):
    kafka = empty_topics
    first = _ide(30, 4)
    producer.produce(kafka, "ide_events", first, key_field="user_id", progress=False)
    assert _feed(settings) == 0
    producer.produce(kafka, "ide_events", _ide(30, 5), key_field="user_id", progress=False)
    admin = kafka_local.admin_client(kafka)
    try:
        ends = topic.end_offsets(kafka, "ide_events")
        landed = checkpoints.resume_offsets(
            settings.checkpoint("bronze_ide_events_kafka"), "ide_events"
        )
        assert landed is not None
        # retention takes the first 3 unread records of each partition
        cut = {p: min(landed[p] + 3, ends[p]) for p in landed}
        admin.delete_records({TopicPartition("ide_events", p): o for p, o in cut.items()})
    finally:
        admin.close()
    lost = sum(cut[p] - landed[p] for p in cut)
    assert lost > 0

    said = _refused(settings)
    assert len(said) == 1 and "--allow-data-loss" in said[0] and f"{lost} events" in said[0], said
    assert _bronze_rows(spark, settings) == 30

    assert _feed(settings, "--allow-data-loss") == 0
    assert _bronze_rows(spark, settings) == 60 - lost
    record = settings.checkpoint("bronze_ide_events_kafka") / checkpoints.LOST_FILE
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert sum(r["count"] for r in rows) == lost
    assert {(r["partition"], r["first"], r["end"]) for r in rows} == {
        (p, landed[p], cut[p]) for p in cut if cut[p] > landed[p]
    }, "recorded once: by the pre-flight, and not again by the listener's first batch"

    # later losses, under a query that is already running (or started again in-process after
    # a failure): no pre-flight sees them, Spark passes over them without a word, and the
    # feeder's listener records each batch's skipped range. The query runs in this session.
    producer.produce(kafka, "ide_events", _ide(30, 6), key_field="user_id", progress=False)
    resumed = topic.end_offsets(kafka, "ide_events")
    landed2 = checkpoints.resume_offsets(
        settings.checkpoint("bronze_ide_events_kafka"), "ide_events"
    )
    assert landed2 is not None  # where the next batch starts
    cut2 = {p: min(landed2[p] + 2, resumed[p]) for p in landed2}
    admin = kafka_local.admin_client(kafka)
    try:
        admin.delete_records({TopicPartition("ide_events", p): o for p, o in cut2.items()})
    finally:
        admin.close()
    lost2 = sum(cut2[p] - landed2[p] for p in cut2)
    assert lost2 > 0
    said2: list[str] = []
    listener = feeder.loss_listener(
        settings, {"bronze_ide_events_kafka": "ide_events"}, said2.append
    )
    spark.streams.addListener(listener)
    try:
        opts = feeder.parse_args(["--topics", "ide_events", "--available-now", "--allow-data-loss"])
        feeder.start_query(spark, settings, opts, None, "ide_events").awaitTermination()
        deadline = time.monotonic() + 30  # the listener hears of the batch asynchronously
        while not said2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        spark.streams.removeListener(listener)
    assert _bronze_rows(spark, settings) == 90 - lost - lost2
    assert len(said2) == 1 and "skipped partition" in said2[0], said2
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert {(r["partition"], r["first"], r["end"]) for r in rows} == {
        (p, landed[p], cut[p]) for p in cut if cut[p] > landed[p]
    } | {(p, landed2[p], cut2[p]) for p in cut2 if cut2[p] > landed2[p]}


DBT_KILLS = int(os.environ.get("LAKEHOUSE_DBT_KILLS", "2"))


def test_dbt_killed_mid_run_then_rerun_equals_a_full_refresh(spark, settings):
    """`dbt run` killed with SIGKILL while a model runs (the n-th, n random): first the very
    first build (tables half created), then, with a round of late data, the run that redoes
    it; then one run to the end. Every table then equals a full refresh. A lakehouse of its
    own, whose metastore the child dbt processes may take (the test session's Spark holds the
    other one; it reads the tables by path to fingerprint them)."""
    lake = Settings(settings.lakehouse_dir / "chaos-dbt", settings.jars_dir, "127.0.0.1:9")
    lake.lakehouse_dir.mkdir(parents=True, exist_ok=True)

    # bronze appended in this process, as the feeder writes it (its change feed on): the
    # feeder's own kills are the test above
    def land(topic: str, events: list[dict], name: str) -> None:
        append_to_bronze(spark, lake, topic, events, name)

    outcome = chaos.run_dbt_chaos(
        lake, kills=DBT_KILLS, events=300, seed=5, spark=spark, land_events=land
    )
    print(chaos.describe_dbt(outcome))
    # each kill landed while a model ran (not in dbt's start-up, not after its end)
    assert outcome.kills == len(outcome.killed_in) == DBT_KILLS, chaos.describe_dbt(outcome)
    assert outcome.tables == len(_data_tables(lake)), chaos.describe_dbt(outcome)
    assert outcome.exact, chaos.describe_dbt(outcome)


def _data_tables(lake: Settings) -> set[str]:
    """The silver and gold tables the project builds and the fingerprint compares (from
    dbt's manifest): every table but the run audit and the this-run int_* tables."""
    tables = (table.split(".") for table in _built_tables(lake))
    return {
        f"{schema}.{name}"
        for schema, name in tables
        if schema in fingerprint.SCHEMAS
        and name not in fingerprint.LOGS
        and not name.startswith("int_")
    }
