"""The files source's decoding: CSV by header, Parquet rows as JSON, names it reads."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from streaming import files


def test_csv_rows_are_mapped_by_the_files_own_header():
    a = files.csv_records(b"user_id,event_id,timestamp\n7,a,2024-03-01T10:00:00Z\n")
    b = files.csv_records(b"timestamp,user_id,event_id\r\n2024-03-01T10:00:00Z,7,a\r\n\r\n")
    assert [json.loads(r) for r in a] == [json.loads(r) for r in b]
    assert json.loads(a[0]) == {
        "user_id": "7",
        "event_id": "a",
        "timestamp": "2024-03-01T10:00:00Z",
    }


def test_a_csv_row_with_the_wrong_field_count_is_kept_raw():
    rows = files.csv_records(b'user_id,event_id\n7,a\n8,b,extra\n9\n"q,uoted",c\n')
    assert json.loads(rows[0]) == {"user_id": "7", "event_id": "a"}
    assert rows[1] == "8,b,extra" and rows[2] == "9"
    assert json.loads(rows[3]) == {"user_id": "q,uoted", "event_id": "c"}
    assert files.csv_records(b"") == []


def test_parquet_rows_become_json_with_utc_times():
    table = pa.table(
        {
            "user_id": ["7"],
            "timestamp": pa.array(
                [datetime(2024, 3, 1, 10, 0, tzinfo=UTC)], pa.timestamp("ms", "UTC")
            ),
            "n": [3],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    (row,) = files.parquet_records(buf.getvalue())
    assert json.loads(row) == {"user_id": "7", "timestamp": "2024-03-01T10:00:00.000Z", "n": 3}
    (bad,) = files.parquet_records(b"not parquet at all")
    assert bad.startswith("unreadable parquet file")


def test_globs_never_match_temporary_names():
    from fnmatch import fnmatch

    assert files.GLOBS["json"] == "*.{json,jsonl,ndjson}"
    for name in ("part-0.json", "part-0.jsonl", "x.ndjson"):
        assert name.endswith(files.SUFFIXES["json"])
    for name in ("part-0.json.tmp", "part-0.json._COPYING_", "part-0.jsonx"):
        assert not name.endswith(files.SUFFIXES["json"])
        assert not any(fnmatch(name, f"*{s}") for s in files.SUFFIXES["json"])


def test_a_byte_order_mark_is_not_part_of_the_first_column():
    (row,) = files.csv_records("\ufeffuser_id,event_id\n7,a\n".encode())
    assert json.loads(row) == {"user_id": "7", "event_id": "a"}


def test_an_inbox_of_two_formats_is_refused_unless_one_is_named(tmp_path, capsys):
    import pytest

    from streaming.feeder import FeederError, detect_format

    day = tmp_path / "date=2024-03-01"
    day.mkdir()
    (day / "a.csv").write_text("user_id\n7\n")
    assert detect_format(tmp_path, None) == "csv"
    (day / "b.json").write_text("{}\n")
    (day / "_c.parquet").write_text("")  # a temporary name: not a file of the inbox
    with pytest.raises(FeederError, match="holds csv and json files: a run reads one format"):
        detect_format(tmp_path, None)
    assert detect_format(tmp_path, "json") == "json"
    assert "also holds csv files, not read by this run (--format json)" in capsys.readouterr().err
    with pytest.raises(FeederError, match="holds no parquet files"):
        detect_format(tmp_path, "parquet")
