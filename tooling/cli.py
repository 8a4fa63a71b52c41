"""``./lakehouse``: run the pipeline, or any part of it, on this machine.

Each command parses its options and calls the module that does the work:

  setup       the venv and the JVM jars (the wrapper; tooling/jars.py)
  demo        everything, end to end, then a summary (tooling/demo.py)
  kafka       start|stop|status|create-topics of the local broker (streaming/kafka_local.py)
  produce     synthetic web and IDE events to Kafka (streaming/producer.py)
  collector   serve|load the game events HTTP collector (streaming/collector/)
  feed        spark-submit the feeder: Kafka or files to bronze (streaming/feeder.py)
  dbt         any dbt command, with this project's profile and paths (tooling/dbt_runner.py)
  report      the HTML report from the gold tables (tooling/report.py)
  bench       the benchmarks (bench/)
  erase       remove one person's events from bronze to gold (tooling/erase.py)
  maintain    bronze retention, OPTIMIZE and VACUUM of every table (tooling/maintain.py)
  run         the feeder kept running and `dbt build` every N minutes (tooling/schedule.py)
  airflow     the Airflow DAG (orchestration/airflow/) in an Airflow of its own (tooling/airflow.py)
  chaos       kill -9 the feeder and dbt, restart the broker; count lost and duplicated events
              (tooling/chaos.py)
  test        linters (.pre-commit-config.yaml), then pytest (tests/)
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from streaming import kafka_local, producer
from streaming.bronze import TOPICS
from tooling.processes import port_taken
from tooling.settings import REPO_ROOT, load

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run the pipeline, or any part of it, on this machine (README: Using each part).",
    context_settings={"help_option_names": ["-h", "--help"]},
)
kafka_app = typer.Typer(no_args_is_help=True, help="The local Kafka broker (KRaft, one node).")
app.add_typer(kafka_app, name="kafka")
collector_app = typer.Typer(no_args_is_help=True, help="The game events HTTP collector.")
app.add_typer(collector_app, name="collector")
cluster_app = typer.Typer(
    no_args_is_help=True,
    help="A Spark standalone cluster on this machine: master, worker, Thrift server for dbt.",
)
app.add_typer(cluster_app, name="cluster")
airflow_app = typer.Typer(
    no_args_is_help=True,
    help="The Airflow DAG (orchestration/airflow/): Airflow in .venv-airflow, made on first use.",
)
app.add_typer(airflow_app, name="airflow")

console = Console(stderr=True)
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]lakehouse:[/] {message}", highlight=False)
    raise typer.Exit(code)


@app.callback()
def _before_any_command() -> None:
    """What every command checks first: locations the tooling can use (paths or file://
    URIs), and an IP salt dbt's SQL can hold (it reaches Spark as a setting substituted into
    the SQL's text)."""
    from tooling.dbt_runner import DbtError, check_ip_salt
    from tooling.settings import SettingsError

    try:
        load()
        check_ip_salt(os.environ.get("PRIVACY_IP_SALT", ""))
    except (DbtError, SettingsError) as exc:
        fail(str(exc))


# --- Set-up ------------------------------------------------------------------------------


@app.command()
def setup() -> None:
    """Install the pinned Python packages and fetch the JVM jars (done before any command).

    The ./lakehouse wrapper does this before every command whenever pyproject.toml, the poms
    or the wrapper changed; this command reports what is in place.
    """
    from tooling.jars import installed

    settings = load()
    for name, folder, count in installed(settings):
        console.print(f"setup: {count} {name} jars in {folder}")
    console.print(f"setup: Python packages in {Path(sys.executable).parents[1]}")


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
    from tooling.demo import default_start

    kinds = ["web", "ide"] if kind == "all" else [kind]
    if any(k not in producer.TOPICS for k in kinds):
        fail(f"--kind must be web, ide or all (got {kind!r})", code=2)
    plan = producer.Synthetic(
        count=count,
        seed=seed,
        start=start.replace(tzinfo=UTC) if start else default_start(),
        span=timedelta(hours=span_hours),
        late_fraction=late_fraction,
        duplicate_fraction=duplicate_fraction,
        rate=rate,
    )
    try:
        sent = producer.produce_synthetic(load().kafka_bootstrap, kinds, plan)
    except producer.ProducerError as exc:
        fail(str(exc))
    for k, n in sent.items():
        console.print(f"produce: {n} {k} events -> {producer.TOPICS[k]}")


