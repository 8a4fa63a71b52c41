"""Deterministic synthetic event generators and the timestamp format they share.

Every event time crosses the wire as ISO-8601 UTC with exactly three millisecond digits and a
`Z` suffix, so the generators work in integer epoch milliseconds and format only at the edge.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

# One event as the producer sends it: a JSON object.
Event = dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_ONE_US = timedelta(microseconds=1)


def format_ts(dt: datetime) -> str:
    """`2024-03-01T10:00:00.123Z`: UTC, milliseconds truncated rather than rounded up."""
    if dt.tzinfo is None:
        # A naive datetime would silently be read as local time by astimezone().
        raise ValueError(f"timestamp must be timezone-aware, got naive {dt!r}")
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def parse_ts(s: str) -> datetime:
    """Inverse of format_ts; accepts any ISO-8601 string with an offset and returns UTC."""
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp has no UTC offset: {s!r}")
    return dt.astimezone(UTC)


def ms_to_ts(ms: int) -> str:
    return format_ts(EPOCH + ms * _ONE_MS)


def ts_to_ms(s: str) -> int:
    return (parse_ts(s) - EPOCH) // _ONE_MS


def window_ms(start: datetime, span: timedelta) -> tuple[int, int]:
    """Half-open [lo, hi) in epoch ms whose every ms formats to a time in [start, start+span).

    Both ends round up: a sub-millisecond start would otherwise let the first event format to a
    time just before it.
    """
    if start.tzinfo is None:
        raise ValueError(f"start must be timezone-aware, got naive {start!r}")
    if span <= timedelta(0):
        raise ValueError(f"span must be positive, got {span}")
    lo = -(-((start - EPOCH) // _ONE_US) // 1000)
    hi = -(-((start + span - EPOCH) // _ONE_US) // 1000)
    if hi <= lo:
        raise ValueError(f"span {span} holds no whole millisecond after {start}")
    return lo, hi


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    # Human and network delays are heavy-tailed: mostly short, occasionally long.
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def geometric(rng: random.Random, mean: float, cap: int) -> int:
    """1, 2, 3, ... with the given mean (before capping): most visits are short, a few are long."""
    n = 1
    keep_going = 1.0 - 1.0 / mean
    while n < cap and rng.random() < keep_going:
        n += 1
    return n


def check_count(count: int) -> None:
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
