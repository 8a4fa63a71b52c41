"""Privacy: IPs truncated or hashed before silver (dbt var), the hash's salt in no file dbt
writes, and one user's events erased from bronze to gold with every other session left as it
was."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streaming import producer
from tests.integration.inbox import append_to_bronze
from tooling.dbt_runner import NO_TESTS, DbtError, dbt_env, run_in_process

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
    # every invariant still holds (the unit tests read no table: an erasure cannot change them)
    run_in_process(
        settings, ["test", "--exclude", "resource_type:unit_test", *TRUNCATE], quiet=True
    )


def test_hashed_ips_keep_the_salt_out_of_every_file(spark, settings, empty_lakehouse, monkeypatch):
    """privacy__ip_anonymization: hash. Without a salt the run stops, naming the variable;
    with one, each staged IP is the SHA-256 of the salt and its raw IP, a blank IP is
    quarantined (not hashed into a usable key), and the salt is in no file dbt wrote: the
    compiled SQL names the Spark setting that holds it instead."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    web = producer.build_events("web", 60, 19, start, timedelta(hours=2), 0.0, 0.0)
    blank = {**web[0], "event_uuid": str(uuid.uuid4()), "ip": "  "}
    append_to_bronze(spark, settings, "web_events", [*web, blank], "hash-0")
    staging = ["run", "--select", "stg_bronze__web_events"]
    staging += ["--vars", "{privacy__ip_anonymization: hash}"]

    monkeypatch.delenv("PRIVACY_IP_SALT", raising=False)
    with pytest.raises(DbtError, match="set PRIVACY_IP_SALT to a secret of at least 16"):
        run_in_process(settings, staging, quiet=True)
    salt = secrets.token_hex(16)  # new each run: no file holds it by chance
    monkeypatch.setenv("PRIVACY_IP_SALT", salt)
    run_in_process(settings, staging, quiet=True)

    rows = spark.table("silver.stg_bronze__web_events").collect()
    staged = {r.event_uuid: r for r in rows}
    assert (staged[blank["event_uuid"]].quarantine_reason, staged[blank["event_uuid"]].ip) == (
        "missing_key:ip",
        None,
    )
    assert {r.event_uuid: r.ip for r in rows if not r.is_quarantined} == {
        e["event_uuid"]: hashlib.sha256((salt + e["ip"]).encode()).hexdigest() for e in web
    }

    env = dbt_env(settings)
    written = [
        f
        for folder in (env["DBT_TARGET_PATH"], env["DBT_LOG_PATH"])
        for f in Path(folder).rglob("*")
        if f.is_file()
    ]
    # this run's compiled and executed SQL of the model (earlier runs of other modes, and
    # unit tests, leave files of the same name elsewhere under target/)
    model = Path(
        "clickstream_lakehouse", "models", "staging", "bronze", "stg_bronze__web_events.sql"
    )
    for kind in ("compiled", "run"):
        sql = (Path(env["DBT_TARGET_PATH"]) / kind / model).read_text()
        assert "${spark.lakehouse.ip_hash.salt}" in sql, f"{kind}: {sql[:2000]}"
    leaked = [str(f) for f in written if salt.encode() in f.read_bytes()]
    assert leaked == [], f"the IP salt is written in {leaked}"
