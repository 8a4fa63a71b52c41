"""Runaway sessions (a bot, a stuck IDE, a crawler for days) are flagged in silver, counted in
gold, and left out of gold's averages unless var marts__include_runaway_sessions says
otherwise; a late event inside a runaway run recomputes a bounded window; the run audit counts
what each run staged and how it changed sessions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streaming import producer
from streaming.events import format_ts
from tests.integration import reference
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import NO_TESTS, DbtError, dbt_env, run_in_process
from tooling.report import build_charts
from tooling.tables import DeltaLakeTables

pytestmark = pytest.mark.integration

BOT_IP, BOT_EVENTS = "203.0.113.9", 1_100  # over sessions__runaway_max_events (1,000)
PAIR_IP = "198.51.100.7"  # two sessions 8 minutes apart, merged by a late event between them
CRAWLER_IP, CRAWLER_EVENTS = "192.0.2.77", 3 * 24 * 15 + 1  # every 4 minutes for 3 days
SILVER = ["--select", "path:models/staging", "path:models/intermediate", "path:models/silver"]


def _bot(template: dict, start: datetime) -> list[dict]:
    """One visitor's page view every 20 s for about six hours: one session of 1,100 events."""
    return [
        {
            **template,
            "event_uuid": str(uuid.UUID(int=i + 1)),
            "ip": BOT_IP,
            "user_id": None,
            "url": f"/courses/page-{i % 50}",
            "event_time": format_ts(start + timedelta(seconds=20 * i)),
        }
        for i in range(BOT_EVENTS)
    ]


def _stuck_ide(start: datetime) -> list[dict]:
    """One user's action every 4 minutes for 13 hours: a session longer than 12 hours."""
    return [
        {
            "user_id": "stuck-ide",
            "event_id": "a",
            "product_code": "GO",
            "timestamp": format_ts(start + timedelta(minutes=4 * i)),
        }
        for i in range(13 * 15 + 1)
    ]


def _crawler(template: dict, start: datetime) -> list[dict]:
    """A page view every 4 minutes for three days: one run, cut at 12-hour block boundaries."""
    return [
        {
            **template,
            "event_uuid": str(uuid.UUID(int=20_000 + i)),
            "ip": CRAWLER_IP,
            "user_id": None,
            "url": f"/blog/post-{i % 90}",
            "event_time": format_ts(start + timedelta(minutes=4 * i)),
        }
        for i in range(CRAWLER_EVENTS)
    ]


def _reference_sessions(events: list[dict]) -> list[tuple]:
    """(start, end, events, is_session_cut) of each session, by the pure-Python reference."""
    keyed = [
        {**e, "ts": reference.parse_ms(e["event_time"]), "event_key": e["event_uuid"]}
        for e in events
    ]
    rows = reference.sessionize_web(keyed)
    return sorted(
        (s["session_start"], s["session_end"], s["event_count"], s["is_session_cut"])
        for s in reference.web_sessions(rows)
    )


def _visit(template: dict, ip: str, at: datetime, n: int) -> dict:
    return {
        **template,
        "event_uuid": str(uuid.UUID(int=10_000 + n)),
        "ip": ip,
        "user_id": None,
        "event_time": format_ts(at),
    }


def _audit(spark, model: str):
    row = spark.sql(
        f"select * from silver.run_audit where model = '{model}' "
        "order by run_started_at desc limit 1"
    ).first()
    return row.asDict()


def _host_day(spark, host: str, day):
    row = spark.sql(
        f"select * from gold.host_daily_metrics where host = '{host}' and session_date = '{day}'"
    ).first()
    return row.asDict()


