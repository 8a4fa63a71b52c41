"""Fingerprint the silver and gold tables (tooling/fingerprint.py) in a JVM of its own.

spark-submit bench/jobs/fingerprint.py --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming.spark import build_session
from tooling.fingerprint import fingerprint
from tooling.settings import load


def main() -> int:
    p = argparse.ArgumentParser(prog="fingerprint")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    settings = load()
    spark = build_session(settings, "bench-fingerprint", with_metastore=False)
    prints = fingerprint(spark, settings.warehouse_dir)
    args.out.write_text(json.dumps(prints, indent=2, sort_keys=True))
    print(f"job: fingerprinted {len(prints)} tables")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
