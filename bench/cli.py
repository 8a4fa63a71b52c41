"""``./lakehouse bench``: run the benchmarks and write the results (see bench/README.md)."""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from bench import cluster, collector, freshness, incremental, ingest, maintenance
from bench.context import PLANS, Context, progress_display
from bench.results import Results
from bench.steps import BenchError
from streaming.kafka_local import KafkaLocalError
from tooling.settings import REPO_ROOT, load

BENCHMARKS = {
    "ingest": ingest.run,
    "incremental": incremental.run,
    "cluster": cluster.run,
    "collector": collector.run,
    "maintenance": maintenance.run,
    "freshness": freshness.run,
}
COMMITTED = REPO_ROOT / "bench" / "results"

app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


@app.command()
def bench(
    smoke: bool = typer.Option(False, help="tiny sizes: checks every benchmark runs (CI)"),
    only: list[str] = typer.Option(
        list(BENCHMARKS), help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    ),
    out: Path = typer.Option(
        None, help="results folder (default: bench/results, or LAKEHOUSE_DIR/bench for --smoke)"
    ),
    keep: bool = typer.Option(False, help="keep the benchmark's lakehouses afterwards"),
) -> None:
    """Run the benchmarks; print and write the figures as Markdown and JSON."""
    console = Console(stderr=True, log_path=False)
    unknown = [b for b in only if b not in BENCHMARKS]
    if unknown:
        console.print(
            f"[red]bench:[/] unknown benchmark(s) {', '.join(unknown)}; "
            f"choose from {', '.join(BENCHMARKS)}"
        )
        raise typer.Exit(2)
    if "collector" in only and shutil.which("ab") is None:
        # found out before an hour of other benchmarks, not after
        console.print(
            "[red]bench:[/] ab not found: install Apache Bench (apt-get install apache2-utils)"
        )
        raise typer.Exit(2)
    plan = PLANS["smoke" if smoke else "full"]
    settings = load()
    work_dir = settings.lakehouse_dir / "bench" / "work"
    out_dir = out or (settings.lakehouse_dir / "bench" if smoke else COMMITTED)
    command = "./lakehouse bench" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    results = Results(mode=plan.name, command=command, parameters=plan.describe())
    began = time.monotonic()
    with progress_display(console) as progress:
        ctx = Context(plan, results, work_dir, progress, console)
        try:
            for name in only:
                BENCHMARKS[name](ctx)
        except (BenchError, KafkaLocalError) as exc:
            console.print(f"[red]bench:[/] {exc}", highlight=False)
            # what was measured before the failure is kept, apart from the committed results
            partial = settings.lakehouse_dir / "bench" / "failed"
            md, _ = results.write(partial)
            console.print(f"bench: the figures measured before the failure are in {md}")
            raise typer.Exit(1) from None
    md, js = results.write(out_dir)
    if not keep:
        for child in work_dir.iterdir():
            if child.name != "logs":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    Console().print(md.read_text(), markup=False, highlight=False)
    missed = [t.name for t in results.targets if not t.met]
    console.print(
        f"bench: done in {time.monotonic() - began:.0f}s; results in {md} and {js}; logs in "
        f"{work_dir / 'logs'}" + (f"; targets missed: {', '.join(missed)}" if missed else "")
    )


def main() -> None:
    app()
