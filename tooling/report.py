"""A self-contained HTML report: what the pipeline is and holds, its health, findings in
words, then charts, from the gold (and silver session) tables.

    ./lakehouse report [--output PATH]      (default LAKEHOUSE_DIR/report/index.html)

One file, plotly.js inlined once, no network needed to open it. The text sections come from
tooling/findings.py (``<section id="pipeline">``, ``"health"``, ``"findings"``); each chart
lives in a ``<section id="chart-...">``; a chart whose table is empty says so instead of
drawing nothing.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from tooling.tables import Tables


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    figure: Any  # a plotly Figure, or None when there is no data


def _frame(tables: Tables, table: str, sql: str) -> pd.DataFrame | None:
    """``sql`` (which reads ``table``) as pandas; None when the table is missing or empty."""
    if not tables.exists(table):
        return None
    df = tables.frame(sql)
    return df if len(df) else None


def host_daily(tables: Tables) -> Chart:
    from plotly.subplots import make_subplots

    df = _frame(
        tables,
        "gold.host_daily_metrics",
        "select host, session_date, sessions, events from gold.host_daily_metrics "
        "order by session_date, host",
    )
    fig = None
    if df is not None:
        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, subplot_titles=("Sessions", "Events")
        )
        for host, rows in df.groupby("host"):
            fig.add_bar(
                x=rows.session_date, y=rows.sessions, name=host, legendgroup=host, row=1, col=1
            )
            fig.add_bar(
                x=rows.session_date,
                y=rows.events,
                name=host,
                legendgroup=host,
                showlegend=False,
                row=2,
                col=1,
            )
        fig.update_layout(barmode="group", height=600)
    return Chart(
        "host-daily",
        "Sessions and events per host per day",
        "gold.host_daily_metrics, by the session's start date.",
        fig,
    )


def _web_sessions(tables: Tables) -> pd.DataFrame | None:
    return _frame(
        tables,
        "silver.web_sessions",
        "select host, event_count, cast(duration_seconds as double) as duration_seconds "
        "from silver.web_sessions",
    )


def events_per_session(tables: Tables) -> Chart:
    import plotly.express as px

    sessions = _web_sessions(tables)
    return Chart(
        "events-per-session",
        "Events per session",
        "How many page views web sessions hold (silver.web_sessions).",
        px.histogram(
            sessions,
            x="event_count",
            color="host",
            barmode="stack",
            labels={"event_count": "page views in the session"},
        )
        if sessions is not None
        else None,
    )


def session_duration(tables: Tables) -> Chart:
    import plotly.express as px

    sessions = _web_sessions(tables)
    return Chart(
        "session-duration",
        "Session duration",
        "Last page view minus first, in seconds (one-page sessions last 0 s).",
        px.histogram(
            sessions,
            x="duration_seconds",
            nbins=40,
            color="host",
            barmode="stack",
            labels={"duration_seconds": "seconds"},
        )
        if sessions is not None
        else None,
    )


def tech_creator(tables: Tables) -> Chart:
    import plotly.express as px

    df = _frame(
        tables,
        "gold.platform_host_comparison",
        "select platform, host, avg_events_per_session, platform_avg_events_per_session "
        "from gold.platform_host_comparison order by platform, host",
    )
    fig = None
    if df is not None:
        df = df.astype({"avg_events_per_session": float, "platform_avg_events_per_session": float})
        fig = px.bar(
            df,
            x="host",
            y="avg_events_per_session",
            color="platform",
            labels={"avg_events_per_session": "events per session"},
        )
        for _, row in df.drop_duplicates("platform").iterrows():
            fig.add_hline(
                y=row.platform_avg_events_per_session,
                line_dash="dot",
                annotation_text=f"{row.platform} average {row.platform_avg_events_per_session:.2f}",
            )
    return Chart(
        "tech-creator",
        "Tech Creator and the other platforms",
        "Average web events per session per host; dotted lines are platform averages.",
        fig,
    )


def ide_products(tables: Tables) -> Chart:
    import plotly.express as px

    df = _frame(
        tables,
        "gold.ide_product_daily_metrics",
        "select product_code, session_date, sessions, active_users "
        "from gold.ide_product_daily_metrics order by session_date, product_code",
    )
    return Chart(
        "ide-products",
        "IDE product usage",
        "Sessions per product and day (gold.ide_product_daily_metrics).",
        px.bar(
            df, x="session_date", y="sessions", color="product_code", hover_data=["active_users"]
        )
        if df is not None
        else None,
    )


def item_purchases(tables: Tables) -> Chart:
    import plotly.express as px

    df = _frame(
        tables,
        "gold.item_purchases",
        "select item_type, purchase_date, purchases, quantity, "
        "cast(revenue as double) as revenue from gold.item_purchases "
        "order by purchase_date, item_type",
    )
    return Chart(
        "item-purchases",
        "Item purchases",
        "Revenue per item type and day (gold.item_purchases).",
        px.bar(
            df,
            x="purchase_date",
            y="revenue",
            color="item_type",
            hover_data=["purchases", "quantity"],
        )
        if df is not None
        else None,
    )


def guild_sizes(tables: Tables) -> Chart:
    import plotly.express as px

    df = _frame(
        tables,
        "gold.guild_memberships",
        "select guild_name, max(members) as members, sum(joins) as joins "
        "from gold.guild_memberships group by guild_name order by members desc",
    )
    return Chart(
        "guild-sizes",
        "Guild sizes",
        "Members per guild (gold.guild_memberships).",
        px.bar(df, x="guild_name", y="members", hover_data=["joins"]) if df is not None else None,
    )


# The report's charts, in the order they appear.
CHART_BUILDERS: tuple[Callable[[Tables], Chart], ...] = (
    host_daily,
    events_per_session,
    session_duration,
    tech_creator,
    ide_products,
    item_purchases,
    guild_sizes,
)


def build_charts(tables: Tables) -> list[Chart]:
    return [build(tables) for build in CHART_BUILDERS]


def _text_sections(tables: Tables) -> str:
    from tooling import findings

    rows = "".join(
        f"<tr><td>{html.escape(x.layer)}</td><td><code>{html.escape(x.table)}</code></td>"
        f"<td class='num'>{'-' if x.rows is None else f'{x.rows:,}'}</td>"
        f"<td class='num'>{'-' if x.files is None else f'{x.files:,}'}</td>"
        f"<td>{html.escape(x.holds)}</td></tr>"
        for x in findings.layers(tables)
    )
    runs = "".join(
        "<tr>"
        + "".join(f"<td>{'-' if v is None else html.escape(str(v))}</td>" for v in r)
        + "</tr>"
        for r in findings.recent_runs(tables)
    )
    run_table = (
        "<h3>Recent runs (silver.run_audit)</h3><table id='runs'><tr>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in findings.RUN_COLUMNS)
        + f"</tr>{runs}</table>"
        if runs
        else ""
    )
    checks = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td class='{c.status}'>{c.status}</td>"
        f"<td>{html.escape(c.detail)}</td></tr>"
        for c in findings.health(tables)
    )
    found = "".join(f"<li>{html.escape(f)}</li>" for f in findings.findings(tables))
    return (
        f"<section id='pipeline'><h2>The pipeline</h2><p>{html.escape(findings.FLOW)}</p>"
        "<table><tr><th>layer</th><th>table</th><th>rows</th><th>files</th><th>holds</th></tr>"
        f"{rows}</table></section>"
        "<section id='health'><h2>Pipeline health</h2>"
        f"<table><tr><th>check</th><th>status</th><th>detail</th></tr>{checks}</table>"
        f"{run_table}</section>"
        "<section id='findings'><h2>Findings</h2>"
        f"<ul>{found or '<li>No data yet: run the pipeline (./lakehouse demo).</li>'}</ul>"
        "</section>"
    )


def render_html(
    charts: list[Chart], title: str = "Clickstream lakehouse report", intro: str = ""
) -> str:
    parts = [intro] if intro else []
    js_inlined = False
    for chart in charts:
        if chart.figure is None:
            body = '<p class="empty">No data yet: run the pipeline (./lakehouse demo).</p>'
        else:
            chart.figure.update_layout(margin={"t": 40, "l": 40, "r": 20, "b": 40})
            body = chart.figure.to_html(
                full_html=False,
                include_plotlyjs=not js_inlined,
                div_id=f"plot-{chart.key}",
            )
            js_inlined = True
        parts.append(
            f'<section id="chart-{chart.key}"><h2>{html.escape(chart.title)}</h2>'
            f'<p class="caption">{html.escape(chart.caption)}</p>{body}</section>'
        )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em;color:#222}h1{margin-bottom:0}.caption,.meta{color:#666}"
        "section{margin:2.5em 0}.empty{color:#a00}table{border-collapse:collapse}"
        "td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}"
        ".num{text-align:right}.ok{color:#070}.warn{color:#a60}.error{color:#a00}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><p class='meta'>Generated {generated}.</p>"
        + "".join(parts)
        + "</body></html>"
    )


def write_report(tables: Tables, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(build_charts(tables), intro=_text_sections(tables))
    output.write_text(page, encoding="utf-8")
    return output
