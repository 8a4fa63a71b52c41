"""Land events into bronze Delta tables, exactly once, with Spark Structured Streaming.

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" streaming/feeder.py \
        --source kafka --topics web_events,ide_events --available-now

(``./lakehouse feed ...`` runs exactly that with the right jars and memory.)

One streaming query per topic and source, each with its own checkpoint; the Delta sink and
the checkpoint together make every Kafka offset and every input file land once, however
often the feeder runs or restarts. Bronze tables are written by path and the metastore is
never touched (the embedded Derby metastore admits one JVM at a time; dbt registers the
tables itself).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    # `spark-submit streaming/feeder.py` puts streaming/ on the path, not the repository.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streaming import bronze, checkpoints, files, kafka_client
from streaming.checkpoints import SourceIdentity
from tooling.settings import Settings, SettingsError, load

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

TOPIC_PLACEHOLDER = "{topic}"


class FeederError(Exception):
    """A problem with the feeder's input, phrased as what to do about it."""


@dataclass(frozen=True)
class FeedOptions:
    source: str
    topics: tuple[str, ...]
    available_now: bool
    processing_time: str | None
    starting_offsets: str
    max_offsets_per_trigger: int | None
    input_path: Path | None
    file_format: str | None
    run_for_seconds: float | None
    reset_checkpoint: bool = False
    allow_data_loss: bool = False


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"feeder: {message} (see --help)\n")


def parse_args(argv: list[str] | None = None) -> FeedOptions:
    p = _OneLineParser(prog="feeder", description=__doc__.split("\n\n")[0])
    p.add_argument("--source", choices=("kafka", "files"), default="kafka")
    p.add_argument(
        "--topics",
        default=",".join(bronze.TOPICS),
        help="comma-separated topics; each lands in bronze/<topic> (default: all)",
    )
    trigger = p.add_mutually_exclusive_group()
    trigger.add_argument(
        "--available-now", action="store_true", help="drain what is there, then stop"
    )
    trigger.add_argument(
        "--processing-time", metavar="INTERVAL", help="run continuously, e.g. '30 seconds'"
    )
    p.add_argument(
        "--starting-offsets",
        choices=("earliest", "latest"),
        default="earliest",
        help="where a NEW query starts; a checkpointed query resumes where it stopped",
    )
    p.add_argument("--max-offsets-per-trigger", type=int, default=None)
    p.add_argument(
        "--input-path",
        help="files source: INPUT_PATH/date=YYYY-MM-DD/*; with several --topics, write "
        "{topic} in the path (e.g. inbox/{topic}) and each topic reads its own folder",
    )
    p.add_argument("--format", dest="file_format", choices=sorted(files.SUFFIXES))
    p.add_argument(
        "--run-for",
        dest="run_for_seconds",
        type=float,
        help="with --processing-time: stop after this many seconds",
    )
    p.add_argument(
        "--reset-checkpoint",
        action="store_true",
        help="delete the topics' checkpoints first and start over (Kafka: at "
        "--starting-offsets; files: every file read again), after a topic was recreated, the "
        "cluster changed, or a bronze table was deleted under its checkpoint",
    )
    p.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="Kafka: skip offsets deleted before they were read, and record them in the "
        f"checkpoint's {checkpoints.LOST_FILE} (default: refuse to start)",
    )
    a = p.parse_args(argv)
    topics = tuple(t.strip() for t in a.topics.split(",") if t.strip())
    unknown = [t for t in topics if t not in bronze.TOPICS]
    if not topics or unknown:
        p.error(
            f"unknown topic(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(bronze.TOPICS)}"
        )
    if not a.available_now and not a.processing_time:
        p.error("choose a trigger: --available-now or --processing-time INTERVAL")
    if a.source == "files":
        if a.input_path is None:
            p.error("--source files needs --input-path")
        if len(topics) != 1 and TOPIC_PLACEHOLDER not in a.input_path:
            p.error(
                "--source files with several topics needs {topic} in --input-path "
                "(e.g. inbox/{topic}), or pass --topics with exactly one"
            )
    if a.source != "kafka" and a.allow_data_loss:
        p.error("--allow-data-loss applies to --source kafka")
    if a.max_offsets_per_trigger is not None and a.max_offsets_per_trigger < 1:
        p.error("--max-offsets-per-trigger must be at least 1")
    return FeedOptions(
        source=a.source,
        topics=topics,
        available_now=a.available_now,
        processing_time=a.processing_time,
        starting_offsets=a.starting_offsets,
        max_offsets_per_trigger=a.max_offsets_per_trigger,
        input_path=Path(a.input_path).resolve() if a.input_path else None,
        file_format=a.file_format,
        run_for_seconds=a.run_for_seconds,
        reset_checkpoint=a.reset_checkpoint,
        allow_data_loss=a.allow_data_loss,
    )


