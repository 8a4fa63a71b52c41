"""Drive the collector with Apache Bench (`ab`, Debian's apache2-utils), as the game team did,
and report requests/s and latency percentiles.

    ./lakehouse collector load --requests 2000 --concurrency 16
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SAMPLE = {
    "purchase": {"player_id": "p-load", "item_type": "sword", "price": 12.5, "quantity": 1},
    "guild_join": {"player_id": "p-load", "guild_name": "Night's Watch"},
    "level_up": {"player_id": "p-load", "new_level": 2},
}


class LoadError(Exception):
    """ab is missing, or its run failed."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    concurrency: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    failed: int
    non_2xx: int


def parse_ab(output: str, requests: int, concurrency: int) -> LoadResult:
    def number(pattern: str, default: float | None = None) -> float:
        m = re.search(pattern, output, re.MULTILINE)
        if m is None:
            if default is None:
                raise LoadError(f"could not read {pattern!r} from ab's output")
            return default
        return float(m.group(1))

    return LoadResult(
        requests=requests,
        concurrency=concurrency,
        requests_per_second=number(r"^Requests per second:\s+([\d.]+)"),
        p50_ms=number(r"^\s+50%\s+(\d+)"),
        p99_ms=number(r"^\s+99%\s+(\d+)"),
        failed=int(number(r"^Failed requests:\s+(\d+)")),
        non_2xx=int(number(r"^Non-2xx responses:\s+(\d+)", 0)),
    )


def run_ab(
    url: str, body_dir: Path, requests: int, concurrency: int, event_type: str = "purchase"
) -> LoadResult:
    ab = shutil.which("ab")
    if ab is None:
        raise LoadError("ab not found: install Apache Bench (apt-get install apache2-utils)")
    if event_type not in SAMPLE:
        raise LoadError(f"no sample body for {event_type!r}; choose {', '.join(SAMPLE)}")
    body_dir.mkdir(parents=True, exist_ok=True)
    body = body_dir / f"ab-{event_type}.json"
    body.write_text(json.dumps(SAMPLE[event_type]))
    target = f"{url.rstrip('/')}/events/{event_type}"
    proc = subprocess.run(
        [
            ab,
            "-q",
            "-n",
            str(requests),
            "-c",
            str(concurrency),
            "-p",
            str(body),
            "-T",
            "application/json",
            target,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise LoadError(f"ab failed against {target}: {proc.stderr.strip()[-300:]}")
    return parse_ab(proc.stdout, requests, concurrency)
