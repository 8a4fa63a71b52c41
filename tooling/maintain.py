"""Table maintenance: raw retention, bin-packing, and the removal of files no version needs.

    ./lakehouse maintain [--bronze-retention-days 14] [--vacuum-retain-days 7]

For every Delta table of the lakehouse (bronze by path, silver and gold under the warehouse),
in this order:

1. **Raw retention** (bronze only): arrival-date partitions older than the retention are
   deleted, but only those whose every commit the table's staging model has read (its
   watermark, ``lakehouse.watermark``, is a bronze version: a partition with a file added
   after it is kept, however old). Staging, silver and gold keep everything.
2. **OPTIMIZE** (bin-packing) of the partitions written since the last maintenance: the
   feeder's micro-batches leave many small files in bronze, MERGEs fragment silver. Files
   whose deletion vectors hide more than Delta's ``optimize.maxDeletedRowsRatio`` of their
   rows are rewritten by the same OPTIMIZE, which is how piled-up deletion vectors are purged;
   ``--purge-deletion-vectors`` purges every one (``REORG ... APPLY (PURGE)``).
3. **VACUUM** with a retention of at least 7 days: Delta's own safety check stays on, so a
   retention shorter than a table's ``deletedFileRetentionDuration`` is refused by Delta.

What was done is printed per table and appended to ``LAKEHOUSE_DIR/maintenance/log.jsonl``;
``LAKEHOUSE_DIR/maintenance/state.json`` remembers each table's version after maintenance,
so the next run optimizes only what was written since.

Tables are read by path, never through the metastore, so this runs beside a feeder (its
appends never conflict with OPTIMIZE or a delete of an older partition). Do not run it while
``dbt run`` writes (``./lakehouse run --every`` takes the same lock for both).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MIN_VACUUM_DAYS = 7
DEFAULT_BRONZE_RETENTION_DAYS = 14
SCHEMAS = ("silver", "gold")
# the tag on the commits this module makes (DESCRIBE HISTORY's userMetadata)
COMMIT_TAG = "lakehouse-maintain"


class MaintenanceError(Exception):
    """A maintenance setting or table state that cannot work, phrased as what to do."""


@dataclass
class TableReport:
    table: str
    files_before: int = 0
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    partitions_optimized: int | None = None  # None: the whole table
    files_compacted: int = 0
    deletion_vectors_purged: int = 0
    partitions_dropped: list[str] = field(default_factory=list)
    partitions_kept_unread: list[str] = field(default_factory=list)
    files_vacuumed: int = 0
    seconds: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Options:
    bronze_retention_days: int | None = DEFAULT_BRONZE_RETENTION_DAYS  # None: keep all
    vacuum_retain_days: int = MIN_VACUUM_DAYS
    purge_deletion_vectors: bool = False
    today: date | None = None  # the arrival date retention counts back from (default: UTC today)

    def check(self) -> None:
        if self.vacuum_retain_days < MIN_VACUUM_DAYS:
            raise MaintenanceError(
                f"--vacuum-retain-days {self.vacuum_retain_days}: at least {MIN_VACUUM_DAYS} "
                "days, so that readers and time travel of the last week keep their files"
            )
        if self.bronze_retention_days is not None and self.bronze_retention_days < 1:
            raise MaintenanceError(
                f"--bronze-retention-days {self.bronze_retention_days}: at least 1 "
                "(or --keep-bronze to keep every day)"
            )


# --- the Delta log, read directly ------------------------------------------------------------


def _commit(table: Path, version: int) -> list[dict[str, Any]] | None:
    path = table / "_delta_log" / f"{version:020d}.json"
    if not path.is_file():
        return None
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def latest_version(table: Path) -> int:
    versions = [int(p.stem) for p in (table / "_delta_log").glob("*.json") if p.stem.isdigit()]
    if not versions:
        raise MaintenanceError(f"{table} has no Delta commits")
    return max(versions)


def partitions_written(table: Path, after: int, through: int) -> set[tuple[str, ...]] | None:
    """The partitions (values in partition-column order) that got new data in the commits
    after ``after`` through ``through``; None when a commit is no longer in the log."""
    written: set[tuple[str, ...]] = set()
    for version in range(after + 1, through + 1):
        actions = _commit(table, version)
        if actions is None:
            return None
        for action in actions:
            add = action.get("add")
            if add and add.get("dataChange", True):
                values = add.get("partitionValues") or {}
                written.add(tuple(str(values[k]) for k in sorted(values)))
    return written


def table_properties(table: Path, through: int) -> dict[str, str]:
    """The table's properties as of ``through``, from the newest metaData action in the log
    (the JSON commits, newest first; a checkpoint is read when they no longer hold it)."""
    for version in range(through, -1, -1):
        actions = _commit(table, version)
        if actions is None:
            break
        for action in actions:
            if "metaData" in action:
                return dict(action["metaData"].get("configuration") or {})
    from deltalake import DeltaTable

    return dict(DeltaTable(str(table)).metadata().configuration)


# --- retention -------------------------------------------------------------------------------


def staged_version(settings: Settings, topic: str, bronze_id: str) -> int | None:
    """The bronze version the topic's staging model has read through; None when it has read
    nothing of this bronze table (not built yet, or built from a table since recreated)."""
    staging = settings.warehouse_dir / "silver.db" / f"stg_bronze__{topic}"
    if not (staging / "_delta_log").is_dir():
        return None
    props = table_properties(staging, latest_version(staging))
    mark = props.get("lakehouse.watermark")
    if not mark:
        return None
    watermark = json.loads(mark)
    if watermark.get("upstream_id") not in (None, bronze_id):
        return None
    return int(watermark["version"])


def retention_plan(
    table: Path, partition_column: str, cutoff: date, staged: int | None
) -> tuple[list[str], list[str]]:
    """(partitions to drop, old partitions kept because staging has not read them)."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(table))
    old = sorted(
        {
            str(p[partition_column])
            for p in dt.partitions()
            if p.get(partition_column) is not None
            and date.fromisoformat(str(p[partition_column])) < cutoff
        }
    )
    if not old:
        return [], []
    if staged is None:
        return [], old
    unread = partitions_written(table, staged, dt.version())
    if unread is None:  # staging is so far behind that the log no longer has its commits
        return [], old
    unread_dates = {values[0] for values in unread if values}
    return [d for d in old if d not in unread_dates], [d for d in old if d in unread_dates]


