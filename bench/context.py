"""What every benchmark gets: the sizes, the results, a work folder and the progress display."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bench.results import Results
from tooling.processes import free_port_pair
from tooling.settings import Settings, load


@dataclass(frozen=True)
class Plan:
    """The sizes of a run. ``full`` is what the committed results use; ``smoke`` checks that
    every benchmark still works, in a few minutes."""

    name: str
    ingest_events: int
    partitions: int
    history_days: tuple[int, ...]
    events_per_day: int  # per stream (web and IDE each)
    late_fraction: float
    late_max_days: int
    collector_requests: int
    concurrency: tuple[int, ...]
    collector_repeats: int = 3  # each level's runs; the median is reported (with the spread)
    freshness_rate: int = 500  # events/s into Kafka (web and IDE) while run --every runs
    freshness_seconds: float = 600.0
    seed: int = 7

    def write_history(self, inbox: Path, days: int, batch_day: date) -> dict:
        """``days`` of history and the daily batch at this plan's sizes (bench/history.py)."""
        from bench import history

        return history.write(
            inbox,
            days,
            self.events_per_day,
            self.late_fraction,
            self.late_max_days,
            batch_day,
            self.seed,
        )

    def describe(self) -> dict:
        return {
            "ingest_events": self.ingest_events,
            "kafka_partitions": self.partitions,
            "history_days": list(self.history_days),
            "events_per_day_per_stream": self.events_per_day,
            "late_fraction": self.late_fraction,
            "late_max_days": self.late_max_days,
            "collector_requests": self.collector_requests,
            "concurrency": list(self.concurrency),
            "collector_repeats": self.collector_repeats,
            "freshness_rate": self.freshness_rate,
            "freshness_seconds": self.freshness_seconds,
        }


PLANS = {
    "full": Plan("full", 2_000_000, 2, (1, 30, 90), 30_000, 0.05, 5, 5_000, (1, 16, 64)),
    "smoke": Plan(
        "smoke",
        10_000,
        2,
        (1,),
        1_000,
        0.05,
        5,
        200,
        (1, 16, 64),
        freshness_rate=20,
        freshness_seconds=60.0,
    ),
}


@dataclass
class Context:
    plan: Plan
    results: Results
    work_dir: Path
    progress: Progress
    console: Console
    _overall: TaskID | None = field(default=None)

    def settings(self, name: str, *, kafka: bool = False) -> Settings:
        """A lakehouse of its own under the work folder (emptied first)."""
        lakehouse = self.work_dir / name
        if lakehouse.exists():
            shutil.rmtree(lakehouse)
        lakehouse.mkdir(parents=True)
        bootstrap = f"127.0.0.1:{free_port_pair()}" if kafka else "127.0.0.1:9"
        return Settings(lakehouse.resolve(), load().jars_dir, bootstrap)

    def log(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    def step(self, description: str) -> None:
        """Say what runs now; the previous step is done."""
        if self._overall is None:
            self._overall = self.progress.add_task("bench", total=None)
        self.progress.update(self._overall, description=description)
        self.progress.console.log(description)

    def done(self, message: str) -> None:
        self.progress.console.log(f"  [green]{message}[/]")

    @contextmanager
    def counter(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        self.step(description)
        task = self.progress.add_task(description, total=total)
        try:
            yield lambda n: self.progress.advance(task, n)
        finally:
            self.progress.remove_task(task)


def progress_display(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
