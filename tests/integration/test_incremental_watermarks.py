"""Watermarks under the runs users really make: partial selections, a run that dies between a
MERGE and its watermark, a run with nothing new, and an upstream table recreated under its
readers.

Each test lands seeded batches in bronze (real Delta), runs real dbt in-process and compares
silver and gold with the pure-Python reference, as the property test does.
"""

from __future__ import annotations

import json
import random
import shutil

import pytest

from tests.integration.inbox import append_to_bronze
from tests.integration.test_sessions_property import (
    GOLD_SQL,
    SESSION_VARS,
    WITH_GOLD,
    _arrivals,
    _assert_equal,
    _assert_gold_counts,
    _collect,
    _expected,
    _ide_corpus,
    _web_corpus,
)
from tooling.dbt_runner import DbtError, run_in_process

pytestmark = pytest.mark.integration


def _batches(seed: int, n: int) -> list[tuple[list[dict], list[dict]]]:
    rng = random.Random(seed)
    ide = _arrivals(rng, _ide_corpus(rng), batches=n)
    web = _arrivals(rng, _web_corpus(rng), batches=n)
    return list(zip(ide, web, strict=True))


class _Lakehouse:
    """Lands batches and remembers what was delivered, for the reference."""

    def __init__(self, spark, settings) -> None:
        self.spark, self.settings = spark, settings
        self.ide: list[dict] = []
        self.web: list[dict] = []
        self.landed = 0
        run_in_process(settings, ["seed"], quiet=True)

    def land(self, batch: tuple[list[dict], list[dict]]) -> None:
        ide, web = batch
        source = f"property-batch-{self.landed:03d}"
        append_to_bronze(self.spark, self.settings, "ide_events", ide, source)
        append_to_bronze(self.spark, self.settings, "web_events", web, source)
        self.ide += ide
        self.web += web
        self.landed += 1

    def run(self, *args: str, **variables: str) -> None:
        """`dbt run ARGS` with the reference's session vars (and ``variables``)."""
        merged = json.dumps({**SESSION_VARS, **variables})
        run_in_process(self.settings, ["run", *args, "--vars", merged], quiet=True)

    def assert_reference(self, context: str) -> dict[str, list[tuple]]:
        """Silver and gold equal the reference; the reference's sessions."""
        expected = _expected(self.ide, self.web)
        _assert_equal(self.spark, expected, context)
        _assert_gold_counts(self.spark, expected, context)
        return expected

    def assert_exact(self, context: str) -> None:
        """Silver and gold equal the reference, and a full refresh changes nothing."""
        expected = self.assert_reference(context)
        gold = _collect(self.spark, GOLD_SQL)
        self.run("--full-refresh", *WITH_GOLD)
        _assert_equal(self.spark, expected, f"{context}, full refresh")
        assert _collect(self.spark, GOLD_SQL) == gold, (
            f"{context}: gold differs from a full refresh"
        )


def _table_versions(spark) -> dict[str, int]:
    versions = {}
    for schema in ("silver", "gold"):
        for table in spark.catalog.listTables(schema):
            if table.tableType == "VIEW":
                continue
            name = f"{schema}.{table.name}"
            versions[name] = spark.sql(f"describe history {name} limit 1").first()["version"]
    return versions


def _built_tables(settings) -> set[str]:
    """Every table the project builds (its models but views, its seeds: dbt's manifest) and
    the run audit its on-run-end hook writes."""
    target = settings.lakehouse_dir / "dbt" / "target" / "manifest.json"
    manifest = json.loads(target.read_text())
    return {"silver.run_audit"} | {
        f"{n['schema']}.{n['name']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed")
        and n["config"]["materialized"] not in ("view", "ephemeral")
    }


