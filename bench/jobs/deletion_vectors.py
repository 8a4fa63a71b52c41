"""Switch deletion vectors on or off on every silver and gold Delta table, by path.

    spark-submit bench/jobs/deletion_vectors.py --off

With them off, a MERGE rewrites each file it changes a row of instead of marking the rows
deleted; the benchmark times the same incremental run both ways.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming.spark import build_session
from tooling.settings import load

SCHEMAS = ("silver", "gold")


def main() -> int:
    p = argparse.ArgumentParser(prog="deletion_vectors")
    p.add_argument("--off", action="store_true", help="switch them off (default: on)")
    args = p.parse_args()
    value = "false" if args.off else "true"
    settings = load()
    spark = build_session(settings, "bench-deletion-vectors", with_metastore=False)
    changed = 0
    for schema in SCHEMAS:
        for table in sorted((settings.warehouse_dir / f"{schema}.db").iterdir()):
            if not (table / "_delta_log").is_dir() or table.name.startswith("int_"):
                continue
            spark.sql(
                f"alter table delta.`{table}` "
                f"set tblproperties ('delta.enableDeletionVectors' = '{value}')"
            )
            changed += 1
    print(f"job: deletion vectors {'off' if args.off else 'on'} on {changed} tables")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
