"""Maintenance settings and the Delta log reading that decides what to optimize and drop."""

from __future__ import annotations

import json

import pytest

from tooling import maintain


def test_a_vacuum_retention_below_seven_days_is_refused():
    with pytest.raises(maintain.MaintenanceError, match="at least 7"):
        maintain.Options(vacuum_retain_days=3).check()
    maintain.Options(vacuum_retain_days=7).check()


def _commit(table, version: int, *actions: dict) -> None:
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text("".join(json.dumps(a) + "\n" for a in actions))


def _add(day: str, data_change: bool = True) -> dict:
    return {
        "add": {
            "path": f"d={day}/f.parquet",
            "partitionValues": {"d": day},
            "dataChange": data_change,
        }
    }


def test_partitions_written_counts_data_changes_only(tmp_path):
    _commit(tmp_path, 0, {"metaData": {"configuration": {"k": "v"}}}, _add("2026-01-01"))
    _commit(tmp_path, 1, _add("2026-01-02"))
    _commit(tmp_path, 2, _add("2026-01-01", data_change=False))  # an OPTIMIZE's rewrite
    _commit(tmp_path, 3, {"remove": {"path": "d=2026-01-02/f.parquet"}})
    assert maintain.latest_version(tmp_path) == 3
    assert maintain.partitions_written(tmp_path, 0, 3) == {("2026-01-02",)}
    assert maintain.partitions_written(tmp_path, 1, 3) == set()
    assert maintain.partitions_written(tmp_path, -1, 3) == {("2026-01-01",), ("2026-01-02",)}
    assert maintain.table_properties(tmp_path, 3) == {"k": "v"}


def test_a_commit_gone_from_the_log_means_unknown(tmp_path):
    _commit(tmp_path, 5, _add("2026-01-01"))
    assert maintain.partitions_written(tmp_path, 3, 5) is None


def test_where_matches_exactly_the_partitions():
    where = maintain._where(["b", "a"], {("1", "x'y")})
    assert where == "(`a` = '1' and `b` = 'x''y')"