def kafka_query_name(topic: str) -> str:
    return f"bronze_{topic}_kafka"


def _query_name(opts: FeedOptions, topic: str) -> str:
    """The streaming query (and checkpoint) name of ``topic`` in this run."""
    if opts.source == "kafka":
        return kafka_query_name(topic)
    assert opts.input_path is not None
    return files_query_name(topic, topic_input_path(opts.input_path, topic))


def check_kafka_topics(bootstrap: str, topics: tuple[str, ...]) -> dict[str, SourceIdentity]:
    """Fail before Spark starts if the broker is unreachable or a topic is missing; returns
    each topic's identity (cluster id, topic id)."""
    from streaming.kafka_local import KafkaLocalError, admin_client

    try:
        admin = admin_client(bootstrap)
    except KafkaLocalError as exc:
        raise FeederError(str(exc)) from exc
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            raise FeederError(
                f"topic(s) {', '.join(missing)} do not exist on {bootstrap}: "
                "run `./lakehouse kafka create-topics`"
            )
        return checkpoints.broker_identities(admin, bootstrap, topics)
    finally:
        admin.close()


def earliest_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Where each partition of ``topic`` starts now (retention moves it forward)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **kafka_client.load().python_kwargs())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: int(o) for tp, o in consumer.beginning_offsets(partitions).items()}
    finally:
        consumer.close()


def check_checkpoints(settings: Settings, opts: FeedOptions) -> list[str]:
    """Each Kafka checkpoint against the log it was written for, and against offsets deleted
    before they were read. Returns notes for the operator; raises FeederError otherwise."""
    identities = check_kafka_topics(settings.kafka_bootstrap, opts.topics)
    notes = []
    for topic in opts.topics:
        checkpoint = settings.checkpoint(kafka_query_name(topic))
        if opts.reset_checkpoint and checkpoints.reset(checkpoint):
            notes.append(
                f"checkpoint {checkpoint.name} reset: {topic} starts over at "
                f"{opts.starting_offsets} offsets"
            )
        try:
            note = checkpoints.verify(
                checkpoint, identities[topic], f"--topics {topic} --reset-checkpoint"
            )
        except checkpoints.CheckpointMismatch as exc:
            raise FeederError(str(exc)) from None
        if note:
            notes.append(note)
        notes.extend(_verify_sink(settings, topic, checkpoint, opts))
        resume = checkpoints.resume_offsets(checkpoint, topic)
        if not resume:
            continue
        lost = checkpoints.lost_ranges(
            topic, resume, earliest_offsets(settings.kafka_bootstrap, topic)
        )
        if not lost:
            continue
        ranges = ", ".join(f"partition {r.partition} offsets {r.first}-{r.end - 1}" for r in lost)
        if not opts.allow_data_loss:
            raise FeederError(
                f"{topic}: {sum(r.count for r in lost)} events were deleted by retention "
                f"before the feeder read them ({ranges}): run again with --allow-data-loss "
                "to skip them knowingly (they are recorded)"
            )
        where = checkpoints.record_lost(checkpoint, lost)
        notes.append(f"{topic}: skipping {ranges} (deleted before read); recorded in {where}")
    return notes