# --- the run ---------------------------------------------------------------------------------


def delta_tables(settings: Settings) -> Iterator[tuple[str, Path, str | None]]:
    """(name, path, bronze topic or None) of every Delta table, bronze first."""
    from streaming.bronze import TOPICS

    for topic in TOPICS:
        path = settings.bronze_table(topic)
        if (path / "_delta_log").is_dir():
            yield f"bronze.{topic}", path, topic
    for schema in SCHEMAS:
        folder = settings.warehouse_dir / f"{schema}.db"
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if (path / "_delta_log").is_dir():
                yield f"{schema}.{path.name}", path, None


def _detail(spark: SparkSession, path: Path) -> dict[str, Any]:
    row = spark.sql(f"describe detail delta.`{path}`").first()
    assert row is not None
    return row.asDict()


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _where(columns: list[str], partitions: set[tuple[str, ...]]) -> str:
    """A WHERE clause on partition columns matching exactly ``partitions``."""
    ordered = sorted(columns)
    terms = []
    for values in sorted(partitions):
        parts = [
            f"`{c}` = '{v.replace(chr(39), chr(39) * 2)}'"
            for c, v in zip(ordered, values, strict=True)
        ]
        terms.append("(" + " and ".join(parts) + ")")
    return " or ".join(terms)


def _metrics_since(spark: SparkSession, path: Path, operation: str, after: int) -> dict[str, str]:
    """The operation metrics of the newest ``operation`` committed after version ``after``."""
    rows = spark.sql(f"describe history delta.`{path}` limit 5").collect()
    for row in rows:
        if row["version"] > after and row["operation"] == operation:
            return dict(row["operationMetrics"] or {})
    return {}


def _optimize_metrics(rows: list[Any]) -> tuple[int, int]:
    """(files removed, deletion vectors removed) from OPTIMIZE's or REORG's result rows."""
    removed = purged = 0
    for row in rows:
        metrics = row["metrics"].asDict(recursive=True) if row["metrics"] else {}
        removed += int(metrics.get("numFilesRemoved") or 0)
        stats = metrics.get("deletionVectorStats") or {}
        purged += int(stats.get("numDeletionVectorsRemoved") or 0)
    return removed, purged


