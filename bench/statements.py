"""Where a warm in-process run's time goes, statement by statement (issue 19, item 2).

    .venv/bin/python -m bench.statements [--batches N] [--events N]

Builds a small lakehouse under LAKEHOUSE_DIR/bench/statements (two days of web and IDE
history), then in the same SparkSession (as the warm engine keeps one) appends N small
batches to bronze and runs ``dbt run`` after each, and one run with nothing new. For every
run it prints the wall time and dbt's statements by kind and by model (bench/dbt_log.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import UTC, datetime, timedelta

from bench import dbt_log, event_log, steps
from streaming.events.ide import generate_ide_events
from streaming.events.web import generate_web_events
from streaming.spark import build_session
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import NO_TESTS, dbt_env, run_in_process
from tooling.settings import Settings, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2, help="small batches, one run each")
    parser.add_argument("--events", type=int, default=200, help="events per stream per batch")
    parser.add_argument(
        "--event-log",
        action="store_true",
        help="also print what Spark ran in each run (jobs, stages, task time) from its event log",
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark option for the session, to compare a setting (repeatable)",
    )
    args = parser.parse_args()
    base = load()
    root = (base.lakehouse_dir / "bench" / "statements").resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    settings = Settings(root, base.jars_dir, "127.0.0.1:9")
    # this lakehouse's paths, whatever LAKEHOUSE_DIR the shell has (apply_env keeps a set one)
    os.environ.update(dbt_env(settings))
    events_dir = root / "eventlog"
    extra = dict(item.split("=", 1) for item in args.conf)
    if args.event_log:
        events_dir.mkdir()
        extra |= {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": events_dir.as_uri(),
            "spark.eventLog.compress": "false",  # plain JSON lines to read back
        }
    spark = build_session(settings, "bench-statements", with_metastore=True, extra=extra)
    windows: list[tuple[str, int, int]] = []  # (label, start, end) in epoch ms
    now = datetime.now(UTC).replace(microsecond=0)

    def land(count: int, start: datetime, span: timedelta, seed: int, name: str) -> None:
        web = generate_web_events(count, seed, start, span)
        append_to_bronze(spark, settings, "web_events", web, name)
        ide = generate_ide_events(count, seed, start, span)
        append_to_bronze(spark, settings, "ide_events", ide, name)

    def run(dbt_args: list[str], label: str) -> None:
        offset = steps.dbt_log_size(settings)
        began = time.monotonic()
        began_ms = int(time.time() * 1000)
        run_in_process(settings, dbt_args, quiet=True)
        took = time.monotonic() - began
        windows.append((label, began_ms, int(time.time() * 1000)))
        found = steps.dbt_log_since(settings, offset)
        total = sum(s.seconds for s in found)
        print(f"\n{label}: {took:.1f} s, {len(found)} statements, {total:.1f} s in statements")
        for kind, (count, seconds) in dbt_log.by_kind(found).items():
            print(f"  {kind:40s} {count:4d} {seconds:7.1f} s")
        for model, kinds in dbt_log.by_model(found).items():
            parts = ", ".join(f"{k} {c}x {s:.1f} s" for k, (c, s) in kinds.items())
            print(f"  {model:32s} {sum(s for _, s in kinds.values()):6.1f} s  {parts}")

    try:
        land(3000, now - timedelta(days=3), timedelta(days=2), 1, "history")
        run(["build", *NO_TESTS], "first build")
        for i in range(args.batches):
            # a new seed per batch: the same seed again would reuse event ids
            land(args.events, now - timedelta(hours=6), timedelta(hours=5), 100 + i, f"batch{i}")
            run(["run"], f"small batch {i + 1} ({args.events} events per stream)")
        run(["run"], "no new data")
    finally:
        spark.stop()
    if args.event_log:
        print("\nSpark's event log, run by run (statements by their plan's root; the costliest)")
        for label, since, until in windows:
            print(f"\n{label}:")
            print("\n".join(event_log.summary(event_log.executions(events_dir, since, until))))


if __name__ == "__main__":
    main()
