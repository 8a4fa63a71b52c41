"""``./lakehouse``: run the pipeline, or any part of it, on this machine.

./lakehouse demo                 everything, end to end, then a summary
./lakehouse test                 ruff + the whole test suite
./lakehouse kafka start|stop|status|create-topics
./lakehouse produce --kind web --count 10000
./lakehouse feed --available-now [--source files --input-path DIR --topics ide_events]
./lakehouse dbt build            any dbt command, with this project's profile and paths
./lakehouse bench [--smoke]      the benchmarks (bench/README.md)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from streaming import kafka_local, producer
from streaming.settings import REPO_ROOT, TOPICS, Settings, load

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=__doc__,
    context_settings={"help_option_names": ["-h", "--help"]},
)
kafka_app = typer.Typer(no_args_is_help=True, help="The local Kafka broker (KRaft, one node).")
app.add_typer(kafka_app, name="kafka")
collector_app = typer.Typer(no_args_is_help=True, help="The game events HTTP collector.")
app.add_typer(collector_app, name="collector")

console = Console(stderr=True)
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]lakehouse:[/] {message}", highlight=False)
    raise typer.Exit(code)


# --- Kafka ---------------------------------------------------------------------------------


@kafka_app.command("start")
def kafka_start() -> None:
    """Start the broker (data under LAKEHOUSE_DIR/kafka) and wait until it answers."""
    settings = load()
    try:
        b = kafka_local.start(settings)
    except kafka_local.KafkaLocalError as exc:
        fail(str(exc))
    console.print(f"kafka: broker up at {b.bootstrap} (logs in {b.logs})")


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the broker started by `kafka start`."""
    stopped = kafka_local.stop(load())
    console.print("kafka: broker stopped" if stopped else "kafka: no broker was running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the broker runs and answers; exit 1 when it does not answer."""
    settings = load()
    pid, answers = kafka_local.status(settings)
    where = settings.kafka_bootstrap
    console.print(
        f"kafka: {'answering' if answers else 'not answering'} at {where}"
        + (f" (our broker, pid {pid})" if pid else "")
    )
    if not answers:
        raise typer.Exit(1)


@kafka_app.command("create-topics")
def kafka_create_topics(
    partitions: int = typer.Option(2, min=1, help="partitions per topic"),
    topic: list[str] = typer.Option(list(TOPICS), help="topics to create"),
) -> None:
    """Create the event topics that do not exist yet."""
    settings = load()
    try:
        created = kafka_local.create_topics(settings.kafka_bootstrap, topic, partitions)
    except kafka_local.KafkaLocalError as exc:
        fail(str(exc))
    console.print(f"kafka: created {', '.join(created)}" if created else "kafka: topics exist")


# --- Producer ------------------------------------------------------------------------------


def _default_start() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=5)


@app.command()
def produce(
    kind: str = typer.Option("all", help="web, ide or all"),
    count: int = typer.Option(5000, min=1, help="events per kind"),
    rate: float = typer.Option(None, min=0.1, help="events per second (default: flat out)"),
    seed: int = typer.Option(42, help="random seed: same seed, same events"),
    start: datetime = typer.Option(
        None, formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="first event time, UTC"
    ),
    span_hours: float = typer.Option(120.0, min=0.01, help="event times span this many hours"),
    late_fraction: float = typer.Option(0.05, min=0.0, max=1.0, help="share delivered late"),
    duplicate_fraction: float = typer.Option(0.01, min=0.0, max=1.0, help="share re-delivered"),
) -> None:
    """Send deterministic synthetic web and/or IDE events to Kafka."""
    kinds = ["web", "ide"] if kind == "all" else [kind]
    if any(k not in producer.TOPICS for k in kinds):
        fail(f"--kind must be web, ide or all (got {kind!r})", code=2)
    settings = load()
    first = start.replace(tzinfo=UTC) if start else _default_start()
    for k in kinds:
        events = producer.build_events(
            k, count, seed, first, timedelta(hours=span_hours), late_fraction, duplicate_fraction
        )
        try:
            sent = producer.produce(
                settings.kafka_bootstrap,
                producer.TOPICS[k],
                events,
                rate=rate,
                key_field=producer.KEY_FIELDS[k],
            )
        except producer.ProducerError as exc:
            fail(str(exc))
        console.print(f"produce: {sent} {k} events -> {producer.TOPICS[k]}")


# --- Game events collector ------------------------------------------------------------------


@collector_app.command("serve")
def collector_serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes"),
) -> None:
    """Serve the collector (OpenAPI page at /docs); events go to Kafka topic game_events."""
    import uvicorn

    settings = load()
    if kafka_local._port_taken(host, port):
        fail(f"port {host}:{port} is taken: pick another with --port")
    os.environ["KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    uvicorn.run(
        "streaming.collector.server:app", host=host, port=port, workers=workers, log_level="warning"
    )


