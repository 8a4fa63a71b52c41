"""Fingerprint the silver and gold tables of a lakehouse: rows and an order-free hash of
their contents, to tell whether two builds of the same data are equal.

Reads the Delta tables by path (never the metastore, which dbt may hold). Columns that
record *when* a run happened (leading underscore, e.g. ``_staged_at``) are left out, so an
incremental build and a full refresh of the same data fingerprint alike; so is the run
audit, a log of the runs themselves, and the this-run tables (``int_*``), which hold one
run's batch rather than data a full refresh rebuilds.

In-process with any SparkSession (the tests', whose metastore is another lakehouse's), or as
the job ``bench/jobs/fingerprint.py`` in a JVM of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCHEMAS = ("silver", "gold")
# logs, not data: the run audit records when and how each run went (ids, times, durations)
LOGS = frozenset({"run_audit"})


def fingerprint(spark: SparkSession, warehouse_dir: Path) -> dict[str, dict[str, object]]:
    """``{"silver.table": {"rows": n, "hash": "..."}}`` for every data table."""
    prints: dict[str, dict[str, object]] = {}
    for schema in SCHEMAS:
        folder = warehouse_dir / f"{schema}.db"
        if not folder.is_dir():
            continue
        for table in sorted(folder.iterdir()):
            if not (table / "_delta_log").is_dir() or table.name.startswith("int_"):
                continue
            if table.name in LOGS:
                continue
            df = spark.read.format("delta").load(str(table))
            columns = ", ".join(f"`{c}`" for c in sorted(df.columns) if not c.startswith("_"))
            row = df.selectExpr(
                "count(*) as n",
                f"cast(coalesce(sum(cast(xxhash64({columns}) as decimal(38, 0))), 0) as string)"
                " as h",
            ).first()
            assert row is not None  # an aggregate always returns a row
            prints[f"{schema}.{table.name}"] = {"rows": row["n"], "hash": row["h"]}
    return prints
