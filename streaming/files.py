"""The files source: each record of a file becomes one raw text value, as a Kafka record does.

Contract for whoever drops files (documented in the README):

- A file is read once it has its final name: write it under a temporary name (a leading dot
  or underscore, or any suffix other than the format's: ``part-0.json.tmp``) and rename it
  into place. Only ``*.json``, ``*.jsonl``, ``*.ndjson``, ``*.csv`` and ``*.parquet`` are read.
- Files are read whatever their modification time (``maxFileAge`` is set far beyond any
  real backlog), so a copy that keeps its old time (``cp -p``, ``rsync -a``) is not skipped.
- JSON lines land line by line, untouched (but for a UTF-8 byte-order mark opening a file,
  dropped, as it is from a CSV header). CSV rows are mapped by the file's own header, so
  column order may differ between files; a row with more or fewer fields than its header
  lands as its raw text and is flagged malformed. Parquet rows become JSON objects of their
  own columns. No schema is inferred when the query starts: a field added later, or a type
  that changes, arrives as it is and is judged in dbt's staging models.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

SUFFIXES = {
    "parquet": (".parquet",),
    "csv": (".csv",),
    "json": (".json", ".jsonl", ".ndjson"),
}
# Hadoop's glob: the names Spark lists (a temporary name never matches)
GLOBS = {fmt: "*.{" + ",".join(s.lstrip(".") for s in sfx) + "}" for fmt, sfx in SUFFIXES.items()}
BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"
# Files this much older than the newest one seen are still read (Spark's default: 7 days).
MAX_FILE_AGE = "36500d"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def csv_records(content: bytes) -> list[str]:
    """Each row as a JSON object keyed by the file's header; a row whose field count differs
    from the header's is kept as its raw CSV text (bronze flags it as not JSON)."""
    # utf-8-sig: a byte-order mark (spreadsheets write one) is not part of the first column
    text = content.decode("utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return []
    header = [h.strip() for h in header]
    out = []
    for fields in rows:
        if not fields:
            continue
        if len(fields) != len(header):
            line = io.StringIO()
            csv.writer(line).writerow(fields)
            out.append(line.getvalue().rstrip("\r\n"))
        else:
            out.append(json.dumps(dict(zip(header, fields, strict=True)), ensure_ascii=False))
    return out


def parquet_records(content: bytes) -> list[str]:
    """Each row as a JSON object of the file's own columns; a file that is not Parquet
    becomes one record saying so (flagged malformed, never a crashed stream)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:
        return [f"unreadable parquet file: {type(exc).__name__}"]
    return [
        json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False)
        for row in table.to_pylist()
    ]


def records(content: bytes | None, fmt: str) -> list[str]:
    if content is None:
        return []
    return csv_records(content) if fmt == "csv" else parquet_records(content)


def read_stream(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    """A streaming DataFrame of (raw_value, source_file) over the complete files at ``path``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType

    reader = (
        spark.readStream.option("pathGlobFilter", GLOBS[fmt])
        .option("recursiveFileLookup", "false")
        .option("basePath", path)
        .option("maxFileAge", MAX_FILE_AGE)
        .option("latestFirst", "false")
    )
    if fmt == "json":
        lines = reader.format("text").load(path).select("value", "_metadata")
        # a byte-order mark opens a file's first line only: it is not part of the record
        value = F.regexp_replace("value", "^\ufeff", "")
        return lines.where(F.trim("value") != "").select(
            value.alias("raw_value"), F.col("_metadata.file_path").alias("source_file")
        )
    decode: Column = F.udf(lambda content: records(content, fmt), ArrayType(StringType()))(
        F.col("content")
    )
    # a streaming source needs its schema up front: binaryFile's own, fixed one
    files = reader.format("binaryFile").schema(BINARY_FILE_SCHEMA).load(path)
    return files.select(F.explode(decode).alias("raw_value"), F.col("path").alias("source_file"))
