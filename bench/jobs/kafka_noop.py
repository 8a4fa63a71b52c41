"""Drain a Kafka topic into Spark's ``noop`` sink: the ceiling for the feeder on this machine.

    spark-submit bench/jobs/kafka_noop.py --topic web_events [--transform bronze]

``raw`` reads the records and does nothing with them (the Kafka source's own speed);
``bronze`` also computes every bronze column the feeder writes (flags, enrichment) but skips
the Delta write, which splits the feeder's time into its transform and its write. Prints the
same summary line as the feeder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming import bronze, kafka_client
from streaming.spark import build_session
from tooling.settings import load


def main() -> int:
    p = argparse.ArgumentParser(prog="kafka_noop")
    p.add_argument("--topic", required=True)
    p.add_argument("--transform", choices=("raw", "bronze"), default="raw")
    args = p.parse_args()
    settings = load()
    spark = build_session(settings, f"bench-noop-{args.transform}", with_metastore=False)
    rows = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .options(**kafka_client.load().spark_options())
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    if args.transform == "bronze":
        rows = bronze.from_kafka(rows, args.topic)
    name = f"noop_{args.transform}_{args.topic}"
    began = time.monotonic()
    query = (
        rows.writeStream.format("noop")
        .queryName(name)
        .trigger(availableNow=True)
        .option("checkpointLocation", str(settings.checkpoint(f"{name}-{time.time_ns()}")))
        .start()
    )
    query.awaitTermination()
    seconds = time.monotonic() - began
    progress = query.recentProgress
    landed = sum(int(p.get("numInputRows", 0)) for p in progress)
    batches = sum(1 for p in progress if int(p.get("numInputRows", 0)) > 0)
    print(f"job: {name}: {landed} rows landed in {batches} batch(es), {seconds:.1f} s")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