def _verify_sink(settings: Settings, topic: str, checkpoint: Path, opts: FeedOptions) -> list[str]:
    try:
        note = checkpoints.verify_sink(
            checkpoint,
            settings.bronze_table(topic),
            f"--topics {topic} --reset-checkpoint",
            kafka=opts.source == "kafka",
            reset=opts.reset_checkpoint,
        )
    except checkpoints.CheckpointMismatch as exc:
        raise FeederError(str(exc)) from None
    return [note] if note else []


def detect_format(input_path: Path, wanted: str | None) -> str:
    """The input's file format; fails when the path holds no files of it, or (no format
    given) files of more than one format: a query reads one format, and the others' files
    would wait unread without a word."""
    if not input_path.is_dir():
        raise FeederError(f"input path {input_path} does not exist or is not a directory")
    names = [p.name for p in input_path.glob("**/*") if not p.name.startswith((".", "_"))]
    present = [f for f in files.SUFFIXES if any(n.endswith(files.SUFFIXES[f]) for n in names)]
    if wanted is None and len(present) > 1:
        raise FeederError(
            f"input path {input_path} holds {' and '.join(present)} files: a run reads one "
            "format; feed each with --format FORMAT, one run after the other"
        )
    if wanted in present or (wanted is None and present):
        others = [f for f in present if f != (wanted or present[0])]
        if others:
            print(
                f"feeder: {input_path} also holds {' and '.join(others)} files, "
                f"not read by this run (--format {wanted})",
                file=sys.stderr,
            )
        return wanted or present[0]
    what = f"{wanted} files" if wanted else "parquet, csv or json files"
    raise FeederError(
        f"input path {input_path} holds no {what}: expected INPUT_PATH/date=YYYY-MM-DD/*"
    )


def topic_input_path(input_path: Path, topic: str) -> Path:
    """The folder a topic's files are read from (``{topic}`` in the path is the topic)."""
    return Path(str(input_path).replace(TOPIC_PLACEHOLDER, topic))


def files_query_name(topic: str, input_path: Path) -> str:
    digest = hashlib.sha1(str(input_path).encode()).hexdigest()[:8]
    return f"bronze_{topic}_files_{digest}"


def preflight(settings: Settings, opts: FeedOptions) -> str | None:
    """Check the input before Spark starts; returns the files' format (None for Kafka)."""
    if opts.source == "kafka":
        for note in check_checkpoints(settings, opts):
            print(f"feeder: {note}", file=sys.stderr)
        return None
    assert opts.input_path is not None
    paths = [topic_input_path(opts.input_path, topic) for topic in opts.topics]
    for topic, path in zip(opts.topics, paths, strict=True):
        checkpoint = settings.checkpoint(files_query_name(topic, path))
        if opts.reset_checkpoint and checkpoints.reset(checkpoint):
            print(
                f"feeder: checkpoint {checkpoint.name} reset: every file in {path} is read again",
                file=sys.stderr,
            )
        _verify_sink(settings, topic, checkpoint, opts)
    formats = {detect_format(path, opts.file_format) for path in paths}
    if len(formats) > 1:
        raise FeederError(
            f"the topics' folders hold different formats ({', '.join(sorted(formats))}): "
            "pass --format, or feed them in separate runs"
        )
    return formats.pop()


def start_queries(
    spark: SparkSession, settings: Settings, opts: FeedOptions, fmt: str | None
) -> list[StreamingQuery]:
    """Start one streaming query per topic; returns them (running)."""
    return [start_query(spark, settings, opts, fmt, topic) for topic in opts.topics]


