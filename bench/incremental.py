"""Incremental cost vs history, dbt's fixed cost, and the fixed-window baseline.

For each history length H (days): a lakehouse of its own gets H days of web and IDE events
through the feeder's files source and a first ``dbt run``; then one daily batch lands (5% of
it late by up to five days) and the incremental ``dbt run`` is timed, then a run with no new
data (dbt's and Spark's fixed cost), then a full refresh over the same data (how its cost
grows with history). Once, the bare fixed cost: ``dbt show`` of one trivial query (dbt's
start, the Spark session, one query). At 30 days and at the longest history also:

  - the full refresh's silver and gold tables must fingerprint exactly like the incremental
    run's (the product's promise, checked at scale);
  - Delta's operation metrics of every commit the incremental run made (files added and
    removed, rows inserted, updated and deleted per MERGE), and where the run's time went
    statement by statement (from dbt's debug log).

At 30 days (the longest history if shorter) also a small batch after the daily one (300
events per stream, 5% late: what a loop that runs every minute or so sees), run in a new
process and then, with another small batch, in a warm engine after a run with nothing new
in it; the fingerprints below include them. And the baseline: the lakehouse is put back to its
state before the batch, the batch lands again, and ``dbt run --vars '{sessions__recompute:
fixed_window}'`` recomputes every event of the affected keys over the last 6 days, as the
published batch jobs do.

Every time is a whole ``dbt run`` in a new process, JVM start included: what a scheduler pays.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench import dbt_log, steps
from bench.context import Context

FIXED_WINDOW = "{sessions__recompute: fixed_window}"
BASELINE_DAYS = 30
# the targets: (history days, ratio wanted) for incremental / full refresh and for
# incremental / incremental at the shortest history
VS_FULL_REFRESH = {30: 0.2, 90: 0.1}
VS_SHORTEST = {30: 1.3, 90: 1.15}


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    # Yesterday, so no event of the batch lies ahead of the clock (staging quarantines those).
    batch_day = datetime.now(UTC).date() - timedelta(days=1)
    incremental: dict[int, float] = {}
    longest = max(plan.history_days)
    baseline_days = BASELINE_DAYS if BASELINE_DAYS in plan.history_days else longest
    detailed = {d for d in plan.history_days if d >= BASELINE_DAYS} | {longest}
    for days in plan.history_days:
        name = f"history-{days}d"
        settings = ctx.settings(name)
        inbox = settings.lakehouse_dir / "inbox"
        ctx.step(f"{name}: writing {days} day(s) of history and a daily batch")
        written = plan.write_history(inbox, days, batch_day)
        totals = {
            k: sum(getattr(w, k) for w in written.values())
            for k in ("history_events", "batch_events", "late_events")
        }

        def feed(part: str, settings=settings, inbox=inbox, name=name) -> None:
            steps.feed(
                settings,
                [
                    "--source",
                    "files",
                    "--format",
                    "json",
                    "--topics",
                    "web_events,ide_events",
                    "--input-path",
                    str(inbox / part / "{topic}"),
                    "--available-now",
                ],
                ctx.log(f"{name}-feed-{part}"),
                f"{name}: feeding the {part}",
            )

        ctx.step(f"{name}: feeding {totals['history_events']:,} history events into bronze")
        feed("history")
        ctx.step(f"{name}: first dbt run (seeds, then every model)")
        steps.dbt(settings, ["seed"], ctx.log(f"{name}-seed"), f"{name}: dbt seed")
        build = steps.dbt(settings, ["run"], ctx.log(f"{name}-build"), f"{name}: first dbt run")
        results.add(
            "incremental",
            f"first build, {days} d history",
            build.seconds,
            "s",
            f"{totals['history_events']:,} events",
        )
        snapshot = settings.lakehouse_dir.with_name(name + "-before-batch")
        snapshot_dv = settings.lakehouse_dir.with_name(name + "-before-batch-dv")
        if days == baseline_days:
            ctx.step(f"{name}: keeping two copies of the lakehouse (baseline, DVs off)")
            for copy in (snapshot, snapshot_dv):
                if copy.exists():
                    shutil.rmtree(copy)
                shutil.copytree(settings.lakehouse_dir, copy, symlinks=True)

        ctx.step(
            f"{name}: feeding the daily batch "
            f"({totals['batch_events']:,} events, {totals['late_events']:,} late)"
        )
        feed("batch")
        ctx.step(f"{name}: incremental dbt run")
        log_from = steps.dbt_log_size(settings)
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        incr = steps.dbt(
            settings, ["run"], ctx.log(f"{name}-incremental"), f"{name}: incremental dbt run"
        )
        if days in detailed:
            _add_statements(results, days, steps.dbt_log_since(settings, log_from))
            ctx.step(f"{name}: Delta's metrics of the incremental run's commits")
            _add_commit_metrics(ctx, settings, days, since)
        incremental[days] = results.add(
            "incremental",
            f"incremental run, {days} d history",
            incr.seconds,
            "s",
            f"batch of {totals['batch_events']:,} events, {totals['late_events']:,} late",
        )
        per_model = {"incremental": steps.model_seconds(settings)}
        ctx.step(f"{name}: dbt run with no new data")
        idle = steps.dbt(
            settings, ["run"], ctx.log(f"{name}-no-new-data"), f"{name}: dbt run, no new data"
        )
        results.add(
            "dbt overhead",
            f"incremental run with no new data, {days} d history",
            idle.seconds,
            "s",
            "dbt + Spark start, watermark reads, empty MERGEs",
        )
        per_model["no new data"] = steps.model_seconds(settings)
        if days == longest:
            ctx.step(f"{name}: bare fixed cost (dbt show of one trivial query)")
            bare = steps.dbt(
                settings,
                ["show", "--inline", "select 1 as one"],
                ctx.log(f"{name}-bare-fixed-cost"),
                f"{name}: dbt show select 1",
            )
            results.add(
                "dbt overhead",
                "bare fixed cost: dbt show of one trivial query",
                bare.seconds,
                "s",
                "dbt start and parse, Spark session, select 1",
            )
            results.target(
                "no-new-data run / bare fixed cost",
                idle.seconds / bare.seconds,
                "<=",
                1.5,
                f"dbt run seconds at {days} d history",
            )
        if days == baseline_days:
            _small_batches(ctx, settings, feed, days, idle.seconds, batch_day)
        if days in detailed:
            ctx.step(f"{name}: fingerprinting the incremental result")
            incr_prints = _fingerprint(ctx, settings, f"{name}-incremental")
        # At every length, so the table shows how a full refresh grows with history.
        ctx.step(f"{name}: dbt run --full-refresh")
        full = steps.dbt(
            settings,
            ["run", "--full-refresh"],
            ctx.log(f"{name}-full-refresh"),
            f"{name}: full refresh",
        )
        results.add(
            "incremental",
            f"full refresh, {days} d history",
            full.seconds,
            "s",
            f"{totals['history_events'] + totals['batch_events']:,} events",
        )
        if days in VS_FULL_REFRESH:
            results.target(
                f"incremental {days} d / full refresh {days} d",
                incremental[days] / full.seconds,
                "<=",
                VS_FULL_REFRESH[days],
                "dbt run seconds",
            )
        shortest = min(plan.history_days)
        if days in VS_SHORTEST and days != shortest:
            results.target(
                f"incremental {days} d / incremental {shortest} d",
                incremental[days] / incremental[shortest],
                "<=",
                VS_SHORTEST[days],
                "dbt run seconds",
            )
        if days not in detailed:
            continue
        per_model["full refresh"] = steps.model_seconds(settings)
        ctx.step(f"{name}: fingerprinting the full refresh")
        full_prints = _fingerprint(ctx, settings, f"{name}-full-refresh")
        differ = sorted(t for t in full_prints if incr_prints.get(t) != full_prints[t])
        if differ:
            raise steps.BenchError(
                f"{name}: the incremental run differs from the full refresh in {', '.join(differ)} "
                f"(fingerprints in {ctx.work_dir / 'logs'})"
            )
        results.check(
            f"{name}: after the incremental run, all {len(full_prints)} silver and gold tables "
            "equal a full refresh over the same data (row count and content hash)"
        )

        if days != baseline_days:
            _add_per_model(results, days, per_model)
            continue
        ctx.step(f"{name}: baseline: back to the state before the batch, batch again")
        shutil.rmtree(settings.lakehouse_dir)
        snapshot.rename(settings.lakehouse_dir)
        feed("batch")
        ctx.step(f"{name}: baseline dbt run (fixed 6-day window for the affected keys)")
        base = steps.dbt(
            settings,
            ["run", "--vars", FIXED_WINDOW],
            ctx.log(f"{name}-baseline"),
            f"{name}: baseline run",
        )
        results.add(
            "incremental",
            f"fixed-window baseline, {days} d history",
            base.seconds,
            "s",
            "all events of the affected keys in the last 6 days",
        )

        per_model["baseline"] = steps.model_seconds(settings)
        _add_per_model(results, days, per_model)
        # What each run costs beyond the fixed cost a run with nothing to do pays anyway
        # (JVM and Spark start, dbt's parse, watermark reads): the part that scales.
        beyond = {
            "incremental": incremental[days] - idle.seconds,
            "full refresh": full.seconds - idle.seconds,
            "baseline": base.seconds - idle.seconds,
        }
        for run_name, seconds in beyond.items():
            results.add(
                "incremental",
                f"{run_name} beyond the no-new-data run, {days} d history",
                seconds,
                "s",
                "variable cost: the run minus the run with no new data",
            )
        if beyond["incremental"] > 0:
            for run_name in ("full refresh", "baseline"):
                results.add(
                    "incremental",
                    f"variable cost: {run_name} / incremental, {days} d history",
                    beyond[run_name] / beyond["incremental"],
                    "x",
                    f"how much more work the {run_name} does, fixed cost left out",
                )

        ctx.step(f"{name}: deletion vectors off: the state before the batch, batch again")
        shutil.rmtree(settings.lakehouse_dir)
        snapshot_dv.rename(settings.lakehouse_dir)
        steps.spark_job(
            settings,
            steps.JOBS / "deletion_vectors.py",
            ["--off"],
            ctx.log(f"{name}-deletion-vectors-off"),
            "deletion vectors off",
        )
        feed("batch")
        dv_off = steps.dbt(
            settings, ["run"], ctx.log(f"{name}-dv-off"), f"{name}: incremental, DVs off"
        )
        results.add(
            "incremental",
            f"incremental run, deletion vectors off, {days} d history",
            dv_off.seconds,
            "s",
            "the same batch and run, MERGEs rewriting files instead of marking rows deleted",
        )
        results.add(
            "incremental",
            f"deletion vectors off / on, incremental run, {days} d history",
            dv_off.seconds / incremental[days],
            "x",
            "above 1: deletion vectors make the incremental run faster",
        )

        results.target(
            f"fixed-window baseline {days} d / incremental {days} d",
            base.seconds / incremental[days],
            ">=",
            3.0,
            "dbt run seconds",
        )


SMALL_BATCH_EVENTS = 300  # per stream: a few hundred, what a minute-by-minute loop sees


def _small_batches(
    ctx: Context, settings, feed: Callable[[str], None], days: int, idle_s: float, batch_day
) -> None:
    """After the daily batch: a small batch and a ``dbt run`` in a new process, then the
    same in a warm engine (tooling/engine.py, one Spark session kept across runs, as
    ``run --every`` keeps it): after a first run, a run with nothing new, another small
    batch, its run."""
    from bench import history
    from streaming.spark import submit_env
    from tooling.dbt_runner import dbt_env
    from tooling.engine import Engine

    results, inbox = ctx.results, settings.lakehouse_dir / "inbox"
    name = f"history-{days}d"
    note = f"{SMALL_BATCH_EVENTS} events per stream and 5% late, after the daily batch"
    events = history.write_small_batch(inbox, "small-1", SMALL_BATCH_EVENTS, batch_day, 71)
    feed("small-1")
    ctx.step(f"{name}: dbt run of a small batch ({events} events), a new process")
    cold = steps.dbt(settings, ["run"], ctx.log(f"{name}-small-batch"), f"{name}: small batch")
    results.add(
        "incremental", f"small-batch incremental run, {days} d history", cold.seconds, "s", note
    )
    results.target(
        f"small-batch incremental {days} d / no-new-data run",
        cold.seconds / idle_s,
        "<=",
        1.5,
        f"dbt run seconds at {days} d history, each in a new process",
    )
    ctx.step(f"{name}: the same in a warm engine")
    engine = Engine(
        settings, {**submit_env(settings), **dbt_env(settings)}, ctx.log(f"{name}-engine")
    )
    engine.start()
    try:
        engine.run(["run"])  # the engine's first run compiles as a new process does: not timed
        idle = engine.run(["run"])
        history.write_small_batch(inbox, "small-2", SMALL_BATCH_EVENTS, batch_day, 72)
        feed("small-2")  # the feeder writes bronze by path: the engine may hold the metastore
        warm = engine.run(["run"])
    finally:
        engine.stop()
    if not (idle.ok and warm.ok):
        raise steps.BenchError(f"{name}: a warm run failed: {idle.detail or warm.detail}")
    results.add(
        "dbt overhead",
        f"warm run with no new data, {days} d history",
        idle.seconds,
        "s",
        "in the warm engine",
    )
    results.add(
        "incremental",
        f"warm small-batch incremental run, {days} d history",
        warm.seconds,
        "s",
        note,
    )
    results.target(
        f"warm small-batch incremental {days} d / warm no-new-data run",
        warm.seconds / idle.seconds,
        "<=",
        1.5,
        f"dbt run seconds at {days} d history, one warm engine",
    )


def _add_per_model(results, days: int, per_model: dict[str, dict[str, float]]) -> None:
    """Where each run's time went, model by model (dbt's own timing, threads overlap)."""
    runs = list(per_model)
    models = sorted(per_model["incremental"], key=lambda m: -per_model["incremental"][m])
    for model in models:
        others = ", ".join(f"{run} {per_model[run].get(model, 0.0):.1f} s" for run in runs[1:])
        results.add(
            f"incremental run per model, {days} d history",
            model,
            per_model["incremental"][model],
            "s",
            others,
        )


def _fingerprint(ctx: Context, settings, name: str) -> dict:
    out = ctx.work_dir / "logs" / f"{name}-fingerprint.json"
    steps.spark_job(
        settings,
        steps.JOBS / "fingerprint.py",
        ["--out", str(out)],
        ctx.log(f"{name}-fingerprint"),
        "fingerprint",
    )
    prints: dict = json.loads(out.read_text())
    return prints


def _add_statements(results, days: int, found: list[dbt_log.Statement]) -> None:
    """The incremental run's statements by kind, and per model (threads overlap)."""
    group = f"incremental run per statement kind, {days} d history"
    for kind, (count, seconds) in dbt_log.by_kind(found).items():
        results.add(group, kind, seconds, "s", f"{count} statement(s)")
    group = f"incremental run per model and statement, {days} d history"
    for model, kinds in dbt_log.by_model(found).items():
        total = sum(seconds for _, seconds in kinds.values())
        detail = "; ".join(f"{k} {n} x {s:.1f} s" for k, (n, s) in kinds.items())
        results.add(group, model, total, "s", detail)


