"""What Spark did during a stretch of time, from its event log (``spark.eventLog.enabled``).

dbt's log says how long each statement took; Spark's event log says what the statement
cost the engine: how many jobs and stages it ran, how many tasks, and how much of the wall
time the executors were busy. A statement of many stages and little task time is paying
per-stage overhead (planning, scheduling, Delta's log replay), not for its data.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Execution:
    """One root SQL execution (a statement; its sub-executions folded in)."""

    description: str
    start_ms: int
    end_ms: int = 0
    jobs: int = 0
    stages: int = 0
    tasks: int = 0
    task_ms: int = 0  # executor run time summed over tasks
    job_ids: set[int] = field(default_factory=set)

    @property
    def seconds(self) -> float:
        return max(self.end_ms - self.start_ms, 0) / 1000


def executions(log_dir: Path, since_ms: int, until_ms: int) -> list[Execution]:
    """The root SQL executions that started in [since_ms, until_ms], oldest first."""
    roots: dict[int, Execution] = {}
    root_of: dict[int, int] = {}
    job_root: dict[int, int] = {}
    stage_root: dict[int, int] = {}
    # Spark 4 rolls its log: eventlog_v2_<app>/events_<n>_<app>[.zstd etc. when compressed]
    for path in sorted(log_dir.rglob("*"), key=_roll_order):
        if not path.is_file() or not path.name.startswith("events_"):
            continue
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind = event.get("Event", "")
                if kind.endswith("SQLExecutionStart"):
                    eid = event["executionId"]
                    root = event.get("rootExecutionId", eid)
                    root_of[eid] = root
                    if root == eid and since_ms <= event["time"] <= until_ms:
                        roots[eid] = Execution(_what(event), event["time"])
                elif kind.endswith("SQLExecutionEnd"):
                    found = roots.get(root_of.get(event["executionId"], -1))
                    if found is not None:
                        found.end_ms = max(found.end_ms, event["time"])
                elif kind == "SparkListenerJobStart":
                    sql_id = event.get("Properties", {}).get("spark.sql.execution.id")
                    root = root_of.get(int(sql_id), -1) if sql_id is not None else -1
                    if root in roots:
                        job_root[event["Job ID"]] = root
                        roots[root].jobs += 1
                        roots[root].job_ids.add(event["Job ID"])
                        for stage in event.get("Stage Infos", []):
                            stage_root[stage["Stage ID"]] = root
                elif kind == "SparkListenerStageCompleted":
                    root = stage_root.get(event["Stage Info"]["Stage ID"], -1)
                    if root in roots:
                        roots[root].stages += 1
                elif kind == "SparkListenerTaskEnd":
                    root = stage_root.get(event.get("Stage ID", -1), -1)
                    if root in roots:
                        roots[root].tasks += 1
                        metrics = event.get("Task Metrics") or {}
                        roots[root].task_ms += int(metrics.get("Executor Run Time", 0))
    return sorted(roots.values(), key=lambda e: e.start_ms)


def _roll_order(path: Path) -> tuple[str, int]:
    parts = path.name.split("_")
    return (str(path.parent), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0)


def _what(event: dict) -> str:
    """The statement's SQL when Spark recorded it, else its physical plan's root node."""
    text = " ".join(str(event.get("description", "")).split())
    if text and " at " not in text:
        return text[:120]
    plan = str(event.get("physicalPlanDescription", "")).splitlines()
    for i, line in enumerate(plan):
        if line.startswith("== Physical Plan ==") and i + 1 < len(plan):
            return " ".join(plan[i + 1].lstrip("+-:* (0123456789)").split())[:120]
    return text[:120] or "(unknown)"


def summary(found: list[Execution], top: int = 12) -> list[str]:
    """Lines: totals, then the costliest statements with their jobs, stages and tasks."""
    wall = sum(e.seconds for e in found)
    lines = [
        f"  spark: {len(found)} statements, {sum(e.jobs for e in found)} jobs, "
        f"{sum(e.stages for e in found)} stages, {sum(e.tasks for e in found)} tasks; "
        f"{wall:.1f} s in statements, {sum(e.task_ms for e in found) / 1000:.1f} s of task time"
    ]
    by_kind: dict[str, list[Execution]] = defaultdict(list)
    for e in found:
        by_kind[e.description.split(" ")[0].lower() or "(internal)"].append(e)
    for kind, group in sorted(by_kind.items(), key=lambda kv: -sum(e.seconds for e in kv[1])):
        lines.append(
            f"    {kind:14s} {len(group):4d} statements {sum(e.seconds for e in group):6.1f} s, "
            f"{sum(e.jobs for e in group):4d} jobs, {sum(e.stages for e in group):4d} stages, "
            f"task time {sum(e.task_ms for e in group) / 1000:5.1f} s"
        )
    for e in sorted(found, key=lambda e: -e.seconds)[:top]:
        lines.append(
            f"    {e.seconds:5.1f} s {e.jobs:3d} jobs {e.stages:3d} stages {e.tasks:4d} tasks "
            f"task {e.task_ms / 1000:4.1f} s  {e.description[:70]}"
        )
    return lines