@collector_app.command("load")
def collector_load(
    url: str = typer.Option("http://127.0.0.1:8000", help="the collector's base URL"),
    requests: int = typer.Option(2000, min=1, help="requests in all"),
    concurrency: list[int] = typer.Option([1, 16, 64], help="concurrency levels to run"),
    event: str = typer.Option("purchase", help="event type to post"),
) -> None:
    """Load the collector with Apache Bench and print requests/s and p50/p99 latency."""
    from streaming.collector.load import LoadError, run_ab

    settings = load()
    table = Table(title=f"ab: {requests} POST /events/{event} per level")
    for column in ("concurrency", "requests/s", "p50 ms", "p99 ms", "failed", "non-2xx"):
        table.add_column(column, justify="right")
    for level in concurrency:
        try:
            r = run_ab(url, settings.lakehouse_dir / "tmp", requests, level, event)
        except LoadError as exc:
            fail(str(exc))
        table.add_row(
            str(level),
            f"{r.requests_per_second:,.0f}",
            f"{r.p50_ms:.0f}",
            f"{r.p99_ms:.0f}",
            str(r.failed),
            str(r.non_2xx),
        )
    Console().print(table)


# --- Feeder --------------------------------------------------------------------------------


FEEDER = REPO_ROOT / "streaming" / "feeder.py"


def run_feeder(settings: Settings, feeder_args: list[str]) -> int:
    from streaming.spark import submit_command, submit_env

    return subprocess.call(
        submit_command(settings, FEEDER, feeder_args), env=submit_env(settings), cwd=REPO_ROOT
    )


@app.command(context_settings=PASSTHROUGH)
def feed(ctx: typer.Context) -> None:
    """spark-submit streaming/feeder.py with the local jars; arguments go to the feeder.

    Example: ./lakehouse feed --available-now
    """
    code = run_feeder(load(), list(ctx.args))
    raise typer.Exit(code)


# --- dbt -----------------------------------------------------------------------------------


@app.command(context_settings=PASSTHROUGH)
def dbt(ctx: typer.Context) -> None:
    """Any dbt command with this project's profile and paths, e.g. `./lakehouse dbt build`."""
    from streaming.dbt_runner import run_subprocess

    raise typer.Exit(run_subprocess(load(), list(ctx.args)))


# --- Summary -------------------------------------------------------------------------------

SUMMARY_TABLES = (
    "bronze.web_events",
    "bronze.ide_events",
    "bronze.game_events",
    "silver.stg_bronze__web_events",
    "silver.stg_bronze__ide_events",
    "silver.stg_bronze__game_events",
    "silver.events_quarantine",
    "silver.web_events_sessionized",
    "silver.web_sessions",
    "silver.ide_events_sessionized",
    "silver.ide_sessions",
    "gold.host_daily_metrics",
    "gold.host_metrics",
    "gold.platform_host_comparison",
    "gold.ide_product_daily_metrics",
    "gold.item_purchases",
    "gold.guild_memberships",
    "gold.player_stats",
)


def summary_rows(spark) -> list[tuple[str, int, str]]:
    """(table, rows, location) for every pipeline table that exists."""
    rows = []
    for name in SUMMARY_TABLES:
        if not spark.catalog.tableExists(name):
            continue
        count = spark.table(name).count()
        detail = spark.sql(f"describe table extended {name}").collect()
        location = next((r.data_type for r in detail if r.col_name == "Location"), "(view)")
        rows.append((name, count, location))
    return rows


def quarantine_rows(spark) -> list[tuple[str, str, int]]:
    """(topic, reason, records) kept out of the events, from silver.events_quarantine."""
    if not spark.catalog.tableExists("silver.events_quarantine"):
        return []
    return [
        (r.topic, r.reason, r.records)
        for r in spark.sql(
            "select topic, reason, count(*) as records from silver.events_quarantine "
            "group by topic, reason order by topic, reason"
        ).collect()
    ]


def print_summary(
    rows: list[tuple[str, int, str]], quarantined: list[tuple[str, str, int]]
) -> None:
    table = Table(title="What landed where")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("location", overflow="fold")
    for name, count, location in rows:
        table.add_row(name, f"{count:,}", location)
    Console().print(table)
    if quarantined:
        q = Table(title="Kept out of the events (silver.events_quarantine)")
        q.add_column("topic")
        q.add_column("reason")
        q.add_column("records", justify="right")
        for topic, reason, records in quarantined:
            q.add_row(topic, reason, f"{records:,}")
        Console().print(q)


# --- Report ------------------------------------------------------------------------------


@app.command()
def report(
    output: Path = typer.Option(None, help="HTML file (default LAKEHOUSE_DIR/report/index.html)"),
) -> None:
    """Render the HTML report with charts from the gold tables."""
    from streaming.report import write_report
    from streaming.spark import build_session

    settings = load()
    target = output or settings.lakehouse_dir / "report" / "index.html"
    spark = build_session(settings, "lakehouse-report", with_metastore=True)
    console.print(f"report: written to {write_report(spark, target)}")