def test_runaway_sessions_flagged_counted_and_left_out_of_averages(
    spark, settings, empty_lakehouse
):
    # 01:00 yesterday (UTC): the 13-hour stuck IDE crosses one block boundary (12:00), so it
    # is one session, a runaway by its length; the crawler's three days are cut into six
    midnight = datetime.now(UTC).replace(microsecond=0, second=0, minute=0, hour=0)
    start = midnight - timedelta(days=1) + timedelta(hours=1)
    web = producer.build_events("web", 400, 31, start, timedelta(hours=8), 0.0, 0.0)
    bot = _bot(web[0], start)
    host, day = bot[0]["host"], start.date()
    assert all(e["host"] != host or e["ip"] not in (BOT_IP, PAIR_IP) for e in web)
    pair = [_visit(web[0], PAIR_IP, start + timedelta(minutes=m), m) for m in (0, 8)]
    crawler = _crawler(web[0], start - timedelta(days=5))
    crawler_pieces = _reference_sessions(crawler)
    assert len(crawler_pieces) == 6 and all(p[3] for p in crawler_pieces)
    ide = producer.build_events("ide", 200, 31, start, timedelta(hours=8), 0.0, 0.0)
    # bronze as the feeder writes it, in this process (the feeder is not what this tests)
    append_to_bronze(spark, settings, "web_events", web + bot + pair + crawler, "part-0")
    append_to_bronze(spark, settings, "ide_events", ide + _stuck_ide(start), "part-0")
    # models and seeds; the data tests run after the late data below
    run_in_process(settings, ["build", *NO_TESTS], quiet=True)
    first = _audit(spark, "stg_bronze__web_events")
    assert first["events_staged"] == len(web) + BOT_EVENTS + 2 + CRAWLER_EVENTS
    assert first["watermark_before"] is None and first["watermark_after"] is not None
    assert (first["bronze_rows_read"], first["bronze_malformed"]) == (first["events_staged"], 0)
    built = _audit(spark, "web_sessions")  # the first build created every session
    assert built["sessions_created"] == spark.table("silver.web_sessions").count(), built
    assert built["sessions_merged"] == 0, built
    assert built["runaway_sessions"] == 1 + len(crawler_pieces), built

    # late data: the bot goes on, the pair's gap is bridged, a new visitor comes
    bot_end = start + timedelta(seconds=20 * (BOT_EVENTS - 1))
    late = [
        _visit(web[0], BOT_IP, bot_end + timedelta(minutes=1), 1),
        _visit(web[0], PAIR_IP, start + timedelta(minutes=4), 2),
        _visit(web[0], "192.0.2.44", start + timedelta(hours=3), 3),
    ]
    # delivered with one of them again and a line that is not JSON
    append_to_bronze(spark, settings, "web_events", [*late, late[2]], "part-1", raw=("{not json",))
    # the data tests on runaway data (the unit tests, which read no table, run in
    # test_pipeline.py's build)
    run_in_process(settings, ["build", "--exclude", "resource_type:unit_test"], quiet=True)
    staged = _audit(spark, "stg_bronze__web_events")
    assert staged["events_staged"] == 3 and staged["quarantined"] == 0
    assert (staged["bronze_rows_read"], staged["bronze_malformed"]) == (5, 1), staged
    assert staged["duplicates_dropped"] == 1, staged
    assert staged["watermark_before"] == first["watermark_after"]
    assert staged["watermark_after"] > staged["watermark_before"]
    assert staged["late_minutes"] == 0 and staged["late_hours"] + staged["late_days"] == 3
    changes = _audit(spark, "web_sessions")
    assert changes["status"] == "success", changes
    # the audit's duration is dbt's own figure for the model (run_results.json), to the ms
    results = json.loads(
        (Path(dbt_env(settings)["DBT_TARGET_PATH"]) / "run_results.json").read_text()
    )
    took = {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"] for r in results["results"]}
    assert changes["duration_seconds"] == pytest.approx(round(took["web_sessions"], 3), abs=1e-3)
    assert (changes["sessions_created"], changes["sessions_extended"]) == (1, 1), changes
    assert changes["sessions_merged"] == 1 and changes["sessions_deleted"] >= 1, changes
    assert changes["runaway_sessions"] == 1, changes

    # the report's reader (deltalake, no JVM) applies the deletion vectors this run's MERGE
    # left in the sessions table: its counts equal Spark's
    log = settings.warehouse_dir / "silver.db" / "web_sessions" / "_delta_log"
    actions = [json.loads(line) for f in sorted(log.glob("*.json")) for line in f.open()]
    assert any(a.get("add", {}).get("deletionVector") for a in actions), "no deletion vector"
    reader = DeltaLakeTables(settings.warehouse_dir, settings.bronze_dir)
    for table in (
        "silver.web_sessions",
        "gold.host_daily_metrics",
        "gold.platform_host_comparison",
    ):
        assert reader.rows(f"select count(*) from {table}") == [(spark.table(table).count(),)]
    charts = {c.key: c for c in build_charts(reader)}
    assert charts["host-daily"].figure is not None and charts["tech-creator"].figure is not None

    runaway = spark.sql(
        f"select ip, event_count from silver.web_sessions where is_runaway and ip != '{CRAWLER_IP}'"
    ).collect()
    assert [(r.ip, r.event_count) for r in runaway] == [(BOT_IP, BOT_EVENTS + 1)]
    stuck = spark.sql("select user_id from silver.ide_sessions where is_runaway").collect()
    assert [r.user_id for r in stuck] == ["stuck-ide"]

    sessions = spark.sql(
        f"select event_count, is_runaway from silver.web_sessions "
        f"where host = '{host}' and session_date = '{day}'"
    ).collect()
    normal = [s.event_count for s in sessions if not s.is_runaway]
    metrics = _host_day(spark, host, day)
    assert metrics["sessions"] == len(sessions) and metrics["runaway_sessions"] == 1
    assert metrics["events"] == sum(s.event_count for s in sessions), "totals count the bot"
    assert float(metrics["avg_events_per_session"]) == pytest.approx(
        sum(normal) / len(normal), abs=1e-4
    ), "the average leaves the bot out"
    ide_day = spark.sql(
        "select runaway_sessions from gold.ide_product_daily_metrics "
        f"where product_code = 'GO' and session_date = '{day}'"
    ).first()
    assert ide_day.runaway_sessions == 1

    include = ["--vars", "{marts__include_runaway_sessions: true}"]
    run_in_process(
        settings, ["run", "--full-refresh", "--select", "path:models/marts", *include], quiet=True
    )
    metrics = _host_day(spark, host, day)
    assert float(metrics["avg_events_per_session"]) == pytest.approx(
        (sum(normal) + BOT_EVENTS + 1) / len(sessions), abs=1e-4
    ), "with the var, the bot counts in the average"

    # a late event at each end of the crawler's three days: each recomputes the session it
    # touches (shorter than two blocks), not the three days
    late_crawl = [
        {
            **crawler[0],
            "event_uuid": str(uuid.UUID(int=30_000)),
            "event_time": format_ts(start - timedelta(days=5, minutes=4)),
        },
        {
            **crawler[-1],
            "event_uuid": str(uuid.UUID(int=30_001)),
            "event_time": format_ts(start - timedelta(days=2, minutes=-4)),
        },
    ]
    append_to_bronze(spark, settings, "web_events", late_crawl, "part-2")
    run_in_process(settings, ["run", *SILVER], quiet=True)
    windows = spark.sql(
        "select distinct window_start, window_end from silver.int_web_events_resessionized "
        f"where ip = '{CRAWLER_IP}'"
    ).collect()
    assert len(windows) == 2, windows
    assert all(w.window_end - w.window_start < timedelta(hours=24, minutes=10) for w in windows)
    after = _reference_sessions(crawler + late_crawl)
    got = spark.sql(
        "select unix_millis(session_start_at), unix_millis(session_end_at), event_count, "
        f"is_session_cut from silver.web_sessions where ip = '{CRAWLER_IP}'"
    ).collect()
    assert sorted(tuple(r) for r in got) == after
    # rewritten: the events of the first and the last session, whose bounds moved
    merge = (
        spark.sql("describe history silver.web_events_sessionized")
        .where("operation = 'MERGE'")
        .orderBy("version", ascending=False)
        .first()
        .operationMetrics
    )
    moved = after[0][2] - 1 + after[-1][2] - 1
    assert (int(merge["numTargetRowsInserted"]), int(merge["numTargetRowsUpdated"])) == (2, moved)
    assert moved < CRAWLER_EVENTS / 2
    crawl = _audit(spark, "web_sessions")
    assert (crawl["sessions_extended"], crawl["sessions_deleted"]) == (2, 1), crawl
    assert crawl["runaway_sessions"] == 2, crawl

    # a lakehouse built before the cut existed stops with the command that rebuilds it
    events = "silver.web_events_sessionized"
    spark.sql(f"alter table {events} set tblproperties ('delta.columnMapping.mode' = 'name')")
    spark.sql(f"alter table {events} drop column is_cut_start")
    late_visit = _visit(web[0], "192.0.2.45", start + timedelta(hours=2), 4)
    append_to_bronze(spark, settings, "web_events", [late_visit], "part-3")
    with pytest.raises(DbtError, match=r"has no column is_cut_start.*--full-refresh --select"):
        run_in_process(settings, ["run", *SILVER], quiet=True)
