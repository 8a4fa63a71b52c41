"""What the warm engine relies on to keep Delta's cached table logs across runs: a session
that lives for days reads a table's new commits, and a table that another process deleted and
created again at its path, as they are, not from the log it cached."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from tooling.settings import Settings

pytestmark = pytest.mark.integration


def test_a_long_lived_session_reads_a_table_created_again_elsewhere(spark, settings):
    lake = Settings(settings.lakehouse_dir / "births-lake", settings.jars_dir, "127.0.0.1:9")
    table = lake.warehouse_dir / "silver.db" / "recreated"
    kept = lake.bronze_table("kept")
    spark.range(3).write.format("delta").save(str(table))
    spark.range(5).write.format("delta").mode("append").save(str(table))  # version 1
    spark.range(2).write.format("delta").save(str(kept))
    assert spark.read.format("delta").load(str(table)).count() == 8  # the JVM caches its log

    # another process (delta-rs, no JVM) deletes the table and writes a new one in its place,
    # up to the very version this JVM cached for the old one
    shutil.rmtree(table)
    write_deltalake(str(table), pa.table({"id": pa.array([100], pa.int64())}))
    write_deltalake(str(table), pa.table({"id": pa.array([101], pa.int64())}), mode="append")
    spark.range(4).write.format("delta").mode("append").save(str(kept))  # only a new commit

    rows = sorted(r.id for r in spark.read.format("delta").load(str(table)).collect())
    assert rows == [100, 101]
    assert spark.read.format("delta").load(str(kept)).count() == 6
