"""One topic's failed query stops nothing else (streaming/feeder.py's ``supervise``): real
Spark streaming queries in the test session, one of which fails at every micro-batch. The
others go on, a line says why, and in a continuous run the failed one is started again."""

from __future__ import annotations

import time

import pytest

from streaming.feeder import Supervised, supervise

pytestmark = pytest.mark.integration


def _query(spark, name: str, fail: bool):
    from pyspark.sql import functions as F

    rows = spark.readStream.format("rate").option("rowsPerSecond", 5).load()
    if fail:
        rows = rows.select(F.raise_error(F.lit(f"{name} cannot be written")).alias("value"))
    return (
        rows.writeStream.format("noop").queryName(name).trigger(processingTime="1 second").start()
    )


def test_a_failed_query_stops_alone_and_is_started_again(spark):
    lines: list[str] = []
    started = [_query(spark, "good", fail=False), _query(spark, "bad", fail=True)]
    good = started[0]

    def restart(name: str):
        assert name == "bad"
        started.append(_query(spark, "bad", fail=True))
        return started[-1]

    began = time.monotonic()
    outcome = Supervised.of(started)
    try:
        supervise(outcome, restart, began + 12, lines.append, first_retry_s=1.0)
        assert good.isActive, "the healthy query ran on to the deadline"
        assert time.monotonic() - began >= 12
    finally:
        outcome.stop_all()
    assert not any(q.isActive for q in started), "every query started was recorded, and stopped"
    restarts = len(started) - 2
    assert any(p["numInputRows"] > 0 for p in good.recentProgress), "good wrote all along"
    assert restarts >= 2, lines
    assert len(outcome.runs["bad"]) == 1 + restarts
    failures = [x for x in lines if x.startswith("query bad failed (")]
    assert len(failures) >= 2, lines
    assert all("bad cannot be written" in x and "the other queries go on" in x for x in failures)
    # the pause grows: 1 s, then 2 s, then 4 s
    assert "started again in 1 s" in failures[0] and "started again in 2 s" in failures[1]
    assert sum(x == "query bad started again" for x in lines) == restarts
    assert "good" not in outcome.failed


def test_without_restarts_the_failed_query_is_reported_and_the_rest_finish(spark):
    lines: list[str] = []
    good, bad = _query(spark, "good2", fail=False), _query(spark, "bad2", fail=True)
    outcome = Supervised.of([good, bad])
    try:
        supervise(outcome, None, time.monotonic() + 6, lines.append)
        assert good.isActive
    finally:
        outcome.stop_all()
    assert list(outcome.failed) == ["bad2"] and "bad2 cannot be written" in outcome.failed["bad2"]
    assert lines == [f"query bad2 failed ({outcome.failed['bad2']}); the other queries go on"]