# --- Game events collector ------------------------------------------------------------------


@collector_app.command("serve")
def collector_serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes"),
) -> None:
    """Serve the collector (OpenAPI page at /docs); events go to Kafka topic game_events.

    API keys, rate limit, CORS and the docs page are set from the environment: see
    streaming/collector/config.py."""
    import uvicorn

    from streaming.collector.config import CollectorConfig, CollectorConfigError
    from streaming.kafka_client import KafkaSecurityError
    from streaming.kafka_client import load as kafka_security

    settings = load()
    try:
        kafka_security()
        config = CollectorConfig.from_env()
    except (KafkaSecurityError, CollectorConfigError) as exc:
        fail(str(exc))
    if workers > 1 and config.rate_per_second:
        console.print(
            f"collector: each of the {workers} workers counts COLLECTOR_RATE_LIMIT on its own: "
            f"up to {workers * config.rate_per_second:g} requests/s per key get through"
        )
    if port_taken(host, port):
        fail(f"port {host}:{port} is taken: pick another with --port")
    os.environ["KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    uvicorn.run(
        "streaming.collector.server:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        limit_concurrency=config.max_connections,  # beyond it: 503 at once
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


# --- Spark cluster -------------------------------------------------------------------------


@cluster_app.command("start")
def cluster_start() -> None:
    """Start master, worker and Thrift server; returns when the Thrift server answers."""
    from tooling import cluster

    settings = load()
    try:
        c = cluster.start(settings)
    except cluster.ClusterError as exc:
        fail(str(exc))
    console.print(
        f"cluster: master {c.master_url} (UI http://{c.host}:{c.master_ui_port}), "
        f"Thrift server {c.host}:{c.thrift_port}; logs in {c.logs}\n"
        f"  dbt:    DBT_TARGET=cluster ./lakehouse dbt build\n"
        f"  feeder: ./lakehouse feed --master {c.master_url} --available-now"
    )


@cluster_app.command("stop")
def cluster_stop() -> None:
    """Stop the Thrift server, the worker and the master by their pids."""
    from tooling import cluster

    stopped = cluster.stop(load())
    console.print(f"cluster: stopped {', '.join(stopped)}" if stopped else "cluster: not running")


@cluster_app.command("status")
def cluster_status() -> None:
    """Say what runs and whether the Thrift server answers; exit 1 when it does not."""
    from tooling import cluster

    settings = load()
    c = cluster.layout(settings)
    for role, pid in cluster.status(settings).items():
        console.print(f"cluster: {role:<7} {f'pid {pid}' if pid else 'not running'}")
    answers = cluster.thrift_answers(c.host, c.thrift_port)
    console.print(f"cluster: Thrift server {'answers' if answers else 'does not answer'} at "
                  f"{c.host}:{c.thrift_port}")  # fmt: skip
    if not answers:
        raise typer.Exit(1)


# --- Feeder --------------------------------------------------------------------------------


def _split_master(args: list[str]) -> tuple[str | None, list[str]]:
    """``--master URL`` (or ``--master=URL``) out of the feeder's arguments."""
    rest, master = [], None
    it = iter(args)
    for arg in it:
        if arg == "--master":
            master = next(it, None)
            if master is None:
                fail("--master needs a URL, e.g. spark://127.0.0.1:7077", code=2)
        elif arg.startswith("--master="):
            master = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return master, rest


@app.command(context_settings=PASSTHROUGH)
def feed(ctx: typer.Context) -> None:
    """spark-submit streaming/feeder.py with the local jars; arguments go to the feeder.

    Example: ./lakehouse feed --available-now; on a cluster: --master spark://HOST:PORT.
    """
    from streaming.spark import run_feeder

    master, args = _split_master(list(ctx.args))
    raise typer.Exit(run_feeder(load(), args, master))


# --- dbt -----------------------------------------------------------------------------------


@app.command(context_settings=PASSTHROUGH)
def dbt(ctx: typer.Context) -> None:
    """Any dbt command with this project's profile and paths, e.g. `./lakehouse dbt build`.

    While this lakehouse's cluster runs, its Thrift server holds the metastore, so dbt uses
    the cluster target unless DBT_TARGET says otherwise. A command that writes (run, build,
    seed, run-operation, ...) takes the lakehouse's lock, and dbt holds it until it ends.
    """
    from tooling import cluster, engine, lock
    from tooling.dbt_runner import run_subprocess, writes

    settings = load()
    env = None if "DBT_TARGET" in os.environ else cluster.target_env(settings)
    warm = engine.running_pid(settings)
    if warm and not env and os.environ.get("DBT_TARGET", "local") == "local":
        fail(
            f"dbt: the warm engine of `./lakehouse run` (pid {warm}) holds this lakehouse's "
            "metastore: stop `run` first (Ctrl-C), or run dbt on the cluster target"
        )
    if env:
        console.print(
            "dbt: this lakehouse's cluster runs (`./lakehouse cluster status`): "
            "using the cluster target"
        )
    args = list(ctx.args)
    if not writes(args):
        raise typer.Exit(run_subprocess(settings, args, env))
    # the Airflow DAG's tasks (orchestration/airflow/dbt) share it among themselves
    shared = os.environ.get("LAKEHOUSE_LOCK") == "shared"
    what = "lakehouse dbt " + " ".join(args)[:80]
    try:
        with lock.exclusive(settings, what, shared=shared) as held:
            code = run_subprocess(settings, args, env, lock_fd=held)
    except lock.Busy as exc:
        fail(f"dbt: another writer runs: {exc}; try again when it ends")
    raise typer.Exit(code)


# --- Report ------------------------------------------------------------------------------


@app.command()
def report(
    output: Path = typer.Option(None, help="HTML file (default LAKEHOUSE_DIR/report/index.html)"),
) -> None:
    """Render the HTML report with charts from the gold tables (read without a JVM)."""
    from tooling import cluster
    from tooling.report import write_report
    from tooling.tables import DeltaLakeTables, ThriftTables

    settings = load()
    target = output or settings.lakehouse_dir / "report" / "index.html"
    if cluster.status(settings)["thrift"] is not None:
        # the Thrift server holds the metastore: read through it
        c = cluster.layout(settings)
        tables: DeltaLakeTables | ThriftTables = ThriftTables(c.host, c.thrift_port)
    else:
        # the Delta files themselves, without a JVM: seconds, not a Spark start
        tables = DeltaLakeTables(settings.warehouse_dir, settings.bronze_dir)
    console.print(f"report: written to {write_report(tables, target)}")


# --- Demo ----------------------------------------------------------------------------------


@app.command()
def demo(
    count: int = typer.Option(5000, min=10, help="events per kind"),
    seed: int = typer.Option(42),
    keep_kafka: bool = typer.Option(False, help="leave the broker running afterwards"),
) -> None:
    """Everything once: Kafka, events, collector, feeder, dbt build + docs, report, summary."""
    from tooling.demo import DemoError, run_demo

    settings = load()
    try:
        result = run_demo(settings, count, seed, keep_kafka, console)
    except (DemoError, kafka_local.KafkaLocalError, producer.ProducerError) as exc:
        fail(str(exc))
    console.print(
        f"demo: done in {result.seconds:.0f}s.\n"
        f"  report:    {result.report}\n"
        f"  docs site: ./lakehouse dbt docs serve --port 8080\n"
        f"  data:      {settings.lakehouse_dir}"
    )


# --- Benchmarks ----------------------------------------------------------------------------


@app.command(context_settings=PASSTHROUGH)
def bench(ctx: typer.Context) -> None:
    """The benchmarks (bench/): ingest, incremental cost vs history, the collector.

    Example: ./lakehouse bench --smoke      (options: ./lakehouse bench --help)
    """
    code = subprocess.call([sys.executable, "-m", "bench", *ctx.args], cwd=REPO_ROOT)
    raise typer.Exit(code)


# --- Tests ---------------------------------------------------------------------------------


@app.command()
def erase(
    user_id: str = typer.Option(None, help="a web or IDE user id"),
    player_id: str = typer.Option(None, help="a game player id"),
) -> None:
    """Remove one person's events from bronze, staging and silver, then rebuild gold.

    Deleted rows remain in older Delta files until VACUUM passes its retention, and in Kafka
    until the topic's retention."""
    from tooling import cluster, lock
    from tooling.erase import EraseError
    from tooling.erase import erase as run_erase

    settings = load()
    env = None if "DBT_TARGET" in os.environ else cluster.target_env(settings)
    try:
        run_erase(settings, user_id=user_id, player_id=player_id, env=env)
    except EraseError as exc:
        fail(f"erase: {exc}", 2 if not (user_id or player_id) else 1)
    except lock.Busy as exc:
        fail(f"erase: another writer runs: {exc}; try again when it ends")
    console.print(
        f"erase: done for {user_id or ''}{' ' if user_id and player_id else ''}{player_id or ''}"
    )


@app.command()
def maintain(
    bronze_retention_days: int = typer.Option(
        14, min=1, help="bronze keeps this many days by arrival date (unread days are kept)"
    ),
    keep_bronze: bool = typer.Option(False, help="no raw retention: bronze keeps every day"),
    vacuum_retain_days: int = typer.Option(
        7, help="VACUUM keeps files younger than this (at least 7)"
    ),
    purge_deletion_vectors: bool = typer.Option(
        False, help="rewrite every file with deletion vectors, not only the ones they fill"
    ),
) -> None:
    """Keep the tables healthy: bronze retention, OPTIMIZE of what changed, VACUUM.

    Logs what it did to LAKEHOUSE_DIR/maintenance/log.jsonl."""
    from streaming.spark import build_session
    from tooling import lock
    from tooling import maintain as maintenance

    settings = load()
    options = maintenance.Options(
        bronze_retention_days=None if keep_bronze else bronze_retention_days,
        vacuum_retain_days=vacuum_retain_days,
        purge_deletion_vectors=purge_deletion_vectors,
    )
    try:
        options.check()
        with lock.exclusive(settings, "lakehouse maintain"):
            spark = build_session(settings, "lakehouse-maintain", with_metastore=False)
            reports = maintenance.run(spark, settings, options, say=console.print)
    except (maintenance.MaintenanceError, lock.Busy) as exc:
        fail(f"maintain: {exc}")
    console.print(maintenance.summary_table(reports))


@app.command(context_settings=PASSTHROUGH)
def run(
    ctx: typer.Context,
    every: str = typer.Option(..., help="how often dbt builds: 30s, 10m, 1h"),
    runs: int = typer.Option(None, min=1, help="stop after this many runs (default: never)"),
    feeder: bool = typer.Option(True, help="keep the feeder running (--no-feeder: dbt only)"),
    cold: bool = typer.Option(
        False, help="a dbt process (and JVM) per run instead of the warm engine"
    ),
    tests_every: str = typer.Option(
        None,
        help="dbt run (models only) between builds, one build (models and tests) per this "
        "interval, e.g. 1h (default: every run is a build)",
    ),
    select: list[str] = typer.Option(
        None, "--select", "-s", help="dbt selection each run builds (repeatable; default: all)"
    ),
    exclude: list[str] = typer.Option(
        None, "--exclude", help="dbt nodes each run leaves out (repeatable)"
    ),
) -> None:
    """Keep the feeder running and `dbt build` every interval; Ctrl-C stops cleanly.

    On the local target dbt runs in a warm engine, one Spark session kept across runs
    (tooling/engine.py); --cold starts a dbt process per run instead.

    Arguments after the options go to the feeder (default: --processing-time '30 seconds'),
    e.g. ./lakehouse run --every 10m -- --source files --input-path inbox/{topic}
    """
    from tooling import cluster
    from tooling.schedule import DEFAULT_FEEDER_ARGS, ScheduleError, Scheduler, parse_interval

    settings = load()
    try:
        every_s = parse_interval(every)
        tests_every_s = parse_interval(tests_every, "--tests-every") if tests_every else 0.0
    except ScheduleError as exc:
        fail(f"run: {exc}", 2)
    feeder_args = (list(ctx.args) or DEFAULT_FEEDER_ARGS) if feeder else None
    if feeder_args is not None and "--available-now" in feeder_args:
        fail(
            "run: the scheduled feeder keeps running: give --processing-time, not --available-now",
            2,
        )
    env = None if "DBT_TARGET" in os.environ else cluster.target_env(settings)
    selection = ["--select", *select] if select else []
    selection += ["--exclude", *exclude] if exclude else []
    if selection:
        # a data test runs when every model it reads is built, or upstream of what is: with
        # dbt's default, a test of a selected model that also reads one left out would fail
        selection += ["--indirect-selection", "buildable"]
    console.print(f"schedule: dbt build every {every_s:g} s; Ctrl-C stops")

    records = Scheduler(
        settings,
        every_s,
        feeder_args=feeder_args,
        runs=runs,
        env=env,
        warm=not cold,
        tests_every_s=tests_every_s,
        dbt_args=selection,
        say=_say,
    ).run()
    if records and records[-1].status == "failed":
        raise typer.Exit(1)


@airflow_app.command("test", context_settings=PASSTHROUGH)
def airflow_test(
    ctx: typer.Context,
    select: list[str] = typer.Option(
        None, help="dbt selection to render (repeatable; default: the whole project)"
    ),
) -> None:
    """One run of the DAG with dag.test(): the feeder task, then every model's task.

    Arguments after the options go to the feeder (after --available-now), e.g.
    ./lakehouse airflow test --select +ide_sessions -- --source files --input-path inbox/{topic}
    """
    from tooling.airflow import AirflowError, test_dag

    try:
        result = test_dag(load(), select=select or [], feeder_args=list(ctx.args), say=_say)
    except AirflowError as exc:
        fail(f"airflow: {exc}")
    if "import_errors" in result:
        fail(f"airflow: the DAG does not import: {result['import_errors']}")
    states = result["task_states"]
    assert isinstance(states, dict)
    table = Table("task", "state")
    for task, state in states.items():
        table.add_row(task, state)
    console.print(table)
    console.print(f"airflow: {result['dag_id']} {result['state']} in {result['seconds']} s")
    if result["state"] != "success":
        raise typer.Exit(1)


@airflow_app.command("cli", context_settings=PASSTHROUGH)
def airflow_cli(ctx: typer.Context) -> None:
    """Any Airflow command in the lakehouse's Airflow: `./lakehouse airflow cli standalone`
    serves the UI and a scheduler; `./lakehouse airflow cli dags list`, ..."""
    from tooling.airflow import AirflowError, cli

    try:
        raise typer.Exit(cli(load(), list(ctx.args), _say))
    except AirflowError as exc:
        fail(f"airflow: {exc}")


def _say(line: str) -> None:  # one line per event, never wrapped (logs are grepped)
    console.print(line, soft_wrap=True, markup=False, highlight=False)


@app.command()
def chaos(
    feeder_kills: int = typer.Option(20, min=0, help="kill -9 the feeder this many times"),
    dbt_kills: int = typer.Option(10, min=0, help="kill -9 `dbt run` this many times"),
    events: int = typer.Option(5000, min=100, help="events produced (per stream for dbt)"),
    seed: int = typer.Option(7),
) -> None:
    """Fault injection on the real processes (about 2 min per feeder kill and 3 per dbt kill
    on 2 cores): prints kills survived, events lost and duplicated, and whether every table
    equals a full refresh; figures in LAKEHOUSE_DIR/chaos/latest.json."""
    from tooling.chaos import ChaosError, run

    try:
        doc = run(
            load(),
            feeder_kills=feeder_kills,
            dbt_kills=dbt_kills,
            events=events,
            seed=seed,
            say=console.print,
        )
    except (ChaosError, kafka_local.KafkaLocalError) as exc:
        fail(f"chaos: {exc}")
    feeder = doc.get("feeder", {})
    dbt_run = doc.get("dbt", {})
    if feeder.get("lost") or feeder.get("duplicated") or not feeder.get("staging_exact", True):
        fail("chaos: events were lost or duplicated (see above)")
    if dbt_run and not dbt_run.get("exact"):
        fail("chaos: tables differ from a full refresh (see above)")


@app.command(context_settings=PASSTHROUGH)
def test(
    ctx: typer.Context,
    lint: bool = typer.Option(True, help="run the linters first (--no-lint: pytest only)"),
) -> None:
    """Linters (ruff, mypy, sqlfluff, ...), then pytest; extra arguments go to pytest.

    The linters are the hooks of .pre-commit-config.yaml; pytest runs tests/unit and
    tests/integration.
    """
    from tooling import checks

    missing = checks.missing_tools()
    if missing:
        fail("; ".join(missing))
    if lint:
        code = checks.run_linters()
        if code != 0:
            fail("the linters found problems (above): see the README, section Linters")
    code = checks.run_pytest(list(ctx.args))
    if code == 5:
        fail("pytest collected no tests", code=5)
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