def post_game_events(settings: Settings, count: int, seed: int) -> int:
    """Serve the collector for a moment and post `count` synthetic gameplay events to it."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from rich.progress import Progress

    from streaming.collector.app import KafkaSink, serve_in_thread
    from streaming.events.game import generate_game_events

    events = generate_game_events(count, seed)
    with serve_in_thread(KafkaSink(settings.kafka_bootstrap)) as url, httpx.Client() as client:

        def post(item: tuple[str, dict]) -> int:
            event_type, payload = item
            return client.post(f"{url}/events/{event_type}", json=payload).status_code

        with Progress(console=console, transient=True) as progress, ThreadPoolExecutor(8) as pool:
            task = progress.add_task("collector: posting game events", total=len(events))
            statuses = []
            for status in pool.map(post, events):
                statuses.append(status)
                progress.advance(task)
    rejected = [s for s in statuses if s != 202]
    if rejected:
        fail(f"the collector refused {len(rejected)} of {len(events)} events (HTTP {rejected[0]})")
    return len(events)


# --- Demo ----------------------------------------------------------------------------------


@app.command()
def demo(
    count: int = typer.Option(5000, min=10, help="events per kind"),
    seed: int = typer.Option(42),
    keep_kafka: bool = typer.Option(False, help="leave the broker running afterwards"),
) -> None:
    """Run the whole pipeline once: Kafka, producer, feeder, dbt build + docs, summary."""
    from streaming.dbt_runner import DbtError, run_in_process

    settings = load()
    t0 = time.monotonic()
    pid, answering = kafka_local.status(settings)
    started_here = pid is None and not answering
    try:
        console.rule("1/7 Kafka")
        kafka_start()
        kafka_create_topics(partitions=2, topic=list(TOPICS))
        console.rule("2/7 Producer")
        produce(
            kind="all",
            count=count,
            rate=None,
            seed=seed,
            start=None,
            span_hours=120.0,
            late_fraction=0.05,
            duplicate_fraction=0.01,
        )
        # Two records that cannot be events, to show they are kept and flagged.
        producer.produce_raw(settings.kafka_bootstrap, "web_events", [b"this is not json"])
        producer.produce_raw(settings.kafka_bootstrap, "ide_events", [b'{"user_id": "7"}'])
        console.rule("3/7 Game events through the HTTP collector")
        posted = post_game_events(settings, max(count // 5, 50), seed)
        console.print(f"collector: {posted} game events accepted -> game_events")
        console.rule("4/7 Feeder (spark-submit, available-now)")
        if run_feeder(settings, ["--available-now"]) != 0:
            fail("the feeder failed (see above)")
    finally:
        if started_here and not keep_kafka:
            kafka_local.stop(settings)
    console.rule("5/7 dbt build + docs generate")
    try:
        run_in_process(settings, ["build"])
        run_in_process(settings, ["docs", "generate"])
    except DbtError as exc:
        fail(str(exc))
    from pyspark.sql import SparkSession

    from streaming.report import write_report

    # dbt ran in this process: getOrCreate hands back its embedded session.
    spark = SparkSession.builder.getOrCreate()
    console.rule("6/7 Report")
    report_path = write_report(spark, settings.lakehouse_dir / "report" / "index.html")
    console.rule("7/7 Summary")
    print_summary(summary_rows(spark), quarantine_rows(spark))
    console.print(
        f"demo: done in {time.monotonic() - t0:.0f}s.\n"
        f"  report:    {report_path}\n"
        f"  docs site: ./lakehouse dbt docs serve --port 8080\n"
        f"  data:      {settings.lakehouse_dir}"
    )


# --- Benchmarks ----------------------------------------------------------------------------


@app.command(context_settings=PASSTHROUGH)
def bench(ctx: typer.Context) -> None:
    """The benchmarks (bench/): ingest, incremental cost vs history, collector, dbt overhead.

    Example: ./lakehouse bench --smoke      (options: ./lakehouse bench --help)
    """
    code = subprocess.call([sys.executable, "-m", "bench", *ctx.args], cwd=REPO_ROOT)
    raise typer.Exit(code)


# --- Tests ---------------------------------------------------------------------------------


@app.command(context_settings=PASSTHROUGH)
def test(ctx: typer.Context) -> None:
    """ruff (lint + format check), then pytest; extra arguments go to pytest."""
    bin_dir = Path(sys.executable).parent
    for cmd in (
        [str(bin_dir / "ruff"), "check", "streaming", "bench"],
        [str(bin_dir / "ruff"), "format", "--check", "streaming", "bench"],
    ):
        if subprocess.call(cmd, cwd=REPO_ROOT) != 0:
            fail("ruff found problems (run `.venv/bin/ruff format streaming bench` to fix layout)")
    code = subprocess.call([sys.executable, "-m", "pytest", *ctx.args], cwd=REPO_ROOT)
    if code == 5:
        fail("pytest collected no tests", code=5)
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
