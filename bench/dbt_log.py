"""Where a dbt run's time went, statement by statement, from dbt's own debug log.

dbt writes every statement it sends (``On <node>: /* ... */ <sql>``) and, on the same thread,
``SQL status: OK in N seconds`` when it returns, to ``logs/dbt.log``. Each statement is
classified by what it does (a MERGE, a Delta log read, a table write, a small query that
lists dates, ...), so a run's cost reads as counts and seconds per kind and per model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

LINE = re.compile(r"^\S*\s*\d\d:\d\d:\d\d\.\d+ \[\w+\s*\] \[([^\]]+)\]: (.*)$")
SENT = re.compile(r"^On ([\w.]+): /\*.*?\*/\s*(.*)$")
DONE = re.compile(r"^SQL status: \w+ in ([\d.]+) seconds")
# (kind, pattern on the statement's normalised text); the first match wins
KINDS = [
    ("merge", r"^merge into"),
    ("insert", r"^insert into"),
    ("create table as select", r"^create or replace table|^create table"),
    ("temporary view", r"^create or replace temporary view"),
    ("cache table", r"^cache table"),
    ("drop view", r"^drop view"),
    ("record watermark", r"^alter table .* set tblproperties"),
    ("delta log: describe detail", r"^describe detail"),
    ("delta log: describe history", r"^describe history"),
    ("describe columns", r"^describe (table )?(extended )?\S+$"),
    ("list relations", r"^show table|^show tables|^show views|^show databases|^show schemas"),
    ("create view", r"^create or replace view"),
    ("small query (dates, emptiness)", r"^select"),
]


@dataclass(frozen=True)
class Statement:
    node: str  # the model (or 'run' for the run's own statements)
    kind: str
    seconds: float
    sql: str


def classify(sql: str) -> str:
    text = " ".join(sql.lower().split())
    for kind, pattern in KINDS:
        if re.search(pattern, text):
            return kind
    return "other"


def statements(log_text: str) -> list[Statement]:
    """Every statement of a dbt.log excerpt that returned, with its node and seconds."""
    pending: dict[str, tuple[str, list[str]]] = {}
    collecting: str | None = None
    found: list[Statement] = []
    for raw in log_text.splitlines():
        m = LINE.match(raw)
        if not m:
            if collecting is not None:
                pending[collecting][1].append(raw)
            continue
        collecting = None
        thread, message = m.groups()
        sent = SENT.match(message)
        if sent:
            node = sent.group(1)
            node = node.rsplit(".", 1)[-1] if node.startswith("model.") else node
            pending[thread] = (node, [sent.group(2)])
            collecting = thread
            continue
        done = DONE.match(message)
        if done and thread in pending:
            node, lines = pending.pop(thread)
            sql = "\n".join(lines).strip()
            found.append(Statement(node, classify(sql), float(done.group(1)), sql))
    return found


def by_kind(found: list[Statement]) -> dict[str, tuple[int, float]]:
    """{kind: (statements, seconds)}, most seconds first."""
    totals: dict[str, list[float]] = defaultdict(list)
    for s in found:
        totals[s.kind].append(s.seconds)
    return {k: (len(v), sum(v)) for k, v in sorted(totals.items(), key=lambda kv: -sum(kv[1]))}


def by_model(found: list[Statement]) -> dict[str, dict[str, tuple[int, float]]]:
    """{model: {kind: (statements, seconds)}}, models with the most seconds first."""
    per: dict[str, list[Statement]] = defaultdict(list)
    for s in found:
        per[s.node].append(s)
    ordered = sorted(per.items(), key=lambda kv: -sum(s.seconds for s in kv[1]))
    return {node: by_kind(rows) for node, rows in ordered}
