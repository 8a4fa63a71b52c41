"""Privacy: IPs truncated before silver (dbt var), and one user's events erased from bronze
to gold with every other session left as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from streaming import producer
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import NO_TESTS, run_in_process

pytestmark = pytest.mark.integration

TRUNCATE = ["--vars", "{privacy__ip_anonymization: truncate}"]


def _truncated(ip: str) -> str:
    """What staging keeps of an IP with privacy__ip_anonymization: truncate (a /24, or the
    first three groups of an IPv6 address)."""
    if ":" in ip:
        return ":".join(ip.split(":")[:3]) + "::"
    return ip.rsplit(".", 1)[0] + ".0"


def _events_of(spark, table: str, user: str) -> int:
    return int(spark.sql(f"select count(*) from {table} where user_id = '{user}'").first()[0])


def test_truncated_ips_and_an_erased_user(spark, settings, empty_lakehouse):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    web = producer.build_events("web", 400, 17, start, timedelta(hours=12), 0.1, 0.0)
    ide = producer.build_events("ide", 200, 17, start, timedelta(hours=12), 0.1, 0.0)
    # bronze as the feeder writes it, in this process (the feeder is not what this tests)
    append_to_bronze(spark, settings, "web_events", web, "privacy-0")
    append_to_bronze(spark, settings, "ide_events", ide, "privacy-0")
    # models and seeds: the data tests run over the whole project in test_pipeline.py
    run_in_process(settings, ["build", *NO_TESTS, *TRUNCATE], quiet=True)

    # each staged IP is the truncation of the one its event carried; bronze keeps the raw one
    staged = {
        r.event_uuid: r.ip
        for r in spark.table("silver.stg_bronze__web_events").select("event_uuid", "ip").collect()
    }
    raw = {e["event_uuid"]: e["ip"] for e in web}
    assert staged and set(staged) == set(raw)
    assert staged == {uuid: _truncated(ip) for uuid, ip in raw.items()}
    assert set(raw.values()) - set(staged.values()), "some raw IP differs from its truncation"

    logged_in = sorted({e["user_id"] for e in web if e["user_id"]})
    user = logged_in[0]
    ide_user = sorted({e["user_id"] for e in ide})[0]
    assert _events_of(spark, "silver.web_events_sessionized", user) > 0
    others_before = {
        r.session_id
        for r in spark.sql(
            f"select session_id from silver.web_sessions where user_id is distinct from '{user}'"
        ).collect()
    }
    events_before = spark.sql("select sum(events) from gold.host_daily_metrics").first()[0]
    user_events = _events_of(spark, "silver.web_events_sessionized", user)

    for who in (user, ide_user):
        run_in_process(
            settings, ["run-operation", "erase_user", "--args", json.dumps({"user_id": who})]
        )
    run_in_process(
        settings, ["run", "--full-refresh", "--select", "path:models/marts", *TRUNCATE], quiet=True
    )

    for table in (
        "silver.stg_bronze__web_events",
        "silver.web_events_sessionized",
        "silver.web_sessions",
    ):
        assert _events_of(spark, table, user) == 0, table
    for table in ("silver.stg_bronze__ide_events", "silver.ide_sessions"):
        assert _events_of(spark, table, ide_user) == 0, table
    for topic, who in (("web_events", user), ("ide_events", ide_user)):
        left = spark.sql(
            f"select count(*) from bronze.{topic} "
            f"where get_json_object(raw_value, '$.user_id') = '{who}'"
        ).first()[0]
        assert left == 0, topic
    others_after = {r.session_id for r in spark.table("silver.web_sessions").collect()}
    assert others_after == others_before, "another visitor's session changed"
    events_after = spark.sql("select sum(events) from gold.host_daily_metrics").first()[0]
    assert events_after == events_before - user_events
    run_in_process(settings, ["test", *TRUNCATE], quiet=True)  # every invariant still holds