def test_partial_selections_killed_runs_and_an_idle_run(spark, settings, empty_lakehouse):
    """One lakehouse through the runs users make, in turn: partial selections, runs that die
    between a MERGE and its watermark, a run with nothing new, then bronze recreated under
    its readers. Silver and gold equal the reference after each part, and a full refresh
    (one lakehouse built once: each part alone would build it from empty)."""
    lake = _Lakehouse(spark, settings)
    batches = _batches(2001, 9)
    lake.land(batches[0])
    lake.run(*WITH_GOLD)

    # staging alone, then only the sessions and gold models: their parents have not taken
    # the new events in, so they must wait rather than record a batch they never saw
    lake.land(batches[1])
    lake.run("--select", "path:models/staging")
    lake.run(
        "--select",
        "web_sessions",
        "ide_sessions",
        "host_daily_metrics",
        "ide_product_daily_metrics",
    )
    # everything but the sessions models: the events models move on, sessions and gold wait
    lake.land(batches[2])
    lake.run(*WITH_GOLD, "--exclude", "web_sessions", "ide_sessions")
    # the sessions models alone catch up (superseded sessions found by overlap)
    lake.land(batches[3])
    lake.run(
        "--select", "path:models/staging", "path:models/intermediate", "web_events_sessionized"
    )
    lake.run("--select", "web_sessions", "ide_sessions")
    # then a full run: gold catches up too
    lake.run(*WITH_GOLD)
    lake.assert_reference("after partial selections and a full run")

    # a run dies after a model's MERGE and before its watermark, in a web model and an IDE
    # model of the same run (independent chains, so both get as far as their MERGE): a
    # staging table and a sessions model, then an events model and a gold model
    rounds = [
        ("stg_bronze__web_events", "ide_sessions"),
        ("web_events_sessionized", "ide_product_daily_metrics"),
    ]
    for n, models in enumerate(rounds, start=4):
        lake.land(batches[n])
        with pytest.raises(DbtError, match="stops before its watermark") as died:
            lake.run(*WITH_GOLD, testing__fail_before_watermark=",".join(models))
        for model in models:
            assert f"{model} stops before its watermark" in str(died.value), (model, died.value)
        # the MERGEs committed, the watermarks did not: the rerun takes the batch in again
        lake.run(*WITH_GOLD)
        lake.assert_reference(f"after {models} died and the rerun")
    lake.assert_exact("after partial selections and two rounds of killed runs")

    # every model (gold's table marts too), then once more with nothing new: no commit
    lake.run()
    before = _table_versions(spark)
    assert set(before) == _built_tables(settings), "expected every silver and gold table"
    lake.run()
    assert _table_versions(spark) == before, "a run with nothing new wrote a Delta commit"

    # bronze recreated at the same path (its versions start again from 0): every run fails
    # with the command that rebuilds, until that command is run
    _recreated_upstream(spark, settings, lake, batches[6:])


def _recreated_upstream(spark, settings, lake: _Lakehouse, batches) -> None:
    """bronze.web_events deleted and landed again (new web events only) under a built
    lakehouse: the runs fail with the command to rebuild, which makes it exact again."""
    shutil.rmtree(settings.bronze_table("web_events"))
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    lake.web = []
    # the new table's versions lie below the old one's marks (no commit added to pass them):
    # staging refuses it, and after the rebuild the run audit reads the new table from its
    # own marks, not from the old table's higher ones
    lake.land(([], batches[0][1]))
    with pytest.raises(DbtError) as failed:
        lake.run(*WITH_GOLD)
    message = str(failed.value)
    assert "bronze.web_events was recreated after stg_bronze__web_events last read it" in message
    assert "./lakehouse dbt run --full-refresh --select stg_bronze__web_events+" in message

    # staging rebuilt alone: once new events arrive, its readers' marks belong to the table
    # that is gone
    lake.run("--full-refresh", "--select", "stg_bronze__web_events")
    lake.land(([], batches[1][1]))
    with pytest.raises(DbtError) as failed:
        lake.run(*WITH_GOLD)
    message = str(failed.value)
    assert "silver.stg_bronze__web_events was recreated after web_events_sessionized" in message
    assert "--full-refresh --select web_events_sessionized+" in message

    # the command the error names brings everything back, exact
    lake.run("--full-refresh", "--select", "web_events_sessionized+")
    lake.land(batches[2])
    lake.run(*WITH_GOLD)
    # the run audit reads the new bronze table's change feed from its own last mark in that
    # table (the old table's marks, from higher versions, say nothing of it)
    audit = spark.sql(
        "select watermark_before, watermark_after, bronze_rows_read from silver.run_audit "
        "where model = 'stg_bronze__web_events' order by run_started_at desc limit 1"
    ).first()
    assert audit.watermark_before < audit.watermark_after, audit
    assert audit.bronze_rows_read == len(batches[2][1]), audit
    lake.assert_exact("after the rebuild")
