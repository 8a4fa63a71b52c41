"""Arrival order of events: what a streaming job actually sees, rather than event-time order.

Mobile clients buffer offline, collectors retry, so some events show up minutes to days after
they happened, and at-least-once delivery re-sends a few. Watermarks and dedup downstream are
only tested if the producer reproduces that.
"""

from __future__ import annotations

import copy
import random

from streaming.events import Event, log_uniform, ts_to_ms

LATE_DELAY_S = (2 * 60.0, 3 * 24 * 3600.0)
REDELIVERY_DELAY_S = (1.0, 24 * 3600.0)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within [0, 1], got {value}")


def delivery_order(
    events: list[Event],
    time_key: str,
    seed: int,
    late_fraction: float,
    duplicate_fraction: float = 0.0,
) -> list[Event]:
    """The events in arrival order.

    round(late_fraction * n) events, chosen at random, arrive 2 minutes to 3 days (log-uniform)
    after their own `time_key`; the others arrive exactly at it, so they stay in time order.
    round(duplicate_fraction * n) events are delivered a second time, 1 s to 1 day after their
    first arrival, as deep copies equal to the original. Ties keep the input order.
    """
    _check_fraction("late_fraction", late_fraction)
    _check_fraction("duplicate_fraction", duplicate_fraction)
    rng = random.Random(seed)
    n = len(events)
    late = set(rng.sample(range(n), round(late_fraction * n)))
    duplicated = sorted(rng.sample(range(n), round(duplicate_fraction * n)))

    arrivals: list[int] = []
    for i, event in enumerate(events):
        arrival = ts_to_ms(event[time_key])
        if i in late:
            arrival += round(log_uniform(rng, *LATE_DELAY_S) * 1000)
        arrivals.append(arrival)

    order = [
        (arrival, i, event) for i, (arrival, event) in enumerate(zip(arrivals, events, strict=True))
    ]
    for j, i in enumerate(duplicated):
        redelivery = arrivals[i] + round(log_uniform(rng, *REDELIVERY_DELAY_S) * 1000)
        order.append((redelivery, n + j, copy.deepcopy(events[i])))
    order.sort(key=lambda a: (a[0], a[1]))
    return [event for _, _, event in order]
