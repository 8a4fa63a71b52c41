"""Bronze before and after maintenance: file counts and one query's time, in one JVM.

    spark-submit bench/jobs/maintenance.py --out FILE.json

The query (distinct visitors per host over the raw JSON of bronze web_events) is timed best
of three, before and after `tooling.maintain.run` (OPTIMIZE + VACUUM; no retention: every
day is recent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming.spark import build_session
from tooling import maintain
from tooling.settings import load

QUERY = """
select get_json_object(raw_value, '$.host') as host,
       count(distinct get_json_object(raw_value, '$.ip')) as visitors
from delta.`{path}`
group by 1
"""


def best_of(spark, sql: str, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        began = time.monotonic()
        spark.sql(sql).collect()
        best = min(best, time.monotonic() - began)
    return round(best, 3)


def main() -> int:
    p = argparse.ArgumentParser(prog="maintenance")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    settings = load()
    spark = build_session(settings, "bench-maintenance", with_metastore=False)
    path = settings.bronze_table("web_events")
    sql = QUERY.format(path=path)
    before = best_of(spark, sql)
    options = maintain.Options(bronze_retention_days=None)
    reports = maintain.run(spark, settings, options, say=lambda line: print(line, flush=True))
    after = best_of(spark, sql)
    web = next(r for r in reports if r.table == "bronze.web_events")
    args.out.write_text(
        json.dumps({"query_before_s": before, "query_after_s": after, "web": asdict(web)})
    )
    print(
        f"job: query {before:.3f}s -> {after:.3f}s; files {web.files_before} -> {web.files_after}"
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