def start_query(
    spark: SparkSession, settings: Settings, opts: FeedOptions, fmt: str | None, topic: str
) -> StreamingQuery:
    """Start ``topic``'s streaming query (from its checkpoint, if it has one)."""
    from pyspark.sql import functions as F

    name = _query_name(opts, topic)
    if opts.source == "kafka":
        reader = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
            .options(**kafka_client.load().spark_options())
            .option("subscribe", topic)
            .option("startingOffsets", opts.starting_offsets)
            .option("failOnDataLoss", "false" if opts.allow_data_loss else "true")
        )
        if opts.max_offsets_per_trigger:
            reader = reader.option("maxOffsetsPerTrigger", opts.max_offsets_per_trigger)
        rows = bronze.from_kafka(reader.load(), topic)
    else:
        assert opts.input_path is not None and fmt is not None
        input_path = topic_input_path(opts.input_path, topic)
        rows = bronze.from_files(files.read_stream(spark, str(input_path), fmt), topic)
    # rows written per micro-batch (a file source's own input count is files, not records)
    rows = rows.observe(OBSERVED, F.count(F.lit(1)).alias("rows"))
    writer = (
        rows.writeStream.format("delta")
        .queryName(name)
        .outputMode("append")
        .option("checkpointLocation", str(settings.checkpoint(name)))
        .partitionBy(bronze.PARTITION_COLUMN)
    )
    if opts.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        # parse_args makes sure one of the two triggers is given
        assert opts.processing_time is not None
        writer = writer.trigger(processingTime=opts.processing_time)
    return writer.start(str(settings.bronze_table(topic)))


@dataclass(frozen=True)
class Landed:
    """What one query did in this run."""

    rows: int
    batches: int
    seconds: float  # from the queries' start until this one stopped

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


OBSERVED = "bronze_rows"


def _rows_written(progress: dict[str, Any]) -> int:
    """Rows a micro-batch wrote to bronze, as the query observed them."""
    observed = (progress.get("observedMetrics") or {}).get(OBSERVED)  # a Row, or absent
    if observed is None:
        return int(progress.get("numInputRows", 0))
    return int(observed["rows"])


# A query that fails while others run is started again after this long, then twice as long
# each time it fails again, up to RETRY_MAX_S (continuous runs; an available-now run lets it
# stop alone and exits 1 at the end).
RETRY_FIRST_S = 30.0
RETRY_MAX_S = 600.0


@dataclass
class Supervised:
    """What ``supervise`` saw: every query run under each name (restarts included), when
    each name last stopped, and why the names whose last query failed did."""

    runs: dict[str, list[StreamingQuery]]
    stopped_after: dict[str, float]
    failed: dict[str, str]

    @classmethod
    def of(cls, queries: list[StreamingQuery]) -> Supervised:
        return cls({q.name: [q] for q in queries}, {}, {})

    def stop_all(self) -> None:
        for runs in self.runs.values():
            for q in runs:
                if q.isActive:
                    q.stop()


