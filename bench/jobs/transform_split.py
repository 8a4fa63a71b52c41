"""Where the feeder's time goes per event, without Kafka: the bronze transform split in parts.

    .venv/bin/python bench/jobs/transform_split.py [--events 300000]

Generates N web events (the producer's generator), caches their JSON text in memory, then
times each part on the same rows, best of three, into the ``noop`` sink unless said:

  read         the cached text alone (the floor)
  checks       parse once, the malformed-event checks (``streaming.bronze.checked``)
  all columns  every bronze column the feeder computes, geo/user-agent enrichment included
  Delta write  the same rows, already computed and cached, appended to a Delta table

``all columns`` minus ``checks`` is the enrichment (a pandas UDF). Prints one line per part.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming import bronze
from streaming.events.web import generate_web_events
from streaming.spark import build_session
from tooling.settings import load

CHUNK = 100_000


def _best(label: str, run, events: int, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        began = time.monotonic()
        run()
        times.append(time.monotonic() - began)
    best = min(times)
    print(f"job: {label:<12} {best:7.2f} s  {events / best:>10,.0f} events/s", flush=True)
    return best


def main() -> int:
    p = argparse.ArgumentParser(prog="transform_split")
    p.add_argument("--events", type=int, default=300_000)
    args = p.parse_args()
    settings = load()
    work = Path(tempfile.mkdtemp(prefix="transform-split-", dir=settings.lakehouse_dir))
    try:
        with open(work / "events.json", "w") as out:
            for chunk, start in enumerate(range(0, args.events, CHUNK)):
                n = min(CHUNK, args.events - start)
                begin = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=chunk)
                for event in generate_web_events(n, 7 + chunk, begin, timedelta(hours=1)):
                    out.write(json.dumps(event, default=str) + "\n")
        spark = build_session(settings, "bench-transform-split", with_metastore=False)
        from pyspark.sql import functions as F

        text = spark.read.text(str(work / "events.json")).repartition(2)
        raw = text.select(
            F.col("value").alias("raw_value"),
            F.lit(None).cast("string").alias("kafka_key"),
            F.lit("web_events").alias("topic"),
            F.lit(None).cast("int").alias("kafka_partition"),
            F.lit(None).cast("long").alias("kafka_offset"),
            F.lit(None).cast("timestamp").alias("kafka_timestamp"),
            F.lit(None).cast("string").alias("source_file"),
        ).cache()
        events = raw.count()
        checks = bronze.checked(raw, "web_events")
        columns = bronze.finish(raw, "web_events")

        def noop(df):
            return lambda: df.write.format("noop").mode("overwrite").save()

        _best("read", noop(raw), events)
        _best("checks", noop(checks), events)
        _best("all columns", noop(columns), events)
        landed = columns.cache()
        landed.count()
        table = work / "bronze"

        def write() -> None:
            shutil.rmtree(table, ignore_errors=True)
            landed.write.format("delta").partitionBy(bronze.PARTITION_COLUMN).save(str(table))

        _best("Delta write", write, events)
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
