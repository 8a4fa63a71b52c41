"""Read the lakehouse's tables for the report and the summary: straight from their Delta files
with the ``deltalake`` package (no JVM: the report renders in seconds), or through an engine
that holds the metastore: this process's Spark session, or a Thrift server
(``./lakehouse cluster``), which holds the embedded metastore for as long as it runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


class Tables(Protocol):
    def exists(self, table: str) -> bool: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def frame(self, sql: str) -> pd.DataFrame: ...

    def files(self, table: str) -> int: ...


def _detail_files(tables: Tables, table: str) -> int:
    """The data files of a Delta table's current version (DESCRIBE DETAIL's numFiles)."""
    frame = tables.frame(f"describe detail {table}")
    return int(frame["numFiles"].iloc[0])


class SparkTables:
    """Tables through a Spark session (the embedded metastore)."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(table))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def frame(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def files(self, table: str) -> int:
        return _detail_files(self, table)


class ThriftTables:
    """Tables through a Spark Thrift server (HiveServer2 protocol)."""

    def __init__(self, host: str, port: int, username: str = "lakehouse") -> None:
        from pyhive import hive

        self.conn = hive.connect(host=host, port=port, username=username)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql)
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def exists(self, table: str) -> bool:
        schema, _, name = table.rpartition(".")
        if not self.rows(f"show schemas like '{schema}'"):
            return False
        return bool(self.rows(f"show tables in {schema} like '{name}'"))

    def frame(self, sql: str) -> pd.DataFrame:
        import pandas as pd

        cursor = self.conn.cursor()
        try:
            cursor.execute(sql)
            columns = [d[0].rpartition(".")[2] for d in cursor.description or []]
            return pd.DataFrame(cursor.fetchall(), columns=columns)
        finally:
            cursor.close()

    def files(self, table: str) -> int:
        return _detail_files(self, table)

    def close(self) -> None:
        self.conn.close()


class DeltaLakeTables:
    """Tables read from their Delta files by path with ``deltalake`` (delta-rs, with
    DataFusion for SQL): no JVM and no metastore. Deletion vectors are applied (the silver
    and gold tables have them), which ``deltalake``'s pyarrow dataset path refuses to read;
    ``tests/integration/test_runaway_sessions.py`` checks the counts against Spark's.

    SQL names tables ``silver.x`` / ``gold.x`` as elsewhere; they are found under the
    warehouse as ``<schema>.db/<table>``, bronze ones under the bronze folder. Views (the
    quarantine) are not Delta tables: read them through Spark.
    """

    NAME = re.compile(r"\b(bronze|silver|gold)\.([A-Za-z_][A-Za-z0-9_]*)\b")

    def __init__(self, warehouse_dir: Path, bronze_dir: Path | None = None) -> None:
        self.warehouse_dir = warehouse_dir
        self.bronze_dir = bronze_dir

    def _path(self, table: str) -> Path:
        schema, _, name = table.partition(".")
        if schema == "bronze" and self.bronze_dir is not None:
            return self.bronze_dir / name
        return self.warehouse_dir / f"{schema}.db" / name

    def exists(self, table: str) -> bool:
        return (self._path(table) / "_delta_log").is_dir()

    def frame(self, sql: str) -> pd.DataFrame:
        import pyarrow as pa
        from deltalake import DeltaTable, QueryBuilder

        builder = QueryBuilder()
        for schema, name in sorted(set(self.NAME.findall(sql))):
            table = f"{schema}.{name}"
            if not self.exists(table):
                raise LookupError(f"{table}: no Delta table at {self._path(table)}")
            builder.register(f"{schema}__{name}", DeltaTable(str(self._path(table))))
        result = builder.execute(self.NAME.sub(r"\1__\2", sql)).read_all()
        return pa.table(result).to_pandas()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.frame(sql).itertuples(index=False)]

    def files(self, table: str) -> int:
        from deltalake import DeltaTable

        return len(DeltaTable(str(self._path(table))).file_uris())
