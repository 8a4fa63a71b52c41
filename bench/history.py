"""Event history for the incremental benchmark, written as the feeder's files source reads it.

One timeline per stream is generated for [D - H days, D + 1 day) by the same generators the
producer uses (visitors and IDE users come back, so late events land among existing
sessions). It is then cut in two:

  history  every event before day D, except the ones held back; one folder per event date
  batch    the events of day D plus the held-back ones (``late_fraction`` of the batch, up
           to ``late_max_days`` old): what one daily load brings, late data included

Layout: ROOT/{history,batch}/<topic>/date=YYYY-MM-DD/part-0.json (JSON lines).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from streaming.events.ide import generate_ide_events
from streaming.events.web import generate_web_events

STREAMS = {
    "web_events": (generate_web_events, "event_time"),
    "ide_events": (generate_ide_events, "timestamp"),
}


@dataclass(frozen=True)
class Written:
    history_events: int
    batch_events: int
    late_events: int


def _iso(d: date) -> str:
    return datetime.combine(d, time(), UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _write_days(folder: Path, events: list[dict], time_key: str, arrival: date | None) -> None:
    """JSON lines, one file per date: the event's date, or the single arrival date."""
    by_day: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        by_day[arrival.isoformat() if arrival else e[time_key][:10]].append(e)
    for day, rows in by_day.items():
        path = folder / f"date={day}" / "part-0.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            for row in rows:
                f.write(json.dumps(row, separators=(",", ":")) + "\n")


def write(
    root: Path,
    history_days: int,
    events_per_day: int,
    late_fraction: float,
    late_max_days: int,
    batch_day: date,
    seed: int,
) -> dict[str, Written]:
    start = datetime.combine(batch_day - timedelta(days=history_days), time(), UTC)
    cutoff = _iso(batch_day)
    late_from = _iso(batch_day - timedelta(days=min(late_max_days, history_days)))
    written = {}
    for offset, (topic, (generate, time_key)) in enumerate(STREAMS.items()):
        events = generate(
            events_per_day * (history_days + 1),
            seed + offset,
            start,
            timedelta(days=history_days + 1),
        )
        today = [e for e in events if e[time_key] >= cutoff]
        past = [e for e in events if e[time_key] < cutoff]
        candidates = [i for i, e in enumerate(past) if e[time_key] >= late_from]
        wanted = round(len(today) * late_fraction / (1 - late_fraction))
        held = set(random.Random(seed).sample(candidates, min(wanted, len(candidates))))
        history = [e for i, e in enumerate(past) if i not in held]
        late = [past[i] for i in sorted(held)]
        _write_days(root / "history" / topic, history, time_key, None)
        _write_days(root / "batch" / topic, today + late, time_key, batch_day)
        written[topic] = Written(len(history), len(today) + len(late), len(late))
    return written
