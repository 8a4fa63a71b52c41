"""The benchmark's own logic that needs no Spark: its data and its results files.

(The benchmarks themselves run end to end in CI's `./lakehouse bench --smoke`.)"""

from __future__ import annotations

import json
from datetime import date, timedelta

from bench import history
from bench.results import Results


def _read(folder):
    rows = {}
    for path in sorted(folder.glob("date=*/part-0.json")):
        rows[path.parent.name] = [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def test_history_brings_back_the_same_people_and_late_events(tmp_path):
    batch_day = date(2026, 3, 10)
    written = history.write(tmp_path, 3, 800, 0.05, 2, batch_day, seed=3)
    web_history = _read(tmp_path / "history" / "web_events")
    web_batch = _read(tmp_path / "batch" / "web_events")
    ide_history = _read(tmp_path / "history" / "ide_events")

    assert sorted(web_history) == [f"date={batch_day - timedelta(days=n)}" for n in (3, 2, 1)]
    assert list(web_batch) == [f"date={batch_day}"], "the batch lands as one arrival date"
    batch = web_batch[f"date={batch_day}"]
    late = [e for e in batch if e["event_time"] < batch_day.isoformat()]
    assert len(late) == written["web_events"].late_events > 0
    assert abs(len(late) / len(batch) - 0.05) < 0.01
    oldest_allowed = (batch_day - timedelta(days=2)).isoformat()
    assert all(e["event_time"] >= oldest_allowed for e in late), "late by at most 2 days"

    def keys(rows):
        return {(e["host"], e["ip"], e["user_id"]) for e in rows}

    seen = set().union(*(keys(rows) for rows in web_history.values()))
    assert len(keys(batch) & seen) / len(keys(batch)) > 0.8, "visitors come back"
    ide_users = [{e["user_id"] for e in rows} for rows in ide_history.values()]
    assert ide_users[0] & ide_users[-1], "IDE users come back"
    event_ids = [e["event_uuid"] for rows in web_history.values() for e in rows]
    event_ids += [e["event_uuid"] for e in batch]
    assert len(event_ids) == len(set(event_ids)), "each event once: history or batch"


def test_a_small_batch_lands_on_its_day_with_some_late_events(tmp_path):
    day = date(2024, 3, 10)
    total = history.write_small_batch(tmp_path, "small-1", 100, day, 71)
    assert total == 2 * (100 + 5)
    for topic, key in (("web_events", "event_time"), ("ide_events", "timestamp")):
        files = list((tmp_path / "small-1" / topic).glob("date=*/part-0.json"))
        assert [f.parent.name for f in files] == [f"date={day}"], "one arrival date"
        rows = [json.loads(line) for line in files[0].read_text().splitlines()]
        dates = sorted(r[key][:10] for r in rows)
        assert dates.count(str(day)) == 100
        assert dates.count(str(day - timedelta(days=2))) == 5, "5% late, two days before"


def test_results_files_say_which_targets_were_met(tmp_path):
    results = Results(mode="smoke", command="./lakehouse bench --smoke", parameters={"n": 1})
    results.add("ingest", "feeder", 1234.5, "events/s", "note")
    results.target("fast enough", 0.9, ">=", 0.8, "a / b")
    results.target("small enough", 0.5, "<=", 0.2, "c / d")
    results.check("something held")
    md, js = results.write(tmp_path)

    doc = json.loads(js.read_text())
    assert [t["met"] for t in doc["targets"]] == [True, False]
    assert doc["figures"][0]["value"] == 1234.5
    assert doc["versions"]["pyspark"] == "4.2.0"
    text = md.read_text()
    assert "| fast enough | 0.90 | >= 0.8 | yes |" in text
    assert "| small enough | 0.50 | <= 0.2 | **no** |" in text
    assert "| feeder | 1,234 | events/s | note |" in text
    assert "- something held" in text


def test_dbt_log_statements_are_timed_per_thread_and_classified():
    from bench import dbt_log

    node = '/* {"app": "dbt", "node_id": "model.p.web_sessions"} */'
    log = "\n".join(
        [
            "\x1b[0m01:12:23.011842 [debug] [Thread-3 (]: On model.p.web_sessions: " + node,
            "",
            "    describe detail silver.web_events_sessionized",
            "  ",
            "\x1b[0m01:12:23.012366 [debug] [Thread-4 (]: On model.p.stg_bronze__ide_events: "
            + node,
            "",
            "    merge into silver.stg_bronze__ide_events as DBT_INTERNAL_DEST",
            "    using stg_bronze__ide_events__dbt_tmp as DBT_INTERNAL_SOURCE",
            "\x1b[0m01:12:23.012915 [debug] [Thread-3 (]: Opening a new connection",
            "\x1b[0m01:12:29.403762 [debug] [Thread-4 (]: SQL status: OK in 6.391 seconds",
            "\x1b[0m01:12:29.407960 [debug] [Thread-3 (]: SQL status: OK in 0.250 seconds",
            "\x1b[0m01:12:30.000000 [debug] [Thread-3 (]: On model.p.web_sessions: " + node,
            "    alter table silver.web_sessions set tblproperties ('lakehouse.watermark' = '{}')",
            "\x1b[0m01:12:30.500000 [debug] [Thread-3 (]: SQL status: OK in 0.500 seconds",
        ]
    )
    found = dbt_log.statements(log)
    assert [(s.node, s.kind, s.seconds) for s in found] == [
        ("stg_bronze__ide_events", "merge", 6.391),
        ("web_sessions", "delta log: describe detail", 0.25),
        ("web_sessions", "record watermark", 0.5),
    ]
    assert dbt_log.by_kind(found)["merge"] == (1, 6.391)
    assert list(dbt_log.by_model(found)) == ["stg_bronze__ide_events", "web_sessions"]
