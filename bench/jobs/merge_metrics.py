"""Delta's own operation metrics for every commit a dbt run made to the silver and gold tables.

    spark-submit bench/jobs/merge_metrics.py --since 2026-11-26T10:00:00 --out FILE.json

Reads each table's history by path (never the metastore, which dbt may hold) and keeps the
commits after --since: per commit its operation and the metrics Delta recorded (for a MERGE:
target files added and removed, rows inserted, updated, deleted and copied, deletion vectors
added, and its scan and rewrite times).
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


def main() -> int:
    p = argparse.ArgumentParser(prog="merge_metrics")
    p.add_argument("--since", required=True, help="UTC timestamp: keep the commits after it")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    settings = load()
    spark = build_session(settings, "bench-merge-metrics", with_metastore=False)
    from delta.tables import DeltaTable

    commits = []
    for schema in SCHEMAS:
        for table in sorted((settings.warehouse_dir / f"{schema}.db").iterdir()):
            if not (table / "_delta_log").is_dir():
                continue
            history = (
                DeltaTable.forPath(spark, str(table))
                .history()
                .where(f"timestamp > timestamp'{args.since}'")
                .select("version", "operation", "operationMetrics")
                .orderBy("version")
                .collect()
            )
            for row in history:
                commits.append(
                    {
                        "table": f"{schema}.{table.name}",
                        "version": row["version"],
                        "operation": row["operation"],
                        "metrics": {k: int(v) for k, v in (row["operationMetrics"] or {}).items()},
                    }
                )
    args.out.write_text(json.dumps(commits, indent=2))
    print(f"job: {len(commits)} commits after {args.since}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
