"""The heart of the product: after every incremental run, silver and gold equal an
independent reference (and a full refresh), whatever order the events arrive in.

A random corpus of IDE and web events over three weeks (each visitor comes back days or
weeks later, so a shuffled arrival delivers events weeks late), with gaps at exactly G and
G - 1 ms, ties, midnight crossings, runaway runs cut at block boundaries with an activity
exactly on a boundary, re-delivered duplicates and quarantined events, is cut into random
arrival batches. Each batch lands in bronze (real Delta), `dbt run` (real dbt, in-process,
on the shared SparkSession) updates staging, silver and gold incrementally, and every table
is compared row for row with the pure-Python reference over all events delivered so far:
sessions with their landing and exit URLs and runaway flags, gold's measures beyond counts.
After the last batch a full refresh must give the same rows.

Even orders cut runaway runs into blocks of 15 minutes (so that cuts are many), odd orders
use the default block (12 hours) with runs long enough to cross it.

LAKEHOUSE_PROPERTY_ORDERS sets how many arrival orders to try (default 10; CI: 2). Each run
draws a new corpus seed and prints it; LAKEHOUSE_PROPERTY_SEED=N replays one.

Order 0 runs in the warm engine of `./lakehouse run`, over LAKEHOUSE_WARM_RUNS batches in one
engine (default 20; CI: 3), with the engine's live heap recorded after each run.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.integration import reference
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import dbt_env, run_in_process
from tooling.engine import Engine
from tooling.settings import Settings

pytestmark = pytest.mark.integration

ORDERS = int(os.environ.get("LAKEHOUSE_PROPERTY_ORDERS", "10"))
WARM_RUNS = int(os.environ.get("LAKEHOUSE_WARM_RUNS", "20"))
# a new corpus on every run, unless one is replayed; printed with each order
SEED = int(os.environ.get("LAKEHOUSE_PROPERTY_SEED") or random.SystemRandom().randrange(10**6))
GAP = reference.GAP_MS
DAY = 86_400_000
SPAN = 21 * DAY  # visitors come back over three weeks: a shuffle delivers events weeks late
# deltas between consecutive events of a key: the boundaries, ties, and real gaps
DELTAS = [0, 1, 1_000, 60_000, 240_000, GAP - 1, GAP, GAP + 1, 900_000, 7_200_000]
RUNAWAY_DELTAS = [1_000, 60_000, 180_000, GAP - 1]  # never a gap
BASE = int(datetime(2024, 3, 10, 23, 30, tzinfo=UTC).timestamp() * 1000)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"
BLOCK_HOURS = 0.25  # the runaway cut's block: a few G, so that runs cross many boundaries
BLOCK = int(BLOCK_HOURS * 3_600_000)
DEFAULT_BLOCK = reference.BLOCK_MS  # sessions__runaway_max_hours as dbt_project.yml sets it
MAX_EVENTS = 1000  # sessions__runaway_max_events
SESSION_VARS = {"sessions__runaway_max_hours": BLOCK_HOURS}
VARS = ["--vars", json.dumps(SESSION_VARS)]
SELECT = ["--select", "path:models/staging", "path:models/intermediate", "path:models/silver"]
# gold too on the first few orders: its incremental rows must also equal a full refresh
WITH_GOLD = [*SELECT, "host_daily_metrics", "ide_product_daily_metrics"]
GOLD_ORDERS = 3
GOLD_SQL = {
    "host_daily_metrics": "select * from gold.host_daily_metrics",
    "ide_product_daily_metrics": "select * from gold.ide_product_daily_metrics",
}


def _deltas(rng: random.Random, runaway: bool, block_ms: int = BLOCK) -> list[int]:
    """Deltas between a key's consecutive events: a mix, or a runaway run (never a gap)
    that crosses a few block boundaries."""
    if runaway:
        n = max(30, 2 * block_ms // 130_000 + 10)
        return [rng.choice(RUNAWAY_DELTAS) for _ in range(rng.randint(n, n + n // 3))]
    return [rng.choice(DELTAS) for _ in range(rng.randint(8, 14))]


def _visit_times(rng: random.Random, runaway: bool, block_ms: int) -> list[tuple[int, bool]]:
    """A key's event times, each with whether it lies exactly on a block boundary: a visit
    near BASE (crossing midnight), and another days or weeks later. A runaway run also has
    an activity exactly on the first block boundary it crosses."""
    times = []
    for first in (BASE + rng.randrange(0, 3_600_000), BASE + rng.randrange(DAY, SPAN)):
        t = first
        run = []
        for delta in _deltas(rng, runaway, block_ms):
            t += delta
            run.append((t, False))
        boundary = -(-(first + block_ms) // block_ms) * block_ms
        if runaway and boundary < t:
            run.append((boundary, True))
        times += run
    return times


def _ide_corpus(rng: random.Random, block_ms: int = BLOCK) -> list[dict]:
    events: list[dict] = []
    for user in ("u1", "u2", "bot"):
        for product in ("PY", "GO"):
            for t, on_boundary in _visit_times(rng, user == "bot", block_ms):
                # the bot's IDE-generated events (d) break its runs into pieces shorter than
                # the default block: with that block it acts without pause
                bot = "aaabcd" if block_ms == BLOCK else "aabc"
                event_id = rng.choice("aabbcdde" if user != "bot" else bot)
                events.append(
                    {
                        "user_id": user,
                        "event_id": "a" if on_boundary else event_id,  # an activity
                        "product_code": product,
                        "timestamp": reference.iso_ms(t),
                    }
                )
    # bad input: kept out of sessions, shown in the quarantine view
    events.append(
        {
            "user_id": None,
            "event_id": "a",
            "product_code": "PY",
            "timestamp": reference.iso_ms(BASE),
        }
    )
    events.append(
        {"user_id": "u1", "event_id": "a", "product_code": "", "timestamp": reference.iso_ms(BASE)}
    )
    events.append(
        {
            "user_id": "u1",
            "event_id": "a",
            "product_code": "PY",
            "timestamp": "1999-12-31T23:59:59.000Z",
        }
    )
    return events


def _web_corpus(rng: random.Random, block_ms: int = BLOCK) -> list[dict]:
    events = []
    n = 0
    for host in ("zachwilson.tech", "lulu.techcreator.io"):
        for ip, user in (
            ("81.2.69.160", None),
            ("81.2.69.160", "7"),
            ("2.125.160.216", None),
            ("203.0.113.9", None),  # a crawler: a runaway run
        ):
            for t, _ in _visit_times(rng, ip == "203.0.113.9", block_ms):
                n += 1
                event = {
                    "url": rng.choice(["/", "/blog", "/about", "/courses"]),
                    "referrer": None,
                    "user_agent": FIREFOX,
                    "headers": {"accept-language": "en-US"},
                    "host": host,
                    "ip": ip,
                    "user_id": user,
                    "event_time": reference.iso_ms(t),
                }
                if rng.random() < 0.8:  # the rest are identified by their payload's hash
                    event["event_uuid"] = f"00000000-0000-4000-8000-{n:012d}"
                events.append(event)
    events.append(
        {"url": "/", "host": "", "ip": "81.2.69.160", "event_time": reference.iso_ms(BASE)}
    )
    return events


def _arrivals(rng: random.Random, events: list[dict], batches: int) -> list[list[dict]]:
    """Shuffle (any lateness), re-deliver ~20% of events, cut into `batches` random batches."""
    deliveries = list(events) + [e for e in events if rng.random() < 0.2]
    rng.shuffle(deliveries)
    cuts = sorted(rng.sample(range(1, len(deliveries)), batches - 1))
    bounds = [0, *cuts, len(deliveries)]
    return [deliveries[a:b] for a, b in itertools.pairwise(bounds)]


def _valid_ide(delivered: list[dict]) -> list[dict]:
    seen = {}
    for e in delivered:
        if not e["user_id"] or not e["product_code"] or e["timestamp"] < "2000":
            continue
        key = (e["user_id"], e["event_id"], e["product_code"], e["timestamp"])
        seen[key] = {**e, "ts": reference.parse_ms(e["timestamp"])}
    return list(seen.values())


def _valid_web(delivered: list[dict]) -> list[dict]:
    seen = {}
    for e in delivered:
        if not e["host"]:
            continue
        key = reference.web_event_key(e)
        seen[key] = {**e, "ts": reference.parse_ms(e["event_time"]), "event_key": key}
    return list(seen.values())


def _is_runaway(event_count: int, duration_ms: int, is_cut: bool, block_ms: int) -> bool:
    """The runaway rule as the README states it: too many events, longer than a block, or
    cut at a block boundary."""
    return event_count > MAX_EVENTS or duration_ms > block_ms or is_cut


def _expected(
    ide_delivered: list[dict], web_delivered: list[dict], block_ms: int = BLOCK
) -> dict[str, list[tuple]]:
    ide_rows = reference.sessionize_ide(_valid_ide(ide_delivered), block_ms=block_ms)
    web_rows = reference.sessionize_web(_valid_web(web_delivered), block_ms=block_ms)
    return {
        "ide_events": list(
            (
                r["user_id"],
                r["event_id"],
                r["product_code"],
                r["ts"],
                r["session_start"],
                r["session_end"],
                r["session_id"],
                r["is_cut_start"],
            )
            for r in ide_rows
        ),
        "ide_sessions": list(
            (
                s["session_id"],
                s["user_id"],
                s["product_code"],
                s["session_start"],
                s["session_end"],
                s["last_action"],
                s["duration_ms"],
                s["user_action_count"],
                s["event_count"],
                s["is_session_cut"],
                _is_runaway(s["event_count"], s["duration_ms"], s["is_session_cut"], block_ms),
            )
            for s in reference.ide_sessions(ide_rows)
        ),
        "web_events": list(
            (
                r["event_key"],  # the reference's identities are the model's, ties break alike
                r["host"],
                r["ip"],
                r["user_id"],
                r["url"],
                r["ts"],
                r["session_start"],
                r["session_end"],
                r["session_id"],
                r["is_cut_start"],
            )
            for r in web_rows
        ),
        "web_sessions": list(
            (
                s["session_id"],
                s["host"],
                s["ip"],
                s["user_id"],
                s["session_start"],
                s["session_end"],
                s["event_count"],
                s["duration_ms"],
                s["is_session_cut"],
                s["landing_url"],
                s["exit_url"],
                _is_runaway(s["event_count"], s["duration_ms"], s["is_session_cut"], block_ms),
            )
            for s in reference.web_sessions(web_rows)
        ),
    }


ACTUAL_SQL = {
    "ide_events": """
        select user_id, event_id, product_code, unix_millis(`timestamp`),
               unix_millis(session_start_ts), unix_millis(session_end_ts), session_id,
               is_cut_start
        from silver.ide_events_sessionized""",
    "ide_sessions": """
        select session_id, user_id, product_code, unix_millis(session_start_ts),
               unix_millis(session_end_ts), unix_millis(last_action_ts),
               cast(duration_seconds * 1000 as bigint), user_action_count, event_count,
               is_session_cut, is_runaway
        from silver.ide_sessions""",
    "web_events": """
        select event_key, host, ip, user_id, url, unix_millis(event_at),
               unix_millis(session_start_at),
               unix_millis(session_end_at), session_id, is_cut_start
        from silver.web_events_sessionized""",
    "web_sessions": """
        select session_id, host, ip, user_id, unix_millis(session_start_at),
               unix_millis(session_end_at), event_count, cast(duration_seconds * 1000 as bigint),
               is_session_cut, landing_url, exit_url, is_runaway
        from silver.web_sessions""",
}


def _row_key(row: tuple) -> tuple:
    return tuple((v is None, v) for v in row)  # nulls sort first, never compared


def _collect(spark, queries: dict[str, str]) -> dict[str, list[tuple]]:
    return {
        name: sorted((tuple(r) for r in spark.sql(sql).collect()), key=_row_key)
        for name, sql in queries.items()
    }


def _by_path(sql: str, warehouse=None) -> str:
    """``sql`` with its silver and gold tables read by path from ``warehouse`` (another
    lakehouse's, whose metastore the warm engine holds); unchanged without one."""
    if warehouse is None:
        return sql
    return re.sub(r"\b(silver|gold)\.(\w+)", rf"delta.`{warehouse}/\1.db/\2`", sql)


def _actual(spark, warehouse=None) -> dict[str, list[tuple]]:
    return _collect(spark, {name: _by_path(sql, warehouse) for name, sql in ACTUAL_SQL.items()})


def _ratio(numerator: float, denominator: int, places: int) -> Decimal | None:
    """numerator / denominator as Spark casts it to decimal(_, places) (half up)."""
    if not denominator:
        return None
    exact = Decimal(numerator) / Decimal(denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _assert_gold_counts(spark, expected, context: str, warehouse=None) -> None:
    """Gold's per-day measures agree with the reference's sessions: counts, runaways, the
    average events and bounce rate of the sessions that are not runaways, unique visitors."""
    day = lambda ms: datetime.fromtimestamp(ms / 1000, tz=UTC).date()  # noqa: E731
    web_days: dict[tuple, list[tuple]] = {}
    for s in expected["web_sessions"]:
        web_days.setdefault((s[1], day(s[4])), []).append(s)
    web = {}
    for key, sessions in web_days.items():
        counted = [s for s in sessions if not s[11]]
        web[key] = (
            len(sessions),
            sum(s[6] for s in sessions),
            len(sessions) - len(counted),
            _ratio(sum(s[6] for s in counted), len(counted), 4),
            _ratio(sum(s[6] == 1 for s in counted), len(counted), 4),
            len({(s[2], s[3] or "") for s in sessions}),
        )
    ide_days: dict[tuple, list[tuple]] = {}
    for s in expected["ide_sessions"]:
        ide_days.setdefault((s[2], day(s[3])), []).append(s)
    ide = {
        key: (len(sessions), sum(s[10] for s in sessions), len({s[1] for s in sessions}))
        for key, sessions in ide_days.items()
    }
    got_web = {
        (r.host, r.session_date): (
            r.sessions,
            r.events,
            r.runaway_sessions,
            r.avg_events_per_session,
            r.bounce_rate,
            r.unique_visitors,
        )
        for r in spark.sql(_by_path("select * from gold.host_daily_metrics", warehouse)).collect()
    }
    got_ide = {
        (r.product_code, r.session_date): (r.sessions, r.runaway_sessions, r.active_users)
        for r in spark.sql(
            _by_path("select * from gold.ide_product_daily_metrics", warehouse)
        ).collect()
        if r.sessions
    }
    assert got_web == web, (
        f"{context}: gold.host_daily_metrics disagrees with the reference: "
        f"{sorted((k, v, web.get(k)) for k, v in got_web.items() if web.get(k) != v)[:5]}"
    )
    assert got_ide == ide, (
        f"{context}: gold.ide_product_daily_metrics disagrees with the reference: "
        f"{sorted((k, v, ide.get(k)) for k, v in got_ide.items() if ide.get(k) != v)[:5]}"
    )


def _assert_equal(spark, expected, context: str, warehouse=None) -> None:
    key = _row_key
    actual = _actual(spark, warehouse)
    for name, rows in expected.items():
        want = sorted(rows, key=key)
        got = actual[name]
        assert got == want, (
            f"{context}: silver {name} differs from the reference "
            f"(missing {sorted(set(want) - set(got), key=key)[:5]}, "
            f"unexpected {sorted(set(got) - set(want), key=key)[:5]})"
        )


# the quarantine as the view shows it, and as staging holds it (read by path)
QUARANTINE_SQL = "select reason, count(*) from silver.events_quarantine group by reason"
QUARANTINE_BY_PATH_SQL = """
    select quarantine_reason, count(*)
    from (
        select quarantine_reason from silver.stg_bronze__ide_events
        union all
        select quarantine_reason from silver.stg_bronze__web_events
    )
    where quarantine_reason is not null
    group by quarantine_reason"""


@pytest.mark.parametrize("order", range(ORDERS))
def test_incremental_equals_reference_for_any_arrival_order(
    spark, settings, empty_lakehouse, order
):
    """Order 0 runs in the warm engine of `./lakehouse run` (tooling/engine.py), over
    WARM_RUNS batches in one engine: after each run silver equals the reference, so nothing a
    run leaves in the session (views, caches, settings, Delta's cached logs) changes the
    next, and the engine's live heap (after a full GC) stays bounded. The other orders run
    in-process in the test's session, over 3 batches."""
    warm = order == 0
    rng = random.Random(SEED * 1000 + order)
    print(f"property test: seed {SEED}, order {order} (replay: LAKEHOUSE_PROPERTY_SEED={SEED})")
    batches = WARM_RUNS if warm else 3
    block = BLOCK if order % 2 == 0 else DEFAULT_BLOCK
    ide_batches = _arrivals(rng, _ide_corpus(rng, block), batches=batches)
    web_batches = _arrivals(rng, _web_corpus(rng, block), batches=batches)

    lake, warehouse, engine = settings, None, None
    if warm:
        lake = Settings(settings.lakehouse_dir / "warm-lake", settings.jars_dir, "127.0.0.1:9")
        warehouse = lake.warehouse_dir
        engine = Engine(lake, {**os.environ, **dbt_env(lake)}, lake.lakehouse_dir / "engine.log")
        engine.start()
    heaps: list[float] = []

    def dbt(args: list[str]) -> None:
        if engine is None:
            run_in_process(settings, args, quiet=True)
            return
        result = engine.run(args)
        assert result.ok, f"order {order}: dbt {' '.join(args)}: {result.detail}"
        heaps.append(result.heap_mb)

    try:
        _check_order(spark, lake, order, block, ide_batches, web_batches, dbt, warehouse)
    finally:
        if engine is not None:
            engine.stop()
    if warm:
        print(f"order 0, warm engine: live heap after each run {heaps} MB")
        # bounded: after the first runs filled its caches, no run holds much more
        steady = max(heaps[:3])
        assert all(h <= 2 * steady + 128 for h in heaps[3:]), f"live heap by run: {heaps}"


def _check_order(spark, lake, order, block, ide_batches, web_batches, dbt, warehouse) -> None:
    select = WITH_GOLD if order < GOLD_ORDERS else SELECT
    # the block of the runaway cut: the default, or 15 minutes by var
    variables = VARS if block == BLOCK else []
    at = f"seed {SEED}, order {order}"
    dbt(["seed"])
    timings = []
    ide_seen: list[dict] = []
    web_seen: list[dict] = []
    for n, (ide_batch, web_batch) in enumerate(zip(ide_batches, web_batches, strict=True)):
        append_to_bronze(spark, lake, "ide_events", ide_batch, f"property-batch-{n:03d}")
        append_to_bronze(spark, lake, "web_events", web_batch, f"property-batch-{n:03d}")
        ide_seen += ide_batch
        web_seen += web_batch
        started = time.monotonic()
        dbt(["run", *select, *variables])
        timings.append(time.monotonic() - started)
        expected = _expected(ide_seen, web_seen, block)
        _assert_equal(spark, expected, f"{at}, after batch {n}", warehouse)
        if select is WITH_GOLD:
            _assert_gold_counts(spark, expected, f"{at}, after batch {n}", warehouse)

    if order == 0:
        # a rerun with nothing new changes nothing (once: it costs a dbt run)
        dbt(["run", *select, *variables])
        expected = _expected(ide_seen, web_seen, block)
        _assert_equal(spark, expected, f"{at}, rerun, no new data", warehouse)

    gold_sql = {name: _by_path(sql, warehouse) for name, sql in GOLD_SQL.items()}
    incremental_gold = _collect(spark, gold_sql) if select is WITH_GOLD else None
    dbt(["run", "--full-refresh", *select, *variables])
    if warehouse is not None:  # the full refresh replaced the tables behind this JVM's cache
        spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    _assert_equal(spark, _expected(ide_seen, web_seen, block), f"{at}, full refresh", warehouse)
    if incremental_gold is not None:
        assert _collect(spark, gold_sql) == incremental_gold, (
            f"{at}: incremental gold differs from a full refresh"
        )
    print(f"order {order}: incremental dbt runs took {', '.join(f'{t:.1f}s' for t in timings)}")

    quarantine = QUARANTINE_SQL if warehouse is None else QUARANTINE_BY_PATH_SQL
    quarantined = spark.sql(_by_path(quarantine, warehouse)).collect()
    assert dict((r[0], r[1]) for r in quarantined) == {
        "missing_key:user_id": 1,
        "missing_key:product_code": 1,
        "timestamp_before_2000": 1,
        "missing_key:host": 1,
    }


def _homework_events() -> list[dict]:
    """The classic Flink sessionization homework: five visitors, a 5-minute gap."""
    start = BASE
    visits = [
        # (ip, host, first minute, events, minutes apart)
        ("192.168.1.1", "zachwilson.techcreator.io", 0, 5, 1),
        ("192.168.1.1", "zachwilson.techcreator.io", 10, 4, 1),
        ("192.168.1.2", "zachwilson.tech", 0, 10, 2),
        ("192.168.1.3", "lulu.techcreator.io", 0, 3, 1),
        ("192.168.1.3", "lulu.techcreator.io", 9, 3, 1),
        ("192.168.1.3", "lulu.techcreator.io", 19, 3, 1),
        ("192.168.1.4", "zachwilson.techcreator.io", 0, 4, 3),
        ("192.168.1.5", "zachwilson.tech", 1, 6, 2),
    ]
    events = []
    for ip, host, first, count, step in visits:
        for i in range(count):
            t = start + (first + i * step) * 60_000
            events.append(
                {
                    "event_uuid": f"hw-{ip}-{t}",
                    "url": "/",
                    "host": host,
                    "ip": ip,
                    "user_id": None,
                    "event_time": reference.iso_ms(t),
                }
            )
    return events


def test_flink_homework_sessions_per_host(spark, settings, empty_lakehouse):
    run_in_process(settings, ["seed"], quiet=True)
    events = _homework_events()
    random.Random(3).shuffle(events)  # arrival order must not matter
    append_to_bronze(spark, settings, "web_events", events[:20], "property-batch-000")
    append_to_bronze(spark, settings, "ide_events", [], "property-batch-000")
    run_in_process(settings, ["run", *SELECT], quiet=True)
    append_to_bronze(spark, settings, "web_events", events[20:], "property-batch-001")
    run_in_process(settings, ["run", *SELECT], quiet=True)
    per_host = {
        r.host: (r.sessions, r.events, round(r.events / r.sessions, 2))
        for r in spark.sql(
            "select host, count(*) as sessions, sum(event_count) as events "
            "from silver.web_sessions group by host"
        ).collect()
    }
    assert per_host == {
        "zachwilson.techcreator.io": (3, 13, 4.33),
        "zachwilson.tech": (2, 16, 8.0),
        "lulu.techcreator.io": (3, 9, 3.0),
    }
