"""What a benchmark run measured, and the two files it is written to (Markdown and JSON).

Every figure comes with the context needed to read it: the machine, the versions, the
sizes chosen and the command. Targets are ratios of figures measured in the same run,
because absolute times drift on a shared machine.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = ("pyspark", "delta-spark", "dbt-core", "dbt-spark", "kafka-python", "fastapi")
COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    note: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    ratio: float
    op: str
    threshold: float
    how: str  # which figures make the ratio

    @property
    def met(self) -> bool:
        return bool(COMPARE[self.op](self.ratio, self.threshold))


@dataclass
class Results:
    mode: str
    command: str
    parameters: dict
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def add(self, benchmark: str, name: str, value: float, unit: str, note: str = "") -> float:
        self.figures.append(Figure(benchmark, name, value, unit, note))
        return value

    def target(self, name: str, ratio: float, op: str, threshold: float, how: str) -> Target:
        t = Target(name, ratio, op, threshold, how)
        self.targets.append(t)
        return t

    def check(self, statement: str) -> None:
        """A correctness check that held during the run (a failed one raises instead)."""
        self.checks.append(statement)

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        doc = {
            "mode": self.mode,
            "command": self.command,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "versions": versions(),
            "parameters": self.parameters,
            "figures": [asdict(f) for f in self.figures],
            "targets": [{**asdict(t), "met": t.met} for t in self.targets],
            "checks": self.checks,
        }
        json_path = out_dir / "latest.json"
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
        md_path = out_dir / "latest.md"
        md_path.write_text(markdown(doc))
        return md_path, json_path


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(doc: dict) -> str:
    m, v = doc["machine"], doc["versions"]
    lines = [
        f"# Benchmark results ({doc['mode']})",
        "",
        f"Produced by `{doc['command']}` from {doc['started_at']} to {doc['finished_at']}.",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
        f"Java {m['java']}, Python {m['python']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- Sizes: " + ", ".join(f"{k}={val}" for k, val in doc["parameters"].items()),
        "",
    ]
    if doc["targets"]:
        lines += [
            "## Targets (ratios measured in this run)",
            "",
            "| target | measured | wanted | met | from |",
            "|---|---:|---:|:---:|---|",
        ]
        for t in doc["targets"]:
            mark = "yes" if t["met"] else "**no**"
            lines.append(
                f"| {t['name']} | {t['ratio']:.2f} | {t['op']} {t['threshold']} | {mark} "
                f"| {t['how']} |"
            )
        lines.append("")
    benchmarks: dict[str, list[dict]] = {}
    for f in doc["figures"]:
        benchmarks.setdefault(f["benchmark"], []).append(f)
    for name, figures in benchmarks.items():
        lines += [f"## {name}", "", "| measure | value | unit | note |", "|---|---:|---|---|"]
        lines += [
            f"| {f['name']} | {_number(f['value'])} | {f['unit']} | {f['note']} |" for f in figures
        ]
        lines.append("")
    if doc["checks"]:
        lines += ["## Checks that held", ""]
        lines += [f"- {c}" for c in doc["checks"]]
        lines.append("")
    return "\n".join(lines)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        java = (out.stderr.splitlines() or ["?"])[0].split('"')[1::2][0]
    except (OSError, IndexError, subprocess.SubprocessError):
        java = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": java,
    }


def versions() -> dict:
    from tooling.settings import load

    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "missing"
    # The JVM side: the jars set-up fetched (Delta, Spark's Kafka source, the broker).
    jars = load().jars_dir
    for label, pattern in (
        ("delta-spark (JVM)", "spark/delta-spark_*.jar"),
        ("spark-sql-kafka", "spark/spark-sql-kafka-*.jar"),
        ("kafka broker", "kafka/kafka_2.13-*.jar"),
    ):
        names = sorted(p.stem for p in jars.glob(pattern))
        found[label] = names[0].rsplit("-", 1)[-1] if names else "missing"
    return found