def maintain_table(
    spark: SparkSession,
    settings: Settings,
    name: str,
    path: Path,
    topic: str | None,
    options: Options,
    state: dict[str, Any],
) -> TableReport:
    started = time.monotonic()
    report = TableReport(table=name)
    detail = _detail(spark, path)
    report.files_before, report.bytes_before = detail["numFiles"], detail["sizeInBytes"]
    columns = list(detail["partitionColumns"] or [])
    delta_id = str(detail["id"])

    if topic is not None and options.bronze_retention_days is not None and columns:
        today = options.today or datetime.now(UTC).date()
        cutoff = today - timedelta(days=options.bronze_retention_days)
        staged = staged_version(settings, topic, delta_id)
        drop, kept = retention_plan(path, columns[0], cutoff, staged)
        report.partitions_kept_unread = kept
        if drop:
            spark.sql(f"delete from delta.`{path}` where `{columns[0]}` in ({_sql_list(drop)})")
            report.partitions_dropped = drop

    version = latest_version(path)
    seen = state.get(name) or {}
    since: set[tuple[str, ...]] | None = None
    if seen.get("id") == delta_id and isinstance(seen.get("version"), int):
        since = partitions_written(path, seen["version"], version)
        if since is not None and not since:
            report.note = "nothing written since the last maintenance"
    if since is None or since:
        where = f" where {_where(columns, since)}" if columns and since else ""
        rows = spark.sql(f"optimize delta.`{path}`{where}").collect()
        report.partitions_optimized = len(since) if columns and since else None
        report.files_compacted, report.deletion_vectors_purged = _optimize_metrics(rows)
    if options.purge_deletion_vectors:
        rows = spark.sql(f"reorg table delta.`{path}` apply (purge)").collect()
        report.deletion_vectors_purged += _optimize_metrics(rows)[1]

    before_vacuum = latest_version(path)
    spark.sql(f"vacuum delta.`{path}` retain {options.vacuum_retain_days * 24} hours")
    vacuumed = _metrics_since(spark, path, "VACUUM END", before_vacuum)
    report.files_vacuumed = int(vacuumed.get("numDeletedFiles", 0))

    detail = _detail(spark, path)
    report.files_after, report.bytes_after = detail["numFiles"], detail["sizeInBytes"]
    state[name] = {"id": delta_id, "version": latest_version(path)}
    report.seconds = round(time.monotonic() - started, 2)
    return report


def run(
    spark: SparkSession,
    settings: Settings,
    options: Options,
    say: Callable[[str], None] = print,
) -> list[TableReport]:
    """Maintain every table; returns what was done, also appended to the maintenance log."""
    options.check()
    folder = settings.lakehouse_dir / "maintenance"
    folder.mkdir(parents=True, exist_ok=True)
    state_file = folder / "state.json"
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.is_file() else {}
    spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", COMMIT_TAG)
    reports = []
    tables = list(delta_tables(settings))
    if not tables:
        raise MaintenanceError(f"no Delta tables under {settings.lakehouse_dir}: nothing to do")
    try:
        for i, (name, path, topic) in enumerate(tables, 1):
            say(f"maintain: [{i}/{len(tables)}] {name}")
            report = maintain_table(spark, settings, name, path, topic, options, state)
            reports.append(report)
            # saved after each table: an interrupted run keeps what it finished
            state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    finally:
        spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with (folder / "log.jsonl").open("a") as log:
        for report in reports:
            log.write(json.dumps({"at": at, **asdict(report)}) + "\n")
    return reports


def summary_table(reports: list[TableReport]) -> Any:
    """What a run did, one row per table, for the terminal."""
    from rich.table import Table

    table = Table(title="maintenance", show_lines=False)
    for column in ("table", "files", "MiB", "optimized", "DVs purged", "dropped", "vacuumed", "s"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for r in reports:
        optimized = "all" if r.partitions_optimized is None else str(r.partitions_optimized)
        if r.note:
            optimized = "-"
        dropped = str(len(r.partitions_dropped))
        if r.partitions_kept_unread:
            dropped += f" ({len(r.partitions_kept_unread)} unread kept)"
        table.add_row(
            r.table,
            f"{r.files_before} -> {r.files_after}",
            f"{r.bytes_after / 2**20:.1f}",
            optimized,
            str(r.deletion_vectors_purged),
            dropped,
            str(r.files_vacuumed),
            f"{r.seconds:.1f}",
        )
    return table
