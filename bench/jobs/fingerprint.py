"""Fingerprint the silver and gold tables: rows and an order-free hash of their contents.

    spark-submit bench/jobs/fingerprint.py --out FILE.json

Reads the Delta tables by path (never the metastore, which dbt may hold). Columns that
record *when* a run happened (leading underscore, e.g. ``_staged_at``) are left out, so an
incremental build and a full refresh of the same data fingerprint alike; so is the run
audit, a log of the runs themselves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming.spark import build_session
from tooling.settings import load

SCHEMAS = ("silver", "gold")
# logs, not data: the run audit records when and how each run went (ids, times, durations)
LOGS = frozenset({"run_audit"})


def main() -> int:
    p = argparse.ArgumentParser(prog="fingerprint")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    settings = load()
    spark = build_session(settings, "bench-fingerprint", with_metastore=False)
    prints = {}
    for schema in SCHEMAS:
        for table in sorted((settings.warehouse_dir / f"{schema}.db").iterdir()):
            # this-run tables (int_*) hold one run's batch, not data a full refresh rebuilds
            if not (table / "_delta_log").is_dir() or table.name.startswith("int_"):
                continue
            if table.name in LOGS:
                continue
            df = spark.read.format("delta").load(str(table))
            columns = ", ".join(f"`{c}`" for c in sorted(df.columns) if not c.startswith("_"))
            df.createOrReplaceTempView("t")
            row = spark.sql(
                f"select count(*) as n, cast(coalesce(sum(cast(xxhash64({columns}) as "
                "decimal(38, 0))), 0) as string) as h from t"
            ).first()
            assert row is not None  # an aggregate always returns a row
            prints[f"{schema}.{table.name}"] = {"rows": row["n"], "hash": row["h"]}
    args.out.write_text(json.dumps(prints, indent=2, sort_keys=True))
    print(f"job: fingerprinted {len(prints)} tables")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