def _reason(error: object) -> str:
    """An exception's first line, short enough for one line of output."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def supervise(
    watched: Supervised,
    restart: Callable[[str], StreamingQuery] | None,
    deadline: float | None,
    say: Callable[[str], None],
    first_retry_s: float = RETRY_FIRST_S,
) -> Supervised:
    """Wait for the queries of ``watched`` (``Supervised.of(queries)``) until each ends, or
    until the monotonic ``deadline``, so that one that fails stops alone: the others go on, a
    line says why, and with ``restart`` (a function of the query's name that starts it again)
    it is retried after a growing pause. ``watched`` records every query started, even when
    this is interrupted (``stop_all`` stops them)."""
    began = time.monotonic()
    runs, failed, stopped_after = watched.runs, watched.failed, watched.stopped_after
    pending = list(runs)
    retry_at: dict[str, float] = {}
    pause = dict.fromkeys(runs, first_retry_s)

    def retry_later(name: str, what: str) -> None:
        """``name`` is started again after its pause, which doubles for the next time."""
        retry_at[name] = time.monotonic() + pause[name]
        say(f"query {name} {what}, it is started again in {pause[name]:.0f} s")
        pause[name] = min(pause[name] * 2, RETRY_MAX_S)

    while pending or retry_at:
        for name in list(pending):
            query = runs[name][-1]
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return watched
            # Spark waits whole milliseconds and refuses 0: never ask for less than 50 ms.
            wait = 0.5 if remaining is None else max(0.05, min(0.5, remaining))
            try:
                # pyspark's stub says int; Spark takes seconds as a float
                ended = bool(query.awaitTermination(wait))  # type: ignore[arg-type]
            except Exception:  # it failed: query.exception() says why
                ended = True
            if not ended:
                continue
            pending.remove(name)
            stopped_after[name] = time.monotonic() - began
            error = query.exception()
            if error is None:
                continue
            failed[name] = _reason(error)
            if restart is None:
                say(f"query {name} failed ({failed[name]}); the other queries go on")
                continue
            retry_later(name, f"failed ({failed[name]}); the other queries go on")
        for name, at in list(retry_at.items()):
            if time.monotonic() < at:
                continue
            del retry_at[name]
            assert restart is not None
            try:
                runs[name].append(restart(name))
            except Exception as exc:  # it cannot even start: try again later
                failed[name] = _reason(exc)
                retry_later(name, f"did not start ({failed[name]})")
                continue
            failed.pop(name, None)
            pending.append(name)
            say(f"query {name} started again")
        if not pending and retry_at:
            nap = min(retry_at.values()) - time.monotonic()
            if deadline is not None:
                nap = min(nap, deadline - time.monotonic())
                if nap <= 0 and time.monotonic() >= deadline:
                    return watched
            time.sleep(max(0.05, min(nap, 1.0)))
    return watched


def _kafka_offsets(text: str | None, topic: str) -> dict[int, int]:
    """A Kafka source's offsets in a query's progress (``{"topic": {"0": 12, ...}}``)."""
    if not text:
        return {}
    offsets = json.loads(text).get(topic) or {}
    return {int(p): int(o) for p, o in offsets.items()}


def record_skipped(
    settings: Settings, name: str, topic: str, sources: list[Any], say: Callable[[str], None]
) -> None:
    """Record what one micro-batch of query ``name`` skipped (its progress's ``sources``):
    with failOnDataLoss off, Spark passes over offsets retention deleted after the feeder
    started, so the pre-flight's check cannot see them; every skipped range is recorded,
    whoever skips it."""
    for source in sources:
        end = _kafka_offsets(source.endOffset, topic)
        if not end:
            continue
        ranges = checkpoints.skipped_in_batch(
            topic,
            _kafka_offsets(source.startOffset, topic),
            end,
            int(source.numInputRows),
            lambda: earliest_offsets(settings.kafka_bootstrap, topic),
        )
        if ranges:
            where = checkpoints.record_lost(settings.checkpoint(name), ranges)
            skipped = ", ".join(
                f"partition {r.partition} offsets {r.first}-{r.end - 1}" for r in ranges
            )
            say(f"{topic}: skipped {skipped} (deleted before read); recorded in {where}")


def loss_listener(settings: Settings, topics: dict[str, str], say: Callable[[str], None]) -> Any:
    """A streaming listener that records what each micro-batch of the queries ``topics``
    names (query name -> topic) skipped under --allow-data-loss (``record_skipped``)."""
    from pyspark.sql.streaming.listener import StreamingQueryListener

    class LossRecorder(StreamingQueryListener):
        def onQueryStarted(self, event: Any) -> None:
            pass

        def onQueryProgress(self, event: Any) -> None:
            progress = event.progress
            topic = topics.get(progress.name)
            if topic is None:
                return
            try:
                record_skipped(settings, progress.name, topic, progress.sources, say)
            except Exception as exc:  # a check that fails must not stop the stream
                say(f"could not check a batch of {progress.name} for skipped offsets: {exc}")

        def onQueryIdle(self, event: Any) -> None:
            pass

        def onQueryTerminated(self, event: Any) -> None:
            pass

    return LossRecorder()


def run(
    spark: SparkSession, settings: Settings, opts: FeedOptions, fmt: str | None
) -> tuple[dict[str, Landed], dict[str, str]]:
    """Run the feeder to completion (available-now) or for ``run_for_seconds``.

    ``fmt`` is what ``preflight`` returned. Returns what each query landed in this run, and
    why each query that failed (and was not started again successfully) did: one topic's
    failure stops that topic alone (``supervise``).
    """
    # Bronze tables record a change data feed from their first commit: dbt's staging models
    # read only the commits after the last version they took (macros/lakehouse/bronze_batch.sql).
    spark.conf.set("spark.databricks.delta.properties.defaults.enableChangeDataFeed", "true")
    # each missing bronze table created once, before any micro-batch (see bronze.ensure_table)
    for topic in opts.topics:
        if bronze.ensure_table(spark, str(settings.bronze_table(topic))):
            print(f"feeder: created bronze table {topic}", file=sys.stderr, flush=True)

    def say(message: str) -> None:
        print(f"feeder: {message}", file=sys.stderr, flush=True)

    began = time.monotonic()
    topic_of = {_query_name(opts, topic): topic for topic in opts.topics}
    listener = None
    if opts.source == "kafka" and opts.allow_data_loss:
        listener = loss_listener(settings, topic_of, say)
        spark.streams.addListener(listener)
    queries = start_queries(spark, settings, opts, fmt)
    deadline = began + opts.run_for_seconds if opts.run_for_seconds else None

    def restart(name: str) -> StreamingQuery:
        return start_query(spark, settings, opts, fmt, topic_of[name])

    outcome = Supervised.of(queries)
    try:
        supervise(outcome, None if opts.available_now else restart, deadline, say)
    finally:
        outcome.stop_all()
        if listener is not None:
            spark.streams.removeListener(listener)
    landed = {}
    for name, runs in outcome.runs.items():
        progress = [p for q in runs for p in q.recentProgress]
        landed[name] = Landed(
            rows=sum(_rows_written(p) for p in progress),
            batches=sum(1 for p in progress if _rows_written(p) > 0),
            seconds=outcome.stopped_after.get(name, time.monotonic() - began),
        )
    return landed, outcome.failed


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        settings = load()
    except SettingsError as exc:
        print(f"feeder: {exc}", file=sys.stderr)
        return 1
    # kafka-python logs every refused connection and unknown topic id to stderr; the
    # pre-flight says what went wrong in one line of its own
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        fmt = preflight(settings, opts)
    except FeederError as exc:
        print(f"feeder: {exc}", file=sys.stderr)
        return 1

    from streaming.spark import build_session

    spark = build_session(settings, "bronze-feeder", with_metastore=False)
    jvm: Any = spark._jvm
    if not jvm.org.apache.spark.util.Utils.classIsLoadable(
        "org.apache.spark.sql.kafka010.KafkaSourceProvider"
    ) or not jvm.org.apache.spark.util.Utils.classIsLoadable(
        "io.delta.sql.DeltaSparkSessionExtension"
    ):
        print(
            "feeder: Delta jars are not on the classpath: submit with "
            '--jars "$(ls .jars/spark/*.jar | paste -sd,)" or use `./lakehouse feed`',
            file=sys.stderr,
        )
        return 1
    try:
        landed, failed = run(spark, settings, opts, fmt)
    except FeederError as exc:
        print(f"feeder: {exc}", file=sys.stderr)
        return 1
    finally:
        # each checkpoint's bronze table, now that the first batch has created it
        for topic in opts.topics:
            checkpoints.record_sink(
                settings.checkpoint(_query_name(opts, topic)), settings.bronze_table(topic)
            )
    for name, done in landed.items():
        print(
            f"feeder: {name}: {done.rows} rows landed in {done.batches} batch(es), "
            f"{done.seconds:.1f} s ({done.rows_per_second:,.0f} rows/s)"
        )
    for name, reason in failed.items():
        print(f"feeder: query {name} failed: {reason}", file=sys.stderr)
    spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
