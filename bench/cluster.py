"""The same incremental run and no-new-data run on the local target and on the cluster target.

One lakehouse gets the shortest history of the plan and a first ``dbt run`` (local), and is
copied. The daily batch lands and the local target runs it (incremental, then no new data).
Then the copy comes back in its place, ``./lakehouse cluster`` starts a standalone master, a
worker and a Thrift server over it, the same batch lands through the feeder on the cluster,
and dbt's ``cluster`` target runs it through the Thrift server. A Thrift server that stays
up pays no JVM start per run: that is the figure to see. Both results must fingerprint alike.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

from bench import steps
from bench.context import Context
from tooling import cluster
from tooling.processes import free_port_pair
from tooling.settings import Settings


def run(ctx: Context) -> None:
    plan, results = ctx.plan, ctx.results
    days = min(plan.history_days)
    batch_day = datetime.now(UTC).date() - timedelta(days=1)
    name = f"cluster-{days}d"
    local = ctx.settings(name)
    inbox = local.lakehouse_dir.with_name(name + "-inbox")
    if inbox.exists():
        shutil.rmtree(inbox)
    ctx.step(f"{name}: writing {days} day(s) of history and a daily batch")
    plan.write_history(inbox, days, batch_day)

    def feed(settings, part: str, master: str | None = None) -> None:
        args = ["--source", "files", "--format", "json", "--topics", "web_events,ide_events"]
        args += ["--input-path", str(inbox / part / "{topic}"), "--available-now"]
        where = "" if master is None else "-cluster"
        log = ctx.log(f"{name}-feed-{part}{where}")
        steps.feed(settings, args, log, f"{name}: feed {part}", master)

    ctx.step(f"{name}: feeding the history, first dbt run (local)")
    feed(local, "history")
    steps.dbt(local, ["seed"], ctx.log(f"{name}-seed"), f"{name}: dbt seed")
    steps.dbt(local, ["run"], ctx.log(f"{name}-build"), f"{name}: first dbt run")
    # the metastore holds absolute paths: the copy comes back to this very path later
    snapshot = local.lakehouse_dir.with_name(name + "-before-batch")
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(local.lakehouse_dir, snapshot, symlinks=True)

    ctx.step(f"{name}: the batch, incremental and no-new-data runs on the local target")
    feed(local, "batch")
    timed = {
        ("local", "incremental"): steps.dbt(
            local, ["run"], ctx.log(f"{name}-local-incremental"), "local incremental run"
        ).seconds,
        ("local", "no new data"): steps.dbt(
            local, ["run"], ctx.log(f"{name}-local-no-new-data"), "local no-new-data run"
        ).seconds,
    }
    local_prints = _fingerprint(ctx, local, f"{name}-local")
    shutil.rmtree(local.lakehouse_dir)
    snapshot.rename(local.lakehouse_dir)
    on_cluster = local

    ctx.step(f"{name}: starting the cluster (master, worker, Thrift server)")
    ports = {
        "SPARK_MASTER_PORT": free_port_pair(),
        "SPARK_MASTER_WEBUI_PORT": free_port_pair(),
        "SPARK_WORKER_WEBUI_PORT": free_port_pair(),
        "SPARK_THRIFT_PORT": free_port_pair(),
    }
    saved = {k: os.environ.get(k) for k in ports}
    os.environ.update({k: str(v) for k, v in ports.items()})
    try:
        try:
            c = cluster.start(on_cluster)
        except cluster.ClusterError as exc:
            raise steps.BenchError(f"{name}: {exc}") from None
        env = {"DBT_TARGET": "cluster", "SPARK_THRIFT_HOST": c.host}
        env.update({k: str(v) for k, v in ports.items()})
        ctx.step(f"{name}: the batch, incremental and no-new-data runs on the cluster target")
        feed(on_cluster, "batch", master=c.master_url)
        timed["cluster", "incremental"] = steps.dbt(
            on_cluster,
            ["run"],
            ctx.log(f"{name}-cluster-incremental"),
            "cluster incremental run",
            env,
        ).seconds
        timed["cluster", "no new data"] = steps.dbt(
            on_cluster,
            ["run"],
            ctx.log(f"{name}-cluster-no-new-data"),
            "cluster no-new-data run",
            env,
        ).seconds
    finally:
        cluster.stop(on_cluster)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    for (target, what), seconds in timed.items():
        results.add(
            "cluster",
            f"{what} run, {target} target, {days} d history",
            seconds,
            "s",
            "a dbt process; the cluster's Thrift server was already up"
            if target == "cluster"
            else "a dbt process with its embedded Spark (JVM start included)",
        )
    for what in ("incremental", "no new data"):
        results.add(
            "cluster",
            f"{what} run, cluster / local, {days} d history",
            timed["cluster", what] / timed["local", what],
            "x",
            "below 1: the long-running Thrift server is faster",
        )

    ctx.step(f"{name}: fingerprinting the cluster's result")
    if _fingerprint(ctx, on_cluster, f"{name}-cluster") != local_prints:
        raise steps.BenchError(
            f"{name}: the cluster target's tables differ from the local target's "
            f"(fingerprints in {ctx.work_dir / 'logs'})"
        )
    results.check(
        f"{name}: after the same batch, every silver and gold table of the cluster target "
        "equals the local target's (row count and content hash)"
    )


def _fingerprint(ctx: Context, settings: Settings, name: str) -> str:
    out = ctx.work_dir / "logs" / f"{name}-fingerprint.json"
    log = ctx.log(f"{name}-fingerprint")
    steps.spark_job(settings, steps.JOBS / "fingerprint.py", ["--out", str(out)], log, name)
    return out.read_text()
