"""What the report says in words: the pipeline's layers and their counts, its health, and
findings drawn from the gold tables, each a sentence with its numbers (or why there is none).

Every function takes a ``Tables`` reader (deltalake, Spark or Thrift) and uses plain SQL the
three understand. The same functions feed the notebook (``notebooks/report.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tooling.tables import Tables

TOPICS = ("web_events", "ide_events", "game_events")
# below this many sessions a host's averages are noise, not a finding
MIN_SESSIONS = 20
FRESH_WARN_S, FRESH_ERROR_S = 3600, 86400  # the bronze sources' freshness thresholds


@dataclass(frozen=True)
class Layer:
    layer: str
    table: str
    rows: int | None  # None: the table does not exist yet
    holds: str
    files: int | None = None  # data files of its current version (maintenance compacts them)


LAYERS = (
    ("bronze", "bronze.web_events", "web page views as they arrived (raw JSON, flagged)"),
    ("bronze", "bronze.ide_events", "IDE events as they arrived"),
    ("bronze", "bronze.game_events", "game events from the collector"),
    ("silver", "silver.stg_bronze__web_events", "parsed, typed, each event once"),
    ("silver", "silver.stg_bronze__ide_events", "parsed, typed, each event once"),
    ("silver", "silver.stg_bronze__game_events", "parsed, typed, each event once"),
    ("silver", "silver.web_sessions", "one row per web session"),
    ("silver", "silver.ide_sessions", "one row per IDE session"),
    ("gold", "gold.host_daily_metrics", "per host and day"),
    ("gold", "gold.ide_product_daily_metrics", "per IDE product and day"),
    ("gold", "gold.item_purchases", "what players buy, per day"),
    ("gold", "gold.guild_memberships", "guild joins and members, per day"),
)

FLOW = (
    "Web page views and IDE events are produced to Kafka; the game's servers post events to "
    "the HTTP collector, which writes them to Kafka once Kafka acknowledges them. A Spark "
    "Structured Streaming feeder lands every record exactly once in bronze (Delta, by arrival "
    "date; malformed records kept and flagged). dbt stages each event once in silver, "
    "sessionizes it (a session ends after 5 minutes without activity; late events extend, "
    "merge or move sessions) and builds the gold metrics incrementally."
)


def _scalar(tables: Tables, sql: str) -> Any:
    rows = tables.rows(sql)
    return rows[0][0] if rows else None


def layers(tables: Tables) -> list[Layer]:
    return [
        Layer(
            layer,
            table,
            _scalar(tables, f"select count(*) from {table}"),
            holds,
            tables.files(table),
        )
        if tables.exists(table)
        else Layer(layer, table, None, holds)
        for layer, table, holds in LAYERS
    ]


RUN_COLUMNS = (
    "run started", "model", "status", "seconds", "bronze rows read", "events staged",
    "late", "quarantined", "sessions created", "extended", "merged",
)  # fmt: skip


def recent_runs(tables: Tables, limit: int = 12) -> list[tuple[Any, ...]]:
    """The run audit's latest rows for the staging and sessions models (what each run read,
    staged, found late, quarantined, and did to sessions), newest first."""
    if not tables.exists("silver.run_audit"):
        return []
    # every expression named: DataFusion (the deltalake reader) wants unique names
    return tables.rows(
        "select cast(run_started_at as string) as started, model, status, "
        "cast(round(duration_seconds) as bigint) as seconds, bronze_rows_read, events_staged, "
        "late_minutes + late_hours + late_days as late, quarantined, "
        "sessions_created, sessions_extended, sessions_merged "
        "from silver.run_audit "
        "where model like 'stg_bronze__%' or model like '%_sessions' "
        f"order by started desc, model limit {limit}"
    )


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | error | info
    detail: str


def _age(newest: Any, now: datetime) -> float | None:
    if newest is None or newest != newest:  # nothing yet: None, or NaN/NaT from pandas
        return None
    if isinstance(newest, str):
        newest = datetime.fromisoformat(newest)
    if getattr(newest, "tzinfo", None) is None:
        newest = newest.replace(tzinfo=UTC)
    return float((now - newest).total_seconds())


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def health(tables: Tables, now: datetime | None = None) -> list[Check]:
    """Freshness, late data, quarantine and runaway sessions, each with a status."""
    now = now or datetime.now(UTC)
    checks = []
    for topic in TOPICS:
        table = f"bronze.{topic}"
        if not tables.exists(table):
            checks.append(Check(f"freshness of {topic}", "error", "no bronze table yet"))
            continue
        age = _age(_scalar(tables, f"select max(_ingested_at) from {table}"), now)
        if age is None:
            checks.append(Check(f"freshness of {topic}", "error", "nothing has landed yet"))
            continue
        status = "ok" if age <= FRESH_WARN_S else "warn" if age <= FRESH_ERROR_S else "error"
        checks.append(Check(f"freshness of {topic}", status, f"newest landed {_duration(age)} ago"))
    if tables.exists("silver.run_audit"):
        row = tables.rows(
            "select coalesce(sum(events_staged), 0), coalesce(sum(late_minutes), 0), "
            "coalesce(sum(late_hours), 0), coalesce(sum(late_days), 0), "
            "coalesce(sum(sessions_merged), 0), count(distinct invocation_id) "
            "from silver.run_audit"
        )[0]
        staged, minutes, hours, days, merged, runs = (int(v or 0) for v in row)
        late = minutes + hours + days
        share = f"{late / staged:.1%}" if staged else "0%"
        checks.append(
            Check(
                "late data",
                "info",
                f"{late:,} of {staged:,} events staged over {runs} audited runs landed late "
                f"({share}): {minutes:,} by minutes, {hours:,} by hours, {days:,} by days; "
                f"late events merged {merged:,} sessions",
            )
        )
    quarantined, staged_total = 0, 0
    for topic in TOPICS:
        table = f"silver.stg_bronze__{topic}"
        if tables.exists(table):
            q, n = tables.rows(
                f"select count(*) filter (where is_quarantined), count(*) from {table}"
            )[0]
            quarantined, staged_total = quarantined + int(q or 0), staged_total + int(n or 0)
    if staged_total:
        kept_out = quarantined / staged_total
        checks.append(
            Check(
                "quarantine",
                "ok" if kept_out < 0.01 else "warn",
                f"{quarantined:,} of {staged_total:,} staged events quarantined ({kept_out:.2%}); "
                "reasons in silver.events_quarantine",
            )
        )
    for kind in ("web", "ide"):
        table = f"silver.{kind}_sessions"
        if tables.exists(table):
            runaway, sessions = tables.rows(
                f"select count(*) filter (where is_runaway), count(*) from {table}"
            )[0]
            checks.append(
                Check(
                    f"runaway {kind} sessions",
                    "ok" if not runaway else "info",
                    f"{int(runaway or 0):,} of {int(sessions or 0):,} sessions (left out of "
                    "gold's averages)",
                )
            )
    return checks


def findings(tables: Tables) -> list[str]:
    """Sentences a reader can act on, each computed from gold."""
    out = []
    if tables.exists("gold.host_metrics"):
        hosts = tables.frame(
            "select host, sessions, avg_events_per_session, avg_session_duration_seconds, "
            f"bounce_rate from gold.host_metrics where sessions >= {MIN_SESSIONS} "
            "order by avg_events_per_session desc"
        )
        if len(hosts) >= 2:
            best, worst = hosts.iloc[0], hosts.iloc[-1]
            out.append(
                f"{best.host} engages visitors best: {float(best.avg_events_per_session):.2f} "
                f"page views per session over {int(best.sessions):,} sessions, against "
                f"{float(worst.avg_events_per_session):.2f} on {worst.host}; its sessions last "
                f"{float(best.avg_session_duration_seconds) / 60:.1f} min on average and "
                f"{float(best.bounce_rate):.0%} of them bounce."
            )
        else:
            out.append(f"Not enough sessions yet to compare hosts (at least {MIN_SESSIONS} each).")
    if tables.exists("gold.platform_host_comparison"):
        platforms = tables.frame(
            "select platform, max(platform_avg_events_per_session) as avg_events, "
            "max(platform_sessions) as sessions from gold.platform_host_comparison "
            "group by platform"
        )
        tech = platforms[platforms.platform == "Tech Creator"]
        others = platforms[platforms.platform != "Tech Creator"]
        if len(tech) and len(others):
            t = float(tech.avg_events.iloc[0])
            o_sessions = others.sessions.astype(float)
            o = float((others.avg_events.astype(float) * o_sessions).sum() / o_sessions.sum())
            verb = "more" if t > o else "fewer"
            out.append(
                f"Tech Creator sites hold {t:.2f} page views per session, {abs(t / o - 1):.0%} "
                f"{verb} than the other platforms together ({o:.2f})."
            )
    if tables.exists("gold.item_purchases"):
        items = tables.frame(
            "select item_type, sum(purchases) as purchases, sum(quantity) as quantity, "
            "sum(cast(revenue as double)) as revenue from gold.item_purchases "
            "group by item_type order by revenue desc"
        )
        if len(items):
            total = float(items.revenue.sum())
            top = items.iloc[0]
            out.append(
                f"Players spend most on {top.item_type}s: {float(top.revenue):,.2f} of "
                f"{total:,.2f} in revenue ({float(top.revenue) / total:.0%}), "
                f"{int(top.purchases):,} purchases."
            )
    if tables.exists("gold.guild_memberships"):
        guilds = tables.frame(
            "select guild_name, sum(joins) as joins, max(members) as members "
            "from gold.guild_memberships group by guild_name order by joins desc"
        )
        if len(guilds):
            top = guilds.iloc[0]
            out.append(
                f"{top.guild_name} grows fastest: {int(top.joins):,} joins, "
                f"{int(top.members):,} members; {len(guilds)} guilds in all."
            )
    return out
