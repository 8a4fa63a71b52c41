"""The demo's closing summary: what landed in which table, and what was kept out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tooling.tables import Tables

TABLES = (
    "bronze.web_events",
    "bronze.ide_events",
    "bronze.game_events",
    "silver.stg_bronze__web_events",
    "silver.stg_bronze__ide_events",
    "silver.stg_bronze__game_events",
    "silver.events_quarantine",
    "silver.web_events_sessionized",
    "silver.web_sessions",
    "silver.ide_events_sessionized",
    "silver.ide_sessions",
    "gold.host_daily_metrics",
    "gold.host_metrics",
    "gold.platform_host_comparison",
    "gold.ide_product_daily_metrics",
    "gold.item_purchases",
    "gold.guild_memberships",
    "gold.player_stats",
)

QUARANTINE_SQL = """
select topic, reason, count(*) as records
from silver.events_quarantine
group by topic, reason
order by topic, reason
"""


def table_rows(tables: Tables) -> list[tuple[str, int, str]]:
    """(table, rows, location) for every pipeline table that exists."""
    rows = []
    for name in TABLES:
        if not tables.exists(name):
            continue
        [(count,)] = tables.rows(f"select count(*) from {name}")
        detail = tables.rows(f"describe table extended {name}")
        location = next((str(r[1]) for r in detail if r[0] == "Location"), "(view)")
        rows.append((name, int(count), location))
    return rows


def quarantine_rows(tables: Tables) -> list[tuple[str, str, int]]:
    """(topic, reason, records) kept out of the events, from silver.events_quarantine."""
    if not tables.exists("silver.events_quarantine"):
        return []
    return [(str(t), str(r), int(n)) for t, r, n in tables.rows(QUARANTINE_SQL)]


def print_summary(
    rows: list[tuple[str, int, str]], quarantined: list[tuple[str, str, int]]
) -> None:
    table = Table(title="What landed where")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("location", overflow="fold")
    for name, count, location in rows:
        table.add_row(name, f"{count:,}", location)
    Console().print(table)
    if quarantined:
        q = Table(title="Kept out of the events (silver.events_quarantine)")
        q.add_column("topic")
        q.add_column("reason")
        q.add_column("records", justify="right")
        for topic, reason, records in quarantined:
            q.add_row(topic, reason, f"{records:,}")
        Console().print(q)
