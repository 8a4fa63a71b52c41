"""Read the lakehouse's tables for the report and the summary, through whichever engine holds
the metastore: this process's Spark session, or a Thrift server (``./lakehouse cluster``),
which holds the embedded metastore for as long as it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


class Tables(Protocol):
    def exists(self, table: str) -> bool: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def frame(self, sql: str) -> pd.DataFrame: ...


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

    def close(self) -> None:
        self.conn.close()