METRICS = {
    "numTargetFilesAdded": "files added",
    "numTargetFilesRemoved": "files removed",
    "numTargetRowsInserted": "inserted",
    "numTargetRowsUpdated": "updated",
    "numTargetRowsDeleted": "deleted",
    "numTargetRowsCopied": "copied",
    "numTargetDeletionVectorsAdded": "DVs added",
    "numOutputRows": "rows written",
    "numFiles": "files",
}


def _add_commit_metrics(ctx: Context, settings, days: int, since: str) -> None:
    """Delta's operation metrics of each commit the incremental run made."""
    out = ctx.work_dir / "logs" / f"history-{days}d-commit-metrics.json"
    steps.spark_job(
        settings,
        steps.JOBS / "merge_metrics.py",
        ["--since", since, "--out", str(out)],
        ctx.log(f"history-{days}d-commit-metrics"),
        "commit metrics",
    )
    group = f"incremental run's Delta commits, {days} d history"
    for commit in json.loads(out.read_text()):
        metrics = commit["metrics"]
        detail = ", ".join(
            f"{label} {metrics[k]:,}" for k, label in METRICS.items() if k in metrics
        )
        seconds = metrics.get("executionTimeMs", 0) / 1000
        ctx.results.add(
            group,
            f"{commit['table']} v{commit['version']} {commit['operation']}",
            seconds,
            "s",
            detail,
        )
